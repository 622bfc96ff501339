import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  reconnectMarkdown, resumeStorm, roomsOf, runReconnect, seedReconnect, type ReconnectScale,
} from '../bench/reconnect.js';
import { startServer } from '../bench/server-process.js';

const TINY: ReconnectScale = { accounts: 20, roomsEach: 3, rooms: 6, seen: 3, missed: 2, rounds: 1, timeoutSeconds: 60 };
const META = { date: 'd', command: 'c', machine: 'm', node: 'n', load: 'l' };

describe('bench/reconnect.ts (scenario f)', () => {
  it('gives every account distinct rooms and every room the same number of members', () => {
    const scale = { rooms: 200, roomsEach: 10 };
    const members = new Array<number>(scale.rooms).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const rooms = roomsOf(i, scale);
      assert.equal(new Set(rooms).size, scale.roomsEach, `account ${i}`);
      for (const r of rooms) members[r]!++;
    }
    assert.deepEqual(new Set(members), new Set([500]));
  });

  it('resumes every account of a tiny community with exactly what it missed, and times the reference\'s handshakes and the floor\'s resumes', { timeout: 120_000 }, async () => {
    const result = await runReconnect({ scale: TINY, log: () => undefined });
    assert.equal(result.rounds.length, 1);
    const { reference, parleyHandshakes, resume } = result.rounds[0]!;
    assert.deepEqual({ resumed: resume.resumed, failed: resume.failed, firstFailure: resume.firstFailure }, { resumed: 20, failed: 0, firstFailure: '' });
    assert.ok(reference.perSec > 0 && parleyHandshakes.perSec > 0 && resume.perSec > 0);
    // At least the LoggedIn, the Conversations and one History answer per room reached each account.
    assert.ok(resume.framesPer >= 2 + TINY.roomsEach, `frames per resume ${resume.framesPer}`);
    // The floor (prepared answers) resumed every account too: its answers pass the same checks.
    assert.deepEqual({ resumed: result.rounds[0]!.floor.resumed, failed: result.rounds[0]!.floor.failed }, { resumed: 20, failed: 0 });
    assert.match(reconnectMarkdown(result, META), /\| 1 \| [\d,.]+ \| [\d,.]+ \([\d,.]+ · [\d,.]+\) \| [\d,.]+ \| [\d,.]+ \| 20 \| 0 \|/);
  });

  it('counts an account whose answers do not hold exactly what it missed as failed, not resumed', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-bench-f-test-'));
    const db = join(dir, 'f.db');
    try {
      await seedReconnect(db, TINY);
      const server = await startServer('parley', { db });
      try {
        // The clients expect one message more than the seed posted during the outage.
        const storm = await resumeStorm(server, { ...TINY, missed: TINY.missed + 1 }, TINY.accounts);
        assert.equal(storm.resumed, 0);
        assert.equal(storm.failed, TINY.accounts);
        // Its Conversations (asked first) says seq 5 where 6 was expected; its History pages lack seq 6.
        assert.match(storm.firstFailure, /Conversations: \[f\d@5,f\d@5,f\d@5\], expected \[f\d@6,f\d@6,f\d@6\]|History h\d of f\d: seqs \[4,5\], expected \[4,5,6\]/);
      } finally {
        await server.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
