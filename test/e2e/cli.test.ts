/**
 * `parley client` as a user and a script see it: the client runs as a child process
 * (`node bin/parley.js client …`) driven through its stdin and stdout, against a real
 * server on port 0. Every wait is bounded; every child is killed and every server closed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChatMessage, ServerMessage } from '../../src/protocol/messages.js';
import { openStore } from '../../src/server/store/open-store.js';
import { loggedInUser, registeredUser } from '../helpers/accounts.js';
import { removeCliConfigDirs } from '../helpers/cli-config.js';
import { chatter, CliProcess, START_TIMEOUT } from '../helpers/cli-process.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser, textUser, TestClient } from '../helpers/ws-client.js';

after(removeCliConfigDirs);

/** A TCP port nothing listens on. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A bad input's answer: a non-zero exit and exactly one line on stderr, no stack trace. */
function assertOneLineFailure(result: { code: number | null; stderr: string[] }, pattern: RegExp): void {
  assert.notEqual(result.code, 0, 'exit code');
  assert.notEqual(result.code, null, 'exited by signal');
  const lines = result.stderr.filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `one line on stderr, got ${JSON.stringify(lines)}`);
  assert.match(lines[0]!, /^parley client: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(lines[0]!, /\bat .*\(|node:internal|Error:/);
}

async function registered(url: string, username: string, password: string): Promise<void> {
  await using c = await jsonUser(url, username);
  c.send({ type: 'Register', username, password, ref: 'r' });
  await c.nextOfType('LoggedIn');
}

describe('parley client (terminal client)', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  it('lets two terminal clients chat, with plain lines when stdout is not a terminal', async () => {
    await using alice = await chatter(server.url, 'alice');
    await using bob = await chatter(server.url, 'bob');
    await alice.line('* bob joined general');
    alice.write('hello bob');
    assert.match(await bob.line('alice: hello bob'), /^\d\d:\d\d alice: hello bob$/);
    // The sender sees its own message once the server confirmed it.
    await alice.line(/^\d\d:\d\d alice: hello bob$/);
    bob.write('hi alice, how are you?');
    await alice.line('bob: hi alice, how are you?');
    bob.write('/quit');
    assert.equal((await bob.exited()).code, 0);
    await alice.line('* bob left general');
    alice.endInput();
    const result = await alice.exited();
    assert.equal(result.code, 0);
    assert.ok(!result.stdout.some((l) => l.includes('\x1b')), 'no escape sequences on a pipe');
    assert.equal(alice.out.filter((l) => l.endsWith('alice: hello bob')).length, 1, 'no duplicate');
  });

  it('chats with a JSON client and runs commands as JSON requests', async () => {
    await using dan = await jsonUser(server.url, 'dan');
    await using erin = await chatter(server.url, 'erin', ['--room', 'erinroom']);
    erin.write('/join general');
    await erin.line('You are in general');
    erin.write('/users');
    assert.match(await erin.line('Users in general'), /dan/);
    dan.send({ type: 'SendMessage', room: 'general', content: 'hello erin' });
    await erin.line(/^\d\d:\d\d dan: hello erin$/);
    erin.write('/switch erinroom');
    await erin.line('Messages now go to erinroom');
    erin.write('in my room');
    await erin.line(/^\d\d:\d\d erin: in my room$/);
    dan.send({ type: 'SendMessage', room: 'general', content: 'general again' });
    await erin.line(/^\d\d:\d\d \[general\] dan: general again$/);
    erin.write('/nosuchcommand');
    await erin.line(/Unknown command.*\/help/);
    erin.write('/switch nowhere');
    await erin.line(/not in nowhere/);
    erin.write('/rooms');
    await erin.line(/erinroom/);
    erin.write('/quit');
    assert.equal((await erin.exited()).code, 0);
  });

  it('shows a private message at its addressee only, tagged with the conversation\'s other person', async () => {
    await using fay = await chatter(server.url, 'fay');
    await using gus = await chatter(server.url, 'gus');
    await using hal = await jsonUser(server.url, 'hal');
    fay.write('/pm gus the secret word');
    assert.match(await gus.line('the secret word'), /^\d\d:\d\d \[@fay\] fay: the secret word$/);
    assert.match(await fay.line('the secret word'), /^\d\d:\d\d \[@gus\] fay: the secret word$/);
    // A public message after it: by the time hal has it, hal would have had the private one.
    fay.write('public now');
    await hal.nextOfType('Message', (m) => m.content === 'public now');
    await gus.line('fay: public now');
    assert.ok(!hal.frames.some((f) => JSON.stringify(f).includes('secret word')), 'hal saw the private message');
    assert.ok(!gus.out.some((l) => l.includes('[@gus]')), 'the addressee saw it as sent');
    assert.equal(gus.out.filter((l) => l.includes('the secret word')).length, 1, 'shown once');
  });

  it('shows edits, deletions and reactions from JSON clients', async () => {
    await using ivy = await chatter(server.url, 'ivy');
    await using jon = await jsonUser(server.url, 'jon');
    jon.send({ type: 'SendMessage', room: 'general', content: 'frist post', ref: 's1' });
    const sent = await jon.nextOfType('Message', (m) => m.ref === 's1');
    await ivy.line('jon: frist post');
    jon.send({ type: 'EditMessage', id: sent.id, content: 'first post' });
    assert.match(await ivy.line('first post'), /jon: first post \(edited\)$/);
    ivy.write('nice');
    await ivy.line('ivy: nice');
    jon.send({ type: 'React', id: sent.id, emoji: '👍' });
    assert.match(await ivy.line('👍'), /jon reacted 👍 to jon's message "first post"/);
    jon.send({ type: 'DeleteMessage', id: sent.id });
    assert.match(await ivy.line('deleted'), /jon's message "first post" was deleted/);
  });

  it('sends one message with --send, exits 0 once confirmed, and the message is in history', async () => {
    const send = new CliProcess([server.url, '--send', 'deploy finished', '--room', 'ops', '--name', 'ci']);
    try {
      const result = await send.exited();
      assert.equal(result.code, 0, result.stderr.join('\n'));
    } finally {
      send.kill();
    }
    await using kim = await jsonUser(server.url, 'kim');
    kim.send({ type: 'History', room: 'ops', ref: 'h' });
    const page = await kim.nextOfType('History', (m) => m.ref === 'h');
    assert.deepEqual(page.messages.map((m) => [m.username, m.content]), [['ci', 'deploy finished']]);
  });

  it('gives --send a guest name when --name is missing', async () => {
    const send = new CliProcess([server.url, '--send', 'anonymous note']);
    try {
      assert.equal((await send.exited()).code, 0);
    } finally {
      send.kill();
    }
    await using lee = await jsonUser(server.url, 'lee');
    lee.send({ type: 'History', room: 'general', ref: 'h' });
    const page = await lee.nextOfType('History', (m) => m.ref === 'h');
    assert.match(page.messages.find((m) => m.content === 'anonymous note')?.username ?? '', /^send-[0-9a-f]{4}$/);
  });

  it('prints a room as JSON lines with --tail and exits 0 on SIGINT', async () => {
    await using mo = await jsonUser(server.url, 'mo');
    mo.send({ type: 'JoinRoom', room: 'tailroom', ref: 'j' });
    await mo.nextOfType('Ack', (m) => m.ref === 'j');
    mo.send({ type: 'SendMessage', room: 'tailroom', content: 'earlier', ref: 'a' });
    await mo.nextOfType('Message', (m) => m.ref === 'a');
    await using tail = new CliProcess([server.url, '--tail', 'tailroom']);
    await tail.line('earlier', START_TIMEOUT);
    mo.send({ type: 'SendMessage', room: 'tailroom', content: 'live one' });
    mo.send({ type: 'SendMessage', room: 'general', content: 'not for the tail' });
    mo.send({ type: 'SendMessage', room: 'tailroom', content: 'live two' });
    await tail.line('live two');
    const messages = tail.out.map((l) => JSON.parse(l) as ChatMessage & { type?: string });
    assert.deepEqual(messages.map((m) => m.content), ['earlier', 'live one', 'live two']);
    for (const m of messages) {
      assert.equal(m.room, 'tailroom');
      assert.equal(m.type, undefined, 'a ChatMessage, not a wire frame');
      assert.equal(typeof m.seq, 'number');
    }
    tail.signal('SIGINT');
    assert.equal((await tail.exited()).code, 0);
  });

  it('logs in with --password, saves the token with mode 0600, and logs in again with it', async () => {
    await registered(server.url, 'nora', 'correct horse');
    const dir = mkdtempSync(join(tmpdir(), 'parley-cli-'));
    const tokenFile = join(dir, 'token');
    try {
      const first = new CliProcess([server.url, '--name', 'nora', '--password', '--token-file', tokenFile, '--send', 'with password']);
      first.write('correct horse');
      try {
        assert.equal((await first.exited()).code, 0, first.err.join('\n'));
      } finally {
        first.kill();
      }
      assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
      assert.ok(readFileSync(tokenFile, 'utf8').trim().length > 20);
      await using again = await chatter(server.url, 'ignored', ['--token-file', tokenFile]);
      again.write('with token');
      await again.line(/nora: with token$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('marks a message that mentions the user, shows and sets its level with /notify, and counts mentions in /rooms', async () => {
    await registered(server.url, 'penn', 'correct horse');
    await using penn = new CliProcess([server.url, '--name', 'penn', '--password']);
    penn.write('correct horse');
    await penn.line('Connected to', START_TIMEOUT);
    await using quinn = await jsonUser(server.url, 'quinn');
    quinn.send({ type: 'JoinRoom', room: 'general' });
    await penn.line('* quinn joined general');
    quinn.send({ type: 'SendMessage', room: 'general', content: 'plain words' });
    assert.match(await penn.line('quinn: plain words'), /^\d\d:\d\d quinn: plain words$/);
    quinn.send({ type: 'SendMessage', room: 'general', content: '@PENN look here' });
    assert.match(await penn.line('quinn: @PENN look here'), /^@ \d\d:\d\d quinn: @PENN look here$/);
    assert.ok(!penn.out.some((l) => l.includes('\x07')), 'no bell when stdout is not a terminal');
    penn.write('/notify');
    await penn.line(/^\* Notifications for general: mentions \(1 unread mention\)/);
    penn.write('/notify none');
    await penn.line(/^\* Notifications for general: none\.$/);
    penn.write('/rooms');
    await penn.line(/^ {2}> general \(\d+ online(, \d+ unread)?, 1 mention, notify none\)/);
    penn.write('/notify all @quinn');
    await penn.line(/^! You have no conversation with quinn/);
    penn.write('/pm quinn hello');
    await penn.line(/\[@quinn\] penn: hello$/);
    penn.write('/notify all @quinn');
    await penn.line(/^\* Notifications for @quinn: all\.$/);
    penn.write('/notify @quinn');
    await penn.line(/^\* Notifications for @quinn: all\. /);
    penn.write('/notify loud general');
    await penn.line(/^! Usage: \/notify/);
    // A guest is an account too: it has levels of its own.
    await using guest = await chatter(server.url, 'rex');
    guest.write('/notify all');
    await guest.line(/^\* Notifications for general: all\.$/);
  });

  describe('bad input: one line on stderr and a non-zero exit', () => {
    it('reports an unreachable server', async () => {
      const port = await freePort();
      await using p = new CliProcess([`ws://127.0.0.1:${port}`, '--name', 'x']);
      assertOneLineFailure(await p.exited(), new RegExp(`cannot connect to ws://127\\.0\\.0\\.1:${port}: connection refused`));
    });

    it('reports a bad URL', async () => {
      await using p = new CliProcess(['ftp://example.org', '--name', 'x']);
      assertOneLineFailure(await p.exited(), /bad URL "ftp:\/\/example\.org"/);
      await using q = new CliProcess(['ws://', '--send', 'x']);
      assertOneLineFailure(await q.exited(), /bad URL/);
    });

    it('reports a wrong password for a registered name', async () => {
      await registered(server.url, 'oscar', 'the right one');
      await using p = new CliProcess([server.url, '--name', 'oscar', '--password']);
      p.write('the wrong one');
      assertOneLineFailure(await p.exited(), /login refused: Wrong name or password/);
    });

    it('reports a registered name used without a password', async () => {
      await registered(server.url, 'pia', 'pia password');
      await using p = new CliProcess([server.url, '--name', 'pia', '--send', 'hi']);
      assertOneLineFailure(await p.exited(), /name refused: .*registered.*--password/);
    });

    it('reports an invalid token file', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'parley-cli-'));
      try {
        writeFileSync(join(dir, 'token'), 'not-a-token\n');
        await using p = new CliProcess([server.url, '--token-file', join(dir, 'token'), '--send', 'x']);
        assertOneLineFailure(await p.exited(), /token .* is invalid or has expired/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('reports a message the server refuses with --send', async () => {
      await using p = new CliProcess([server.url, '--send', 'x'.repeat(5000), '--name', 'longwinded']);
      assertOneLineFailure(await p.exited(), /cannot send: Messages are at most/);
    });
  });
});

describe('parley client across a server restart', () => {
  it('resumes without losing or doubling messages sent before, during and after the outage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-cli-restart-'));
    const db = join(dir, 'parley.db');
    let server: TestServer | null = await startTestServer({}, { store: openStore(db) });
    const port = server.port;
    const url = server.url;
    const children: CliProcess[] = [];
    const sockets: Array<TestClient<ServerMessage>> = [];
    const say = async (c: TestClient<ServerMessage>, content: string, room = 'general'): Promise<void> => {
      const ref = `r-${content}`;
      c.send({ type: 'SendMessage', room, content, ref });
      await c.nextOfType('Message', (m) => m.ref === ref);
    };
    try {
      const sam = await jsonUser(url, 'sam');
      sockets.push(sam);
      await say(sam, 'before 1');
      await say(sam, 'before 2');
      const tail = new CliProcess([url, '--tail', 'general']);
      children.push(tail);
      await tail.line('before 2', START_TIMEOUT);
      const tess = await chatter(url, 'tess');
      children.push(tess);
      // A tail of a room that is empty when it starts: nothing to resume from but seq 0.
      const quiet = new CliProcess([url, '--tail', 'quiet']);
      children.push(quiet);
      sam.send({ type: 'JoinRoom', room: 'quiet', ref: 'jq' });
      await sam.nextOfType('Ack', (m) => m.ref === 'jq');
      let asked = 0;
      await eventually(async () => {
        const ref = `uq${++asked}`;
        sam.send({ type: 'ListUsers', room: 'quiet', ref });
        return (await sam.nextOfType('UserList', (m) => m.ref === ref)).users.some((u) => u.startsWith('tail-'));
      }, 20_000, 'the quiet tail to join its room');
      await say(sam, 'before 3');
      await tail.line('before 3');
      await tess.line('sam: before 3');
      // A direct conversation, resumed like a room.
      const vera = await registeredUser(url, 'vera');
      sockets.push(vera);
      vera.send({ type: 'PrivateMessage', to: 'tess', content: 'pm before', ref: 'pb' });
      await tess.line('[@vera] vera: pm before');

      await server.close();
      server = null;
      await tess.line('reconnecting');
      tess.write('typed while offline');
      // Fewer messages on join than were missed: the rest must come from History {after}.
      server = await startTestServer({ port, historyOnJoin: 2 }, { store: openStore(db) });
      const uma = await jsonUser(url, 'uma');
      sockets.push(uma);
      const veraAgain = await loggedInUser(url, 'vera');
      sockets.push(veraAgain);
      veraAgain.send({ type: 'PrivateMessage', to: 'tess', content: 'pm during', ref: 'pd' });
      await veraAgain.nextOfType('PrivateMessage', (m) => m.ref === 'pd');
      await say(uma, 'during 1');
      await say(uma, 'during 2');
      uma.send({ type: 'JoinRoom', room: 'quiet', ref: 'jq' });
      await uma.nextOfType('Ack', (m) => m.ref === 'jq');
      for (let i = 1; i <= 5; i++) await say(uma, `quiet ${i}`, 'quiet');

      await tess.line('Reconnected', 20_000);
      await tail.line('typed while offline', 20_000);
      await quiet.line('quiet 5', 20_000);
      assert.deepEqual(quiet.out.map((l) => (JSON.parse(l) as ChatMessage).content), ['quiet 1', 'quiet 2', 'quiet 3', 'quiet 4', 'quiet 5']);
      await say(uma, 'after 1');
      await say(uma, 'after 2');
      await tail.line('after 2');
      await tess.line('uma: after 2');

      const seen = tail.out.map((l) => JSON.parse(l) as ChatMessage);
      const contents = seen.map((m) => m.content);
      for (const expected of ['before 1', 'before 2', 'before 3', 'during 1', 'during 2', 'typed while offline', 'after 1', 'after 2']) {
        assert.equal(contents.filter((c) => c === expected).length, 1, `"${expected}" once in ${JSON.stringify(contents)}`);
      }
      const seqs = seen.map((m) => m.seq);
      for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1, `seqs in order without gaps: ${seqs.join(',')}`);
      // The interactive client shows each message once too, including its own queued one.
      for (const expected of ['during 1', 'during 2', 'typed while offline', 'after 1', 'pm before', 'pm during']) {
        assert.equal(tess.out.filter((l) => l.endsWith(`: ${expected}`)).length, 1, `tess shows "${expected}" once`);
      }
      // The server stored the queued message once, whatever the resend.
      uma.send({ type: 'History', room: 'general', ref: 'h', limit: 100 });
      const page = await uma.nextOfType('History', (m) => m.ref === 'h');
      assert.equal(page.messages.filter((m) => m.content === 'typed while offline').length, 1);

      tail.signal('SIGINT');
      assert.equal((await tail.exited()).code, 0);
    } finally {
      for (const c of children) c.kill();
      for (const s of sockets) s.close();
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps reconnecting while its name is still held, then resumes', async () => {
    let server: TestServer | null = await startTestServer();
    const port = server.port;
    const url = server.url;
    let vic: CliProcess | null = null;
    let holder: TestClient<string> | null = null;
    try {
      vic = await chatter(url, 'vic');
      await server.close();
      server = await startTestServer({ port });
      // The restarted server (memory store) no longer knows vic's token: the client takes the
      // name afresh, which a text-mode guest holds until its connection ends.
      holder = await textUser(url, 'vic');
      await vic.line('reconnecting');
      // Three attempts refused with NAME_TAKEN: it keeps trying while the name is held.
      const refusals = async (): Promise<number> => Number(/parley_errors_total\{code="NAME_TAKEN"\} (\d+)/
        .exec(await server!.metrics.registry.getSingleMetricAsString('parley_errors_total'))?.[1] ?? 0);
      await eventually(async () => (await refusals()) >= 3, 30_000, 'three reconnect attempts refused with NAME_TAKEN');
      assert.equal(vic.exit, null, `the client gave up: ${vic.out.join(' | ')}`);
      assert.ok(!vic.out.some((l) => l.includes('Reconnected')));
      holder.close();
      await vic.line('Reconnected', 20_000);
      assert.ok(vic.out.some((l) => l.includes('taking the name vic afresh')), 'a note says the account is a new one');
      vic.write('back again');
      await vic.line(/vic: back again$/);
    } finally {
      vic?.kill();
      holder?.close();
      await server?.close();
    }
  });
});
