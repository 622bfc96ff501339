/**
 * The interactive terminal client: text-mode commands sent as JSON requests, incoming
 * messages printed above a prompt that keeps what is being typed, tab completion, typing
 * notices, and a reconnect that resumes every room without gaps or duplicates (the core
 * does the resume; this module renders its `chat` events).
 *
 * This file is the session: it opens it, wires the connection's events to the screen
 * (incoming.ts) and the input to the commands (local-commands.ts, requests.ts), and ends it.
 */
import { CLOSE } from '../../protocol/codes.js';
import type { ParleyClient } from '../core/client.js';
import { ChatView } from './chat-view.js';
import { CliError, wsSocketFactory } from './connect.js';
import { safe } from './format.js';
import { showChat, showServerMessage } from './incoming.js';
import { LineQueue, promptHidden, promptPlain, promptVisible } from './input.js';
import { InputLoop, type InputMode } from './input-loop.js';
import { handleLine } from './local-commands.js';
import { OwnTyping } from './own-typing.js';
import { Screen } from './screen.js';
import { openSession, roomFlag, tokenKeeper, type ClientFlags } from './session.js';
import { coloursWanted, createStyle, type Style } from './style.js';

/** On quit, how long to wait for messages not yet confirmed. */
const QUIT_WAIT_MS = 5_000;

export class InteractiveClient {
  private readonly view: ChatView;
  private readonly typing: OwnTyping;
  private readonly input: InputLoop;
  private readonly sockets = wsSocketFactory();
  /** Set once the chat has started: failures before that are reported by run()'s rejection. */
  private started = false;
  private finish!: (code: number) => void;
  private readonly done = new Promise<number>((resolve) => { this.finish = resolve; });

  constructor(
    private readonly url: string,
    private readonly flags: ClientFlags,
    screen: Screen,
    style: Style,
    private readonly mode: InputMode,
    /** Whether a message that mentions the user rings the terminal bell. */
    bell = false,
  ) {
    const current = flags.room ? roomFlag(flags.room) : null;
    this.view = new ChatView(url, screen, style, tokenKeeper(url, flags, true), current, bell);
    this.typing = new OwnTyping(this.view);
    this.input = new InputLoop(this.view, mode, this.typing, {
      line: (line) => handleLine(this.view, line, () => this.quit()),
      quit: () => this.quit(),
    });
  }

  /** Resolves with the exit code once the user quits or the server ends the session. */
  async run(): Promise<number> {
    const view = this.view;
    view.client = await openSession(this.url, this.flags, {
      rooms: view.current ? [view.current] : [],
      askName: () => this.askName(),
      askPassword: () => this.askPassword(),
      setup: (c) => { view.client = c; this.listen(c); },
      sockets: this.sockets,
      keepTokens: true,
      note: (text) => view.notice(text),
    });
    const unread = await view.loadConversations();
    view.current ??= view.client.rooms.includes('general') ? 'general' : view.firstRoom();
    const rooms = view.client.rooms.filter((r) => !view.book.isDirect(r));
    view.print(view.style.dim(`* Connected to ${this.url} as ${view.client.username}. You are in ${rooms.join(', ') || 'no room'}; messages go to ${view.current ? view.label(view.current) : 'no room'}. Type /help for commands.`));
    if (unread) view.print(unread);
    view.updatePrompt();
    void view.refreshCompletions();
    this.started = true;
    this.input.start();
    return this.done;
  }

  // ---- identity prompts ---------------------------------------------------------------

  private async askName(): Promise<string> {
    const name = this.mode.kind === 'pipe' ? await this.mode.queue.next()
      : await (this.mode.kind === 'fancy' ? promptVisible('Your name: ') : promptPlain('Your name: ')).catch(() => null);
    if (!name?.trim()) throw new CliError('no name given (use --name NAME)', 2);
    return name.trim();
  }

  private async askPassword(): Promise<string> {
    const password = this.mode.kind === 'pipe' ? await this.mode.queue.next() : await promptHidden('Password: ').catch(() => null);
    if (password === null) throw new CliError('no password given', 2);
    return password;
  }

  // ---- the connection -------------------------------------------------------------------

  private listen(c: ParleyClient): void {
    const view = this.view;
    c.on('chat', (m) => showChat(view, m));
    c.on('message', (m) => showServerMessage(view, m));
    c.on('gap', (g) => view.notice(`older messages of ${g.room} (from #${g.fromSeq}) were pruned by the server and cannot be shown`));
    c.on('retrying', (r) => { if (r.attempt === 1) view.notice(`not stored yet (${r.code === 'RATE_LIMITED' ? 'slow down' : 'the server is busy'}); sending it again…`); });
    c.on('status', (s) => this.onStatus(s.status, s.detail));
    c.on('ready', (r) => { if (r.resumed) this.onResumed(); });
    c.on('closed', (ev) => this.onClosed(ev.code, ev.reason));
  }

  private onStatus(status: string, detail: string | undefined): void {
    const view = this.view;
    if (status !== 'reconnecting' || view.offline || view.quitting || !this.started) return;
    view.offline = true;
    const why = this.sockets.lastClose()?.reason.replace(/;?\s*retry-after=\d+/, '');
    view.notice(`Connection lost${why ? ` (${safe(why)})` : ''}; reconnecting…${detail ? ` (${detail})` : ''}`);
    view.updatePrompt();
  }

  private onResumed(): void {
    const view = this.view;
    view.offline = false;
    view.toldTokenRefused = false;
    view.notice('Reconnected.');
    view.updatePrompt();
    void this.afterReconnect();
  }

  private onClosed(code: number, reason: string): void {
    if (this.view.quitting || !this.started) return;
    if (code === CLOSE.LOGGED_OUT) {
      this.end(0);
      return;
    }
    this.view.error(`Disconnected: ${reason || `closed with code ${code}`}`);
    this.end(1);
  }

  /** What changed while away: conversations gained or lost, and where unread messages wait. */
  private async afterReconnect(): Promise<void> {
    const unread = await this.view.loadConversations();
    if (unread) this.view.print(unread);
    await this.view.refreshCompletions();
  }

  // ---- leaving --------------------------------------------------------------------------

  private async quit(): Promise<void> {
    const view = this.view;
    if (view.quitting) return;
    view.quitting = true;
    this.typing.stop();
    if (view.unconfirmed.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wait = new Promise<void>((resolve) => { timer = setTimeout(resolve, QUIT_WAIT_MS); });
      await Promise.race([Promise.allSettled([...view.unconfirmed]), wait]);
      clearTimeout(timer);
      if (view.unconfirmed.size > 0) view.error(`${view.unconfirmed.size} message(s) were not confirmed by the server and may be lost.`);
    }
    view.marks.flush(true);
    view.client.close();
    this.end(0);
  }

  private end(code: number): void {
    this.view.quitting = true;
    this.view.marks.stop();
    this.view.typers.clear();
    this.input.close();
    this.finish(code);
  }
}

export async function runInteractive(url: string, flags: ClientFlags): Promise<number> {
  const fancy = Boolean(process.stdin.isTTY) && coloursWanted(process.stdout);
  const input: InputMode = fancy ? { kind: 'fancy' } : process.stdin.isTTY ? { kind: 'plain-tty' } : { kind: 'pipe', queue: new LineQueue(process.stdin) };
  const style = createStyle(coloursWanted(process.stdout));
  const screen = new Screen(process.stdout, fancy);
  const bell = Boolean(process.stdout.isTTY) && flags.bell !== false && !process.env.PARLEY_NO_BELL;
  try {
    return await new InteractiveClient(url, flags, screen, style, input, bell).run();
  } catch (err) {
    if (input.kind === 'pipe') input.queue.close();
    throw err;
  }
}
