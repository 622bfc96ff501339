/**
 * Files over real HTTP and WebSocket, server on port 0: uploads on every storage (memory,
 * disk beside a SQLite database, PostgreSQL), sniffed types and the headers they are served
 * with, signed URLs, limits (size, quota, rate, tokens), interrupted uploads, attachments and
 * replies in Message and History, and files removed with their last message.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Attachment, ChatMessage } from '../../src/protocol/messages.js';
import { nameKey } from '../../src/protocol/names.js';
import { UrlSigner } from '../../src/server/files/urls.js';
import type { Config } from '../../src/server/config.js';
import { eventually } from '../helpers/eventually.js';
import { interruptedUpload, png, registeredUser, startedUpload, upload, uploaded } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { freshPostgresUrl, serviceSkip } from '../helpers/services.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';

const HTML = Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>\n');

async function get(server: TestServer, path: string): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(`${server.httpUrl}${path}`);
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** The signer the server uses (its secret is in the store). */
async function signerOf(server: TestServer, now = Date.now): Promise<UrlSigner> {
  const secret = await server.store.initSetting('file-url-secret', 'unused');
  return new UrlSigner(Buffer.from(secret, 'base64url'), 3600, now);
}

function roundTrip(name: string, options: () => Promise<{ overrides: Partial<Config>; cleanup(): Promise<void> }>, skip: string | false = false): void {
  describe(`uploads on ${name}`, { skip }, () => {
    it('stores an upload, sniffs a PNG named .txt as an inline image with a thumbnail, and serves an HTML named .png as a download', async () => {
      const { overrides, cleanup } = await options();
      try {
        await using server = await startTestServer(overrides);
        const { c, token } = await registeredUser(server.url, 'alice');
        const image = await png(800, 200);
        const pic = await uploaded(server.httpUrl, token, image, 'holiday.txt');
        assert.deepEqual([pic.name, pic.size, pic.type, pic.width, pic.height], ['holiday.txt', image.length, 'image/png', 800, 200]);
        assert.match(pic.url, new RegExp(`^/files/${pic.id}/holiday\\.txt\\?exp=\\d+&sig=[\\w-]+$`));
        const served = await get(server, pic.url);
        assert.equal(served.status, 200);
        assert.deepEqual(served.body, image);
        assert.equal(served.headers.get('content-type'), 'image/png');
        assert.match(served.headers.get('content-disposition')!, /^inline; .*filename\*=UTF-8''holiday\.txt$/);
        assert.equal(served.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(served.headers.get('content-security-policy'), "default-src 'none'; sandbox");
        assert.match(served.headers.get('cache-control')!, /^private, max-age=\d+$/);
        const thumb = await get(server, pic.thumbnailUrl!);
        assert.equal(thumb.status, 200);
        assert.equal(thumb.headers.get('content-type'), 'image/webp');
        assert.equal(thumb.body.subarray(8, 12).toString('latin1'), 'WEBP');

        const page = await uploaded(server.httpUrl, token, HTML, 'innocent.png');
        assert.notEqual(page.type, 'image/png');
        assert.equal(page.thumbnailUrl, undefined);
        const download = await get(server, page.url);
        assert.equal(download.status, 200);
        assert.deepEqual(download.body, HTML);
        assert.match(download.headers.get('content-disposition')!, /^attachment; .*filename\*=UTF-8''innocent\.png$/);
        assert.equal(download.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(download.headers.get('content-security-policy'), "default-src 'none'; sandbox");
        c.close();
      } finally {
        await cleanup();
      }
    });
  });
}

roundTrip('memory', async () => ({ overrides: {}, cleanup: async () => {} }));

roundTrip('disk beside a SQLite database', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-e2e-files-'));
  return { overrides: { db: join(dir, 'chat.db') }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

const pgSkip = await serviceSkip('postgres');
roundTrip('PostgreSQL', async () => {
  const db = await freshPostgresUrl();
  return { overrides: { db: db.url }, cleanup: () => db.drop() };
}, pgSkip);

describe('file URLs', () => {
  let server: TestServer;
  let pic: Attachment;
  let other: Attachment;
  before(async () => {
    server = await startTestServer();
    const { c, token } = await registeredUser(server.url, 'owner');
    pic = await uploaded(server.httpUrl, token, await png(), 'a.png');
    other = await uploaded(server.httpUrl, token, Buffer.from('other file'), 'b.txt');
    c.close();
  });
  after(() => server.close());

  it('refuses a tampered signature, another file\'s signature and a missing one with 403', async () => {
    const sig = new URL(pic.url, 'http://x').searchParams.get('sig')!;
    const flipped = `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    assert.equal((await get(server, pic.url.replace(sig, flipped))).status, 403);
    const otherQuery = other.url.slice(other.url.indexOf('?'));
    assert.equal((await get(server, `/files/${pic.id}/a.png${otherQuery}`)).status, 403);
    assert.equal((await get(server, `/files/${pic.id}/a.png`)).status, 403);
    const exp = new URL(pic.url, 'http://x').searchParams.get('exp')!;
    assert.equal((await get(server, pic.url.replace(`exp=${exp}`, `exp=${Number(exp) + 1}`))).status, 403);
  });

  it('refuses an expired signature with 403, and answers a signed unknown id with 404', async () => {
    const past = await signerOf(server, () => Date.now() - 7200_000);
    assert.equal((await get(server, `/files/${pic.id}/a.png?${past.query(pic.id)}`)).status, 403);
    const now = await signerOf(server);
    const res = await get(server, `/files/nosuchfile/x.png?${now.query('nosuchfile')}`);
    assert.equal(res.status, 404);
    assert.equal(JSON.parse(res.body.toString()).code, 'NO_SUCH_FILE');
  });

  it('checks the id, not the name: a renamed path still serves the file', async () => {
    const query = pic.url.slice(pic.url.indexOf('?'));
    assert.equal((await get(server, `/files/${pic.id}/renamed.png${query}`)).status, 200);
  });
});

describe('upload limits', () => {
  it('tells clients the upload limit in Welcome', async () => {
    await using server = await startTestServer({ maxUploadBytes: 12345 });
    const c = await TestClient.json(server.url);
    assert.equal((await c.nextOfType('Welcome')).limits.maxUploadBytes, 12345);
    c.close();
  });

  it('answers 401 without a token and with a bad one, as JSON {code, message}', async () => {
    await using server = await startTestServer();
    const none = await upload(server.httpUrl, null, Buffer.from('x'), 'x.txt');
    assert.equal(none.status, 401);
    assert.equal(typeof none.body.code, 'string');
    assert.equal(typeof none.body.message, 'string');
    const bad = await upload(server.httpUrl, 'not-a-token', Buffer.from('x'), 'x.txt');
    assert.equal(bad.status, 401);
    assert.equal(bad.body.code, 'TOKEN_INVALID');
  });

  it('answers 403 BANNED to a banned account\'s token', async () => {
    await using server = await startTestServer();
    const { c, token } = await registeredUser(server.url, 'outlaw');
    await server.store.setBanned((await server.store.accountByName(nameKey('outlaw')))!.id, true);
    const res = await upload(server.httpUrl, token, Buffer.from('x'), 'x.txt');
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'BANNED');
    c.close();
  });

  it('answers 403 FORBIDDEN to a guest\'s token: files are for registered accounts', async () => {
    await using server = await startTestServer();
    await using guest = await jsonUser(server.url, 'drifter');
    assert.ok(guest.token, 'the guest has a token');
    const res = await upload(server.httpUrl, guest.token, Buffer.from('x'), 'x.txt');
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'FORBIDDEN');
    assert.match(String(res.body.message), /register/);
  });

  it('answers 400 for a body without the file field', async () => {
    await using server = await startTestServer();
    const { c, token } = await registeredUser(server.url, 'formless');
    const form = new FormData();
    form.append('other', 'value');
    const res = await fetch(`${server.httpUrl}/api/files`, { method: 'POST', body: form, headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, 'BAD_UPLOAD');
    c.close();
  });

  it('answers 413 past --max-upload-bytes and keeps nothing of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-e2e-big-'));
    try {
      await using server = await startTestServer({ db: join(dir, 'chat.db'), maxUploadBytes: 1000 });
      const { c, token } = await registeredUser(server.url, 'bigfoot');
      const streamed = await upload(server.httpUrl, token, Buffer.alloc(5000, 1), 'big.bin');
      assert.equal(streamed.status, 413);
      assert.equal(streamed.body.code, 'FILE_TOO_LARGE');
      const declared = await upload(server.httpUrl, token, Buffer.alloc(200_000, 1), 'huge.bin');
      assert.equal(declared.status, 413);
      assert.equal((await upload(server.httpUrl, token, Buffer.alloc(1000, 2), 'fits.bin')).status, 201);
      await eventually(() => readdirSync(join(dir, 'files', 'tmp')).length === 0, 5000, 'no temporary file left');
      assert.equal(await server.store.uploadedBytes((await server.store.accountByName(nameKey('bigfoot')))!.id), 1000);
      c.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers 413 QUOTA_EXCEEDED once an account\'s uploads fill --upload-quota-bytes', async () => {
    await using server = await startTestServer({ uploadQuotaBytes: 3000 });
    const { c, token } = await registeredUser(server.url, 'hoarder');
    assert.equal((await upload(server.httpUrl, token, Buffer.alloc(2000, 1), 'one.bin')).status, 201);
    const over = await upload(server.httpUrl, token, Buffer.alloc(2000, 2), 'two.bin');
    assert.equal(over.status, 413);
    assert.equal(over.body.code, 'QUOTA_EXCEEDED');
    c.close();
  });

  it('answers 429 past --uploads-per-minute', async () => {
    await using server = await startTestServer({ uploadsPerMinute: 2 });
    const { c, token } = await registeredUser(server.url, 'eager');
    assert.equal((await upload(server.httpUrl, token, Buffer.from('1'), '1.txt')).status, 201);
    assert.equal((await upload(server.httpUrl, token, Buffer.from('2'), '2.txt')).status, 201);
    const third = await upload(server.httpUrl, token, Buffer.from('3'), '3.txt');
    assert.equal(third.status, 429);
    assert.equal(third.body.code, 'RATE_LIMITED');
    c.close();
  });

  it('keeps an upload in flight whole, byte for byte, while uploads beside it fail', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-e2e-beside-'));
    try {
      await using server = await startTestServer({ db: join(dir, 'chat.db'), maxUploadBytes: 4 * 1024 * 1024 });
      const { c, token } = await registeredUser(server.url, 'steady');
      const bytes = randomBytes(3 * 1024 * 1024 + 12345);
      const slow = startedUpload(server.port, token, bytes, 'steady.bin');
      await slow.write(bytes.subarray(0, 1024 * 1024 + 777));
      assert.equal((await upload(server.httpUrl, token, Buffer.alloc(5 * 1024 * 1024, 1), 'big.bin')).status, 413);
      const empty = new FormData();
      empty.append('other', 'x');
      assert.equal((await fetch(`${server.httpUrl}/api/files`, { method: 'POST', body: empty, headers: { Authorization: `Bearer ${token}` } })).status, 400);
      await interruptedUpload(server.port, token, 2_000_000, 500_000);
      await slow.write(bytes.subarray(1024 * 1024 + 777));
      const answer = await slow.end();
      assert.equal(answer.status, 201);
      const attachment = answer.body as unknown as Attachment;
      assert.equal(attachment.size, bytes.length);
      const served = await get(server, attachment.url);
      assert.equal(served.status, 200);
      assert.ok(served.body.equals(bytes), 'the stored file is the uploaded bytes');
      c.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves no temporary and no stored file when the client goes away half-way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-e2e-cut-'));
    try {
      await using server = await startTestServer({ db: join(dir, 'chat.db') });
      const { c, token } = await registeredUser(server.url, 'quitter');
      const tmp = join(dir, 'files', 'tmp');
      await interruptedUpload(server.port, token, 4_000_000, 2_000_000);
      await eventually(() => readdirSync(tmp).length === 0, 10_000, 'the temporary file removed');
      const blobs = readdirSync(join(dir, 'files')).filter((n) => n !== 'tmp');
      assert.deepEqual(blobs, []);
      assert.equal(await server.store.uploadedBytes((await server.store.accountByName(nameKey('quitter')))!.id), 0);
      // The server still takes uploads.
      assert.equal((await upload(server.httpUrl, token, Buffer.from('after'), 'after.txt')).status, 201);
      c.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('attachments and replies in messages', () => {
  it('delivers attachments and replyTo in Message and History; a file another account uploaded or an unknown one is refused', async () => {
    await using server = await startTestServer();
    const { c: alice, token } = await registeredUser(server.url, 'alice');
    const { c: bob, token: bobToken } = await registeredUser(server.url, 'bob');
    const pic = await uploaded(server.httpUrl, token, await png(), 'cat.png');
    const bobs = await uploaded(server.httpUrl, bobToken, Buffer.from('bob'), 'bob.txt');

    alice.send({ type: 'SendMessage', content: '', attachments: [pic.id], ref: 'pic' });
    const echo = await alice.nextOfType('Message', (m) => m.ref === 'pic');
    const seen = await bob.nextOfType('Message', (m) => m.id === echo.id);
    assert.equal(seen.content, '');
    assert.equal(seen.attachments?.length, 1);
    const got = seen.attachments![0]!;
    assert.deepEqual([got.id, got.name, got.type, got.width, got.height], [pic.id, 'cat.png', 'image/png', 20, 10]);
    assert.equal((await get(server, got.url)).status, 200);
    assert.equal((await get(server, got.thumbnailUrl!)).status, 200);

    bob.send({ type: 'SendMessage', content: 'so   **cute**\nreally', replyTo: echo.id, ref: 'r1' });
    const reply = await bob.nextOfType('Message', (m) => m.ref === 'r1');
    assert.deepEqual(reply.replyTo, { id: echo.id, username: 'alice', excerpt: '' });
    alice.send({ type: 'SendMessage', content: 'a   b\n c', ref: 'orig' });
    const orig = await alice.nextOfType('Message', (m) => m.ref === 'orig');
    bob.send({ type: 'SendMessage', content: 'agreed', replyTo: orig.id, ref: 'r2' });
    const reply2 = await alice.nextOfType('Message', (m) => m.content === 'agreed');
    assert.deepEqual(reply2.replyTo, { id: orig.id, username: 'alice', excerpt: 'a b c' });

    alice.send({ type: 'History', room: 'general', ref: 'h' });
    const history = await alice.nextOfType('History', (m) => m.ref === 'h');
    const byId = new Map(history.messages.map((m: ChatMessage) => [m.id, m]));
    assert.equal(byId.get(echo.id)!.attachments![0]!.id, pic.id);
    assert.equal((await get(server, byId.get(echo.id)!.attachments![0]!.url)).status, 200);
    assert.deepEqual(byId.get(reply2.id)!.replyTo, { id: orig.id, username: 'alice', excerpt: 'a b c' });

    alice.send({ type: 'SendMessage', content: 'zebra crossing', attachments: [pic.id], ref: 'z' });
    await alice.nextOfType('Message', (m) => m.ref === 'z');
    alice.send({ type: 'Search', query: 'zebra', room: 'general', ref: 's' });
    const found = await alice.nextOfType('SearchResults', (m) => m.ref === 's');
    assert.equal(found.messages[0]?.attachments?.[0]?.id, pic.id);
    assert.equal((await get(server, found.messages[0]!.attachments![0]!.url)).status, 200);

    alice.send({ type: 'SendMessage', content: 'x', attachments: [bobs.id], ref: 'theirs' });
    assert.equal((await alice.nextOfType('Error', (m) => m.ref === 'theirs')).code, 'NO_SUCH_FILE');
    alice.send({ type: 'SendMessage', content: 'x', attachments: ['nope'], ref: 'unknown' });
    assert.equal((await alice.nextOfType('Error', (m) => m.ref === 'unknown')).code, 'NO_SUCH_FILE');
    alice.send({ type: 'SendMessage', content: 'x', replyTo: 'nope', ref: 'noreply' });
    assert.equal((await alice.nextOfType('Error', (m) => m.ref === 'noreply')).code, 'NO_SUCH_MESSAGE');
    alice.send({ type: 'SendMessage', content: '', ref: 'empty' });
    assert.equal((await alice.nextOfType('Error', (m) => m.ref === 'empty')).code, 'EMPTY_CONTENT');
    alice.send({ type: 'SendMessage', content: 'x', attachments: Array.from({ length: 11 }, () => pic.id), ref: 'many' });
    assert.equal((await alice.nextOfType('Error', (m) => m.ref === 'many')).code, 'BAD_MESSAGE');
    alice.close();
    bob.close();
  });

  it('keeps a connection\'s messages in the order sent when one carries a file', async () => {
    await using server = await startTestServer();
    const { c, token } = await registeredUser(server.url, 'orderly');
    const f = await uploaded(server.httpUrl, token, Buffer.from('x'), 'x.txt');
    c.send({ type: 'SendMessage', content: 'first', attachments: [f.id], ref: 1 });
    c.send({ type: 'SendMessage', content: 'second', ref: 2 });
    const first = await c.nextOfType('Message', (m) => m.ref === 1);
    const second = await c.nextOfType('Message', (m) => m.ref === 2);
    assert.equal(second.seq, first.seq + 1);
    c.close();
  });

  it('shows files and replies in text mode', async () => {
    await using server = await startTestServer();
    const { c, token } = await registeredUser(server.url, 'writer');
    const reader = await textUser(server.url, 'reader');
    const f = await uploaded(server.httpUrl, token, Buffer.alloc(2048, 65), 'notes.txt');
    c.send({ type: 'SendMessage', content: 'the notes', attachments: [f.id], ref: 1 });
    const sent = await c.nextOfType('Message', (m) => m.ref === 1);
    const line = await reader.nextLine('the notes');
    assert.match(line, new RegExp(`^writer: the notes\\n  \\[file\\] notes\\.txt \\(2\\.0 KB\\) /files/${f.id}/notes\\.txt\\?exp=\\d+&sig=`));
    c.send({ type: 'SendMessage', content: 'thanks', replyTo: sent.id, ref: 2 });
    assert.equal(await reader.nextLine('thanks'), 'writer: (reply to writer: the notes) thanks');
    c.close();
    reader.close();
  });

  it('carries attachments in private messages', async () => {
    await using server = await startTestServer();
    const { c: alice, token } = await registeredUser(server.url, 'alice');
    const bob = await jsonUser(server.url, 'bob');
    const f = await uploaded(server.httpUrl, token, Buffer.from('secret plan'), 'plan.txt');
    alice.send({ type: 'PrivateMessage', to: 'bob', content: '', attachments: [f.id], ref: 'pm' });
    const got = await bob.nextOfType('PrivateMessage');
    assert.equal(got.attachments?.[0]?.id, f.id);
    const served = await get(server, got.attachments![0]!.url);
    assert.equal(served.body.toString(), 'secret plan');
    alice.close();
    bob.close();
  });

  it('carries replies in private messages, to a message of the same conversation only', async () => {
    await using server = await startTestServer();
    const alice = await jsonUser(server.url, 'alice');
    const bob = await jsonUser(server.url, 'bob');
    alice.send({ type: 'PrivateMessage', to: 'bob', content: 'lunch at noon?', ref: 'q' });
    const question = await bob.nextOfType('PrivateMessage');
    bob.send({ type: 'PrivateMessage', to: 'alice', content: 'yes', replyTo: question.id, ref: 'a' });
    const answer = await alice.nextOfType('PrivateMessage', (m) => m.content === 'yes');
    assert.deepEqual(answer.replyTo, { id: question.id, username: 'alice', excerpt: 'lunch at noon?' });
    const echo = await bob.nextOfType('PrivateMessage', (m) => m.ref === 'a');
    assert.deepEqual(echo.replyTo, answer.replyTo);

    // A message of a room is not a reply target in a private conversation (nor the reverse).
    alice.send({ type: 'SendMessage', room: 'general', content: 'public', ref: 'pub' });
    const pub = await alice.nextOfType('Message', (m) => m.ref === 'pub');
    bob.send({ type: 'PrivateMessage', to: 'alice', content: 'leak?', replyTo: pub.id, ref: 'bad' });
    assert.equal((await bob.nextOfType('Error', (e) => e.ref === 'bad')).code, 'NO_SUCH_MESSAGE');
    bob.send({ type: 'SendMessage', room: 'general', content: 'leak?', replyTo: question.id, ref: 'bad2' });
    assert.equal((await bob.nextOfType('Error', (e) => e.ref === 'bad2')).code, 'NO_SUCH_MESSAGE');

    // The reply is stored with its quote: the conversation's history shows it.
    alice.send({ type: 'History', room: answer.room, ref: 'h' });
    const page = await alice.nextOfType('History', (h) => h.ref === 'h');
    assert.deepEqual(page.messages.find((m) => m.id === answer.id)?.replyTo, answer.replyTo);
    alice.close();
    bob.close();
  });
});

describe('files and retention', () => {
  it('removes a file when retention prunes the last message that refers to it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-e2e-prune-'));
    try {
      await using server = await startTestServer({ db: join(dir, 'chat.db') });
      const { c, token } = await registeredUser(server.url, 'old');
      const f = await uploaded(server.httpUrl, token, Buffer.from('soon gone'), 'gone.txt');
      const kept = await uploaded(server.httpUrl, token, Buffer.from('still here'), 'kept.txt');
      c.send({ type: 'SendMessage', content: 'with file', attachments: [f.id], ref: 1 });
      const m = await c.nextOfType('Message', (x) => x.ref === 1);
      const sha = (await server.store.getFile(f.id))!.sha256;
      assert.ok(existsSync(join(dir, 'files', sha.slice(0, 2), sha)));
      c.send({ type: 'SendMessage', content: 'later', attachments: [kept.id], ref: 2 });
      await c.nextOfType('Message', (x) => x.ref === 2);
      // Prune everything up to and including the first message, then sweep as retention does.
      await server.store.prune(new Date(Date.parse(m.timestamp) + 1).toISOString());
      await server.files.sweep();
      assert.equal(await server.store.getFile(f.id), null);
      assert.equal(existsSync(join(dir, 'files', sha.slice(0, 2), sha)), false);
      assert.equal((await get(server, m.attachments![0]!.url)).status, 404);
      assert.ok(await server.store.getFile(kept.id));
      c.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('file URLs across restarts and nodes', () => {
  it('keeps its signing secret in the database: links stay valid after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-e2e-restart-'));
    try {
      const db = join(dir, 'chat.db');
      let url: string;
      {
        await using server = await startTestServer({ db });
        const { c, token } = await registeredUser(server.url, 'keeper');
        url = (await uploaded(server.httpUrl, token, Buffer.from('kept across restarts'), 'k.txt')).url;
        c.close();
      }
      await using again = await startTestServer({ db });
      const res = await get(again, url);
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'kept across restarts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves a file uploaded on one node from another node sharing the PostgreSQL database', { skip: pgSkip }, async () => {
    const db = await freshPostgresUrl();
    try {
      await using a = await startTestServer({ db: db.url });
      await using b = await startTestServer({ db: db.url });
      const { c, token } = await registeredUser(a.url, 'roamer');
      const image = await png(64, 64);
      const pic = await uploaded(a.httpUrl, token, image, 'p.png');
      const res = await get(b, pic.url);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, image);
      assert.equal((await get(b, pic.thumbnailUrl!)).status, 200);
      c.close();
    } finally {
      await db.drop();
    }
  });
});
