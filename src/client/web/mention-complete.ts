/**
 * What `@name` completion in the composer offers, as pure rules over text and state: where
 * the `@` fragment being typed starts (by the same rules the server reads mentions with,
 * protocol/mentions.ts), which names the open conversation knows, and the few that match.
 */
import { withoutCode } from '../../protocol/mentions.js';
import type { AppState } from './state.js';

/** The most suggestions shown at once. */
export const MAX_SUGGESTIONS = 8;

/** The `@` fragment before the caret: `start` is the index of its `@`, `query` what follows it. */
export interface MentionFragment {
  start: number;
  query: string;
}

/** One suggestion: `value` is written after the `@` (a name, `here` or `room`). */
export interface MentionOption {
  value: string;
  /** A short note beside the name ("online", what @here does), or ''. */
  detail: string;
  special: boolean;
}

/** The names a conversation offers, best first, and which of `@here` / `@room` count there. */
export interface NameSource {
  /** Members of the conversation, with whether they are online. */
  members: Array<{ name: string; online: boolean }>;
  /** Other names the user knows: authors in the conversation, direct conversations' people. */
  others: string[];
  here: boolean;
  room: boolean;
}

const NAME_CHAR = /[\p{L}\p{N}_.-]/u;
const FRAGMENT_RE = /(?:^|[^\p{L}\p{N}_.@-])@([\p{L}\p{N}_.-]{1,32})$/u;

/**
 * The mention being typed just before `caret`, or null: an `@` at the start or after a
 * character that is not part of a word or a name (so `ann@example` is no mention), followed
 * by at least one name character, outside code spans and fenced code.
 */
export function mentionFragment(text: string, caret: number): MentionFragment | null {
  const before = text.slice(0, caret);
  const m = FRAGMENT_RE.exec(before);
  if (!m) return null;
  const start = caret - m[1]!.length - 1;
  // Code is blanked with spaces of the same length: an `@` still there is outside code.
  if (withoutCode(before)[start] !== '@') return null;
  return { start, query: m[1]! };
}

/** Where the name under the caret ends: a completion replaces the rest of the word too. */
export function fragmentEnd(text: string, caret: number): number {
  let end = caret;
  while (end < text.length && NAME_CHAR.test(text[end]!)) end++;
  return end;
}

/**
 * The suggestions for `query`, matched case-insensitively by prefix: members first, then
 * other known names, then `@here` / `@room` (always kept when they match, so a long list of
 * names never hides them); each name once, at most `limit`.
 */
export function suggestions(source: NameSource, query: string, limit = MAX_SUGGESTIONS): MentionOption[] {
  const prefix = query.toLowerCase();
  const matches = (name: string): boolean => name.toLowerCase().startsWith(prefix);
  const specials: MentionOption[] = [];
  if (source.here && matches('here')) specials.push({ value: 'here', detail: 'Members online now', special: true });
  if (source.room && matches('room')) specials.push({ value: 'room', detail: 'Everyone in the room', special: true });
  const seen = new Set<string>();
  const names: MentionOption[] = [];
  const add = (name: string, detail: string): void => {
    const key = name.toLowerCase();
    if (seen.has(key) || !matches(name)) return;
    seen.add(key);
    names.push({ value: name, detail, special: false });
  };
  for (const m of byName(source.members, (x) => x.name)) add(m.name, m.online ? 'online' : '');
  for (const name of byName(source.others, (x) => x)) add(name, '');
  return [...names.slice(0, Math.max(0, limit - specials.length)), ...specials];
}

function byName<T>(items: readonly T[], name: (item: T) => string): T[] {
  return [...items].sort((a, b) => name(a).localeCompare(name(b), undefined, { sensitivity: 'base' }));
}

/**
 * The names the open conversation offers (never the user's own): its roster once read,
 * else who is online there and a direct conversation's people; then the authors of its
 * loaded messages and the people of the account's direct conversations. `@here` counts in
 * rooms, `@room` only from their owner or moderators (docs/protocol.md).
 */
export function nameSource(s: AppState): NameSource {
  const r = s.activeRoom();
  const me = s.username.toLowerCase();
  const notMe = (name: string): boolean => name.toLowerCase() !== me;
  const members = r.roster
    ? r.roster.map((m) => ({ name: m.username, online: m.online }))
    : [...new Set([...r.members, ...r.with])].map((name) => ({ name, online: r.members.includes(name) }));
  const others = new Set<string>();
  for (const m of r.messages.values()) others.add(m.username);
  for (const d of s.joinedRooms()) if (d.kind === 'direct') for (const name of d.with) others.add(name);
  return {
    members: members.filter((m) => notMe(m.name)),
    others: [...others].filter(notMe),
    here: r.kind !== 'direct',
    room: r.moderates(),
  };
}
