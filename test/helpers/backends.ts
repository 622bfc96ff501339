/**
 * The three stores a behaviour over real sockets is checked on: memory, a SQLite file and a
 * fresh PostgreSQL database (skipped, saying why, when PostgreSQL is unreachable). Each
 * backend is a `--db` value a server (or a restarted one) opens, and its removal.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPostgresUrl, serviceSkip } from './services.js';

export interface Backend {
  db: string;
  cleanup(): Promise<void>;
}

/** [name, make a fresh backend, skip reason or false] for each store. */
export async function storeBackends(prefix: string): Promise<Array<[string, () => Promise<Backend>, string | false]>> {
  const pgSkip = await serviceSkip('postgres');
  return [
    ['memory', async () => ({ db: ':memory:', cleanup: async () => {} }), false],
    ['sqlite', async () => {
      const dir = await mkdtemp(join(tmpdir(), `parley-${prefix}-`));
      return { db: join(dir, 'p.db'), cleanup: () => rm(dir, { recursive: true, force: true }) };
    }, false],
    ['postgres', async () => {
      const pg = await freshPostgresUrl();
      return { db: pg.url, cleanup: () => pg.drop() };
    }, pgSkip],
  ];
}
