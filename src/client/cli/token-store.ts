/**
 * Where the terminal client keeps its login tokens, so that the next start with the same
 * server and name comes back as the same account (its rooms, conversations and ownership)
 * instead of taking the name afresh. One file per server URL and name, readable by its
 * owner only, under the user's config directory; `--token-file` puts every token in one
 * file instead.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { nameKey } from '../../protocol/names.js';
import { readTokenFile, writeTokenFile } from './connect.js';

/** The longest file name many file systems take, with room for the suffix. */
const MAX_FILE_NAME = 200;

/**
 * The directory the client keeps its files in: `PARLEY_CONFIG_DIR`, else
 * `$XDG_CONFIG_HOME/parley`, else `~/.config/parley`.
 */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PARLEY_CONFIG_DIR) return env.PARLEY_CONFIG_DIR;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'parley');
}

/**
 * The file name for a server and a name: both spelled out (so that a person can tell which
 * file to delete), or a hash of them when that would be too long for a file name. Names
 * that differ only in case share a file, as they share an account.
 */
export function tokenFileName(url: string, name: string): string {
  const readable = `${encodeURIComponent(url)}--${encodeURIComponent(nameKey(name))}`;
  if (readable.length <= MAX_FILE_NAME) return `${readable}.token`;
  return `${createHash('sha256').update(`${url}\n${nameKey(name)}`).digest('hex').slice(0, 32)}.token`;
}

/**
 * The tokens of one server: in `file` when one was given (`--token-file`), else one file per
 * name under `dir/tokens`, or nowhere when `dir` is null (a script with a generated name).
 */
export class TokenKeeper {
  constructor(
    private readonly url: string,
    private readonly file: string | undefined,
    private readonly dir: string | null,
  ) {}

  /** Whether tokens go to the file given with `--token-file`. */
  get explicit(): boolean {
    return this.file !== undefined;
  }

  /** Where the token of `name` is kept (the `--token-file` whatever the name), or null. */
  fileFor(name: string | undefined): string | null {
    if (this.file !== undefined) return this.file;
    if (this.dir === null || name === undefined) return null;
    return join(this.dir, 'tokens', tokenFileName(this.url, name));
  }

  /** The token kept for `name`, or null. */
  read(name: string | undefined): string | null {
    const file = this.fileFor(name);
    return file === null ? null : readTokenFile(file);
  }

  /** Keeps the token of `username`, readable by its owner only. */
  save(username: string, token: string): void {
    const file = this.fileFor(username);
    if (file === null) return;
    if (this.file === undefined) mkdirSync(join(this.dir!, 'tokens'), { recursive: true, mode: 0o700 });
    writeTokenFile(file, token);
  }

  /** Forgets the token of `username` (after a logout, a refused token, a new name). */
  forget(username: string | undefined): void {
    const file = this.fileFor(username);
    if (file === null) return;
    try {
      unlinkSync(file);
    } catch {
      // Already gone.
    }
  }
}
