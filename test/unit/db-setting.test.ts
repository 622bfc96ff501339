/** The `--db` value: which backend, which file, and the schemes refused by name. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDbSetting } from '../../src/server/store/db-setting.js';
import { openStore } from '../../src/server/store/open-store.js';

describe('parseDbSetting', () => {
  it('reads sqlite: and file: URLs as SQLite file paths', () => {
    const cases: [string, string][] = [
      ['sqlite:///abs/path.db', '/abs/path.db'],
      ['sqlite://localhost/abs/path.db', '/abs/path.db'],
      ['sqlite:relative.db', 'relative.db'],
      ['sqlite:./data/x.db', './data/x.db'],
      ['SQLITE:///abs/upper.db', '/abs/upper.db'],
      ['file:./x.db', './x.db'],
      ['file:///abs/x.db', '/abs/x.db'],
      ['file:///abs/with%20space.db', '/abs/with space.db'],
      ['file:with%20space.db', 'with space.db'],
      ['./data/parley.db', './data/parley.db'],
      ['/var/lib/parley/chat.sqlite', '/var/lib/parley/chat.sqlite'],
      ['chat.db', 'chat.db'],
    ];
    for (const [db, path] of cases) assert.deepEqual(parseDbSetting(db), { kind: 'sqlite', path }, db);
  });

  it('reads :memory: and PostgreSQL URLs', () => {
    assert.deepEqual(parseDbSetting(':memory:'), { kind: 'memory' });
    assert.deepEqual(parseDbSetting('sqlite::memory:'), { kind: 'memory' });
    for (const url of ['postgres://u:p@db.example:5432/parley', 'postgresql://db.example/parley', 'POSTGRES://db/x']) {
      assert.deepEqual(parseDbSetting(url), { kind: 'postgres', url });
    }
  });

  it('refuses other schemes, naming --db and the scheme', () => {
    for (const [db, scheme] of [['mysql://u@h/db', 'mysql:'], ['redis://127.0.0.1:6379', 'redis:'], ['http://x/y.db', 'http:']]) {
      assert.throws(() => parseDbSetting(db!), (err: Error) => {
        assert.match(err.message, /^--db /);
        assert.ok(err.message.includes(`"${scheme}"`), err.message);
        assert.ok(!err.message.includes('\n'));
        return true;
      });
      assert.throws(() => openStore(db!), /not supported/);
    }
  });

  it('refuses sqlite: and file: URLs that name no local file', () => {
    for (const db of ['sqlite://dbhost/x.db', 'file://server/share/x.db', 'sqlite:', 'file:///', 'sqlite:x.db?mode=ro', 'postgres:db', '', 'file:bad%zz.db']) {
      assert.throws(() => parseDbSetting(db), /^Error: --db/, db);
    }
  });
});
