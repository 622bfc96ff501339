/**
 * The interactive terminal client: text-mode commands sent as JSON requests, incoming
 * messages printed above a prompt that keeps what is being typed, tab completion, typing
 * notices, and a reconnect that resumes every room without gaps or duplicates (the core
 * does the resume; this module renders its `chat` events).
 */
import { createInterface, type Interface } from 'node:readline';
import { CLOSE } from '../../protocol/codes.js';
import type { ChatMessage, ConversationSummary, NotifyLevel, PrivateChatMessage, ServerMessage, ServerMessageOf } from '../../protocol/messages.js';
import { DEFAULT_ROOMS, nameKey, normaliseRoom } from '../../protocol/names.js';
import { applyReaction } from '../../protocol/reactions.js';
import type { ClientMessage } from '../../protocol/schema.js';
import { parseTextLine } from '../../protocol/text.js';
import type { ParleyClient } from '../core/client.js';
import { createCompleter } from './completion.js';
import { CliError, wsSocketFactory } from './connect.js';
import { httpOrigin, parseUploadArgs, uploadFile } from './files.js';
import {
  ackText, chatLine, clientHelpText, errorLine, formatServerMessage, hhmm, mentionsMe, safe, unreadSummary, type FormatContext,
} from './format.js';
import { LineQueue, promptHidden, promptPlain, promptVisible } from './input.js';
import { Screen } from './screen.js';
import { openSession, roomFlag, tokenKeeper, type ClientFlags } from './session.js';
import { coloursWanted, createStyle, type Style } from './style.js';
import { ConversationBook } from './conversations.js';
import { ReadMarks } from './read-marks.js';
import type { TokenKeeper } from './token-store.js';
import { TypingBoard, typingStatus } from './typing.js';

/** Messages remembered to say whose message an edit, deletion or reaction is about. */
const RECALL_LIMIT = 2_000;
/** Our own Typing{active:true} is repeated at most this often, and ended after this long idle. */
const TYPING_SEND_MS = 4_000;
/** On quit, how long to wait for messages not yet confirmed. */
const QUIT_WAIT_MS = 5_000;
/** How many of the newest messages `/reply` lists. */
const REPLY_LIST = 9;
/** The terminal bell, rung for a message that mentions the user. */
const BEL = '\x07';
const NOTIFY_LEVELS: readonly string[] = ['all', 'mentions', 'none'] satisfies NotifyLevel[];
/** What `asking` holds while a direct conversation is being opened (its id is not known yet). */
const OPENING_DIRECT = '@opening';
/** How many rooms' online lists a completion refresh asks for (each is a request). */
const MEMBER_LISTS = 20;

type Answer<T extends ServerMessage['type']> = ServerMessageOf<T>;

export class InteractiveClient {
  private client!: ParleyClient;
  private current: string | null;
  private readonly recall = new Map<string, ChatMessage>();
  private readonly members = new Map<string, Set<string>>();
  private readonly knownUsers = new Set<string>();
  private readonly knownRooms = new Set<string>(DEFAULT_ROOMS);
  /** The account's rooms and direct conversations, from ListConversations and ConversationAdded/Removed. */
  private readonly book = new ConversationBook();
  /** Conversations this client is asking to join, create or open (see `ask`). */
  private readonly asking = new Set<string>();
  private readonly marks = new ReadMarks({
    online: () => !this.offline,
    send: (msg, wait) => {
      if (wait) void this.client.request(msg).catch(() => undefined);
      else this.client.fire(msg);
    },
  });
  private readonly keeper: TokenKeeper;
  private readonly typers = new TypingBoard((room) => { if (room === this.current) this.updatePrompt(); });
  private readonly unconfirmed = new Set<Promise<unknown>>();
  private readonly sockets = wsSocketFactory();
  private rl: Interface | null = null;
  private queue: LineQueue | null = null;
  private offline = false;
  /** Whether this reconnect told the user that its token was refused (each attempt may be). */
  private toldTokenRefused = false;
  private quitting = false;
  /** Set once the chat has started: failures before that are reported by run()'s rejection. */
  private started = false;
  private typingSentAt = 0;
  private typingIdle: ReturnType<typeof setTimeout> | null = null;
  private chain: Promise<void> = Promise.resolve();
  private finish!: (code: number) => void;
  private readonly done = new Promise<number>((resolve) => { this.finish = resolve; });

  constructor(
    private readonly url: string,
    private readonly flags: ClientFlags,
    private readonly screen: Screen,
    private readonly style: Style,
    private readonly input: InputMode,
    /** Whether a message that mentions the user rings the terminal bell. */
    private readonly bell = false,
  ) {
    this.current = flags.room ? roomFlag(flags.room) : null;
    this.keeper = tokenKeeper(url, flags, true);
  }

  /** Resolves with the exit code once the user quits or the server ends the session. */
  async run(): Promise<number> {
    this.client = await openSession(this.url, this.flags, {
      rooms: this.current ? [this.current] : [],
      askName: () => this.askName(),
      askPassword: () => this.askPassword(),
      setup: (c) => { this.client = c; this.listen(c); },
      sockets: this.sockets,
      keepTokens: true,
      note: (text) => this.notice(text),
    });
    const unread = await this.loadConversations();
    this.current ??= this.client.rooms.includes('general') ? 'general' : this.firstRoom();
    const rooms = this.client.rooms.filter((r) => !this.book.isDirect(r));
    this.print(this.style.dim(`* Connected to ${this.url} as ${this.client.username}. You are in ${rooms.join(', ') || 'no room'}; messages go to ${this.current ? this.label(this.current) : 'no room'}. Type /help for commands.`));
    if (unread) this.print(unread);
    this.updatePrompt();
    void this.refreshCompletions();
    this.startInput();
    return this.done;
  }

  // ---- conversations --------------------------------------------------------------------

  /**
   * Learns the account's conversations (ListConversations): their names for the screen,
   * the rooms the core keeps and resumes (each from the seq it had reached, so that a
   * reconnect fetches what was missed there), and the line saying where unread messages
   * wait (null when none do, or when the list could not be had).
   */
  private async loadConversations(): Promise<string | null> {
    let list: ConversationSummary[];
    try {
      list = ((await this.client.request({ type: 'ListConversations' })) as Answer<'Conversations'>).conversations;
    } catch {
      return null;
    }
    // Rooms lost while away (removed from a private room): the server's list no longer has them.
    for (const room of this.book.replace(list)) this.forgetConversation(room, true);
    for (const c of list) this.followConversation(c);
    return unreadSummary(list.map((c) => ({ c, unread: this.book.unreadOf(c) })), this.ctx);
  }

  private learnConversation(c: ConversationSummary): void {
    this.book.learn(c);
    this.followConversation(c);
  }

  /**
   * A conversation of the account: its names complete, and the core resumes it from where it
   * was. A room resumes after its newest message (its past is /history's); a direct
   * conversation after what was read, so that a resume shows what is waiting there (shown
   * once: onChat skips what it showed already).
   */
  private followConversation(c: ConversationSummary): void {
    if (c.kind === 'direct') for (const u of c.with ?? []) this.knownUsers.add(u);
    else this.knownRooms.add(c.room);
    this.adopt(c.room);
    if (!this.client.lastSeq.has(c.room)) this.client.lastSeq.set(c.room, c.kind === 'direct' ? Math.max(0, c.lastSeq - c.unread) : c.lastSeq);
  }

  /** A room the account is in: the core joins it again and fetches what it missed after a reconnect. */
  private adopt(room: string): void {
    if (!this.client.rooms.includes(room)) this.client.rooms.push(room);
  }

  /** The account is no longer in the room (it left, was removed, or lost it while away). */
  private forgetConversation(room: string, tell: boolean): void {
    this.book.forget(room);
    const i = this.client.rooms.indexOf(room);
    if (i >= 0) this.client.rooms.splice(i, 1);
    this.members.delete(room);
    this.typers.clear(room);
    if (this.current !== room) return;
    this.current = this.firstRoom();
    this.updatePrompt();
    if (tell) this.notice(`You are no longer in ${this.label(room)}. ${this.current ? `Messages now go to ${this.label(this.current)}.` : '/join a room to talk.'}`);
  }

  /** Where messages go when the current room is gone: a room (not a direct conversation) when there is one. */
  private firstRoom(): string | null {
    return this.client.rooms.find((r) => !this.book.isDirect(r)) ?? this.client.rooms[0] ?? null;
  }

  /** How a room is shown: `@bob` for a direct conversation, else its name. */
  private label(room: string): string {
    return this.book.label(room);
  }

  /** Marks what was shown as read, a moment later and once per room (so that unread counts mean "not seen"). */
  private markShown(room: string, seq: number): void {
    if (this.book.markShown(room, seq)) this.marks.add(room, seq);
  }

  // ---- identity prompts ---------------------------------------------------------------

  private async askName(): Promise<string> {
    const name = this.input.kind === 'pipe' ? await this.input.queue.next()
      : await (this.input.kind === 'fancy' ? promptVisible('Your name: ') : promptPlain('Your name: ')).catch(() => null);
    if (!name?.trim()) throw new CliError('no name given (use --name NAME)', 2);
    return name.trim();
  }

  private async askPassword(): Promise<string> {
    const password = this.input.kind === 'pipe' ? await this.input.queue.next() : await promptHidden('Password: ').catch(() => null);
    if (password === null) throw new CliError('no password given', 2);
    return password;
  }

  // ---- output ---------------------------------------------------------------------------

  private print(text: string): void {
    this.screen.print(text);
  }

  private get ctx(): FormatContext {
    return {
      style: this.style, current: this.current, me: this.client?.username ?? null, recall: (id) => this.recall.get(id), origin: httpOrigin(this.url),
      label: (room) => this.label(room),
    };
  }

  private error(text: string): void {
    this.print(errorLine(this.ctx, text));
  }

  private notice(text: string): void {
    this.print(this.style.dim(`* ${text}`));
  }

  private prompt(): string {
    const room = this.current ? this.label(this.current) : 'no room';
    const status = this.offline ? 'reconnecting…' : this.current ? typingStatus(this.typers.names(this.current)) : '';
    return `[${room}]${status ? this.style.dim(` (${status})`) : ''} > `;
  }

  private updatePrompt(): void {
    this.screen.setPrompt(this.prompt());
  }

  private remember(m: ChatMessage): void {
    this.recall.delete(m.id);
    this.recall.set(m.id, m);
    if (this.recall.size > RECALL_LIMIT) this.recall.delete(this.recall.keys().next().value!);
  }

  // ---- incoming -------------------------------------------------------------------------

  private listen(c: ParleyClient): void {
    c.on('chat', (m) => this.onChat(m));
    c.on('message', (m) => this.onMessage(m));
    c.on('gap', (g) => this.notice(`older messages of ${g.room} (from #${g.fromSeq}) were pruned by the server and cannot be shown`));
    c.on('retrying', (r) => { if (r.attempt === 1) this.notice(`not stored yet (${r.code === 'RATE_LIMITED' ? 'slow down' : 'the server is busy'}); sending it again…`); });
    c.on('status', (s) => {
      if (s.status !== 'reconnecting' || this.offline || this.quitting || !this.started) return;
      this.offline = true;
      const why = this.sockets.lastClose()?.reason.replace(/;?\s*retry-after=\d+/, '');
      this.notice(`Connection lost${why ? ` (${safe(why)})` : ''}; reconnecting…${s.detail ? ` (${s.detail})` : ''}`);
      this.updatePrompt();
    });
    c.on('ready', (r) => {
      if (!r.resumed) return;
      this.offline = false;
      this.toldTokenRefused = false;
      this.notice('Reconnected.');
      this.updatePrompt();
      void this.afterReconnect();
    });
    c.on('closed', (ev) => {
      if (this.quitting || !this.started) return;
      if (ev.code === CLOSE.LOGGED_OUT) {
        this.end(0);
        return;
      }
      this.error(`Disconnected: ${ev.reason || `closed with code ${ev.code}`}`);
      this.end(1);
    });
  }

  /** What changed while away: conversations gained or lost, and where unread messages wait. */
  private async afterReconnect(): Promise<void> {
    const unread = await this.loadConversations();
    if (unread) this.print(unread);
    await this.refreshCompletions();
  }

  private onChat(m: ChatMessage): void {
    // A direct message can come both live and in a resume page: it is shown once.
    if (this.recall.has(m.id)) return;
    this.remember(m);
    this.markShown(m.room, m.seq);
    this.knownUsers.add(m.username);
    this.typers.stop(m.room, m.username);
    this.print(chatLine(m, this.ctx));
    this.ring(m.mentions, m.username);
  }

  /** Rings the bell when a live message mentions the user (history and search never do). */
  private ring(mentions: string[] | undefined, author: string): void {
    if (this.bell && mentionsMe(mentions, author, this.client.username)) process.stdout.write(BEL);
  }

  private onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'PrivateMessage':
        this.knownUsers.add(m.from);
        this.knownUsers.add(m.to);
        if (m.room !== undefined && m.seq !== undefined) {
          this.onDirect(m, m.room, m.seq);
          return;
        }
        this.print(formatServerMessage(m, this.ctx)!);
        this.ring(m.mentions, m.from);
        return;
      case 'ConversationAdded': {
        const c = m.conversation;
        // A conversation this client joined, created or opened itself is announced by the answer.
        const own = this.client.rooms.includes(c.room) || this.asking.has(c.room) || (c.kind === 'direct' && this.asking.has(OPENING_DIRECT));
        this.learnConversation(c);
        if (!own) this.print(formatServerMessage(m, this.ctx)!);
        return;
      }
      case 'ConversationRemoved': {
        // Leaving a room with /leave here was announced by its answer (and forgotten already).
        if (!this.book.has(m.room) && !this.client.rooms.includes(m.room)) return;
        const wasCurrent = this.current === m.room;
        this.forgetConversation(m.room, false);
        this.print(formatServerMessage(m, this.ctx)!);
        if (wasCurrent) this.notice(this.current ? `Messages now go to ${this.label(this.current)}.` : '/join a room to talk.');
        return;
      }
      case 'RoomCreated':
        this.knownRooms.add(m.room);
        return;
      case 'Ack':
        // A room the server put this connection in (a new account's `general`).
        if (m.for === 'JoinRoom' && m.ref === undefined && typeof m.room === 'string') {
          this.adopt(m.room);
          // The server's current room, until the user picks one: its history is not tagged.
          this.current ??= m.room;
        }
        return;
      case 'UserJoined':
        this.memberSet(m.room).add(m.username);
        this.knownUsers.add(m.username);
        this.print(formatServerMessage(m, this.ctx)!);
        return;
      case 'UserLeft':
        this.memberSet(m.room).delete(m.username);
        this.typers.stop(m.room, m.username);
        this.print(formatServerMessage(m, this.ctx)!);
        return;
      case 'Typing':
        if (this.client.username && nameKey(m.username) === nameKey(this.client.username)) return;
        if (m.active) this.typers.start(m.room, safe(m.username));
        else this.typers.stop(m.room, m.username);
        return;
      case 'MessageEdited': {
        this.print(formatServerMessage(m, this.ctx)!);
        const before = this.recall.get(m.id);
        if (before) this.remember({ ...before, content: m.content, editedAt: m.editedAt });
        return;
      }
      case 'MessageDeleted': {
        this.print(formatServerMessage(m, this.ctx)!);
        const before = this.recall.get(m.id);
        if (before) this.remember({ ...before, deleted: true });
        return;
      }
      case 'Reaction': {
        this.print(formatServerMessage(m, this.ctx)!);
        const before = this.recall.get(m.id);
        if (before) this.remember({ ...before, reactions: applyReaction(before.reactions, m, (a, b) => nameKey(a) === nameKey(b)) });
        return;
      }
      case 'SystemMessage':
      case 'Topic':
        this.print(formatServerMessage(m, this.ctx)!);
        return;
      case 'Error':
        // A reconnect whose token was refused: the core takes the name afresh (a new account).
        if (m.code === 'TOKEN_INVALID' && this.offline && !this.quitting && !this.toldTokenRefused) {
          this.toldTokenRefused = true;
          this.notice(`The server no longer knows this account (its token was refused): taking the name ${this.client.username ?? ''} afresh.`);
        }
        // Answers to our own requests are shown by whoever asked.
        if (m.ref === undefined) this.print(formatServerMessage(m, this.ctx)!);
        return;
      default:
        return;
    }
  }

  /**
   * A message of a two-member direct conversation (a PrivateMessage with its room and seq):
   * shown as a message of that conversation (`[@bob] bob: hi`), resumed with it after a
   * reconnect.
   */
  private onDirect(m: PrivateChatMessage, room: string, seq: number): void {
    const me = this.client.username === null ? null : nameKey(this.client.username);
    this.book.direct(room, [nameKey(m.from) === me ? m.to : m.from], true);
    this.adopt(room);
    if (seq > (this.client.lastSeq.get(room) ?? 0)) this.client.lastSeq.set(room, seq);
    const chat: ChatMessage = {
      id: m.id, seq, room, username: m.username ?? m.from, content: m.content, timestamp: m.timestamp,
      ...(m.editedAt ? { editedAt: m.editedAt } : {}), ...(m.deleted ? { deleted: true } : {}), ...(m.reactions ? { reactions: m.reactions } : {}),
      ...(m.replyTo ? { replyTo: m.replyTo } : {}), ...(m.attachments ? { attachments: m.attachments } : {}), ...(m.mentions ? { mentions: m.mentions } : {}),
    };
    this.onChat(chat);
  }

  private memberSet(room: string): Set<string> {
    let set = this.members.get(room);
    if (!set) this.members.set(room, (set = new Set()));
    return set;
  }

  /** Rooms and online users for tab completion, fetched quietly. */
  private async refreshCompletions(): Promise<void> {
    try {
      for (const r of await this.client.listRooms()) this.knownRooms.add(r.name);
      const users = await this.client.request({ type: 'ListUsers' }) as Answer<'UserList'>;
      for (const u of users.users) this.knownUsers.add(u);
      // Who is online in each room (the direct conversations' people are known from the list).
      for (const room of this.client.rooms.filter((r) => !this.book.isDirect(r)).slice(0, MEMBER_LISTS)) {
        const members = await this.client.request({ type: 'ListUsers', room }) as Answer<'UserList'>;
        this.members.set(room, new Set(members.users));
      }
    } catch {
      // Completion is a convenience: a failed refresh leaves the old lists.
    }
  }

  /** What `/switch` takes: the rooms the account is in, and its direct conversations as `@bob`. */
  private switchTargets(): string[] {
    return this.client.rooms.map((room) => this.book.target(room));
  }

  private onlineUsers(): Set<string> {
    const users = new Set(this.knownUsers);
    for (const set of this.members.values()) for (const u of set) users.add(u);
    return users;
  }

  // ---- input ----------------------------------------------------------------------------

  private startInput(): void {
    this.started = true;
    if (this.input.kind !== 'fancy') {
      // Created only now on a terminal, so that it cannot swallow the password line.
      this.queue ??= this.input.kind === 'pipe' ? this.input.queue : new LineQueue(process.stdin);
      this.queue.each((line) => this.enqueue(line), () => this.enqueueQuit());
      process.on('SIGINT', () => this.enqueueQuit());
      return;
    }
    const rl = createInterface({
      input: process.stdin, output: process.stdout, terminal: true, historySize: 1000, removeHistoryDuplicates: true,
      completer: createCompleter({ rooms: () => this.knownRooms, users: () => this.onlineUsers(), conversations: () => this.switchTargets() }),
    });
    this.rl = rl;
    this.screen.attach(rl);
    rl.setPrompt(this.prompt());
    rl.on('line', (line) => {
      this.screen.eraseEcho(rl.getPrompt(), line);
      if (line.trim() !== '') this.stopOwnTyping();
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

  private enqueue(line: string): void {
    this.chain = this.chain.then(() => this.handleLine(line)).catch((err: unknown) => this.error((err as Error).message));
  }

  private enqueueQuit(): void {
    if (this.quitting) return;
    this.chain = this.chain.then(() => this.quit());
  }

  private onKeypress(): void {
    const rl = this.rl;
    if (!rl || !this.current || this.offline) return;
    if (rl.line.length === 0 || rl.line.startsWith('/')) return;
    const now = Date.now();
    if (now - this.typingSentAt >= TYPING_SEND_MS) {
      this.typingSentAt = now;
      this.client.fire({ type: 'Typing', room: this.current, active: true });
    }
    if (this.typingIdle) clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopOwnTyping(), TYPING_SEND_MS + 1_000);
    this.typingIdle.unref();
  }

  private stopOwnTyping(): void {
    if (this.typingIdle) clearTimeout(this.typingIdle);
    this.typingIdle = null;
    if (this.typingSentAt === 0 || !this.current) return;
    this.typingSentAt = 0;
    this.client.fire({ type: 'Typing', room: this.current, active: false });
  }

  private async handleLine(raw: string): Promise<void> {
    if (this.quitting) return;
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const command = /^\/(\S+)\s*(.*)$/s.exec(line);
    if (command && command[1]!.toLowerCase() === 'switch') {
      this.switchRoom(command[2]!.trim());
      return;
    }
    if (command && command[1]!.toLowerCase() === 'reply') {
      this.reply(command[2]!);
      return;
    }
    if (command && command[1]!.toLowerCase() === 'upload') {
      await this.upload(command[2]!);
      return;
    }
    if (command && command[1]!.toLowerCase() === 'notify') {
      await this.notify(command[2]!);
      return;
    }
    const action = parseTextLine(line, this.current);
    switch (action.kind) {
      case 'chat':
        this.sendChat(action.content);
        return;
      case 'help':
        this.print(clientHelpText());
        return;
      case 'quit':
        await this.quit();
        return;
      case 'topic':
        await this.showTopic();
        return;
      case 'error':
        this.error(action.detail);
        return;
      case 'message':
        await this.perform(action.msg);
    }
  }

  private async showTopic(): Promise<void> {
    const current = this.current;
    if (!current) {
      this.notice('You are not in a room.');
      return;
    }
    const list = (await this.client.request({ type: 'ListConversations' }) as Answer<'Conversations'>).conversations;
    const topic = list.find((c) => c.room === current)?.topic ?? (await this.client.listRooms()).find((r) => r.name === current)?.topic;
    this.notice(`Topic of ${this.label(current)}: ${safe(topic ?? '') || '(none)'}`);
  }

  /**
   * `/switch ROOM`: talk in another of the account's conversations, as in text mode: a room
   * it is in, or a direct conversation (`@bob`). It never joins anything.
   */
  private switchRoom(arg: string): void {
    if (!arg) {
      const all = [...this.client.rooms.filter((r) => !this.book.isDirect(r)), ...this.client.rooms.filter((r) => this.book.isDirect(r)).map((r) => this.label(r))];
      this.notice(`You are in ${all.join(', ') || 'no room'}. /switch ROOM (or @NAME) to talk in another one.`);
      return;
    }
    const word = arg.split(/\s+/)[0]!;
    const room = this.book.named(word, this.client.rooms);
    if (!room) {
      const name = word.replace(/^[#@]/, '');
      this.error(word.startsWith('@')
        ? `You have no conversation with ${safe(name)}. /pm ${safe(name)} TEXT or /dm ${safe(name)} starts one.`
        : `You are not in ${safe(normaliseRoom(word) ?? name)}. /join ${safe(normaliseRoom(word) ?? name)} first.`);
      return;
    }
    this.current = room;
    this.updatePrompt();
    this.notice(`Messages now go to ${this.label(room)}.`);
  }

  /** Sends a line (or a `/me` action) to the current room, kept until the server confirms it. */
  private sendChat(content: string): void {
    const room = this.current;
    if (!room) {
      this.error('You are not in a room. /join ROOM to talk.');
      return;
    }
    if (this.offline) this.notice('Not connected: the message will be sent once the connection is back.');
    this.track(this.client.sendMessage(room, content).catch((err: unknown) => this.error(`Not sent: ${(err as Error).message}`)));
  }

  /** The current room's messages, newest first, as `/reply N` counts them (deleted ones do not count). */
  private newest(room: string): ChatMessage[] {
    return [...this.recall.values()].filter((m) => m.room === room && !m.deleted).sort((a, b) => b.seq - a.seq);
  }

  /** `/reply N TEXT` answers the Nth newest message of the current room; `/reply` lists them. */
  private reply(args: string): void {
    const room = this.current;
    if (!room) {
      this.error('You are not in a room. /join ROOM to talk.');
      return;
    }
    const match = /^\s*(\d+)(?:\s+([\s\S]*))?$/.exec(args);
    const newest = this.newest(room);
    if (args.trim() === '') {
      if (newest.length === 0) {
        this.notice(`No messages in ${room} to reply to yet.`);
        return;
      }
      this.print([this.style.dim(`--- newest messages of ${room}: /reply N TEXT answers one ---`),
        ...newest.slice(0, REPLY_LIST).map((m, i) => `${String(i + 1).padStart(2)}  ${hhmm(m.timestamp)} ${this.style.name(safe(m.username))}: ${safe(m.content).replace(/\s+/g, ' ').slice(0, 60)}`)].join('\n'));
      return;
    }
    const text = match?.[2]?.trim() ?? '';
    if (!match || text === '') {
      this.error('Usage: /reply N TEXT (N = 1 for the newest message of this room; /reply lists them)');
      return;
    }
    const target = newest[Number(match[1]) - 1];
    if (!target) {
      this.error(`There is no message ${match[1]} in ${room}: /reply lists the ones you can answer.`);
      return;
    }
    if (this.offline) this.notice('Not connected: the message will be sent once the connection is back.');
    this.track(this.client.sendMessage(room, text, { replyTo: target.id }).catch((err: unknown) => this.error(`Not sent: ${(err as Error).message}`)));
  }

  /** `/upload PATH [TEXT]`: uploads the file, then sends it to the current room with the text. */
  private async upload(args: string): Promise<void> {
    const room = this.current;
    const parsed = parseUploadArgs(args);
    if (!parsed) {
      this.error('Usage: /upload PATH [TEXT] ("quote" a path with spaces)');
      return;
    }
    if (!room) {
      this.error('You are not in a room. /join ROOM to talk.');
      return;
    }
    const token = this.client.token;
    if (!token || this.client.guest) {
      this.error('Sharing files needs an account with a password: /register PASSWORD keeps your name (or start the client with --password).');
      return;
    }
    this.notice(`Uploading ${safe(parsed.path)}…`);
    try {
      const file = await uploadFile(httpOrigin(this.url), token, parsed.path);
      this.track(this.client.sendMessage(room, parsed.text, { attachments: [file.id] }).catch((err: unknown) => this.error(`Not sent: ${(err as Error).message}`)));
    } catch (err) {
      this.error((err as Error).message);
    }
  }

  /**
   * `/notify [LEVEL] [ROOM]`: with a level, sets it (SetNotify) for ROOM (default: the
   * current room; `@NAME` for a private conversation); without, shows the room's level and
   * unread mentions from the room list.
   */
  private async notify(args: string): Promise<void> {
    const words = args.trim().split(/\s+/).filter((w) => w !== '');
    const level = words[0] !== undefined && NOTIFY_LEVELS.includes(words[0].toLowerCase()) ? words.shift()!.toLowerCase() as NotifyLevel : null;
    if (words.length > 1) {
      this.error('Usage: /notify [all|mentions|none] [ROOM or @NAME]');
      return;
    }
    const raw = words[0];
    const room = raw === undefined ? this.current : raw.startsWith('@') ? this.book.named(raw, this.client.rooms) ?? raw : normaliseRoom(raw);
    if (!room) {
      this.error(raw === undefined ? 'You are not in a room: /notify [LEVEL] ROOM.' : `Bad room "${safe(raw)}". Usage: /notify [all|mentions|none] [ROOM or @NAME]`);
      return;
    }
    try {
      if (level) {
        const ack = await this.client.request({ type: 'SetNotify', room, level }) as Answer<'Ack'>;
        this.notice(`Notifications for ${safe(this.label(String(ack.room ?? room)))}: ${safe(String(ack.level ?? level))}.`);
        return;
      }
      if (room.startsWith('@')) {
        this.error(`You have no conversation with ${safe(room.slice(1))}.`);
        return;
      }
      // The account's own conversations first (direct ones too), then the public rooms.
      const list = (await this.client.request({ type: 'ListConversations' }) as Answer<'Conversations'>).conversations;
      const summary = list.find((c) => c.room === room) ?? (await this.client.listRooms()).find((r) => r.name === room);
      if (!summary) {
        this.error(`No room ${safe(room)}.`);
        return;
      }
      const mentions = summary.mentions ? ` (${summary.mentions} unread mention${summary.mentions === 1 ? '' : 's'})` : '';
      this.notice(`Notifications for ${this.label(room)}: ${summary.notify}${mentions}. /notify all|mentions|none changes it.`);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.error(code === 'DISCONNECTED' ? 'Not connected: reconnecting… Try again in a moment.' : (err as Error).message);
    }
  }

  private track(p: Promise<unknown>): void {
    this.unconfirmed.add(p);
    void p.finally(() => this.unconfirmed.delete(p));
  }

  /** A command, as a JSON request; its answer is printed here. */
  private async perform(msg: ClientMessage): Promise<void> {
    try {
      await this.performOrThrow(msg);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.error(code === 'DISCONNECTED' ? 'Not connected: reconnecting… Try again in a moment.' : (err as Error).message);
    }
  }

  private async performOrThrow(msg: ClientMessage): Promise<void> {
    const c = this.client;
    switch (msg.type) {
      case 'SendMessage':
        // `/me ACTION`: a message like any other, sent with a nonce.
        this.sendChat(msg.content);
        return;
      case 'SetUsername': {
        const ack = await c.request(msg) as Answer<'Ack'>;
        const before = c.username;
        c.username = String(ack.username ?? msg.username);
        this.keepTokenAcrossRename(before, c.username);
        this.notice(`You are now ${this.style.name(c.username)}.`);
        return;
      }
      case 'CreateRoom': {
        const ack = await this.ask(msg, normaliseRoom(msg.room) ?? msg.room);
        const room = String(ack.room ?? msg.room);
        this.adopt(room);
        this.knownRooms.add(room);
        this.current = room;
        this.updatePrompt();
        this.print(ackText(ack, this.ctx)!);
        return;
      }
      case 'OpenDirect': {
        const ack = await this.ask(msg, OPENING_DIRECT);
        const room = String(ack.room);
        this.book.direct(room, Array.isArray(ack.with) ? ack.with.map(String) : []);
        this.adopt(room);
        this.print(ackText(ack, this.ctx)!);
        return;
      }
      case 'ListConversations': {
        const list = await c.request(msg) as Answer<'Conversations'>;
        for (const conv of list.conversations) this.learnConversation(conv);
        // What this client has shown is not unread, whether or not its read mark has arrived.
        const seen = list.conversations.map((conv) => ({ ...conv, unread: this.book.unreadOf(conv) }));
        this.print(formatServerMessage({ ...list, conversations: seen }, this.ctx)!);
        return;
      }
      case 'GetToken': {
        const answer = await c.request(msg) as Answer<'LoggedIn'>;
        this.acceptToken(answer);
        const file = this.keeper.fileFor(answer.username);
        this.notice(`Your token: ${answer.token}${file ? ` (kept in ${file}: starting this client again with --name ${answer.username} resumes you)` : ''}. Elsewhere, /login TOKEN brings you back as ${answer.username}.`);
        return;
      }
      case 'JoinRoom': {
        const ack = await this.ask(msg, normaliseRoom(msg.room) ?? msg.room);
        const room = String(ack.room ?? msg.room);
        if (!c.rooms.includes(room)) c.rooms.push(room);
        this.knownRooms.add(room);
        this.current = room;
        this.updatePrompt();
        const topic = typeof ack.topic === 'string' && ack.topic ? ` Topic: ${safe(ack.topic)}` : '';
        this.notice(`You are in ${room}. Messages now go to ${room}.${topic}`);
        const members = await c.request({ type: 'ListUsers', room }).catch(() => null) as Answer<'UserList'> | null;
        if (members) this.members.set(room, new Set(members.users));
        return;
      }
      case 'LeaveRoom': {
        const raw = msg.room ?? this.current ?? 'general';
        const room = normaliseRoom(raw) ?? raw;
        await c.leave(room);
        this.members.delete(room);
        this.typers.clear(room);
        this.book.forget(room);
        if (this.current === room) this.current = this.firstRoom();
        this.updatePrompt();
        this.notice(this.current ? `You left ${room}. Messages now go to ${this.label(this.current)}.` : `You left ${room}. /join a room to talk.`);
        return;
      }
      case 'PrivateMessage':
        // Not awaited, like a room message: the server's echo ([pm to …]) is printed as it
        // arrives, possibly after a reconnect.
        if (this.offline) this.notice('Not connected: the message will be sent once the connection is back.');
        this.track(c.sendPrivate(msg.to, msg.content).catch((err: unknown) => this.error(`Not sent: ${(err as Error).message}`)));
        return;
      case 'Register': {
        if (!c.username) throw new Error('Set a name first.');
        const answer = await c.request({ type: 'Register', username: c.username, password: msg.password }) as Answer<'LoggedIn'>;
        this.acceptToken(answer);
        this.notice(`The name ${this.style.name(answer.username)} is now registered to you.`);
        return;
      }
      case 'Login': {
        const answer = await c.request(msg) as Answer<'LoggedIn'>;
        this.acceptToken(answer);
        this.notice(`Logged in as ${this.style.name(answer.username)}.`);
        // Another account: its own rooms and conversations.
        const unread = await this.loadConversations();
        if (unread) this.print(unread);
        return;
      }
      case 'Logout':
        await c.request(msg);
        this.keeper.forget(c.username ?? undefined);
        this.notice('Logged out.');
        // The server then closes the connection with 4004, which ends the client.
        return;
      case 'ListRooms': {
        const list = await c.request(msg) as Answer<'RoomList'>;
        for (const r of list.rooms) this.knownRooms.add(r.name);
        this.print(formatServerMessage(list, this.ctx)!);
        return;
      }
      case 'ListUsers': {
        const list = await c.request(msg) as Answer<'UserList'>;
        if (list.room) this.members.set(list.room, new Set(list.users));
        else for (const u of list.users) this.knownUsers.add(u);
        this.print(formatServerMessage(list, this.ctx)!);
        return;
      }
      case 'History': {
        const page = await c.request(msg) as Answer<'History'>;
        for (const m of page.messages) this.remember(m);
        this.print(formatServerMessage(page, this.ctx)!);
        // What /history showed is read (the unread summary told the user to look there).
        const newest = page.messages[page.messages.length - 1];
        if (newest) this.markShown(page.room, newest.seq);
        return;
      }
      default: {
        const answer = await c.request(msg);
        const text = answer.type === 'Ack' ? ackText(answer, this.ctx) : formatServerMessage(answer, this.ctx);
        if (text) this.print(text);
      }
    }
  }

  /**
   * A request whose answer says what happened to a conversation (`what`: the room, or
   * OPENING_DIRECT), so that the ConversationAdded that may come first is not shown twice.
   */
  private async ask(msg: ClientMessage, what: string): Promise<Answer<'Ack'>> {
    this.asking.add(what);
    try {
      return await this.client.request(msg) as Answer<'Ack'>;
    } finally {
      this.asking.delete(what);
    }
  }

  /** Takes the account and token of a login, and keeps the token for the next start. */
  private acceptToken(answer: Answer<'LoggedIn'>): void {
    this.client.username = answer.username;
    this.client.token = answer.token;
    this.client.guest = answer.guest === true;
    try {
      this.keeper.save(answer.username, answer.token);
    } catch (err) {
      this.error(`${(err as Error).message}; the next start cannot resume this account.`);
    }
  }

  /** A guest that took another name keeps its account: its token moves to the file of the new name. */
  private keepTokenAcrossRename(before: string | null, after: string): void {
    const token = this.client.token;
    if (!token || before === null || nameKey(before) === nameKey(after) || this.keeper.explicit) return;
    try {
      this.keeper.save(after, token);
      this.keeper.forget(before);
    } catch (err) {
      this.error(`${(err as Error).message}; the next start cannot resume this account.`);
    }
  }

  // ---- leaving --------------------------------------------------------------------------

  private async quit(): Promise<void> {
    if (this.quitting) return;
    this.quitting = true;
    this.stopOwnTyping();
    if (this.unconfirmed.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wait = new Promise<void>((resolve) => { timer = setTimeout(resolve, QUIT_WAIT_MS); });
      await Promise.race([Promise.allSettled([...this.unconfirmed]), wait]);
      clearTimeout(timer);
      if (this.unconfirmed.size > 0) this.error(`${this.unconfirmed.size} message(s) were not confirmed by the server and may be lost.`);
    }
    this.marks.flush(true);
    this.client.close();
    this.end(0);
  }

  private end(code: number): void {
    this.quitting = true;
    this.marks.stop();
    this.typers.clear();
    if (this.rl) {
      this.screen.detach();
      this.rl.close();
      if (this.screen.tty) process.stdout.write('\n');
    }
    this.queue?.close();
    this.finish(code);
  }
}

/**
 * How the user types: `fancy` is readline on a terminal (prompt, completion, history,
 * output above the prompt); `plain-tty` reads lines from a terminal without any cursor
 * movement (stdout is not a terminal, or NO_COLOR is set); `pipe` reads stdin lines.
 */
export type InputMode = { kind: 'fancy' } | { kind: 'plain-tty' } | { kind: 'pipe'; queue: LineQueue };

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
