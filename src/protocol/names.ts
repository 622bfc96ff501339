/**
 * Rules for user and room names. A name is 1 to 32 letters, digits, "_", "-" or ".",
 * after Unicode NFKC normalisation, with no invisible character (default-ignorable code
 * points, Hangul fillers) and written in one script, or in Latin with Han and Japanese
 * kana, Han and Bopomofo, or Han and Hangul (UTS #39 "highly restrictive"). Two names
 * that differ only by case or look alike share one key (`nameKey`), and only one of
 * them can be online (or registered).
 */
import CONFUSABLES_DATA from 'unhomoglyph/data.json' with { type: 'json' };

const NAME_RE = /^[\p{L}\p{N}_.-]{1,32}$/u;

/**
 * Unicode's confusables.txt (UTS #39) as shipped by the `unhomoglyph` package (data of
 * Unicode 13.0): each source character mapped to the prototype it looks like.
 */
const CONFUSABLES: Readonly<Record<string, string>> = CONFUSABLES_DATA;

/**
 * Characters that show as nothing: default-ignorable code points (joiners, variation
 * selectors, tags, soft hyphen, U+034F, Hangul fillers U+115F U+1160 U+3164 U+FFA0, U+180E...)
 * and the blank braille pattern U+2800, which fonts draw as a space.
 */
const INVISIBLE_RE = /[\p{Default_Ignorable_Code_Point}\u2800]/u;
const INVISIBLE_OR_SPACE_RE = /[\p{Default_Ignorable_Code_Point}\u2800\p{White_Space}]/gu;

/** True when `text` shows nothing: it is empty or only whitespace and invisible characters. */
export function isBlank(text: string): boolean {
  return text.replace(INVISIBLE_OR_SPACE_RE, '').length === 0;
}

/** NFKC-normalises a user name as typed; returns undefined when it breaks the rules. */
export function normaliseName(raw: string): string | undefined {
  const name = normalise(raw);
  return name === undefined || RESERVED_KEYS.has(nameKey(name)) ? undefined : name;
}

function normalise(raw: string): string | undefined {
  const name = raw.normalize('NFKC').trim();
  if (!NAME_RE.test(name) || INVISIBLE_RE.test(name) || !isHighlyRestrictive(name)) return undefined;
  return name;
}

/**
 * Words that start lines of the text-mode server itself ("Error: ...", "Rooms:",
 * "Commands:"): as user names, their messages ("Error: you are banned") would pass as
 * the server's. Their look-alikes are refused with them. Filled in below, once nameKey exists.
 */
const RESERVED_KEYS = new Set<string>();

/**
 * Case folding: NFKC, then upper then lower case (so ß is ss), final sigma as sigma (as
 * Unicode's case folding has it, and lower-casing in context does not), until it settles.
 */
function fold(text: string): string {
  let s = text;
  for (let i = 0; i < 4; i++) {
    const next = s.normalize('NFKC').toUpperCase().toLowerCase().replaceAll('\u03C2', '\u03C3').normalize('NFKC');
    if (next === s) break;
    s = next;
  }
  return s;
}

/** UTS #39 skeleton: NFD, each character replaced by its confusables.txt prototype, NFD again. */
export function skeleton(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFD')) out += CONFUSABLES[ch] ?? ch;
  return out.normalize('NFD');
}

/**
 * What one (case-folded) character looks like, case aside: the skeleton of its capital
 * when the capital imitates another letter (Cyrillic в as В looks like B, i as I looks
 * like l), else the skeleton of the character itself (m looks like rn). Where the two
 * cases imitate different letters, the one that imitates an ASCII letter or digit wins
 * (Greek σ looks like o, Σ like Ʃ: o), and between two such the capital (Greek ν looks
 * like v, Ν like N: n).
 */
function lookOf(ch: string): string {
  const viaLower = fold(skeleton(ch));
  const upper = ch.toUpperCase();
  if (upper === ch) return viaLower;
  const viaUpper = fold(skeleton(upper));
  if (viaUpper === ch) return viaLower;
  return ASCII_ALNUM_RE.test(viaLower) && !ASCII_ALNUM_RE.test(viaUpper) ? viaLower : viaUpper;
}

const ASCII_ALNUM_RE = /^[a-z0-9]+$/;

const lookCache = new Map<string, string>();

/**
 * The key under which a name is unique: the case-folded UTS #39 skeleton, so that names
 * that differ by case, by compatibility forms (NFKC) or by look-alike characters
 * (Cyrillic а and Latin a, l I 1 and |, rn and m, 0 and O) share one key. Stores keep
 * these keys: a change here needs the stores to re-key (NAME_KEY_VERSION).
 */
export function nameKey(name: string): string {
  const known = keyCache.get(name);
  if (known !== undefined) return known;
  const key = computeKey(name);
  // Names recur (every message of an author is keyed): a bounded memo, emptied when full.
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(name, key);
  return key;
}

const KEY_CACHE_MAX = 50_000;
const keyCache = new Map<string, string>();

function computeKey(name: string): string {
  let key = name;
  // One round maps each character to its look and takes the skeleton of the result; a look
  // can itself have a look (i to I to l), so rounds go on until the key settles.
  for (let i = 0; i < 6; i++) {
    const next = keyRound(key);
    if (next === key) break;
    key = next;
  }
  return key;
}

function keyRound(text: string): string {
  let looks = '';
  for (const ch of fold(text).normalize('NFD')) {
    let look = lookCache.get(ch);
    if (look === undefined) {
      look = lookOf(ch);
      if (lookCache.size < 65_536) lookCache.set(ch, look);
    }
    looks += look;
  }
  return fold(skeleton(looks));
}

for (const word of ['Error', 'Rooms', 'Commands']) RESERVED_KEYS.add(nameKey(word));

/** The version of `nameKey`'s definition; stores re-key their rows when theirs is older. */
export const NAME_KEY_VERSION = 2;

/**
 * Every script Unicode names (ISO 15924 codes, from Unicode 17's PropertyValueAliases.txt)
 * but Common, Inherited and Unknown. A runtime whose regular expressions do not know a
 * newer script skips it: characters of that script then count as of no script.
 */
const SCRIPT_CODES = ('Adlm Aghb Ahom Arab Armi Armn Avst Bali Bamu Bass Batk Beng Bhks Bopo Brah Brai Bugi Buhd Cakm Cans '
  + 'Cari Cham Cher Chrs Copt Cpmn Cprt Cyrl Deva Diak Dogr Dsrt Dupl Egyp Elba Elym Ethi Gara Geor Glag Gong Gonm Goth Gran '
  + 'Grek Gujr Gukh Guru Hang Hani Hano Hatr Hebr Hira Hluw Hmng Hmnp Hung Ital Java Kali Kana Kawi Khar Khmr Khoj Kits Knda '
  + 'Krai Kthi Lana Laoo Latn Lepc Limb Lina Linb Lisu Lyci Lydi Mahj Maka Mand Mani Marc Medf Mend Merc Mero Mlym Modi Mong '
  + 'Mroo Mtei Mult Mymr Nagm Nand Narb Nbat Newa Nkoo Nshu Ogam Olck Onao Orkh Orya Osge Osma Ougr Palm Pauc Perm Phag Phli '
  + 'Phlp Phnx Plrd Prti Rjng Rohg Runr Samr Sarb Saur Sgnw Shaw Shrd Sidd Sind Sinh Sogd Sogo Sora Soyo Sund Sunu Sylo Syrc '
  + 'Tagb Takr Tale Talu Taml Tang Tavt Telu Tfng Tglg Thaa Thai Tibt Tirh Tnsa Todr Toto Tutg Ugar Vaii Vith Wara Wcho Xpeo '
  + 'Xsux Yezi Yiii Zanb').split(' ');

const SCRIPT_RES: ReadonlyArray<readonly [string, RegExp]> = SCRIPT_CODES.flatMap((code) => {
  try {
    return [[code, new RegExp(`^\\p{Script_Extensions=${code}}$`, 'u')] as const];
  } catch {
    return [];
  }
});

/** UTS #39 augmented script sets: Han, kana and Hangul also count as the scripts they mix in. */
const AUGMENTED: Readonly<Record<string, readonly string[]>> = {
  Hani: ['Hani', 'Hanb', 'Jpan', 'Kore'],
  Hira: ['Hira', 'Jpan'],
  Kana: ['Kana', 'Jpan'],
  Hang: ['Hang', 'Kore'],
  Bopo: ['Bopo', 'Hanb'],
};

const scriptCache = new Map<string, ReadonlySet<string> | null>();

/** The augmented Script_Extensions of one character, or null for Common and Inherited (any script). */
function scriptsOf(ch: string): ReadonlySet<string> | null {
  const cached = scriptCache.get(ch);
  if (cached !== undefined) return cached;
  const set = new Set<string>();
  for (const [code, re] of SCRIPT_RES) {
    if (re.test(ch)) for (const s of AUGMENTED[code] ?? [code]) set.add(s);
  }
  const result = set.size === 0 ? null : set;
  if (scriptCache.size < 65_536) scriptCache.set(ch, result);
  return result;
}

/** The script mixes UTS #39 allows at the "highly restrictive" level besides a single script. */
const ALLOWED_MIXES: ReadonlyArray<ReadonlySet<string>> = [
  new Set(['Latn', 'Hani', 'Hira', 'Kana']),
  new Set(['Latn', 'Hani', 'Bopo']),
  new Set(['Latn', 'Hani', 'Hang']),
];

/**
 * UTS #39 section 5.2 "highly restrictive": the characters share a script (their
 * augmented script sets intersect), or every character is of Latin, Han, Hiragana or
 * Katakana; or of Latin, Han or Bopomofo; or of Latin, Han or Hangul. So Latin mixed
 * with Cyrillic or Greek (pаypal with a Cyrillic а) is refused.
 */
export function isHighlyRestrictive(name: string): boolean {
  const sets: ReadonlySet<string>[] = [];
  for (const ch of name) {
    const scripts = scriptsOf(ch);
    if (scripts !== null) sets.push(scripts);
  }
  const [first, ...rest] = sets;
  if (!first || [...first].some((s) => rest.every((set) => set.has(s)))) return true;
  return ALLOWED_MIXES.some((mix) => sets.every((set) => [...set].some((s) => mix.has(s))));
}

/** Room names follow the user-name rules and are case-insensitive: stored lower-cased. */
/** A room name as typed (`#Tech` is room `tech`), lower-cased; undefined when invalid. */
export function normaliseRoom(raw: string): string | undefined {
  const known = roomsSeen.get(raw);
  if (known !== undefined) return known;
  const name = normalise(raw.trim().replace(/^#/, ''));
  if (name === undefined) return undefined;
  const room = name.toLowerCase();
  if (roomsSeen.size >= ROOMS_REMEMBERED) roomsSeen.clear();
  roomsSeen.set(raw, room);
  return room;
}

/**
 * normaliseRoom's answers for the names it accepted lately, by the name as given: clients
 * name the same few rooms in frame after frame (a reconnecting one asks History of each of
 * its rooms), and NFKC, the script checks and the regular expressions cost a few µs a name.
 * Cleared whole when full.
 */
const roomsSeen = new Map<string, string>();
const ROOMS_REMEMBERED = 4096;

export const DEFAULT_ROOMS = ['general', 'random', 'tech'] as const;

/**
 * Orders user names as people read them: case and accents aside. One collator serves every
 * call: `a.localeCompare(b, 'en', { sensitivity: 'base' })` builds one per comparison, and
 * sorting 10,000 online names that way took 430-500 ms of the event loop, against 7-10 ms.
 */
export const compareNames: (a: string, b: string) => number = new Intl.Collator('en', { sensitivity: 'base' }).compare;

/**
 * Control characters other than newline and tab, bidi marks, overrides and isolates, and
 * invisible spaces. Zero-width (non-)joiners (U+200C, U+200D) stay: emoji sequences and
 * Persian or Indic text need them.
 */
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B\u200E\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/g;

/** Strips control and bidi-override characters from message content. */
export function cleanContent(raw: string): string {
  return raw.replace(CONTROL_RE, '');
}
