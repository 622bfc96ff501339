/**
 * Pages of messages bounded in bytes as well as in count. A page of 4,000-character CJK
 * messages with their reactions can pass a megabyte at 50 messages; one frame must never carry
 * unbounded data, so History, PrivateHistory, SearchResults and the History sent on joining
 * stop at `--history-page-bytes` of serialised messages and say `hasMore`: the client pages on.
 */
import type { ServerMessage } from '../../protocol/messages.js';
import type { Session } from './session.js';

/** A page cut to its byte budget; `trimmed` when messages were left out (so there are more). */
export interface FittedPage<T> {
  messages: T[];
  trimmed: boolean;
}

/**
 * The byte budget's one rule: texts taken in turn (`textAt(0)`, `textAt(1)`, … of `n`), each
 * counted with its comma, as long as they fit `budget`; at least one, so paging always moves
 * on (one message is bounded by the content and reaction limits). Returns the kept texts.
 */
function textsWithin(n: number, budget: number, textAt: (i: number) => string): string[] {
  const texts: string[] = [];
  let used = 0;
  while (texts.length < n) {
    const text = textAt(texts.length);
    used += Buffer.byteLength(text) + 1;
    if (used > budget && texts.length > 0) break;
    texts.push(text);
  }
  return texts;
}

/** The kept messages' JSON texts, from the start of the list or from its end, in that order of walking. */
function walk(messages: readonly object[], budget: number, from: 'start' | 'end'): string[] {
  const n = messages.length;
  return textsWithin(n, budget, (i) => JSON.stringify(messages[from === 'start' ? i : n - 1 - i]));
}

/** How many of the leading JSON texts (cached pages: already serialised) fit `budget` bytes. */
export function keptWithin(json: readonly string[], budget: number): number {
  return textsWithin(json.length, budget, (i) => json[i]!).length;
}

/** How many of the trailing JSON texts (the newest of a cached latest page) fit `budget` bytes. */
export function keptFromEnd(json: readonly string[], budget: number): number {
  const n = json.length;
  return textsWithin(n, budget, (i) => json[n - 1 - i]!).length;
}

/**
 * Keeps the messages that fit in `budget` bytes, from the start of the list (`from: 'start'`:
 * a page after a seq, search results newest first) or from its end (`from: 'end'`: the newest
 * of a page before a seq, or the latest).
 */
export function fitPage<T extends object>(messages: T[], budget: number, from: 'start' | 'end'): FittedPage<T> {
  const n = messages.length;
  const kept = walk(messages, budget, from).length;
  if (kept === n) return { messages, trimmed: false };
  return { messages: from === 'start' ? messages.slice(0, kept) : messages.slice(n - kept), trimmed: true };
}

/** The inside of a JSON frame's `messages` array: the kept messages' texts joined with commas. */
export interface FittedJson {
  json: string;
  trimmed: boolean;
}

/** fitPage, keeping the same messages, each serialised once for its size and the frame. */
export function fitPageJson(messages: readonly object[], budget: number, from: 'start' | 'end'): FittedJson {
  const texts = walk(messages, budget, from);
  const trimmed = texts.length < messages.length;
  if (from === 'end') texts.reverse();
  return { json: texts.join(','), trimmed };
}

const NO_MESSAGES = '"messages":[]';

/**
 * Sends `answer(kept, trimmed)`: an answer carrying the page `messages` cut to `budget` bytes
 * (fitPage). A JSON client's frame is the answer's JSON made with no messages, the kept
 * messages' JSON put into its empty `messages` array: each message is serialised once, for
 * its size and for the frame, not again inside JSON.stringify of the whole answer (a search's
 * 25 KB). The first `"messages":[]` of that text is the field: inside a string value before
 * it, a quote is escaped.
 */
export function sendPage<M extends object>(s: Session, messages: M[], budget: number, from: 'start' | 'end', answer: (kept: M[], trimmed: boolean) => ServerMessage): void {
  if (s.mode !== 'json') {
    const fitted = fitPage(messages, budget, from);
    s.send(answer(fitted.messages, fitted.trimmed));
    return;
  }
  const fitted = fitPageJson(messages, budget, from);
  const frame = JSON.stringify(answer([], fitted.trimmed));
  const at = frame.indexOf(NO_MESSAGES) + NO_MESSAGES.length - 1;
  s.sendFrame(`${frame.slice(0, at)}${fitted.json}${frame.slice(at)}`);
}
