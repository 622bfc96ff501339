/**
 * What the web client keeps in localStorage: the account's token (so a reload, a reconnect
 * or a second tab is the same account, a guest's too), whether that account is a guest's,
 * the last name used, the conversation read last, and the text of every conversation's
 * message box, with the messages sent but not yet confirmed (a reload gives them back).
 */

const TOKEN = 'parley.token';
const NAME = 'parley.name';
const GUEST = 'parley.guest';
const VIEW = 'parley.view';
const DRAFTS = 'parley.drafts';
const UNSENT = 'parley.unsent';

/** At most this many characters of drafts are kept (localStorage is small and shared). */
const MAX_DRAFTS_CHARS = 200_000;

function get(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function set(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Storage can be disabled (private mode) or full: the session then lasts as long as the page.
  }
}

/** A JSON object of strings kept under `key` (anything else there reads as empty). */
function readMap(key: string): Record<string, string> {
  try {
    const value = JSON.parse(get(key) ?? '{}') as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

function writeMap(key: string, map: Record<string, string>): void {
  const text = JSON.stringify(map);
  set(key, text === '{}' ? null : text.length > MAX_DRAFTS_CHARS ? null : text);
}

/** An unsent message: `room` NUL `text`, under a key of its own. */
let unsentCount = 0;

export const saved = {
  token: (): string | null => get(TOKEN),
  name: (): string => get(NAME) ?? '',
  /** Whether the saved token is a guest's (its account ends some time after its last visit). */
  guest: (): boolean => get(GUEST) === '1',
  view: (): string | null => get(VIEW),
  setToken: (token: string | null): void => set(TOKEN, token),
  setName: (name: string): void => set(NAME, name),
  setGuest: (guest: boolean): void => set(GUEST, guest ? '1' : null),
  setView: (room: string): void => set(VIEW, room),

  /** What was in a conversation's message box. */
  draft: (room: string): string => readMap(DRAFTS)[room] ?? '',
  /**
   * Messages a previous page sent that the server never confirmed (the page was reloaded or
   * closed first) go back into their conversations' boxes: the text is never lost. Once, at load.
   */
  adoptUnsent(): void {
    const drafts = readMap(DRAFTS);
    for (const value of Object.values(readMap(UNSENT))) {
      const [room, text] = splitUnsent(value);
      drafts[room] = drafts[room] ? `${text}\n${drafts[room]}` : text;
    }
    writeMap(DRAFTS, drafts);
    set(UNSENT, null);
  },
  setDraft(room: string, text: string): void {
    const drafts = readMap(DRAFTS);
    if (text.trim() === '') delete drafts[room];
    else drafts[room] = text;
    writeMap(DRAFTS, drafts);
  },
  /** Remembers a message on its way; returns the key that removes it once the server has it. */
  addUnsent(room: string, text: string): string {
    const key = `${Date.now().toString(36)}.${++unsentCount}`;
    if (text !== '') writeMap(UNSENT, { ...readMap(UNSENT), [key]: `${room}\u0000${text}` });
    return key;
  },
  removeUnsent(key: string): void {
    const unsent = readMap(UNSENT);
    if (!(key in unsent)) return;
    delete unsent[key];
    writeMap(UNSENT, unsent);
  },
  /** Forgets the account (log out): token, drafts and where it was. The name stays for the sign-in field. */
  forget(): void {
    for (const key of [TOKEN, GUEST, VIEW, DRAFTS, UNSENT]) set(key, null);
  },
};

function splitUnsent(value: string): [string, string] {
  const at = value.indexOf('\u0000');
  return at < 0 ? ['', value] : [value.slice(0, at), value.slice(at + 1)];
}
