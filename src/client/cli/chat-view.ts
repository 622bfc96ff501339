/**
 * What the interactive client knows and shows, shared by the parts that handle server
 * messages, commands and input: the current room, the account's conversations, who and
 * which rooms tab completion offers, recent messages (to say whose message an edit or a
 * reaction is about), and the output (lines above the prompt, the prompt itself).
 */
import type { ChatMessage, ConversationSummary, ServerMessage, ServerMessageOf } from '../../protocol/messages.js';
import { DEFAULT_ROOMS } from '../../protocol/names.js';
import type { ParleyClient } from '../core/client.js';
import { ConversationBook } from './conversations.js';
import { httpOrigin } from './files.js';
import { errorLine, unreadSummary, type FormatContext } from './format.js';
import { ReadMarks } from './read-marks.js';
import type { Screen } from './screen.js';
import type { Style } from './style.js';
import type { TokenKeeper } from './token-store.js';
import { TypingBoard, typingStatus } from './typing.js';

/** The server's answer of type T to a request. */
export type Answer<T extends ServerMessage['type']> = ServerMessageOf<T>;

/** Messages remembered to say whose message an edit, deletion or reaction is about. */
const RECALL_LIMIT = 2_000;
/** How many rooms' online lists a completion refresh asks for (each is a request). */
const MEMBER_LISTS = 20;
/** What `asking` holds while a direct conversation is being opened (its id is not known yet). */
export const OPENING_DIRECT = '@opening';

export class ChatView {
  /** Set by the session's setup, before the first connect. */
  client!: ParleyClient;
  readonly recall = new Map<string, ChatMessage>();
  readonly members = new Map<string, Set<string>>();
  readonly knownUsers = new Set<string>();
  readonly knownRooms = new Set<string>(DEFAULT_ROOMS);
  /** The account's rooms and direct conversations, from ListConversations and ConversationAdded/Removed. */
  readonly book = new ConversationBook();
  /** Conversations this client is asking to join, create or open (see `ask` in requests.ts). */
  readonly asking = new Set<string>();
  readonly marks = new ReadMarks({
    online: () => !this.offline,
    send: (msg, wait) => {
      if (wait) void this.client.request(msg).catch(() => undefined);
      else this.client.fire(msg);
    },
  });
  readonly typers = new TypingBoard((room) => { if (room === this.current) this.updatePrompt(); });
  /** Messages sent and not yet confirmed by the server: quit waits for them. */
  readonly unconfirmed = new Set<Promise<unknown>>();
  offline = false;
  quitting = false;
  /** Whether this reconnect told the user that its token was refused (each attempt may be). */
  toldTokenRefused = false;

  constructor(
    readonly url: string,
    readonly screen: Screen,
    readonly style: Style,
    readonly keeper: TokenKeeper,
    /** Where messages go (null: no room yet). */
    public current: string | null,
    /** Whether a message that mentions the user rings the terminal bell. */
    readonly bell: boolean,
  ) {}

  // ---- output ---------------------------------------------------------------------------

  print(text: string): void {
    this.screen.print(text);
  }

  get ctx(): FormatContext {
    return {
      style: this.style, current: this.current, me: this.client?.username ?? null, recall: (id) => this.recall.get(id), origin: httpOrigin(this.url),
      label: (room) => this.label(room),
    };
  }

  error(text: string): void {
    this.print(errorLine(this.ctx, text));
  }

  notice(text: string): void {
    this.print(this.style.dim(`* ${text}`));
  }

  prompt(): string {
    const room = this.current ? this.label(this.current) : 'no room';
    const status = this.offline ? 'reconnecting…' : this.current ? typingStatus(this.typers.names(this.current)) : '';
    return `[${room}]${status ? this.style.dim(` (${status})`) : ''} > `;
  }

  updatePrompt(): void {
    this.screen.setPrompt(this.prompt());
  }

  /** How a room is shown: `@bob` for a direct conversation, else its name. */
  label(room: string): string {
    return this.book.label(room);
  }

  remember(m: ChatMessage): void {
    this.recall.delete(m.id);
    this.recall.set(m.id, m);
    if (this.recall.size > RECALL_LIMIT) this.recall.delete(this.recall.keys().next().value!);
  }

  /** Marks what was shown as read, a moment later and once per room (so that unread counts mean "not seen"). */
  markShown(room: string, seq: number): void {
    if (this.book.markShown(room, seq)) this.marks.add(room, seq);
  }

  // ---- sending --------------------------------------------------------------------------

  /** Sends a line (or a `/me` action) to the current room, kept until the server confirms it. */
  sendChat(content: string): void {
    const room = this.current;
    if (!room) {
      this.error('You are not in a room. /join ROOM to talk.');
      return;
    }
    this.warnIfOffline();
    this.sendTracked(this.client.sendMessage(room, content));
  }

  /** Said before a message is sent while offline: the core keeps it until the connection is back. */
  warnIfOffline(): void {
    if (this.offline) this.notice('Not connected: the message will be sent once the connection is back.');
  }

  /** A message on its way, not awaited: kept until the server confirms it, its failure printed. */
  sendTracked(sending: Promise<unknown>): void {
    const p = sending.catch((err: unknown) => this.error(`Not sent: ${(err as Error).message}`));
    this.unconfirmed.add(p);
    void p.finally(() => this.unconfirmed.delete(p));
  }

  /** The line that says why a command failed; a request cut off by a reconnect says so plainly. */
  failure(err: unknown): string {
    const code = (err as { code?: unknown }).code;
    return code === 'DISCONNECTED' ? 'Not connected: reconnecting… Try again in a moment.' : (err as Error).message;
  }

  // ---- conversations --------------------------------------------------------------------

  /**
   * Learns the account's conversations (ListConversations): their names for the screen,
   * the rooms the core keeps and resumes (each from the seq it had reached, so that a
   * reconnect fetches what was missed there), and the line saying where unread messages
   * wait (null when none do, or when the list could not be had).
   */
  async loadConversations(): Promise<string | null> {
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

  learnConversation(c: ConversationSummary): void {
    this.book.learn(c);
    this.followConversation(c);
  }

  /**
   * A conversation of the account: its names complete, and the core resumes it from where it
   * was. A room resumes after its newest message (its past is /history's); a direct
   * conversation after what was read, so that a resume shows what is waiting there (shown
   * once: showChat skips what it showed already).
   */
  private followConversation(c: ConversationSummary): void {
    if (c.kind === 'direct') for (const u of c.with ?? []) this.knownUsers.add(u);
    else this.knownRooms.add(c.room);
    this.adopt(c.room);
    if (!this.client.lastSeq.has(c.room)) this.client.lastSeq.set(c.room, c.kind === 'direct' ? Math.max(0, c.lastSeq - c.unread) : c.lastSeq);
  }

  /** A room the account is in: the core joins it again and fetches what it missed after a reconnect. */
  adopt(room: string): void {
    if (!this.client.rooms.includes(room)) this.client.rooms.push(room);
  }

  /** The account is no longer in the room (it left, was removed, or lost it while away). */
  forgetConversation(room: string, tell: boolean): void {
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
  firstRoom(): string | null {
    return this.client.rooms.find((r) => !this.book.isDirect(r)) ?? this.client.rooms[0] ?? null;
  }

  // ---- completion -----------------------------------------------------------------------

  memberSet(room: string): Set<string> {
    let set = this.members.get(room);
    if (!set) this.members.set(room, (set = new Set()));
    return set;
  }

  /** Rooms and online users for tab completion, fetched quietly. */
  async refreshCompletions(): Promise<void> {
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
  switchTargets(): string[] {
    return this.client.rooms.map((room) => this.book.target(room));
  }

  onlineUsers(): Set<string> {
    const users = new Set(this.knownUsers);
    for (const set of this.members.values()) for (const u of set) users.add(u);
    return users;
  }
}
