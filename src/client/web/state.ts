/**
 * What the web client knows: rooms with their messages (keyed by id, ordered by seq),
 * private conversations, members, typing, unread counts and the connection status.
 * Views read it; the controller changes it and then asks the views to render.
 */
import type { ClientStatus } from '../core/client.js';
import type { Attachment, ChatMessage, NotifyLevel, PrivateChatMessage, Reactions, ReplyRef, RoomSummary } from '../../protocol/messages.js';
import { applyReaction, reactionUsers, type ReactionChange } from '../../protocol/reactions.js';

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
  joined = false;
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
    this.notices.push({ key: `n${this.notices.length}`, afterSeq: this.lastSeq, text, timestamp: new Date().toISOString() });
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

export class DmState {
  readonly messages = new Map<string, PrivateChatMessage>();
  readonly pending: PendingMessage[] = [];
  loaded = false;
  hasMore = false;
  loadingOlder = false;
  unread = 0;

  constructor(readonly peer: string) {}

  add(m: PrivateChatMessage): boolean {
    if (this.messages.has(m.id)) return false;
    this.messages.set(m.id, m);
    return true;
  }

  /** Ordered by time; ids break ties (the server's ids grow with time). */
  sorted(): PrivateChatMessage[] {
    return [...this.messages.values()].sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.id.localeCompare(b.id));
  }
}

export type View = { kind: 'room'; room: string } | { kind: 'dm'; peer: string };

export class AppState {
  status: ClientStatus = 'connecting';
  statusDetail = '';
  username = '';
  registered = false;
  view: View = { kind: 'room', room: 'general' };
  readonly rooms = new Map<string, RoomState>();
  readonly dms = new Map<string, DmState>();
  /** Rooms on the server the user has not joined, from the last RoomList. */
  directory: RoomSummary[] = [];

  room(name: string): RoomState {
    let r = this.rooms.get(name);
    if (!r) this.rooms.set(name, (r = new RoomState(name)));
    return r;
  }

  /** The conversation with `peer`, found case-insensitively. */
  dm(peer: string): DmState {
    const key = peer.toLowerCase();
    let d = this.dms.get(key);
    if (!d) this.dms.set(key, (d = new DmState(peer)));
    return d;
  }

  joinedRooms(): RoomState[] {
    return [...this.rooms.values()].filter((r) => r.joined);
  }

  activeRoom(): RoomState | null {
    return this.view.kind === 'room' ? this.room(this.view.room) : null;
  }

  activeDm(): DmState | null {
    return this.view.kind === 'dm' ? this.dm(this.view.peer) : null;
  }

  isViewing(view: View): boolean {
    if (view.kind !== this.view.kind) return false;
    return view.kind === 'room'
      ? view.room === (this.view as { room: string }).room
      : view.peer.toLowerCase() === (this.view as { peer: string }).peer.toLowerCase();
  }

  /** Names typing in a room whose indicator has not expired. */
  typingIn(room: string, now = Date.now()): string[] {
    const r = this.rooms.get(room);
    if (!r) return [];
    for (const [name, until] of r.typing) if (until <= now) r.typing.delete(name);
    return [...r.typing.keys()];
  }
}
