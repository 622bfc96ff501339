/**
 * What the web client keeps in localStorage: the login token (so a reload or a reconnect
 * signs in again without the password), the last name used, and the rooms the user is in.
 */

const TOKEN = 'parley.token';
const NAME = 'parley.name';
const ROOMS = 'parley.rooms';

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
    // Storage can be disabled (private mode): the session then lasts as long as the page.
  }
}

export const saved = {
  token: (): string | null => get(TOKEN),
  name: (): string => get(NAME) ?? '',
  rooms(): string[] {
    try {
      const list = JSON.parse(get(ROOMS) ?? '[]') as unknown;
      return Array.isArray(list) ? list.filter((r): r is string => typeof r === 'string').slice(0, 50) : [];
    } catch {
      return [];
    }
  },
  setToken: (token: string | null): void => set(TOKEN, token),
  setName: (name: string): void => set(NAME, name),
  setRooms: (rooms: string[]): void => set(ROOMS, JSON.stringify(rooms)),
};
