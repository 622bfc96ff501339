/**
 * The interactive client's input: lines from readline on a terminal (prompt, completion,
 * history without passwords, Ctrl-C that clears the line before it quits) or from a plain
 * line queue, handled one at a time in the order they were typed.
 */
import { createInterface, type Interface } from 'node:readline';
import type { ChatView } from './chat-view.js';
import { createCompleter } from './completion.js';
import { LineQueue } from './input.js';
import type { OwnTyping } from './own-typing.js';

/**
 * How the user types: `fancy` is readline on a terminal (prompt, completion, history,
 * output above the prompt); `plain-tty` reads lines from a terminal without any cursor
 * movement (stdout is not a terminal, or NO_COLOR is set); `pipe` reads stdin lines.
 */
export type InputMode = { kind: 'fancy' } | { kind: 'plain-tty' } | { kind: 'pipe'; queue: LineQueue };

/** What the input loop does with what the user typed. */
export interface LineHandlers {
  line(line: string): Promise<void>;
  quit(): Promise<void>;
}

export class InputLoop {
  private rl: Interface | null = null;
  private queue: LineQueue | null = null;
  /** Lines are handled one after the other: a command's answer comes before the next line's. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly view: ChatView,
    private readonly mode: InputMode,
    private readonly typing: OwnTyping,
    private readonly handlers: LineHandlers,
  ) {}

  start(): void {
    if (this.mode.kind !== 'fancy') {
      // Created only now on a terminal, so that it cannot swallow the password line.
      this.queue ??= this.mode.kind === 'pipe' ? this.mode.queue : new LineQueue(process.stdin);
      this.queue.each((line) => this.enqueue(line), () => this.enqueueQuit());
      process.on('SIGINT', () => this.enqueueQuit());
      return;
    }
    const rl = this.openReadline();
    rl.setPrompt(this.view.prompt());
    rl.on('line', (line) => {
      this.view.screen.eraseEcho(rl.getPrompt(), line);
      if (line.trim() !== '') this.typing.stop();
      rl.prompt();
      this.enqueue(line);
    });
    rl.on('SIGINT', () => {
      if (rl.line.length > 0) {
        rl.write(null, { ctrl: true, name: 'e' });
        rl.write(null, { ctrl: true, name: 'u' });
        return;
      }
      this.enqueueQuit();
    });
    rl.on('close', () => this.enqueueQuit());
    rl.on('history', function forgetPasswords(history: string[]) {
      // Up-arrow must not bring back a password.
      for (let i = history.length - 1; i >= 0; i--) if (/^\s*\/(login|register)\s/i.test(history[i]!)) history.splice(i, 1);
    });
    process.stdin.on('keypress', () => this.onKeypress());
    rl.prompt();
  }

  /** Stops reading: the prompt goes, and the terminal is left on a fresh line. */
  close(): void {
    if (this.rl) {
      this.view.screen.detach();
      this.rl.close();
      if (this.view.screen.tty) process.stdout.write('\n');
    }
    this.queue?.close();
  }

  /** Readline on the terminal, with completion from what the view knows; output goes above its prompt. */
  private openReadline(): Interface {
    const view = this.view;
    const rl = createInterface({
      input: process.stdin, output: process.stdout, terminal: true, historySize: 1000, removeHistoryDuplicates: true,
      completer: createCompleter({ rooms: () => view.knownRooms, users: () => view.onlineUsers(), conversations: () => view.switchTargets() }),
    });
    this.rl = rl;
    view.screen.attach(rl);
    return rl;
  }

  private enqueue(line: string): void {
    this.chain = this.chain.then(() => this.handlers.line(line)).catch((err: unknown) => this.view.error((err as Error).message));
  }

  private enqueueQuit(): void {
    if (this.view.quitting) return;
    this.chain = this.chain.then(() => this.handlers.quit());
  }

  private onKeypress(): void {
    if (this.rl) this.typing.keypress(this.rl.line);
  }
}
