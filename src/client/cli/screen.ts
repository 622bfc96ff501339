/**
 * Output for the interactive client. On a terminal, a line printed while the user types
 * goes above the prompt, and the prompt is redrawn with what was being typed; otherwise
 * lines are written as they are.
 */
import { clearScreenDown, cursorTo, moveCursor, type Interface } from 'node:readline';
import { stripAnsi } from './style.js';

export class Screen {
  private rl: Interface | null = null;

  constructor(private readonly out: NodeJS.WriteStream, readonly tty: boolean) {}

  /** From now on, printing keeps this readline's prompt and input below the output. */
  attach(rl: Interface): void {
    this.rl = rl;
  }

  detach(): void {
    this.rl = null;
  }

  print(text: string): void {
    const rl = this.rl;
    if (!rl || !this.tty) {
      this.out.write(`${text}\n`);
      return;
    }
    // Go to where the prompt starts, clear it and the input, print, and leave as many blank
    // lines as readline will move up before it redraws the prompt and the input.
    const rows = rl.getCursorPos().rows;
    if (rows > 0) moveCursor(this.out, 0, -rows);
    cursorTo(this.out, 0);
    clearScreenDown(this.out);
    this.out.write(`${text}\n${'\n'.repeat(rows)}`);
    rl.prompt(true);
  }

  /** Changes the prompt and redraws it in place, keeping the input and the cursor. */
  setPrompt(prompt: string): void {
    const rl = this.rl;
    if (!rl) return;
    if (rl.getPrompt() === prompt) return;
    rl.setPrompt(prompt);
    if (this.tty) rl.prompt(true);
  }

  /**
   * Erases the line readline echoed for the input just entered (prompt plus text), so
   * that what the line does (a message, a command's answer) is shown in its place.
   */
  eraseEcho(prompt: string, line: string): void {
    if (!this.tty) return;
    const width = this.out.columns || 80;
    const used = stripAnsi(prompt).length + [...line].length;
    const rows = Math.max(1, Math.ceil(used / width));
    moveCursor(this.out, 0, -rows);
    cursorTo(this.out, 0);
    clearScreenDown(this.out);
  }
}
