/**
 * The `--db` / `DATABASE_URL` value, parsed at the door: which backend and where, or an
 * Error naming `--db` and what is wrong. No I/O and no backend is loaded here.
 */
import { fileURLToPath } from 'node:url';

/** A `--db` value, parsed: which backend, and where. */
export type DbSetting =
  | { kind: 'memory' }
  | { kind: 'postgres'; url: string }
  /** `path` as given (relative paths are relative to the working folder). */
  | { kind: 'sqlite'; path: string };

/** A scheme is two or more characters before a colon, so `C:\chat.db` stays a path. */
const SCHEME_RE = /^([a-z][a-z0-9+.-]+):/i;
const ACCEPTED = 'a file path, sqlite:PATH, file:PATH, :memory: or a postgres:// URL';

/**
 * Parses a `--db` value; throws an Error naming `--db` and what is wrong with it.
 *
 * - `:memory:` (or `sqlite::memory:`): nothing persisted.
 * - `postgres://…` or `postgresql://…`: PostgreSQL.
 * - `sqlite:///abs/path.db`, `sqlite:relative.db`, `file:///abs/x.db`, `file:./x.db`: SQLite on
 *   that path, percent-escapes decoded (`sqlite://` is followed by an empty host, so the path
 *   after it is absolute; `sqlite:` without slashes is relative to the working folder).
 * - any other `scheme:` is refused; everything else is a SQLite file path.
 */
export function parseDbSetting(db: string): DbSetting {
  if (db.trim() === '') throw new Error('--db is empty: give ' + ACCEPTED);
  if (db === ':memory:') return { kind: 'memory' };
  const scheme = SCHEME_RE.exec(db)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'sqlite', path: db };
  if (scheme === 'postgres' || scheme === 'postgresql') {
    if (!db.slice(scheme.length + 1).startsWith('//')) throw new Error(`--db ${scheme}: URL must be ${scheme}://HOST/DATABASE`);
    return { kind: 'postgres', url: db };
  }
  if (scheme === 'sqlite' || scheme === 'file') return sqliteUrl(db, scheme);
  throw new Error(`--db scheme "${scheme}:" is not supported: give ${ACCEPTED}`);
}

function sqliteUrl(db: string, scheme: 'sqlite' | 'file'): DbSetting {
  const rest = db.slice(scheme.length + 1);
  if (/[?#]/.test(rest)) throw new Error(`--db ${db}: query strings and fragments are not supported in ${scheme}: URLs`);
  if (scheme === 'sqlite' && rest === ':memory:') return { kind: 'memory' };
  let path: string;
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const host = slash === -1 ? rest.slice(2) : rest.slice(2, slash);
    if (host !== '' && host.toLowerCase() !== 'localhost') {
      throw new Error(`--db ${db}: a ${scheme}: URL names a local file (${scheme}:///ABSOLUTE/PATH or ${scheme}:RELATIVE/PATH), not host "${host}"`);
    }
    try {
      path = slash === -1 ? '' : fileURLToPath(`file://${rest.slice(slash)}`);
    } catch (error) {
      throw new Error(`--db ${db}: ${(error as Error).message}`);
    }
  } else {
    try {
      path = decodeURIComponent(rest);
    } catch {
      throw new Error(`--db ${db}: bad percent-escape in the path`);
    }
  }
  if (path === '' || path.endsWith('/')) throw new Error(`--db ${db}: no file name in the ${scheme}: URL`);
  return { kind: 'sqlite', path };
}
