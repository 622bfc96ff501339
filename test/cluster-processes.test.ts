/**
 * Real `parley serve` processes with `--redis` and a PostgreSQL `--db` are one chat, and the
 * users of a process killed with SIGKILL are reported as left at the others within 30 s.
 * Skipped, saying why, when Redis or PostgreSQL is unreachable.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { clusterSkip, eventually, killHard, shared, spawnNode, type NodeProcess } from './helpers/cluster.js';
import { TestClient, jsonUser, resumeUser, textUser, joinRoom as join } from './helpers/ws-client.js';

const skip = await clusterSkip();
const tag = (): string => randomBytes(3).toString('hex');

describe('parley serve processes on Redis and PostgreSQL', { skip }, () => {
  it('two processes are one chat: rooms both ways, private messages, user lists, unique names, seq order', { timeout: 90_000 }, async () => {
    const s = await shared();
    const procs: NodeProcess[] = [];
    const clients: Array<{ close(): void }> = [];
    try {
      procs.push(await spawnNode(s), await spawnNode(s));
      const [p0, p1] = procs as [NodeProcess, NodeProcess];
      const room = `r${tag()}`;
      const ann = `Ann${tag()}`;
      const bob = `bob${tag()}`;
      const a = await textUser(p0.url, ann);
      const b = await jsonUser(p1.url, bob);
      clients.push(a, b);
      a.send(`/join ${room}`);
      await a.nextLine(`You are in ${room}`);
      await join(b, room);
      await a.nextLine(`${bob} joined ${room}`);

      a.send('hi from process 0');
      assert.equal((await b.nextOfType('Message', (m) => m.room === room)).content, 'hi from process 0');
      b.send({ type: 'SendMessage', room, content: 'hi from process 1' });
      await a.nextLine('hi from process 1');

      b.send({ type: 'PrivateMessage', to: ann, content: 'secret' });
      await a.nextLine(`[pm from ${bob}] secret`);
      a.send(`/pm ${bob} secret back`);
      assert.equal((await b.nextOfType('PrivateMessage', (m) => m.from === ann)).content, 'secret back');

      const both = [ann, bob].sort((x, y) => x.localeCompare(y, 'en', { sensitivity: 'base' }));
      a.send(`/users ${room}`);
      await a.nextLine(`Users in ${room} (2): ${both.join(', ')}`);
      b.send({ type: 'ListUsers', room, ref: 'lu' });
      assert.deepEqual((await b.nextOfType('UserList', (m) => m.ref === 'lu')).users, both);
      b.send({ type: 'ListRooms', ref: 'lr' });
      assert.equal((await b.nextOfType('RoomList', (m) => m.ref === 'lr')).rooms.find((r) => r.name === room)?.members, 2);

      const dup = await TestClient.json(p1.url);
      clients.push(dup);
      dup.send({ type: 'SetUsername', username: ann.toUpperCase(), ref: 'n' });
      assert.equal((await dup.nextOfType('Error', (m) => m.ref === 'n')).code, 'NAME_TAKEN');

      // Seq order: both processes send at once; a listener on each sees 1..N in order.
      const ordered = `r${tag()}`;
      const ls = [await jsonUser(p0.url, `l0${tag()}`), await jsonUser(p1.url, `l1${tag()}`)];
      const ss = [await jsonUser(p0.url, `s0${tag()}`), await jsonUser(p1.url, `s1${tag()}`)];
      clients.push(...ls, ...ss);
      for (const c of [...ls, ...ss]) await join(c, ordered);
      const PER = 50;
      for (let k = 0; k < PER; k++) for (const snd of ss) snd.send({ type: 'SendMessage', room: ordered, content: `m${k}` });
      for (const l of ls) {
        const seqs: number[] = [];
        while (seqs.length < PER * 2) seqs.push((await l.nextOfType('Message', (m) => m.room === ordered, 20_000)).seq);
        assert.deepEqual(seqs, Array.from({ length: PER * 2 }, (_, i) => i + 1), `in order at listener ${ls.indexOf(l)}`);
      }
    } finally {
      for (const c of clients) c.close();
      for (const p of procs) await killHard(p);
      await s.cleanup();
    }
  });

  it('three processes are one chat, and the users of one killed with SIGKILL are reported as left at the others within 30 s', { timeout: 90_000 }, async () => {
    const s = await shared();
    const procs: NodeProcess[] = [];
    const clients: Array<{ close(): void }> = [];
    try {
      procs.push(await spawnNode(s), await spawnNode(s), await spawnNode(s));
      const [p0, p1, p2] = procs as [NodeProcess, NodeProcess, NodeProcess];
      const room = `r${tag()}`;
      const victim = `doomed${tag()}`;
      const v = await jsonUser(p0.url, victim);
      const w1 = await jsonUser(p1.url, `w1${tag()}`);
      const w2 = await textUser(p2.url, `w2${tag()}`);
      clients.push(v, w1, w2);
      await join(v, room);
      await join(w1, room);
      w2.send(`/join ${room}`);
      await w2.nextLine(`You are in ${room}`);
      // Three processes, one room: each one's message reaches the other two.
      v.send({ type: 'SendMessage', room, content: 'from p0' });
      w1.send({ type: 'SendMessage', room, content: 'from p1' });
      w2.send('from p2');
      await eventually(() => ['from p0', 'from p1'].every((t) => w2.frames.some((f) => f.includes(t))), 5_000, 'p2 to see both');
      for (const c of [v, w1]) {
        await eventually(() => c.frames.filter((m) => m.type === 'Message' && m.room === room).length === 3, 5_000, 'all three messages');
      }
      assert.deepEqual(w1.frames.flatMap((m) => (m.type === 'Message' && m.room === room ? [m.seq] : [])), [1, 2, 3]);

      const killed = Date.now();
      await killHard(p0);
      const left1 = w1.nextOfType('UserLeft', (m) => m.username === victim && m.room === room, 30_000).then(() => Date.now() - killed);
      const left2 = w2.nextLine(`${victim} left ${room}`, 30_000).then(() => Date.now() - killed);
      const [t1, t2] = await Promise.all([left1, left2]).catch((err: unknown) => {
        throw new Error(`${String(err)}\n--- logs of the survivors:\n${p1.logs()}\n${p2.logs()}`);
      });
      assert.ok(t1 <= 30_000 && t2 <= 30_000);
      process.stdout.write(`# leave notices after kill -9: ${t1} ms and ${t2} ms\n`);
      // general too: the victim's notice there reaches w1 as well (before or after the other)
      await eventually(() => w1.frames.some((m) => m.type === 'UserLeft' && m.username === victim && m.room === 'general'), 5_000, 'UserLeft in general');

      w1.send({ type: 'ListUsers', ref: 'all' });
      assert.ok(!(await w1.nextOfType('UserList', (m) => m.ref === 'all')).users.includes(victim));
      // The victim's client comes back on another node as the same account (its token).
      const again = await resumeUser(p2.url, v.token!);
      clients.push(again);
      await w1.nextOfType('UserJoined', (m) => m.username === victim && m.room === 'general');
      w2.send('the survivors still talk');
      assert.equal((await w1.nextOfType('Message', (m) => m.room === room)).content, 'the survivors still talk');

      // A process stopped with SIGTERM says goodbye: its users are reported as left at once.
      const stopped = Date.now();
      p2.kill('SIGTERM');
      await w1.nextOfType('UserLeft', (m) => m.username === victim && m.room === 'general', 10_000);
      const graceful = Date.now() - stopped;
      assert.ok(graceful < 5_000, `left ${graceful} ms after SIGTERM`);
      assert.deepEqual(await p2.exited, { code: 0, signal: null });
    } finally {
      for (const c of clients) c.close();
      for (const p of procs) await killHard(p);
      await s.cleanup();
    }
  });
});
