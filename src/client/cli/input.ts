/**
 * Reading from the user: a queue of stdin lines for the non-terminal path (so a name or a
 * password can be read before the chat starts without losing the lines after it), and a
 * password prompt that does not echo on a terminal.
 */
import { createInterface, type Interface } from 'node:readline';

/** Lines of a non-terminal stdin, buffered from the start so none is lost. */
export class LineQueue {
  private readonly lines: string[] = [];
  private readonly waiters: Array<(line: string | null) => void> = [];
  private ended = false;
  private listener: ((line: string) => void) | null = null;
  private onEnd: (() => void) | null = null;
  readonly rl: Interface;

  constructor(input: NodeJS.ReadableStream) {
    this.rl = createInterface({ input, terminal: false, crlfDelay: Infinity });
    this.rl.on('line', (line) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(line);
      else if (this.listener) this.listener(line);
      else this.lines.push(line);
    });
    this.rl.on('close', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(null);
      if (this.listener) this.onEnd?.();
    });
  }

  /** The next line, or null at the end of input. */
  next(): Promise<string | null> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Hands every later line (and the buffered ones) to `fn`; `end` runs at the end of input. */
  each(fn: (line: string) => void, end: () => void): void {
    this.listener = fn;
    this.onEnd = end;
    for (const line of this.lines.splice(0)) fn(line);
    if (this.ended) end();
  }

  close(): void {
    this.rl.close();
  }
}

/**
 * Asks for a password on a terminal without echoing it (raw mode, read up to Enter).
 * Ctrl-C rejects; Backspace edits.
 */
export function promptHidden(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(prompt);
    let value = '';
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    const done = (err: Error | null): void => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    function onData(chunk: string): void {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done(null);
        if (ch === '\u0003') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    }
    input.on('data', onData);
  });
}

/** Asks a question on a terminal with echo (a name); resolves with the trimmed answer. */
export function promptVisible(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stdout): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input, output, terminal: true });
    let answered = false;
    rl.on('SIGINT', () => { rl.close(); });
    rl.on('close', () => { if (!answered) reject(new Error('cancelled')); });
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer.trim());
    });
  });
}

/** Asks a question without any cursor movement (the terminal echoes what is typed). */
export function promptPlain(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stdout): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(question);
    const rl = createInterface({ input, terminal: false });
    let answered = false;
    rl.once('line', (answer) => {
      answered = true;
      rl.close();
      resolve(answer.trim());
    });
    rl.on('close', () => { if (!answered) reject(new Error('cancelled')); });
  });
}
