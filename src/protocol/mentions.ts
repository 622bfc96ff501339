/**
 * Mentions in message content: `@name`, `@here` and `@room`. Pure text rules, no lookups;
 * the server resolves the names it finds (unknown names are not mentions) once per message.
 *
 * - A mention starts with `@` that is not inside a word (`a@b.c` is an e-mail address).
 * - The name is 1 to 32 name characters (letters, digits, `_`, `-`, `.`); trailing dots
 *   are punctuation (`@ann.` mentions ann), as is anything that is not a name character.
 * - Nothing inside a Markdown code span (`` `...` ``) or a fenced code block (```` ``` ````)
 *   mentions anyone.
 */

/** The special mentions, as they appear in a message's `mentions` (no name contains `@`). */
export const HERE = '@here';
export const ROOM = '@room';

/** The most distinct names one message can mention; later ones are plain text. */
export const MAX_MENTIONS = 20;

export interface ParsedMentions {
  /** Names as written (without `@`), distinct by exact text, in order, at most MAX_MENTIONS. */
  names: string[];
  here: boolean;
  room: boolean;
}

const NAME_CHAR = /[\p{L}\p{N}_.-]/u;
const WORD_CHAR = /[\p{L}\p{N}_]/u;
const MENTION_RE = /@([\p{L}\p{N}_.-]{1,64})/gu;

/** The content with code spans and fenced code blocks blanked out (same length, so offsets hold). */
export function withoutCode(content: string): string {
  // Fenced blocks first (``` to the next ``` or the end), then inline spans of n backticks
  // closed by the same run of n backticks (CommonMark); an unclosed run is literal text.
  const blank = (m: string) => ' '.repeat(m.length);
  return content
    .replace(/```[\s\S]*?(?:```|$)/g, blank)
    .replace(/(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, blank);
}

/** The mentions written in `content` (see the file comment). */
export function parseMentions(content: string): ParsedMentions {
  const out: ParsedMentions = { names: [], here: false, room: false };
  if (!content.includes('@')) return out;
  const text = withoutCode(content);
  const seen = new Set<string>();
  for (const m of text.matchAll(MENTION_RE)) {
    const at = m.index;
    const before = at > 0 ? charBefore(text, at) : '';
    // Inside a word (an e-mail address) or after another name character or `@`: not a mention.
    if (before !== '' && (WORD_CHAR.test(before) || NAME_CHAR.test(before) || before === '@')) continue;
    let name = m[1]!.replace(/\.+$/, '');
    if (name.length === 0 || name.length > 32) continue;
    const lower = name.toLowerCase();
    if (lower === 'here') { out.here = true; continue; }
    if (lower === 'room') { out.room = true; continue; }
    name = name.normalize('NFC');
    if (seen.has(name) || out.names.length >= MAX_MENTIONS) continue;
    seen.add(name);
    out.names.push(name);
  }
  return out;
}

/** The code point before index `at` (a surrogate pair counts as one). */
function charBefore(text: string, at: number): string {
  const low = text.charCodeAt(at - 1);
  if (at >= 2 && low >= 0xdc00 && low <= 0xdfff) return text.slice(at - 2, at);
  return text.slice(at - 1, at);
}
