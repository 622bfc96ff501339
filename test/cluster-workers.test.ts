/**
 * `parley serve --workers 2`: two node:cluster workers share one port. With --redis and a
 * PostgreSQL --db they are one chat; without --redis the primary warns that each worker is
 * a chat of its own. SIGTERM stops the primary and its workers with exit code 0.
 * The --redis case is skipped, saying why, when Redis or PostgreSQL is unreachable.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { describe, it } from 'node:test';
import type { ServerMessage } from '../src/protocol/messages.js';
import { clusterSkip, eventually, killHard, shared, spawnNode, spawnServe, type NodeProcess } from './helpers/cluster.js';
import { jsonUser, type TestClient } from './helpers/ws-client.js';

const skip = await clusterSkip();
const tag = (): string => randomBytes(3).toString('hex');

/** GET /healthz on a fresh TCP connection (so the primary hands it to the next worker). */
function healthOnce(port: number): Promise<{ pid: number; node: string; bus: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 3_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => {
        try { resolve(JSON.parse(body) as { pid: number; node: string; bus: string }); } catch (err) { reject(err as Error); }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function stopGracefully(p: NodeProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  p.kill('SIGTERM');
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('did not exit within 12 s of SIGTERM')), 12_000).unref());
  return Promise.race([p.exited, timeout]);
}

describe('parley serve --workers', () => {
  it('runs two workers on one port that are one chat with --redis', { skip, timeout: 90_000 }, async () => {
    const s = await shared();
    let p: NodeProcess | null = null;
    const clients: Array<TestClient<ServerMessage>> = [];
    try {
      p = await spawnNode(s, ['--workers', '2']);
      const port = p.port;
      const pids = new Set<number>();
      await eventually(async () => {
        const h = await healthOnce(port);
        assert.equal(h.bus, 'ok');
        pids.add(h.pid);
        return pids.size === 2;
      }, 20_000, 'both workers to answer on the shared port');
      assert.ok(!pids.has(p.proc.pid!), 'the primary does not serve');

      const room = `r${tag()}`;
      const names = Array.from({ length: 6 }, (_, i) => `w${i}${tag()}`);
      for (const n of names) clients.push(await jsonUser(p.url, n));
      for (const c of clients) {
        c.send({ type: 'JoinRoom', room, ref: 'j' });
        await c.nextOfType('Ack', (m) => m.ref === 'j');
      }
      for (const [i, c] of clients.entries()) c.send({ type: 'SendMessage', room, content: `from ${names[i]}` });
      for (const [i, c] of clients.entries()) {
        await eventually(() => c.pending().filter((m) => m.type === 'Message' && m.room === room).length >= names.length, 10_000, `${names[i]} to see every message`);
      }
      clients[0]!.send({ type: 'ListUsers', room, ref: 'lu' });
      const users = (await clients[0]!.nextOfType('UserList', (m) => m.ref === 'lu')).users;
      assert.deepEqual([...users].sort(), [...names].sort());
      const dup = await jsonUser(p.url, `x${tag()}`);
      clients.push(dup);
      dup.send({ type: 'SetUsername', username: names[1]!, ref: 'dup' });
      assert.equal((await dup.nextOfType('Error', (m) => m.ref === 'dup')).code, 'NAME_TAKEN', 'names are unique across workers');

      for (const c of clients) c.close();
      const exit = await stopGracefully(p);
      assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}: ${p.stderr()}`);
    } finally {
      for (const c of clients) c.close();
      if (p) await killHard(p);
      await s.cleanup();
    }
  });

  it('warns that workers without --redis are separate chats, and still serves', { timeout: 60_000 }, async () => {
    const p = await spawnServe(['--port', '0', '--db', ':memory:', '--workers', '2']);
    try {
      assert.match(p.stderr(), /--workers without --redis: each worker is a separate chat/);
      const h = await healthOnce(p.port);
      assert.equal(h.bus, 'ok');
      const exit = await stopGracefully(p);
      assert.equal(exit.code, 0);
    } finally {
      await killHard(p);
    }
  });

  it('gives up with exit code 1 when workers cannot start', { timeout: 60_000 }, async () => {
    // Three failed starts, each waiting out the 5 s Redis connect timeout: allow for a loaded machine.
    const p = spawnServe(['--port', '0', '--db', ':memory:', '--workers', '2', '--redis', 'redis://127.0.0.1:1'], {}, 50_000);
    await assert.rejects(p, /exited \(1\) before listening/);
  });
});
