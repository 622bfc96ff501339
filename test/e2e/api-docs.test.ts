/**
 * docs/api.md cannot go stale: every `sh` block in it is run, in order, with curl against a
 * real server (port 0), and its output must match the `http` block that follows: the status
 * line, each header shown, and the JSON body, where `"…"` stands for any value, an object
 * holds exactly the keys shown, and an array exactly the items shown. `$PARLEY` is the
 * server's base URL, `$TOKEN` the login token of the administrator `root` (who owns the
 * private room `board`), `$BOT_TOKEN` the token of the bot `ci`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { ERRORS } from '../../src/protocol/codes.js';
import { PASSWORD } from '../helpers/accounts.js';
import { startTestServer } from '../helpers/server.js';
import { TestClient } from '../helpers/ws-client.js';

const run = promisify(execFile);
const DOC = new URL('../../docs/api.md', import.meta.url);
const ANY = '…';

const curlSkip = await run('curl', ['--version']).then(() => false as const, () => 'curl is not installed');

interface Example {
  command: string;
  answer: string;
  /** The line of the command block, for messages. */
  line: number;
}

/** The `sh` blocks of the document, each with the `http` block after it. */
function examples(doc: string): Example[] {
  const blocks = [...doc.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    info: m[1]!, text: m[2]!, line: doc.slice(0, m.index).split('\n').length,
  }));
  const out: Example[] = [];
  blocks.forEach((b, i) => {
    if (b.info !== 'sh') return;
    const next = blocks[i + 1];
    assert.equal(next?.info, 'http', `the sh block at line ${b.line} is followed by its answer (an http block)`);
    out.push({ command: b.text, answer: next!.text, line: b.line });
  });
  return out;
}

/** Splits an HTTP answer (curl -i, or the document's) into status line, headers and body. */
function splitAnswer(text: string): { status: string; headers: Map<string, string>; body: string } {
  const normal = text.replace(/\r\n/g, '\n');
  const cut = normal.indexOf('\n\n');
  const head = (cut < 0 ? normal : normal.slice(0, cut)).split('\n');
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: head[0]!.trim(), headers, body: cut < 0 ? '' : normal.slice(cut + 2).trim() };
}

/** Whether `actual` matches the documented `expected` (see the file comment); the path of the first difference. */
function mismatch(expected: unknown, actual: unknown, path = 'body'): string | null {
  if (expected === ANY) return actual === undefined || actual === null ? `${path}: missing` : null;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${path}: expected ${expected.length} items, got ${JSON.stringify(actual)?.slice(0, 300)}`;
    for (const [i, e] of expected.entries()) {
      const m = mismatch(e, actual[i], `${path}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    const keys = Object.keys(expected).sort();
    const got = Object.keys(actual).sort();
    if (JSON.stringify(keys) !== JSON.stringify(got)) return `${path}: keys ${JSON.stringify(got)}, documented ${JSON.stringify(keys)}`;
    for (const k of keys) {
      const m = mismatch((expected as Record<string, unknown>)[k], (actual as Record<string, unknown>)[k], `${path}.${k}`);
      if (m) return m;
    }
    return null;
  }
  return expected === actual ? null : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

describe('docs/api.md', { skip: curlSkip }, () => {
  it('runs every curl example against a real server and gets the documented answer', async () => {
    const doc = await readFile(DOC, 'utf8');
    const list = examples(doc);
    assert.ok(list.length >= 8, `found ${list.length} examples`);
    await using server = await startTestServer({ admins: ['root'] });
    await using root = await TestClient.json(server.url);
    await root.nextOfType('Welcome');
    root.send({ type: 'Register', username: 'root', password: PASSWORD, ref: 'reg' });
    const token = (await root.nextOfType('LoggedIn', (m) => m.ref === 'reg')).token;
    root.send({ type: 'CreateRoom', room: 'board', private: true, ref: 'board' });
    await root.nextOfType('Ack', (m) => m.ref === 'board');
    root.send({ type: 'CreateBot', name: 'ci', ref: 'bot' });
    const botToken = String((await root.nextOfType('Ack', (m) => m.ref === 'bot')).token);
    const env = { ...process.env, PARLEY: server.httpUrl, TOKEN: token, BOT_TOKEN: botToken };

    for (const example of list) {
      assert.match(example.command, /^curl /, `the example at line ${example.line} is a curl command`);
      const { stdout } = await run('bash', ['-c', example.command], { env });
      const actual = splitAnswer(stdout);
      const expected = splitAnswer(example.answer);
      const where = `docs/api.md line ${example.line}`;
      assert.equal(actual.status, expected.status, `${where}: the status (${actual.body.slice(0, 300)})`);
      for (const [name, value] of expected.headers) assert.equal(actual.headers.get(name), value, `${where}: header ${name}`);
      const diff = mismatch(JSON.parse(expected.body), JSON.parse(actual.body));
      assert.equal(diff, null, `${where}: ${diff}\n${actual.body.slice(0, 1000)}`);
    }
  });

  it('documents every endpoint and only real error codes', async () => {
    const doc = await readFile(DOC, 'utf8');
    for (const endpoint of ['POST /api/rooms/{room}/messages', 'GET /api/rooms/{room}/messages', 'GET /api/rooms', 'GET /api/conversations']) {
      assert.ok(doc.includes(`\`${endpoint}`), `${endpoint} is documented`);
    }
    const table = doc.slice(doc.indexOf('| status |'), doc.indexOf('\n\n', doc.indexOf('| status |')));
    const codes = [...table.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!);
    assert.ok(codes.length > 10);
    for (const code of codes) assert.ok(code in ERRORS, `${code} is an error code`);
  });
});
