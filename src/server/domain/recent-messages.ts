/**
 * The newest messages of busy rooms, kept in memory so that `History {room, after}` (what a
 * client that comes back asks for, room by room) is answered without the store: a reconnect
 * storm of n accounts in rooms of m members asks for the same few messages n·rooms times.
 *
 * What an entry is: for one room, every stored message with a seq above `after`, in order,
 * as the store gave them, and whether the store holds anything older (`whole`: nothing). It
 * is only ever made from a store page that reached the room's end (`fill`: a page after a
 * seq, or the room's latest page, `fillLatest`, which may be empty: a room without messages
 * is an entry too), and then kept by fan-out (`delivered`, called for every room frame this node
 * delivers, in the room's order): the next Message is appended; anything it cannot apply
 * exactly (a gap in the seqs, an edit, a deletion, a reaction to a message it holds, a
 * message with files, whose URLs are signed per read) drops the entry, and the next store
 * page makes it again. So an entry never holds less than the store had when it was made plus
 * what was delivered since; what it may lack is a message committed but not yet delivered
 * here, which the asking session (it must be in the room) receives live right after.
 *
 * When the store can change behind this node's back, entries are trusted less:
 * - in a cluster (`shared()`), other nodes commit too, and a node that dies between its
 *   commit and its publish leaves a message no node delivers: an entry is served only while
 *   the bus is healthy, with no outage since it was made, and for SHARED_TRUST_MS after;
 * - retention prunes old messages (and moves `firstSeq`): `clear()` after every prune.
 *
 * Bounded: at most MAX_PER_ROOM messages per room (the oldest go first) and MAX_BYTES of
 * serialised messages in all (the rooms least recently used go first).
 *
 * Two questions are answered from it: `History {after}` (`page`) and the newest messages a
 * session gets on joining a room or taking a name (`latest`), which a crowd of arrivals in
 * one room asks for once each.
 */
import type { ChatMessage, ServerMessage } from '../../protocol/messages.js';
import { emptyReactions } from '../../protocol/reactions.js';
import { keptWithin } from './page-bytes.js';

/** Messages one room keeps at most. */
export const MAX_PER_ROOM = 200;
/** Serialised bytes (UTF-16 units, near enough) all rooms keep at most. */
export const MAX_BYTES = 16 * 1024 * 1024;
/** In a cluster, how long an entry is served after it was read from the store. */
export const SHARED_TRUST_MS = 2_000;

/** What the cache needs to know about the bus (fan-out passes its own). */
export interface RecentOptions {
  /** Other nodes may commit to the same rooms. */
  shared(): boolean;
  healthy(): boolean;
  /** Outages of the bus since it started (a change: something published meanwhile was lost). */
  outages(): number;
  now(): number;
}

/** A page served from memory: the messages and their JSON texts, in order. */
export interface RecentPage {
  messages: ChatMessage[];
  json: string[];
  hasMore: boolean;
  firstSeq: number;
}

interface Entry {
  /** Every message with seq > after is here. */
  after: number;
  /** messages[i].seq === after + 1 + i. */
  messages: ChatMessage[];
  /** JSON of each message, made on first use. */
  json: Array<string | undefined>;
  bytes: number;
  /** The store's lowest seq of the room (0: it holds none). */
  firstSeq: number;
  /** The store holds no message of the room at or below `after`. */
  whole: boolean;
  /**
   * The lowest `after` that `page` answers: `after`, except for an entry made from an empty
   * latest page, which does not know the room's last seq (retention may have pruned every
   * message: the store would call such a page incomplete) until a message comes.
   */
  floor: number;
  outages: number;
  filledAt: number;
  /** The last jsonPage made of it (every member of a room asks for the same one); null once the entry changes. */
  joined: JoinedPage | null;
}

/** A page as a JSON History frame holds it (RecentMessages.jsonPage). */
export interface JoinedPage {
  after: number;
  limit: number;
  budget: number;
  /** The messages' JSON texts, joined with commas. */
  messages: string;
  hasMore: boolean;
  firstSeq: number;
  /** The History frame of this page up to its `ref` (handle-messages.ts makes it on first use). */
  frameHead?: string;
}

/** A read from the store on its way: whether the room changed meanwhile. */
export interface FillMark {
  room: string;
  generation: number;
}

export class RecentMessages {
  /** By room, least recently used first. */
  private readonly rooms = new Map<string, Entry>();
  private bytes = 0;
  /** Bumped by clear(): a store read that began before it must not fill. */
  private generation = 0;
  /** Rooms with store reads on their way, and whether a frame of the room was delivered since (per read count). */
  private readonly reading = new Map<string, { reads: number; changed: boolean }>();

  constructor(private readonly options: RecentOptions) {}

  /**
   * The room's messages after `after` (at most `limit`), when this node holds all of them;
   * null when the store must answer.
   */
  page(room: string, after: number, limit: number): RecentPage | null {
    const e = this.rooms.get(room);
    if (!e || after < e.after || after < e.floor || !this.trusted(e)) return null;
    this.touch(room, e);
    const from = Math.min(after - e.after, e.messages.length);
    const to = Math.min(from + Math.max(0, limit), e.messages.length);
    return this.slice(e, from, to, to < e.messages.length);
  }

  /**
   * The room's newest `limit` messages, as the store's latest page (`history {room, limit}`)
   * gives them, when this node holds them (or the whole room, when it has fewer); null when
   * the store must answer.
   */
  latest(room: string, limit: number): RecentPage | null {
    const e = this.rooms.get(room);
    if (!e || !this.trusted(e)) return null;
    const n = e.messages.length;
    if (limit > n && !e.whole) return null;
    this.touch(room, e);
    const from = Math.max(0, n - Math.max(0, limit));
    return this.slice(e, from, n, from > 0 || !e.whole);
  }

  /**
   * As `page`, for a JSON-mode History frame: the messages' JSON joined with commas, as many as
   * fit `budget` bytes (each counted with its comma; at least one). The last page made of a
   * room is kept until its entry changes: a reconnect storm asks every member the same page.
   */
  jsonPage(room: string, after: number, limit: number, budget: number): JoinedPage | null {
    const e = this.rooms.get(room);
    const j = e?.joined;
    if (e && j && j.after === after && j.limit === limit && j.budget === budget && this.trusted(e)) {
      this.touch(room, e);
      return j;
    }
    const page = this.page(room, after, limit);
    if (!page) return null;
    const kept = keptWithin(page.json, budget);
    const messages = kept === page.json.length ? page.json.join(',') : page.json.slice(0, kept).join(',');
    const joined: JoinedPage = { after, limit, budget, messages, hasMore: page.hasMore || kept < page.json.length, firstSeq: page.firstSeq };
    this.rooms.get(room)!.joined = joined;
    return joined;
  }

  /** The room's newest message (seq and time), when this node holds the room's newest messages. */
  newest(room: string): { seq: number; timestamp: string } | null {
    const e = this.rooms.get(room);
    if (!e || e.messages.length === 0 || !this.trusted(e)) return null;
    const m = e.messages[e.messages.length - 1]!;
    return { seq: m.seq, timestamp: m.timestamp };
  }

  /** Most recently used last. */
  private touch(room: string, e: Entry): void {
    this.rooms.delete(room);
    this.rooms.set(room, e);
  }

  private slice(e: Entry, from: number, to: number, hasMore: boolean): RecentPage {
    const json: string[] = [];
    for (let i = from; i < to; i++) json.push(e.json[i] ??= JSON.stringify(e.messages[i]));
    return { messages: e.messages.slice(from, to), json, hasMore, firstSeq: e.firstSeq };
  }

  /** Call before reading a page from the store; hand the mark to `fill` with the page. */
  mark(room: string): FillMark {
    const r = this.reading.get(room);
    if (r) r.reads++;
    else this.reading.set(room, { reads: 1, changed: false });
    return { room, generation: this.generation };
  }

  /**
   * A page of `History {room, after}` read from the store: it becomes the room's entry when it
   * reached the room's end, holds every seq after `after` without a gap, nothing of the room
   * was delivered while it was read, and it covers more than the entry there is. Every mark
   * must come back here (with `page` null when the read failed).
   */
  fill(mark: FillMark, after: number, page: { messages: ChatMessage[]; hasMore: boolean; incomplete: boolean; firstSeq: number } | null): void {
    if (!this.settled(mark) || !page || page.hasMore || page.incomplete || page.messages.length === 0) return;
    this.make(mark.room, after, page.messages, page.firstSeq, page.firstSeq === after + 1, after);
  }

  /**
   * The room's latest page (`history {room, limit}`, no `before`) read from the store, as
   * `fill` takes a page after a seq: it reaches the room's end by what it is; it becomes the
   * entry when nothing of the room was delivered while it was read. An empty page (a room
   * without messages) makes an empty entry, which `latest` answers.
   */
  fillLatest(mark: FillMark, page: { messages: ChatMessage[]; hasMore: boolean; firstSeq: number } | null): void {
    if (!this.settled(mark) || !page) return;
    const messages = page.messages;
    if (messages.length === 0) {
      if (!page.hasMore) this.make(mark.room, 0, messages, page.firstSeq, true, Infinity);
      return;
    }
    const after = messages[0]!.seq - 1;
    this.make(mark.room, after, messages, page.firstSeq, !page.hasMore, after);
  }

  /** Ends a read begun with `mark`: whether its page may become the room's entry. */
  private settled(mark: FillMark): boolean {
    const r = this.reading.get(mark.room);
    const changed = r?.changed ?? true;
    if (r && --r.reads === 0) this.reading.delete(mark.room);
    if (changed || mark.generation !== this.generation) return false;
    return !this.options.shared() || this.options.healthy();
  }

  /** The room's entry from a store page holding every message after `after`, unless the one there covers more. */
  private make(room: string, after: number, messages: ChatMessage[], firstSeq: number, whole: boolean, floor: number): void {
    const current = this.rooms.get(room);
    if (current && current.after <= after && current.floor <= floor && this.trusted(current)) return;
    if (messages.length > MAX_PER_ROOM) return;
    let bytes = 0;
    for (const [i, m] of messages.entries()) {
      if (m.seq !== after + 1 + i || !plain(m)) return;
      bytes += size(m);
    }
    this.drop(room);
    this.rooms.set(room, {
      after, messages: [...messages], json: [], bytes, firstSeq, whole, floor, outages: this.options.outages(), filledAt: this.options.now(), joined: null,
    });
    this.bytes += bytes;
    this.bound();
  }

  /** A room frame this node delivered (in the room's order): kept exactly, or the entry goes. */
  delivered(room: string, msg: ServerMessage): void {
    if (!CHANGES.has(msg.type)) return;
    const r = this.reading.get(room);
    if (r) r.changed = true;
    const e = this.rooms.get(room);
    if (!e) return;
    switch (msg.type) {
      case 'Message':
      case 'PrivateMessage': {
        const seq = msg.seq;
        if (seq === undefined) return;
        const last = e.after + e.messages.length;
        if (seq <= last && seq > e.after) return; // delivered here already (a resend, a hole filled late)
        // A message read back from the store to fill a hole may have been edited, deleted or
        // reacted to already: only a new one is kept (one with files or a reply: never).
        if (seq !== last + 1 || msg.attachments !== undefined || msg.replyTo !== undefined || changedSince(msg)) {
          this.drop(room);
          return;
        }
        const m = stored(msg, room, seq);
        e.joined = null;
        if (e.messages.length === 0) {
          // The room's first message (seq after + 1): nothing was pruned before it.
          e.floor = e.after;
          if (e.whole) e.firstSeq = seq;
        }
        e.messages.push(m);
        e.json.push(undefined);
        const bytes = size(m);
        e.bytes += bytes;
        this.bytes += bytes;
        if (e.messages.length > MAX_PER_ROOM) this.shift(e);
        this.bound();
        return;
      }
      case 'Reaction':
        if (msg.seq > e.after) this.drop(room);
        return;
      case 'MessageEdited':
      case 'MessageDeleted':
        // Also older ones: a reply held here quotes its original's text.
        this.drop(room);
        return;
      default:
    }
  }

  /** Forgets every entry (retention pruned messages, or anything else changed the store behind fan-out). */
  clear(): void {
    this.generation++;
    this.rooms.clear();
    this.bytes = 0;
  }

  /** Rooms held and their bytes (tests, metrics). */
  size(): { rooms: number; bytes: number } {
    return { rooms: this.rooms.size, bytes: this.bytes };
  }

  private trusted(e: Entry): boolean {
    const o = this.options;
    if (!o.shared()) return true;
    return o.healthy() && o.outages() === e.outages && o.now() - e.filledAt < SHARED_TRUST_MS;
  }

  private drop(room: string): void {
    const e = this.rooms.get(room);
    if (!e) return;
    this.bytes -= e.bytes;
    this.rooms.delete(room);
  }

  private shift(e: Entry): void {
    const m = e.messages.shift()!;
    e.joined = null;
    e.json.shift();
    e.after = m.seq;
    e.floor = Math.max(e.floor, m.seq);
    e.whole = false;
    const bytes = size(m);
    e.bytes -= bytes;
    this.bytes -= bytes;
  }

  /** The least recently used rooms go while the total is over MAX_BYTES. */
  private bound(): void {
    while (this.bytes > MAX_BYTES) {
      const oldest = this.rooms.keys().next();
      if (oldest.done) return;
      this.drop(oldest.value);
    }
  }
}

/** The room frames that say a stored message changed or came (notices, typing and the rest do not). */
const CHANGES = new Set<ServerMessage['type']>(['Message', 'PrivateMessage', 'MessageEdited', 'MessageDeleted', 'Reaction']);

/** A stored message as every store pages it: nothing whose text depends on the read (signed file URLs). */
function plain(m: ChatMessage): boolean {
  return m.attachments === undefined || m.attachments.length === 0;
}

/** About the bytes a message takes: its text fields (the JSON around them is near constant). */
function size(m: ChatMessage): number {
  return 160 + m.id.length + m.room.length + m.username.length + m.content.length + (m.mentions?.join('').length ?? 0);
}

/** Whether a Message carries an edit, a deletion or reactions (a stored one, sent again to fill a hole). */
function changedSince(msg: Extract<ServerMessage, { type: 'Message' | 'PrivateMessage' }>): boolean {
  if (msg.editedAt || msg.deleted) return true;
  for (const _ in msg.reactions ?? {}) return true;
  return false;
}

/** A new Message as the store pages it (store-common newChat): not edited, not deleted, no reactions; a bot's marked. */
function stored(msg: Extract<ServerMessage, { type: 'Message' | 'PrivateMessage' }>, room: string, seq: number): ChatMessage {
  const username = msg.type === 'Message' ? msg.username : (msg.username ?? msg.from);
  const m: ChatMessage = {
    id: msg.id, seq, room, username, content: msg.content, timestamp: msg.timestamp, editedAt: null, deleted: false, reactions: emptyReactions(),
  };
  if (msg.mentions && msg.mentions.length > 0) m.mentions = msg.mentions;
  if (msg.bot) m.bot = true;
  return m;
}
