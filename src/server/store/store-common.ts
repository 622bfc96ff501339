/**
 * Rules every Store backend shares, so memory, SQLite and PostgreSQL give the same answers:
 * append validation, nonce keys, batch planning (duplicates within and across batches),
 * seq assignment, reaction maps, direct-conversation group keys and search terms.
 */
import type { Attachment, ChatMessage, Reactions, ReplyRef } from '../../protocol/messages.js';
import { emptyReactions } from '../../protocol/reactions.js';
import { attachmentOf } from '../files/urls.js';
import { lastCall } from '../memo.js';
import type { Appended, NewRoomMessage, ReactionBounds } from '../ports.js';

// Both conversions remember their last call: an append converts its timestamp several times
// (checked, normalised, stored), and appends of the same millisecond share it.
const isoOf = lastCall((x: string | number) => new Date(x).toISOString());
const millisOf = lastCall((iso: string) => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new TypeError(`invalid timestamp: ${JSON.stringify(iso)}`);
  return ms;
});

/** The most login tokens one account keeps (a device each); creating another drops the one expiring first. */
export const TOKENS_PER_ACCOUNT = 50;

/** Normalises a timestamp to the API's ISO 8601 UTC form. */
export function toIso(x: string | number | Date): string {
  return typeof x === 'object' ? new Date(x).toISOString() : isoOf(x);
}

/** Milliseconds since the epoch of an ISO timestamp (throws on an invalid one). */
export function toMillis(iso: string): number {
  return millisOf(iso);
}

/**
 * Throws a TypeError when an append could not be stored. Appends are checked before they are
 * queued, so one bad append never fails the batch it would have shared with others.
 */
export function checkAppend(m: NewRoomMessage): void {
  checkText('id', m.id);
  checkText('room', m.room);
  checkText('author', m.author);
  checkText('username', m.username);
  checkText('content', m.content);
  checkText('timestamp', m.timestamp);
  if (m.nonce != null && (typeof m.nonce !== 'string' || m.nonce.includes('\u0000'))) {
    throw new TypeError('append: nonce must be a string without NUL characters');
  }
  toMillis(m.timestamp);
  checkAttachments(m.attachments);
  if (m.replyTo != null) {
    checkText('replyTo.id', m.replyTo.id);
    checkText('replyTo.username', m.replyTo.username);
  }
  if (m.bot !== undefined && typeof m.bot !== 'boolean') throw new TypeError('append: bot must be a boolean');
  if (m.mentions != null && (!Array.isArray(m.mentions) || !m.mentions.every((n) => typeof n === 'string' && !n.includes('\u0000')))) {
    throw new TypeError('append: mentions must be strings without NUL characters');
  }
}

function checkText(field: string, value: unknown): void {
  if (typeof value !== 'string') throw new TypeError(`append: ${field} must be a string`);
  // PostgreSQL rejects NUL in text; every backend refuses it so they all behave alike.
  if (value.includes('\u0000')) throw new TypeError(`append: ${field} contains a NUL character`);
}

/** Checks an append and queues it for the next group commit (both SQL stores). */
export async function queueAppend(queue: { push(m: NewRoomMessage): Promise<Appended<ChatMessage>> }, m: NewRoomMessage): Promise<Appended<ChatMessage>> {
  checkAppend(m);
  return queue.push(m);
}

/** Identifies (author account id, nonce); null when the append carries no nonce. */
export function nonceKey(author: string, nonce: string | null | undefined): string | null {
  return nonce == null || nonce === '' ? null : `${author}\u001f${nonce}`;
}

/** An append's nonce key; null without a nonce. */
export function jobNonceKey(m: NewRoomMessage): string | null {
  return nonceKey(m.author, m.nonce);
}

/** How one append of a batch is settled: stored as new, answered by an earlier message, or by an earlier append of the batch. */
export type Slot = { state: 'new' } | { state: 'stored'; message: ChatMessage } | { state: 'same'; index: number };

/** Decides, in call order, which appends are new and which repeat a nonce already stored or earlier in the batch. */
export function planBatch(jobs: NewRoomMessage[], stored: Map<string, ChatMessage>): Slot[] {
  const firstInBatch = new Map<string, number>();
  return jobs.map((job, i): Slot => {
    const key = jobNonceKey(job);
    if (key === null) return { state: 'new' };
    const old = stored.get(key);
    if (old) return { state: 'stored', message: old };
    const earlier = firstInBatch.get(key);
    if (earlier !== undefined) return { state: 'same', index: earlier };
    firstInBatch.set(key, i);
    return { state: 'new' };
  });
}

/** New messages per room, for one `last_seq` bump per room; rooms sorted so writers lock them in one order. */
export function countByRoom(jobs: NewRoomMessage[], slots: Slot[]): Map<string, number> {
  const counts = new Map<string, number>();
  jobs.forEach((job, i) => {
    if (slots[i]!.state === 'new') counts.set(job.room, (counts.get(job.room) ?? 0) + 1);
  });
  return new Map([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Builds the messages a batch creates: given each room's `last_seq` after the bump, the new
 * messages get consecutive seqs in call order. Entries of non-new slots are undefined.
 */
export function buildNew(jobs: NewRoomMessage[], slots: Slot[], counts: Map<string, number>, lastAfter: Map<string, number>): (ChatMessage | undefined)[] {
  const next = new Map<string, number>();
  for (const [room, n] of counts) {
    const last = lastAfter.get(room);
    if (last === undefined) throw new Error(`seq allocation failed for room ${room}`);
    next.set(room, last - n + 1);
  }
  return jobs.map((job, i) => {
    if (slots[i]!.state !== 'new') return undefined;
    const seq = next.get(job.room)!;
    next.set(job.room, seq + 1);
    return newChat(job, seq);
  });
}

/** A message row, in the column order of both SQL stores' INSERT (ts as the store keeps it; bot as 0 or 1). */
export type RoomInsertRow<T> = [
  id: string, room: string, seq: number, username: string, authorKey: string, content: string, ts: T, nonce: string | null, mentions: string | null, bot: 0 | 1,
];

/** The rows a batch inserts: one per message it created, timestamps converted by `ts`. */
export function insertRows<T>(jobs: NewRoomMessage[], created: (ChatMessage | undefined)[], ts: (iso: string) => T): RoomInsertRow<T>[] {
  const rows: RoomInsertRow<T>[] = [];
  jobs.forEach((job, i) => {
    const c = created[i];
    if (c) rows.push([c.id, c.room, c.seq, c.username, job.author, c.content, ts(c.timestamp), job.nonce || null, mentionsColumn(c.mentions), c.bot === true ? 1 : 0]);
  });
  return rows;
}

/** Resolves every append of a batch from its slot and the messages the batch created. */
export function settleBatch(slots: Slot[], created: (ChatMessage | undefined)[]): Appended<ChatMessage>[] {
  return slots.map((slot, i) => {
    if (slot.state === 'stored') return { message: slot.message, duplicate: true };
    const message = created[slot.state === 'same' ? slot.index : i];
    if (!message) throw new Error('append batch lost a message');
    return { message, duplicate: slot.state === 'same' };
  });
}

/** A freshly stored message. */
export function newChat(m: NewRoomMessage, seq: number): ChatMessage {
  return {
    id: m.id, seq, room: m.room, username: m.username, content: m.content,
    timestamp: toIso(m.timestamp), editedAt: null, deleted: false, reactions: emptyReactions(), ...mentionsField(m.mentions),
    ...(m.bot === true ? BOT : {}),
  };
}

/** The field of a message written by a bot (spread into it). */
export const BOT = Object.freeze({ bot: true as const });

/** The stored form of a message's mentions: a JSON array, or null for none. */
export function mentionsColumn(mentions: readonly string[] | null | undefined): string | null {
  return mentions && mentions.length > 0 ? JSON.stringify(mentions) : null;
}

/** `{ mentions }` for a message that mentions anyone, else nothing (from a list or the stored column). */
export function mentionsField(value: readonly string[] | string | null | undefined): { mentions?: string[] } {
  if (value == null) return {};
  const list = typeof value === 'string' ? (JSON.parse(value) as string[]) : [...value];
  return list.length > 0 ? { mentions: list } : {};
}

/**
 * The group key of a direct conversation: its members' account ids, each once, sorted (the
 * JavaScript default sort, by UTF-16 code units) and joined with one space. Ids hold no spaces.
 */
export function groupKey(ids: readonly string[]): string {
  return [...new Set(ids)].sort().join(' ');
}

/**
 * Builds the reactions map from (emoji, username) rows in reaction order: emoji in first-use
 * order, names sorted. The emoji is user input, so rows are gathered in a Map and the result
 * has no prototype: `constructor` or `__proto__` is an emoji like any other (a plain object
 * would find Object.prototype's and break every read of the message).
 */
export function reactionsFrom(rows: Iterable<readonly [string, string]>): Reactions {
  const byEmoji = new Map<string, string[]>();
  for (const [emoji, username] of rows) {
    const names = byEmoji.get(emoji);
    if (names) names.push(username);
    else byEmoji.set(emoji, [username]);
  }
  const out = emptyReactions();
  for (const [emoji, names] of byEmoji) out[emoji] = names.sort();
  return out;
}

/** Counts on one message, read before adding a reaction: its different emoji, the emoji's reactions, the user's. */
export interface ReactionCounts {
  emoji: number;
  present: number;
  mine: number;
}

/** Which bound adding the reaction would pass, if any (every store decides alike). */
export function reactionRefusal(counts: ReactionCounts, bounds: ReactionBounds | undefined): 'emoji' | 'user' | undefined {
  if (!bounds) return undefined;
  if (counts.present === 0 && counts.emoji >= bounds.maxEmoji) return 'emoji';
  if (counts.mine >= bounds.maxPerUser) return 'user';
  return undefined;
}

/**
 * The terms of a search query (at most 32), from the one tokenizer every backend indexes
 * with (search-terms.cjs, shared with the SQLite worker thread). Every backend matches a
 * message when its `indexTerms` hold every term of the query.
 */
export { queryTerms as searchTerms, indexTerms } from './search-terms.cjs';

/** A database URL fit for messages and logs: the password is removed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, '@');
  }
}

/** Wraps a failure of `init()` in an Error that names the database and what failed. */
export function initError(backend: string, where: string, what: string, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Error(`${backend} store at ${where}: ${what}: ${reason}`, { cause });
}

/** How many characters of the original a reply quotes. */
export const EXCERPT_CHARS = 140;

/** The first EXCERPT_CHARS characters of a message's content, whitespace collapsed (an ellipsis when cut). */
export function excerptOf(content: string): string {
  const flat = content.replace(/\s+/g, ' ').trim();
  const chars = [...flat];
  return chars.length <= EXCERPT_CHARS ? flat : `${chars.slice(0, EXCERPT_CHARS - 1).join('').trimEnd()}…`;
}

/** What a reply shows of its original: the original's row when it is still stored (null once pruned). */
export function replyRefOf(id: string, username: string, original: { content: string; deleted?: boolean | number } | null): ReplyRef {
  if (!original || original.deleted) return { id, username, excerpt: '', deleted: true };
  return { id, username, excerpt: excerptOf(original.content) };
}

/** A files-table row as both SQL stores read it for a page of messages. */
export interface AttachmentRow {
  message_id: string; id: string; name: string; size: number; type: string;
  width: number | null; height: number | null; thumb_sha256: string | null;
}

/** Groups attachment rows (ordered by message, then position) by message id. */
export function attachmentsByMessage(rows: Iterable<AttachmentRow>): Map<string, Attachment[]> {
  const out = new Map<string, Attachment[]>();
  for (const r of rows) {
    const list = out.get(r.message_id) ?? [];
    list.push(attachmentOf({ ...r, size: Number(r.size), thumb: r.thumb_sha256 !== null }));
    out.set(r.message_id, list);
  }
  return out;
}

/** Ids of a batch's attachments, checked like the other fields of an append. */
export function checkAttachments(ids: readonly string[] | undefined): void {
  if (ids === undefined) return;
  if (!Array.isArray(ids)) throw new TypeError('append: attachments must be an array of file ids');
  for (const id of ids) checkText('attachment id', id);
}

/** Entries NewestTimes keeps at most (one per room); past it, it starts again empty. */
const NEWEST_TIMES_MAX = 100_000;

/**
 * The timestamps of rooms' newest messages, by room and seq, for conversationsOf: a store
 * reads each membership's newest seq from its index (or `rooms.last_seq`), the timestamp here,
 * and only the rooms whose newest seq it has not seen yet from their rows (lastActivity).
 * Reading 500 rows scattered over the messages table was most of a ListConversations (2 of
 * 3.5 ms on SQLite, 4 of 6 on PostgreSQL, at 1,000,000 messages). An entry never goes stale:
 * seqs are never given out twice in a room, and a message keeps its timestamp (edits and
 * deletions keep the row's `ts`), so a room's newest seq names one timestamp for good.
 */
export class NewestTimes {
  readonly #times = new Map<string, { seq: number; timestamp: string }>();

  /**
   * The newest messages of `rooms` (same order; null: none), whose newest seqs are `seqs`
   * (same order; null in an empty room): the known timestamps from here, the rest read with
   * `read` (rooms' newest messages, as Store.lastActivity) and remembered. A room that gained
   * a message meanwhile gets the newer one.
   */
  async resolve(
    rooms: readonly string[],
    seqs: readonly (number | null)[],
    read: (rooms: string[]) => Promise<Map<string, { seq: number; timestamp: string }>>,
  ): Promise<({ seq: number; timestamp: string } | null)[]> {
    const out: ({ seq: number; timestamp: string } | null)[] = new Array(rooms.length).fill(null);
    const missing: number[] = [];
    const times = this.#times;
    for (let i = 0; i < rooms.length; i++) {
      const seq = seqs[i];
      if (seq === null || seq === undefined) continue;
      const known = times.get(rooms[i]!);
      if (known && known.seq === seq) out[i] = known;
      else missing.push(i);
    }
    if (missing.length === 0) return out;
    const found = await read(missing.map((i) => rooms[i]!));
    if (times.size + found.size > NEWEST_TIMES_MAX) times.clear();
    for (const [room, last] of found) times.set(room, last);
    for (const i of missing) out[i] = found.get(rooms[i]!) ?? null;
    return out;
  }
}
