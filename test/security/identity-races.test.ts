/**
 * Identity under concurrency, over real sockets: a Ban racing a login, a registration racing
 * a guest for the same name, and a kicked user coming straight back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { argon2Hasher } from '../../src/server/hasher.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer } from '../helpers/server.js';
import { TestClient, jsonUser } from '../helpers/ws-client.js';

type Json = TestClient<ServerMessage>;

async function fresh(url: string): Promise<Json> {
  const c = await TestClient.json(url);
  await c.nextOfType('Welcome');
  return c;
}

async function answerTo(c: Json, ref: string): Promise<ServerMessage> {
  return c.next((m) => (m as { ref?: unknown }).ref === ref, 15_000, `the answer to ${ref}`);
}

async function registered(url: string, name: string, password: string): Promise<Json> {
  const c = await fresh(url);
  c.send({ type: 'Register', username: name, password, ref: 'reg' });
  const answer = await answerTo(c, 'reg');
  assert.equal(answer.type, 'LoggedIn', JSON.stringify(answer));
  return c;
}

describe('a Ban racing a login', () => {
  it('stops a password login that was already on its way when the Ban came', async () => {
    // The real hasher: verifying the password takes long enough for the Ban to land meanwhile.
    await using server = await startTestServer({ admins: ['boss'] }, { hasher: argon2Hasher });
    await using boss = await registered(server.url, 'boss', 'boss-password');
    (await registered(server.url, 'target', 'target-password')).close();
    await using login = await fresh(server.url);
    login.send({ type: 'Login', username: 'target', password: 'target-password', ref: 'in' });
    boss.send({ type: 'Ban', username: 'target', ref: 'ban' });
    await boss.nextOfType('Ack', (m) => m.ref === 'ban');
    const answer = await answerTo(login, 'in');
    if (answer.type === 'LoggedIn') {
      assert.equal((await login.waitClosed()).code, 4003, 'logged in despite the ban, and not closed');
    } else {
      assert.equal(answer.type === 'Error' && answer.code, 'BANNED');
      // Not the user: nothing it sends is theirs.
      login.send({ type: 'SendMessage', content: 'still here?', ref: 'm' });
      const reply = await answerTo(login, 'm');
      assert.ok(login.closed || (reply.type === 'Error' && reply.code === 'NOT_NAMED'), JSON.stringify(reply));
    }
  });
});

describe('a registration racing a guest for one name', () => {
  it('never leaves an account whose name a guest is using: either the registration wins, or it fails and creates nothing', async () => {
    await using server = await startTestServer({}, { hasher: argon2Hasher });
    await using registrant = await fresh(server.url);
    await using guest = await fresh(server.url);
    registrant.send({ type: 'Register', username: 'contested', password: 'contested-password', ref: 'reg' });
    // While the password is being hashed, a guest takes the name.
    guest.send({ type: 'SetUsername', username: 'contested', ref: 'name' });
    const [reg, name] = await Promise.all([answerTo(registrant, 'reg'), answerTo(guest, 'name')]);
    const holder = await server.store.accountByName('contested');
    const account = holder?.passwordHash ? holder : null;
    if (reg.type === 'LoggedIn') {
      assert.ok(account, 'the account exists');
      assert.equal(name.type, 'Error', 'the guest did not get the name as well');
    } else {
      assert.equal(reg.type === 'Error' && reg.code, 'NAME_TAKEN');
      assert.equal(account, null, 'a refused registration creates no registered account');
      assert.equal(name.type, 'Ack');
      // And the name can still be registered by the guest who holds it.
      guest.send({ type: 'Register', username: 'contested', password: 'guests-password', ref: 'g' });
      assert.equal((await answerTo(guest, 'g')).type, 'LoggedIn');
    }
  });
});

describe('two registrations racing for one name', () => {
  it('gives the name to exactly one; the other is refused and not named', async () => {
    await using server = await startTestServer({}, { hasher: argon2Hasher });
    await using a = await fresh(server.url);
    await using b = await fresh(server.url);
    a.send({ type: 'Register', username: 'twice', password: 'first-password', ref: 'reg' });
    b.send({ type: 'Register', username: 'twice', password: 'second-password', ref: 'reg' });
    const answers = await Promise.all([answerTo(a, 'reg'), answerTo(b, 'reg')]);
    assert.equal(answers.filter((m) => m.type === 'LoggedIn').length, 1, JSON.stringify(answers));
    const loser = answers[0]!.type === 'LoggedIn' ? b : a;
    const refused = answers.find((m) => m.type === 'Error') as { code: string };
    assert.ok(['NAME_TAKEN', 'ALREADY_REGISTERED'].includes(refused.code), refused.code);
    loser.send({ type: 'SendMessage', content: 'who am I?', ref: 'm' });
    assert.equal((await loser.nextOfType('Error', (m) => m.ref === 'm')).code, 'NOT_NAMED');
    // The winner's name is free of any leftover claim: it is held only by the winner.
    const winner = loser === a ? b : a;
    winner.send({ type: 'ListUsers', ref: 'u' });
    assert.deepEqual((await winner.nextOfType('UserList', (m) => m.ref === 'u')).users, ['twice']);
  });
});

describe('a kick', () => {
  it('holds the name for the kick\'s retry-after: the kicked guest cannot come straight back, then can (with its token)', async () => {
    await using server = await startTestServer({ admins: ['boss'], kickHoldSeconds: 2 });
    await using boss = await registered(server.url, 'boss', 'boss-password');
    const kicked = await jsonUser(server.url, 'rowdy');
    boss.send({ type: 'Kick', username: 'rowdy', ref: 'k' });
    await boss.nextOfType('Ack', (m) => m.ref === 'k');
    const closed = await kicked.waitClosed();
    assert.equal(closed.code, 4001);
    assert.match(closed.reason, /retry-after=2$/);
    // The kicked guest's account lasts: it comes back with its token, once the hold is over.
    await using back = await fresh(server.url);
    back.send({ type: 'Login', token: kicked.token, ref: 'now' });
    assert.equal((await back.nextOfType('Error', (m) => m.ref === 'now')).code, 'NAME_TAKEN');
    let attempt = 0;
    await eventually(async () => {
      const ref = `again-${++attempt}`;
      back.send({ type: 'Login', token: kicked.token, ref });
      return (await answerTo(back, ref)).type === 'LoggedIn';
    }, 10_000, 'the account to come back after the hold');
  });
});
