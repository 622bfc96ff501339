import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startChildServer } from '../helpers/child-server.js';
import { TestClient, jsonUser, resumeUser } from '../helpers/ws-client.js';

describe('durability', () => {
  it('keeps every confirmed message exactly once, in order, across kill -9', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-durable-'));
    const db = join(dir, 'nested', 'parley.db');
    let child = await startChildServer(['--port', '0', '--db', db, '--messages-per-second', '10000', '--message-burst', '10000']);
    try {
      const a = await jsonUser(child.url, 'durable');
      const confirmed: string[] = [];
      a.ws.on('message', (raw) => {
        const m = JSON.parse(raw.toString()) as { type: string; ref?: string; id: string };
        if (m.type === 'Message' && typeof m.ref === 'string') confirmed.push(m.id);
      });
      for (let i = 0; i < 300; i++) a.send({ type: 'SendMessage', content: `msg ${i}`, ref: `r${i}`, nonce: `n${i}` });
      await a.nextOfType('Message', (m) => m.ref === 'r150');
      child.kill('SIGKILL');
      await child.exited;
      assert.ok(confirmed.length >= 151, `only ${confirmed.length} confirmed`);

      child = await startChildServer(['--port', '0', '--db', db]);
      await using b = await TestClient.json(child.url);
      b.send({ type: 'History', room: 'general', after: 0, limit: 500, ref: 'h' });
      const h = await b.nextOfType('History', (m) => m.ref === 'h');
      const ids = h.messages.map((m) => m.id);
      assert.equal(new Set(ids).size, ids.length, 'a message is stored twice');
      for (const id of confirmed) assert.ok(ids.includes(id), `confirmed message ${id} is missing after kill -9`);
      const seqs = h.messages.map((m) => m.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'seq has a gap or is out of order');
      const contents = h.messages.map((m) => m.content);
      assert.deepEqual(contents, contents.map((_, i) => `msg ${i}`));
    } finally {
      child.kill('SIGKILL');
      await child.exited;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers a retried nonce after a restart with the stored message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-nonce-'));
    const db = join(dir, 'parley.db');
    let child = await startChildServer(['--port', '0', '--db', db]);
    try {
      const a = await jsonUser(child.url, 'retrier');
      a.send({ type: 'SendMessage', content: 'only once', nonce: 'fixed-nonce', ref: 1 });
      const first = await a.nextOfType('Message', (m) => m.ref === 1);
      child.kill('SIGKILL');
      await child.exited;
      child = await startChildServer(['--port', '0', '--db', db]);
      // The same account (its token) retries: nonces are per account.
      await using b = await resumeUser(child.url, a.token!);
      b.send({ type: 'SendMessage', content: 'only once', nonce: 'fixed-nonce', ref: 2 });
      const again = await b.nextOfType('Message', (m) => m.ref === 2);
      assert.equal(again.id, first.id);
      b.send({ type: 'History', room: 'general', ref: 'h' });
      const h = await b.nextOfType('History', (m) => m.ref === 'h');
      assert.equal(h.messages.filter((m) => m.content === 'only once').length, 1);
    } finally {
      child.kill('SIGKILL');
      await child.exited;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops the start with a clear message naming a database path that cannot be opened', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-baddb-'));
    try {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(dir, 'file'), 'not a folder');
      const bad = join(dir, 'file', 'parley.db');
      await assert.rejects(startChildServer(['--port', '0', '--db', bad]), (err: Error) => {
        assert.ok(err.message.includes(bad), err.message);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
