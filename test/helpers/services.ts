/**
 * Test access to the external services (PostgreSQL on 127.0.0.1:5432, Redis on
 * 127.0.0.1:6379). Tests that need one skip, saying why, when it is unreachable, and fail
 * instead when PARLEY_REQUIRE_SERVICES=1.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';

const PG_HOST = '127.0.0.1:5432';
/** The database the admin connection uses to create and drop the per-test databases. */
const PG_ADMIN_DB = 'test';
const PG_USERS = ['postgres', 'root'];
const REDIS_HOST = '127.0.0.1';
const REDIS_PORT = 6379;
const TIMEOUT_MS = 2000;

let pgUser: Promise<string> | null = null;

function pgUrl(user: string, db: string): string {
  return `postgres://${user}@${PG_HOST}/${db}`;
}

/** Connects an admin client, trying each user in turn; remembers the first that works. */
async function pgAdmin(): Promise<pg.Client> {
  pgUser ??= (async () => {
    const failures: string[] = [];
    for (const user of PG_USERS) {
      const client = new pg.Client({ connectionString: pgUrl(user, PG_ADMIN_DB), connectionTimeoutMillis: TIMEOUT_MS });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.end();
        return user;
      } catch (error) {
        failures.push(`${user}: ${(error as Error).message}`);
      }
    }
    pgUser = null;
    throw new Error(`PostgreSQL not reachable at ${PG_HOST} (${failures.join('; ')})`);
  })();
  const client = new pg.Client({ connectionString: pgUrl(await pgUser, PG_ADMIN_DB), connectionTimeoutMillis: TIMEOUT_MS });
  client.on('error', () => {});
  await client.connect();
  return client;
}

function pingRedis(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: REDIS_HOST, port: REDIS_PORT });
    let reply = '';
    const fail = (why: string) => {
      socket.destroy();
      reject(new Error(`Redis not reachable at ${REDIS_HOST}:${REDIS_PORT} (${why})`));
    };
    socket.setTimeout(TIMEOUT_MS, () => fail('timed out'));
    socket.on('error', (error) => fail(error.message));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (!reply.includes('\r\n')) return;
      socket.destroy();
      if (reply.startsWith('+PONG')) resolve();
      else reject(new Error(`Redis at ${REDIS_HOST}:${REDIS_PORT} answered ${JSON.stringify(reply.trim())} to PING`));
    });
  });
}

/**
 * False when the service is reachable. When it is not: throws if
 * PARLEY_REQUIRE_SERVICES=1, else returns the reason to skip.
 */
export async function serviceSkip(name: 'postgres' | 'redis'): Promise<string | false> {
  try {
    if (name === 'postgres') await (await pgAdmin()).end();
    else await pingRedis();
    return false;
  } catch (error) {
    const reason = (error as Error).message;
    if (process.env.PARLEY_REQUIRE_SERVICES === '1') throw new Error(`${reason}; PARLEY_REQUIRE_SERVICES=1 forbids skipping`);
    return reason;
  }
}

const PG_TEST_PREFIX = 'parley_test_';
const ORPHAN_AGE_S = 3600;

/** Drops test databases, over an hour old, left by test processes that died before their drop() ran. */
async function dropOrphans(admin: pg.Client): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${PG_TEST_PREFIX}%`]);
  for (const { datname } of rows) {
    const [pid, createdAt] = datname.slice(PG_TEST_PREFIX.length).split('_').map(Number);
    if (!pid || !createdAt || Date.now() / 1000 - createdAt < ORPHAN_AGE_S || isAlive(pid)) continue;
    await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates a fresh, uniquely named PostgreSQL database on 127.0.0.1:5432 (as user `postgres`,
 * or `root` when that fails); returns its URL and a drop() that removes it.
 */
export async function freshPostgresUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${PG_TEST_PREFIX}${process.pid}_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  const admin = await pgAdmin();
  try {
    await dropOrphans(admin);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: pgUrl(await pgUser!, name),
    async drop() {
      const client = await pgAdmin();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
