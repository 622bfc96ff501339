import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { AttemptLimiter } from '../../src/server/domain/attempt-limiter.js';
import { hashToken } from '../../src/server/domain/tokens.js';
import { argon2Hasher } from '../../src/server/hasher.js';
import type { Connection } from '../../src/server/ports.js';
import { FakeChat, FakeConnection } from '../helpers/fake-chat.js';
import { startTestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';
import { eventually } from '../helpers/eventually.js';

type Json = TestClient<ServerMessage>;

async function register(c: Json, username: string, password: string, ref = 'reg'): Promise<ServerMessage> {
  c.send({ type: 'Register', username, password, ref });
  return c.next((m) => (m as { ref?: unknown }).ref === ref && (m.type === 'LoggedIn' || m.type === 'Error'), 10_000, `the answer to ${ref}`);
}

async function login(url: string, fields: Record<string, string>, ref = 'login'): Promise<{ c: Json; answer: ServerMessage }> {
  const c = await TestClient.json(url);
  await c.nextOfType('Welcome');
  c.send({ type: 'Login', ...fields, ref });
  const answer = await c.next((m) => (m as { ref?: unknown }).ref === ref && (m.type === 'LoggedIn' || m.type === 'Error'), 10_000, `the answer to ${ref}`);
  return { c, answer };
}

/** A fake connection from a given address (the login limiter counts per address). */
function fromAddress(chat: FakeChat, address: string): { conn: FakeConnection; say(o: object): void } {
  const conn = new FakeConnection();
  (conn as unknown as { remoteAddress: string }).remoteAddress = address;
  const session = chat.chat.connect(conn as Connection, 'json');
  return { conn, say: (o) => chat.chat.receive(session, JSON.stringify(o)) };
}

describe('accounts', () => {
  it('registers with an Argon2id hash, answers LoggedIn with a token, and stores the token only as a hash', async () => {
    await using server = await startTestServer({}, { hasher: argon2Hasher });
    await using c = await TestClient.json(server.url);
    await c.nextOfType('Welcome');
    const answer = await register(c, 'Argon', 'a long passphrase');
    assert.equal(answer.type, 'LoggedIn');
    if (answer.type !== 'LoggedIn') return;
    assert.equal(answer.username, 'Argon');
    assert.ok(answer.token.length >= 32);
    assert.ok(Date.parse(answer.expiresAt) > Date.now());
    const account = await server.store.accountByName('argon');
    assert.ok(account?.passwordHash);
    assert.match(account.passwordHash, /^\$argon2id\$/);
    assert.ok(!account.passwordHash.includes('a long passphrase'));
    assert.equal(await server.store.getToken(answer.token), null, 'the raw token is not a key');
    assert.ok(await server.store.getToken(hashToken(answer.token)));
    // The logged-in user is in general.
    await c.nextOfType('History', (m) => m.room === 'general');
    // And the real hasher verifies the password at login.
    const { c: again, answer: ok } = await login(server.url, { username: 'argon', password: 'a long passphrase' });
    await using _again = again;
    assert.equal(ok.type, 'LoggedIn');
  });

  it('refuses a password that is too short or too long with WEAK_PASSWORD', async () => {
    await using server = await startTestServer();
    await using c = await TestClient.json(server.url);
    const short = await register(c, 'shorty', 'short', 'a');
    assert.equal(short.type === 'Error' && short.code, 'WEAK_PASSWORD');
    const long = await register(c, 'shorty', 'x'.repeat(257), 'b');
    assert.equal(long.type === 'Error' && long.code, 'WEAK_PASSWORD');
  });

  it('keeps a registered name from guests (NAME_RESERVED) and from a second registration (ALREADY_REGISTERED)', async () => {
    await using server = await startTestServer();
    {
      await using owner = await TestClient.json(server.url);
      assert.equal((await register(owner, 'Carol', 'carols password')).type, 'LoggedIn');
    }
    await using guest = await TestClient.json(server.url);
    await guest.nextOfType('Welcome');
    for (const [i, name] of ['Carol', 'carol', 'CAROL', 'CAR0L' /* zero */, 'caroI' /* capital I */].entries()) {
      guest.send({ type: 'SetUsername', username: name, ref: i });
      assert.equal((await guest.nextOfType('Error', (m) => m.ref === i)).code, 'NAME_RESERVED', name);
    }
    for (const name of ['carol', 'car0l']) {
      const again = await register(guest, name, 'another password', `re-${name}`);
      assert.equal(again.type === 'Error' && again.code, 'ALREADY_REGISTERED', name);
    }
    await using t = await TestClient.text(server.url);
    await t.nextLine('Welcome');
    t.send('carol');
    await t.nextLine('registered account');
  });

  it('refuses to register a name another guest is using (NAME_TAKEN)', async () => {
    await using server = await startTestServer();
    await using holder = await jsonUser(server.url, 'holder');
    await using other = await TestClient.json(server.url);
    const answer = await register(other, 'Holder', 'password123');
    assert.equal(answer.type === 'Error' && answer.code, 'NAME_TAKEN');
    // The holder itself may register the name it uses.
    assert.equal((await register(holder, 'holder', 'password123')).type, 'LoggedIn');
  });

  it('logs in with a password and with a token, as the same user', async () => {
    await using server = await startTestServer();
    let token: string;
    {
      await using c = await TestClient.json(server.url);
      const answer = await register(c, 'dana', 'danas password');
      assert.equal(answer.type, 'LoggedIn');
      token = (answer as { token: string }).token;
    }
    const byPassword = await login(server.url, { username: 'Dana', password: 'danas password' });
    await using _a = byPassword.c;
    assert.equal(byPassword.answer.type, 'LoggedIn');
    assert.equal((byPassword.answer as { username: string }).username, 'dana');
    await byPassword.c.nextOfType('History', (m) => m.room === 'general');
    const byToken = await login(server.url, { token });
    await using _b = byToken.c;
    assert.equal(byToken.answer.type, 'LoggedIn');
    assert.equal((byToken.answer as { username: string }).username, 'dana');
  });

  it('answers a wrong password and an unknown name with the same AUTH_FAILED message', async () => {
    await using server = await startTestServer();
    {
      await using c = await TestClient.json(server.url);
      await register(c, 'erin', 'erins password');
    }
    const wrong = await login(server.url, { username: 'erin', password: 'not the password' });
    await using _w = wrong.c;
    const unknown = await login(server.url, { username: 'nobody-at-all', password: 'whatever123' });
    await using _u = unknown.c;
    assert.equal(wrong.answer.type, 'Error');
    assert.equal(unknown.answer.type, 'Error');
    const a = wrong.answer as { code: string; message: string };
    const b = unknown.answer as { code: string; message: string };
    assert.equal(a.code, 'AUTH_FAILED');
    assert.equal(b.code, 'AUTH_FAILED');
    assert.equal(a.message, b.message);
    assert.equal(wrong.c.closed, null, 'a failed login keeps the connection');
  });

  it('refuses a bad or expired token with TOKEN_INVALID', async () => {
    await using server = await startTestServer({ tokenTtlDays: 0 });
    let token: string;
    {
      await using c = await TestClient.json(server.url);
      token = ((await register(c, 'fleeting', 'password123')) as { token: string }).token;
    }
    const expired = await login(server.url, { token });
    await using _e = expired.c;
    assert.equal((expired.answer as { code?: string }).code, 'TOKEN_INVALID');
    const bogus = await login(server.url, { token: 'not-a-token' });
    await using _b = bogus.c;
    assert.equal((bogus.answer as { code?: string }).code, 'TOKEN_INVALID');
  });

  it('expires a token after --token-ttl-days', async () => {
    const chat = await new FakeChat({ tokenTtlDays: 1 }).start();
    const a = chat.connect('json');
    a.say({ type: 'Register', username: 'gus', password: 'password123' });
    await chat.settle();
    const token = a.conn.ofType('LoggedIn')[0]!.token;
    const b = chat.connect('json');
    b.say({ type: 'Login', token, ref: 'fresh' });
    await chat.settle();
    assert.ok(b.conn.ofType('LoggedIn').some((m) => m.ref === 'fresh'));
    chat.clock += 86_400_000 + 1;
    const c = chat.connect('json');
    c.say({ type: 'Login', token, ref: 'stale' });
    await chat.settle();
    assert.equal(c.conn.ofType('Error').find((m) => m.ref === 'stale')?.code, 'TOKEN_INVALID');
  });

  it('rate-limits login attempts on one name from one address, without locking out other addresses', async () => {
    const chat = await new FakeChat({ loginAttemptsPerMinute: 3 }).start();
    const attacker = fromAddress(chat, '10.0.0.1');
    for (let i = 0; i < 5; i++) attacker.say({ type: 'Login', username: 'victim', password: `guess-${i}`, ref: i });
    await chat.settle();
    assert.deepEqual(attacker.conn.ofType('Error').map((m) => m.code), ['AUTH_FAILED', 'AUTH_FAILED', 'AUTH_FAILED', 'AUTH_RATE_LIMITED', 'AUTH_RATE_LIMITED']);
    // Another address may still try that name at once.
    const other = fromAddress(chat, '10.0.0.2');
    other.say({ type: 'Login', username: 'victim', password: 'again', ref: 'other' });
    await chat.settle();
    assert.equal(other.conn.ofType('Error')[0]!.code, 'AUTH_FAILED');
    // A minute later the first address may try again.
    chat.clock += 61_000;
    attacker.conn.clear();
    attacker.say({ type: 'Login', username: 'victim', password: 'again', ref: 'later' });
    await chat.settle();
    assert.equal(attacker.conn.ofType('Error')[0]!.code, 'AUTH_FAILED');
  });

  it('slows down a name failing from many addresses, but still lets an address that has not failed on it log in', async () => {
    const chat = await new FakeChat({ loginFailuresPerName: 3 }).start();
    const owner0 = chat.connect('json');
    owner0.say({ type: 'Register', username: 'popular', password: 'right password' });
    await chat.settle();
    const bots = [1, 2, 3].map((i) => fromAddress(chat, `10.1.0.${i}`));
    for (const bot of bots) bot.say({ type: 'Login', username: 'popular', password: 'guess one' });
    await chat.settle();
    assert.deepEqual(bots.map((b) => b.conn.ofType('Error')[0]?.code), ['AUTH_FAILED', 'AUTH_FAILED', 'AUTH_FAILED']);
    // Past the name's failures: an address that failed waits...
    bots[0]!.say({ type: 'Login', username: 'popular', password: 'guess two', ref: 'again' });
    await chat.settle();
    assert.equal(bots[0]!.conn.ofType('Error').find((m) => m.ref === 'again')?.code, 'AUTH_RATE_LIMITED');
    // ...one that has not may try, and the owner logs in.
    const owner = fromAddress(chat, '10.9.9.9');
    owner.say({ type: 'Login', username: 'popular', password: 'right password', ref: 'me' });
    await chat.settle();
    assert.ok(owner.conn.ofType('LoggedIn').some((m) => m.ref === 'me'), JSON.stringify(owner.conn.messages()));
    // A minute later the first address may try again.
    chat.clock += 61_000;
    bots[0]!.say({ type: 'Login', username: 'popular', password: 'guess three', ref: 'later' });
    await chat.settle();
    assert.equal(bots[0]!.conn.ofType('Error').find((m) => m.ref === 'later')?.code, 'AUTH_FAILED');
  });

  it('lets the owner log in at once from another address while one address fails ten times (over real sockets)', async () => {
    await using server = await startTestServer();
    {
      await using c = await TestClient.json(server.url);
      assert.equal((await register(c, 'admin1', 'the right password')).type, 'LoggedIn');
    }
    await using attacker = await TestClient.json(server.url);
    await attacker.nextOfType('Welcome');
    for (let i = 0; i < 12; i++) attacker.send({ type: 'Login', username: 'admin1', password: `wrong guess ${i}`, ref: `g${i}` });
    assert.equal((await attacker.nextOfType('Error', (m) => m.ref === 'g11')).code, 'AUTH_RATE_LIMITED');
    // The owner, from another address (127.0.0.2), is not locked out.
    await using owner = await TestClient.jsonFrom(server.url, '127.0.0.2');
    await owner.nextOfType('Welcome');
    owner.send({ type: 'Login', username: 'admin1', password: 'the right password', ref: 'me' });
    const answer = await owner.next((m) => (m as { ref?: unknown }).ref === 'me');
    assert.equal(answer.type, 'LoggedIn', JSON.stringify(answer));
  });

  it('rate-limits login attempts per address, whatever the names', async () => {
    const chat = await new FakeChat({ loginAttemptsPerAddress: 3 }).start();
    const c = fromAddress(chat, '192.0.2.7');
    for (let i = 0; i < 5; i++) c.say({ type: 'Login', username: `name${i}`, password: 'guess1234', ref: i });
    await chat.settle();
    assert.deepEqual(c.conn.ofType('Error').map((m) => m.code), ['AUTH_FAILED', 'AUTH_FAILED', 'AUTH_FAILED', 'AUTH_RATE_LIMITED', 'AUTH_RATE_LIMITED']);
    const other = fromAddress(chat, '192.0.2.8');
    other.say({ type: 'Login', username: 'name9', password: 'guess1234' });
    await chat.settle();
    assert.equal(other.conn.ofType('Error')[0]!.code, 'AUTH_FAILED', 'another address is not limited');
  });

  it('does not let a rate-limited address fill the limiter with names (memory and time stay bounded)', async () => {
    const chat = await new FakeChat({ loginAttemptsPerAddress: 3, messageBurst: 100_000, messagesPerSecond: 100_000 }).start();
    const c = fromAddress(chat, '198.51.100.1');
    for (let i = 0; i < 3_000; i++) c.say({ type: 'Login', username: `spray${i}`, password: 'guess1234' });
    await chat.settle();
    const entries = (chat.chat.loginLimiter as unknown as { attempts: Map<string, number[]> }).attempts.size
      + (chat.chat.addressLimiter as unknown as { attempts: Map<string, number[]> }).attempts.size;
    assert.ok(entries <= 10, `${entries} limiter entries for one address`);
    // Names it sprayed are not locked out for others.
    const other = fromAddress(chat, '198.51.100.2');
    other.say({ type: 'Login', username: 'spray2999', password: 'guess1234' });
    await chat.settle();
    assert.equal(other.conn.ofType('Error')[0]!.code, 'AUTH_FAILED');
  });

  it('keeps the login limiter fast when attempts come from very many addresses', () => {
    const limiter = new AttemptLimiter(10);
    const started = performance.now();
    for (let i = 0; i < 30_000; i++) limiter.allow(`addr:2001:db8::${i.toString(16)}`, 1_000 + i);
    const ms = performance.now() - started;
    assert.ok(ms < 1_000, `30 000 attempts took ${Math.round(ms)} ms`);
    assert.equal(limiter.allow('addr:2001:db8::0', 2_000), true, 'an address under its limit is still allowed');
  });

  it('rate-limits registrations per address (each costs a hash and an account)', async () => {
    const chat = await new FakeChat({ loginAttemptsPerMinute: 3 }).start();
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const c = fromAddress(chat, '203.0.113.5');
      c.say({ type: 'Register', username: `bot${i}`, password: 'password123', ref: i });
      await chat.settle();
      codes.push(c.conn.messages().find((m) => 'ref' in m && m.ref === i)!.type === 'LoggedIn' ? 'ok' : c.conn.ofType('Error')[0]!.code);
    }
    assert.deepEqual(codes, ['ok', 'ok', 'ok', 'AUTH_RATE_LIMITED', 'AUTH_RATE_LIMITED']);
    assert.equal(await chat.store.accountByName('bot3'), null);
    const other = fromAddress(chat, '203.0.113.6');
    other.say({ type: 'Register', username: 'human', password: 'password123', ref: 'h' });
    await chat.settle();
    assert.equal(other.conn.ofType('LoggedIn').length, 1);
  });

  it('rate-limits logins over the network with AUTH_RATE_LIMITED, retryable', async () => {
    await using server = await startTestServer({ loginAttemptsPerMinute: 2 });
    await using c = await TestClient.json(server.url);
    await c.nextOfType('Welcome');
    for (let i = 0; i < 3; i++) c.send({ type: 'Login', username: 'target', password: 'guess1234', ref: i });
    const limited = await c.nextOfType('Error', (m) => m.ref === 2);
    assert.equal(limited.code, 'AUTH_RATE_LIMITED');
    assert.equal(limited.retryable, true);
  });

  it('revokes the token on Logout and closes the connection with 4004', async () => {
    await using server = await startTestServer();
    await using c = await TestClient.json(server.url);
    const answer = await register(c, 'hank', 'hanks password');
    const token = (answer as { token: string }).token;
    c.send({ type: 'Logout', ref: 'out' });
    await c.nextOfType('Ack', (m) => m.ref === 'out');
    assert.equal((await c.waitClosed()).code, 4004);
    const again = await login(server.url, { token });
    await using _a = again.c;
    assert.equal((again.answer as { code?: string }).code, 'TOKEN_INVALID');
    // The password still works.
    const pw = await login(server.url, { username: 'hank', password: 'hanks password' });
    await using _p = pw.c;
    assert.equal(pw.answer.type, 'LoggedIn');
  });

  it('logs a guest out: its token is revoked and its name is free once it is gone', async () => {
    await using server = await startTestServer({ presenceGraceMs: 0 });
    const c = await jsonUser(server.url, 'guesty');
    const token = c.token!;
    c.send({ type: 'Logout', ref: 'x' });
    await c.nextOfType('Ack', (m) => m.ref === 'x');
    assert.equal((await c.waitClosed()).code, 4004);
    await using again = await TestClient.json(server.url);
    await again.nextOfType('Welcome');
    again.send({ type: 'Login', token, ref: 'l' });
    assert.equal((await again.nextOfType('Error', (m) => m.ref === 'l')).code, 'TOKEN_INVALID');
    await eventually(async () => {
      again.send({ type: 'SetUsername', username: 'guesty', ref: 'n' });
      const answer = await again.next((f) => (f as { ref?: unknown }).ref === 'n');
      return answer.type === 'Ack';
    }, 10_000, 'the name to be free');
  });

  it('supports /register, /login and /logout in text mode', async () => {
    await using server = await startTestServer();
    {
      await using t = await textUser(server.url, 'ivy');
      t.send('/register ivys password');
      await t.nextLine('The name ivy is now registered to you');
      t.send('/logout');
      await t.nextLine('Logged out');
      assert.equal((await t.waitClosed()).code, 4004);
    }
    await using u = await TestClient.text(server.url);
    await u.nextLine('Welcome');
    u.send('/login ivy wrong-password');
    await u.nextLine('Error: Wrong name or password.');
    u.send('/login IVY ivys password');
    await u.nextLine('Logged in as ivy');
    await u.nextLine('You are in general');
    u.send('/register again');
    await u.nextLine('Error');
    assert.equal(u.closed, null);
  });
});
