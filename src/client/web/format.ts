/** Formatting of names, times and days for the message list. */

const AVATAR_COLOURS = 8;

/** A stable colour class (`c0`…`c7`) for a user name. */
export function colourClass(name: string): string {
  let hash = 0;
  for (const ch of name.toLowerCase()) hash = (hash * 31 + ch.codePointAt(0)!) >>> 0;
  return `c${hash % AVATAR_COLOURS}`;
}

/** The first letter of a name, upper-cased, for its avatar. */
export function initial(name: string): string {
  const first = [...name][0] ?? '?';
  return first.toUpperCase();
}

// The formats are made once: toLocaleString and its kin make one at every call (half a
// millisecond in Chromium for the full date, and every message shown needs its times).
let clock: Intl.DateTimeFormat | undefined;
let full: Intl.DateTimeFormat | undefined;
let dayThisYear: Intl.DateTimeFormat | undefined;
let dayOtherYear: Intl.DateTimeFormat | undefined;

/** 14:05 in the viewer's locale. */
export function timeOf(iso: string): string {
  return (clock ??= new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })).format(new Date(iso));
}

/** The full date and time, for tooltips. */
export function fullDate(iso: string): string {
  return (full ??= new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' })).format(new Date(iso));
}

/** A key that is equal for two timestamps on the same local day. */
export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** "Today", "Yesterday" or a long date, for day separators. */
export function dayLabel(iso: string, now: Date = new Date()): string {
  const key = dayKey(iso);
  if (key === dayKey(now.toISOString())) return 'Today';
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (key === dayKey(yesterday.toISOString())) return 'Yesterday';
  const d = new Date(iso);
  const format = d.getFullYear() === now.getFullYear()
    ? (dayThisYear ??= new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long' }))
    : (dayOtherYear ??= new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }));
  return format.format(d);
}

/** Whether two messages by the same author are close enough in time to share a header. */
export function closeInTime(a: string, b: string, withinMs = 5 * 60_000): boolean {
  return Math.abs(Date.parse(b) - Date.parse(a)) <= withinMs && dayKey(a) === dayKey(b);
}

/** "alice is typing…", "alice and bob are typing…", "Several people are typing…". */
export function typingText(names: string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

/** Names in the user's language's order: localeCompare's, with one collator kept instead of one per call. */
export const compareNames = new Intl.Collator().compare;

/** Case-insensitive name comparison (the server folds case too). */
export function sameName(a: string | null | undefined, b: string | null | undefined): boolean {
  return a != null && b != null && a.toLowerCase() === b.toLowerCase();
}
