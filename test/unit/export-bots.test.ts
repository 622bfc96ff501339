/** `parley export` keeps saying which messages a bot wrote: `bot: true` in JSON, "(bot)" after the name in Markdown. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { exportRoom } from '../../src/server/export-room.js';
import { SqliteStore } from '../../src/server/store/store-sqlite.js';

it('exports a bot\'s messages marked as a bot\'s, in JSON and in Markdown', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-export-bots-'));
  try {
    const db = join(dir, 'p.db');
    const store = new SqliteStore(db);
    await store.init();
    await store.ensureRoom({ name: 'ops', topic: '', owner: null, createdAt: '2026-12-01T10:00:00.000Z', kind: 'public' });
    const at = '2026-12-01T10:00:01.000Z';
    await store.appendMessage({ id: 'm1', room: 'ops', author: 'u.ci', username: 'ci', content: 'build passed', timestamp: at, bot: true });
    await store.appendMessage({ id: 'm2', room: 'ops', author: 'u.ann', username: 'ann', content: 'thanks', timestamp: at });
    await store.close();
    const md = join(dir, 'ops.md');
    const json = join(dir, 'ops.json');
    assert.equal(await exportRoom({ db, room: 'ops', format: 'markdown', out: md }), 2);
    await exportRoom({ db, room: 'ops', format: 'json', out: json });
    const text = await readFile(md, 'utf8');
    assert.match(text, /\*\*ci\*\* \(bot\) · /);
    assert.match(text, /\*\*ann\*\* · /);
    const doc = JSON.parse(await readFile(json, 'utf8')) as { messages: Array<{ username: string; bot?: boolean }> };
    assert.deepEqual(doc.messages.map((m) => [m.username, m.bot]), [['ci', true], ['ann', undefined]]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
