/**
 * What the web client knows: the account's conversations (rooms, private rooms and direct
 * conversations, all rooms on the wire) with their messages (keyed by id, ordered by seq),
 * members, typing, unread counts, the public rooms to join and the connection status.
 * Views read it; the controller changes it and then asks the views to render.
 */
import type { ClientStatus } from '../core/client.js';
import type { Attachment, ChatMessage, ConversationKind, MemberSummary, NotifyLevel, Reactions, ReplyRef, Role, RoomSummary } from '../../protocol/messages.js';
import { applyReaction, reactionUsers, type ReactionChange } from '../../protocol/reactions.js';
import { sameName } from './format.js';

/** A line in a room that is not a message: joins, leaves, server notices. */
export interface Notice {
  key: string;
  /** Shown after the message with this seq (0: at the start). */
  afterSeq: number;
  text: string;
  timestamp: string;
}

/** A message the user sent that the server has not confirmed yet (e.g. while offline). */
export interface PendingMessage {
  key: string;
  content: string;
  timestamp: string;
  attachments?: Attachment[];
  replyTo?: ReplyRef;
}

export class RoomState {
  topic = '';
  /** Whether the account is a member (its conversations). */
  joined = false;
  kind: ConversationKind = 'public';
  /** The account's role here (owner, moderator or member). */
  role: Role = 'member';
  /** Direct conversations: the other members' names. */
  with: string[] = [];
  /** Direct conversations: which of `with` are bot accounts. */
  bots: string[] = [];
  /** Members with roles and presence (ListMembers), once asked. */
  roster: MemberSummary[] | null = null;
  /** Online members, cluster-wide (from the conversation list). */
  online = 0;
  /** Latest activity (ISO 8601), to order direct conversations. */
  lastActivity = '';
  readonly messages = new Map<string, ChatMessage>();
  readonly notices: Notice[] = [];
  readonly pending: PendingMessage[] = [];
  members: string[] = [];
  /** Who is typing, with when their indicator expires. */
  readonly typing = new Map<string, number>();
  /** Oldest seq the server still has (from History.firstSeq). */
  firstSeq: number | undefined;
  /** From the join History when firstSeq is unknown. */
  hasMore = false;
  loadingOlder = false;
  /** Whether its recent history was fetched (on joining, or when first opened). */
  loaded = false;
  /** Highest seq known in the room (messages or RoomList). */
  lastSeq = 0;
  /** Highest seq the user has seen; undefined until known. */
  readSeq: number | undefined;
  /** Seq from which retention pruned what this client missed. */
  gapFrom: number | undefined;
  /** Unread messages that mention the user (RoomList, plus live ones while away). */
  mentions = 0;
  /** The account's notification level here (RoomList; `mentions` by default). */
  notify: NotifyLevel = 'mentions';

  constructor(readonly name: string) {}

  /** What the room is called in lists and titles: `#name`, or a direct conversation's other members. */
  label(): string {
    return this.kind === 'direct' ? (this.with.length > 0 ? this.with.join(', ') : 'Just you') : `#${this.name}`;
  }

  /** Whether the account may invite, remove and (owner) promote members here. */
  moderates(): boolean {
    return this.kind !== 'direct' && (this.role === 'owner' || this.role === 'moderator');
  }

  /**
   * Whether someone else in a direct conversation is online: from its roster once read, else
   * from the conversation list's online count (which counts the user too).
   */
  peersOnline(): boolean {
    if (this.roster) return this.roster.some((m) => m.online && this.with.some((w) => sameName(w, m.username)));
    return this.online > 1;
  }

  /** Adds or replaces a message; false if it was already there unchanged. */
  add(m: ChatMessage): boolean {
    const had = this.messages.get(m.id);
    if (had && had.content === m.content && had.deleted === m.deleted && had.editedAt === m.editedAt) return false;
    this.messages.set(m.id, { ...had, ...m });
    this.lastSeq = Math.max(this.lastSeq, m.seq);
    return true;
  }

  sorted(): ChatMessage[] {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }

  oldestSeq(): number | undefined {
    let min: number | undefined;
    for (const m of this.messages.values()) if (min === undefined || m.seq < min) min = m.seq;
    return min;
  }

  hasOlder(): boolean {
    const oldest = this.oldestSeq();
    if (oldest === undefined) return false;
    // firstSeq 0 means the room was empty when asked: only what came later is there.
    return this.firstSeq !== undefined && this.firstSeq > 0 ? oldest > this.firstSeq : this.hasMore;
  }

  unread(): number {
    return this.readSeq === undefined ? 0 : Math.max(0, this.lastSeq - this.readSeq);
  }

  notice(text: string): void {
    this.notices.push({ key: `n${this.noticesMade++}`, afterSeq: this.lastSeq, text, timestamp: new Date().toISOString() });
  }

  /** Notices made so far: each one's key, unique though old ones are forgotten (trim). */
  private noticesMade = 0;

  /**
   * Forgets all but the newest `keep` messages, and the notices before them, so that a room
   * followed for days holds a few pages, not all it ever received (and shows them: the list
   * builds every message it holds at each render). What was forgotten is fetched again, a page
   * at a time, when the reader scrolls up. False when there was nothing to forget.
   */
  trim(keep: number): boolean {
    const extra = this.messages.size - keep;
    if (extra <= 0) return false;
    const sorted = this.sorted();
    for (let i = 0; i < extra; i++) this.messages.delete(sorted[i]!.id);
    const oldest = sorted[extra]?.seq ?? this.lastSeq + 1;
    const kept = this.notices.filter((n) => n.afterSeq >= oldest);
    this.notices.splice(0, this.notices.length, ...kept);
    // Older messages are there again on the server: the list offers them (hasOlder).
    this.hasMore = true;
    if (this.firstSeq === 0) this.firstSeq = undefined;
    return true;
  }

  update(id: string, change: Partial<ChatMessage>): boolean {
    const m = this.messages.get(id);
    if (!m) return false;
    this.messages.set(id, { ...m, ...change });
    return true;
  }

  setReactions(id: string, reactions: Reactions): boolean {
    return this.update(id, { reactions });
  }

  /** Applies one `Reaction` change to a loaded message (names compared with `same`). */
  applyReaction(id: string, change: ReactionChange, same: (a: string, b: string) => boolean): boolean {
    const m = this.messages.get(id);
    if (!m) return false;
    return this.update(id, { reactions: applyReaction(m.reactions, change, same) });
  }

  /**
   * Whether a loaded message's names for `emoji` disagree with the server's count: a change
   * was missed (while offline, or before the message was loaded), so it should be re-read.
   */
  reactionsStale(id: string, emoji: string, count: number): boolean {
    const m = this.messages.get(id);
    return m !== undefined && reactionUsers(m.reactions, emoji).length !== count;
  }

  /** Replies to a message that was deleted now quote a deleted message. */
  markReplyTargetDeleted(id: string): void {
    for (const m of this.messages.values()) {
      if (m.replyTo?.id === id && !m.replyTo.deleted) this.messages.set(m.id, { ...m, replyTo: { ...m.replyTo, deleted: true, excerpt: '' } });
    }
  }
}

/** What the conversation pane shows: always a room (a direct conversation is one too). */
export type View = { kind: 'room'; room: string };

export class AppState {
  status: ClientStatus = 'connecting';
  statusDetail = '';
  username = '';
  registered = false;
  /** The account is an administrator's (LoggedIn said so): it manages every room's webhooks too. */
  admin = false;
  view: View = { kind: 'room', room: 'general' };
  readonly rooms = new Map<string, RoomState>();
  /** Public rooms on the server the user is not in (RoomList, then RoomCreated). */
  directory: RoomSummary[] = [];

  room(name: string): RoomState {
    let r = this.rooms.get(name);
    if (!r) this.rooms.set(name, (r = new RoomState(name)));
    return r;
  }

  joinedRooms(): RoomState[] {
    return [...this.rooms.values()].filter((r) => r.joined);
  }

  activeRoom(): RoomState {
    return this.room(this.view.room);
  }

  isViewing(view: View): boolean {
    return view.room === this.view.room;
  }

  /** The two-member direct conversation with `peer`, when the account has one. */
  directWith(peer: string): RoomState | undefined {
    const key = peer.toLowerCase();
    return this.joinedRooms().find((r) => r.kind === 'direct' && r.with.length === 1 && r.with[0]!.toLowerCase() === key);
  }

  /** Names typing in a room whose indicator has not expired. */
  typingIn(room: string, now = Date.now()): string[] {
    const r = this.rooms.get(room);
    if (!r) return [];
    for (const [name, until] of r.typing) if (until <= now) r.typing.delete(name);
    return [...r.typing.keys()];
  }
}
