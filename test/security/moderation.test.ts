import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';

type Json = TestClient<ServerMessage>;

/** A JSON client that registers `name` (and so is logged in), with its join consumed. */
async function account(url: string, name: string, password = `${name}-password`): Promise<{ c: Json; token: string }> {
  const c = await TestClient.json(url);
  await c.nextOfType('Welcome');
  c.send({ type: 'Register', username: name, password, ref: 'reg' });
  const answer = await c.next((m) => (m as { ref?: unknown }).ref === 'reg', 5_000, `${name}'s registration`);
  if (answer.type !== 'LoggedIn') throw new Error(`could not register ${name}: ${JSON.stringify(answer)}`);
  await c.nextOfType('History', (m) => m.room === 'general');
  return { c, token: answer.token };
}

async function loginAnswer(url: string, fields: object): Promise<ServerMessage> {
  await using c = await TestClient.json(url);
  await c.nextOfType('Welcome');
  c.send({ ...fields, type: 'Login', ref: 'l' });
  return await c.next((m) => (m as { ref?: unknown }).ref === 'l');
}

describe('moderation', () => {
  let server: TestServer;
  let boss: Json;
  before(async () => {
    server = await startTestServer({ admins: ['Boss', 'deputy'] });
    boss = (await account(server.url, 'boss')).c;
  });
  after(async () => {
    boss.close();
    await server.close();
  });

  it('lets an administrator kick a user: the user is closed with 4001 and the others chat on', async () => {
    await using target = await jsonUser(server.url, 'mallory');
    await using bystander = await textUser(server.url, 'bystander1');
    boss.send({ type: 'Kick', username: 'Mallory', reason: 'spam', ref: 'k1' });
    await boss.nextOfType('Ack', (m) => m.ref === 'k1');
    const closed = await target.waitClosed();
    assert.equal(closed.code, 4001);
    assert.match(closed.reason, /retry-after=\d+/);
    await bystander.nextLine('mallory left general');
    bystander.send('business as usual');
    await boss.nextOfType('Message', (m) => m.content === 'business as usual');
  });

  it('kicks with a long non-ASCII reason (close reasons are at most 123 bytes)', async () => {
    await using target = await jsonUser(server.url, 'mallory2');
    boss.send({ type: 'Kick', username: 'mallory2', reason: 'ü'.repeat(200), ref: 'k2' });
    await boss.nextOfType('Ack', (m) => m.ref === 'k2');
    const closed = await target.waitClosed();
    assert.equal(closed.code, 4001);
    assert.ok(Buffer.byteLength(closed.reason) <= 123);
    assert.match(closed.reason, /retry-after=60$/);
    assert.ok(!boss.pending().some((m) => m.type === 'Error'));
  });

  it('kicks with /kick in text mode, and holds the kicked name for the retry-after: nobody takes it meanwhile', async () => {
    await using deputy = await textUser(server.url, 'deputy');
    deputy.send('/register deputy-password');
    await deputy.nextLine('now registered to you');
    await using t = await textUser(server.url, 'mallory3');
    deputy.send('/kick mallory3 calm down');
    await deputy.nextLine('Kick mallory3: done');
    const closed = await t.waitClosed();
    assert.equal(closed.code, 4001);
    assert.match(closed.reason, /calm down/);
    await using back = await TestClient.json(server.url);
    await back.nextOfType('Welcome');
    for (const name of ['mallory3', 'MALLORY3']) {
      back.send({ type: 'SetUsername', username: name, ref: name });
      assert.equal((await back.nextOfType('Error', (m) => m.ref === name)).code, 'NAME_TAKEN');
    }
  });

  it('bans an account: stored, its connections closed with 4003, and it cannot log in until unbanned', async () => {
    const eve = await account(server.url, 'eve');
    await using _e = eve.c;
    boss.send({ type: 'Ban', username: 'eve', reason: 'abuse', ref: 'b1' });
    await boss.nextOfType('Ack', (m) => m.ref === 'b1');
    assert.equal((await eve.c.waitClosed()).code, 4003);
    assert.equal((await server.store.accountByName('eve'))?.banned, true);
    const byPassword = await loginAnswer(server.url, { username: 'eve', password: 'eve-password' });
    assert.equal(byPassword.type === 'Error' && byPassword.code, 'BANNED');
    const byToken = await loginAnswer(server.url, { token: eve.token });
    assert.equal(byToken.type === 'Error' && byToken.code, 'BANNED');
    // Nor can a guest take the banned name.
    await using guest = await TestClient.json(server.url);
    await guest.nextOfType('Welcome');
    guest.send({ type: 'SetUsername', username: 'eve', ref: 'n' });
    assert.equal((await guest.nextOfType('Error', (m) => m.ref === 'n')).code, 'BANNED');
    boss.send({ type: 'Unban', username: 'eve', ref: 'u1' });
    await boss.nextOfType('Ack', (m) => m.ref === 'u1');
    assert.equal((await server.store.accountByName('eve'))?.banned, false);
    const again = await loginAnswer(server.url, { username: 'eve', password: 'eve-password' });
    assert.equal(again.type, 'LoggedIn');
  });

  it('bans a guest\'s name: its connections close with 4003, the name is refused to guests and registrations until unbanned', async () => {
    await using troll = await jsonUser(server.url, 'trollguest');
    boss.send({ type: 'Ban', username: 'TrollGuest', ref: 'b2' });
    await boss.nextOfType('Ack', (m) => m.ref === 'b2');
    assert.equal((await troll.waitClosed()).code, 4003);
    assert.equal(await server.store.nameBanned('trollguest'), true);
    await using again = await TestClient.json(server.url);
    await again.nextOfType('Welcome');
    again.send({ type: 'SetUsername', username: 'trollguest', ref: 'n' });
    const refused = await again.nextOfType('Error', (m) => m.ref === 'n');
    assert.equal(refused.code, 'BANNED');
    assert.equal(again.closed, null, 'someone else trying a banned name keeps the connection');
    again.send({ type: 'Register', username: 'trollguest', password: 'password123', ref: 'r' });
    assert.equal((await again.nextOfType('Error', (m) => m.ref === 'r')).code, 'BANNED');
    assert.equal(await server.store.getAccount('trollguest'), null);
    boss.send({ type: 'Unban', username: 'trollguest', ref: 'u2' });
    await boss.nextOfType('Ack', (m) => m.ref === 'u2');
    again.send({ type: 'SetUsername', username: 'trollguest', ref: 'n2' });
    await again.nextOfType('Ack', (m) => m.ref === 'n2');
  });

  it('answers an unban of a name that is not banned with NO_SUCH_USER', async () => {
    boss.send({ type: 'Unban', username: 'never-banned', ref: 'u3' });
    assert.equal((await boss.nextOfType('Error', (m) => m.ref === 'u3')).code, 'NO_SUCH_USER');
  });

  it('lets an administrator delete any message', async () => {
    await using author = await jsonUser(server.url, 'author1');
    author.send({ type: 'SendMessage', content: 'delete me', ref: 'm' });
    const msg = await author.nextOfType('Message', (m) => m.ref === 'm');
    boss.send({ type: 'DeleteMessage', id: msg.id, ref: 'd' });
    await boss.nextOfType('Ack', (m) => m.ref === 'd');
    const gone = await author.nextOfType('MessageDeleted');
    assert.equal(gone.id, msg.id);
  });

  it('answers FORBIDDEN to a user who is not an administrator, for each moderation request', async () => {
    const { c: plain } = await account(server.url, 'plainuser');
    await using _p = plain;
    await using guest = await jsonUser(server.url, 'guestuser');
    await using victim = await jsonUser(server.url, 'victim1');
    victim.send({ type: 'SendMessage', content: 'mine', ref: 'v' });
    const msg = await victim.nextOfType('Message', (m) => m.ref === 'v');
    for (const c of [plain, guest]) {
      for (const [i, req] of [
        { type: 'Kick', username: 'victim1' }, { type: 'Ban', username: 'boss' }, { type: 'Unban', username: 'eve' },
        { type: 'DeleteMessage', id: msg.id },
      ].entries()) {
        c.send({ ...req, ref: `f${i}` });
        assert.equal((await c.nextOfType('Error', (m) => m.ref === `f${i}`)).code, 'FORBIDDEN', req.type);
      }
    }
    assert.equal(victim.closed, null);
    assert.equal((await server.store.accountByName('boss'))?.banned, false);
  });

  it('gives no rights to a guest who merely uses an administrator\'s name before it is registered', async () => {
    await using s = await TestClient.json(server.url);
    await s.nextOfType('Welcome');
    // "deputy" is registered by now; an admin name nobody registered yet:
    await using fake = await startTestServer({ admins: ['root'] });
    await using imposter = await jsonUser(fake.url, 'root');
    await using other = await jsonUser(fake.url, 'other');
    imposter.send({ type: 'Kick', username: 'other', ref: 'x' });
    assert.equal((await imposter.nextOfType('Error', (m) => m.ref === 'x')).code, 'FORBIDDEN');
    assert.equal(other.closed, null);
  });

  it('makes a room\'s creator its owner, who may set its topic; others get FORBIDDEN; administrators may', async () => {
    await using owner = await jsonUser(server.url, 'founder');
    await using member = await jsonUser(server.url, 'joiner');
    owner.send({ type: 'JoinRoom', room: 'clubhouse', ref: 'j' });
    await owner.nextOfType('Ack', (m) => m.ref === 'j');
    member.send({ type: 'JoinRoom', room: 'clubhouse', ref: 'j' });
    await member.nextOfType('Ack', (m) => m.ref === 'j');
    owner.send({ type: 'SetTopic', room: 'clubhouse', topic: 'members only', ref: 't1' });
    await owner.nextOfType('Ack', (m) => m.ref === 't1');
    const topic = await member.nextOfType('Topic');
    assert.deepEqual([topic.room, topic.topic, topic.by], ['clubhouse', 'members only', 'founder']);
    member.send({ type: 'SetTopic', room: 'clubhouse', topic: 'hijacked', ref: 't2' });
    assert.equal((await member.nextOfType('Error', (m) => m.ref === 't2')).code, 'FORBIDDEN');
    member.send({ type: 'SetTopic', room: 'general', topic: 'hijacked', ref: 't3' });
    assert.equal((await member.nextOfType('Error', (m) => m.ref === 't3')).code, 'FORBIDDEN');
    boss.send({ type: 'SetTopic', room: 'general', topic: 'house rules', ref: 't4' });
    await boss.nextOfType('Ack', (m) => m.ref === 't4');
    const rooms = await (async () => {
      member.send({ type: 'ListRooms', ref: 'lr' });
      return member.nextOfType('RoomList', (m) => m.ref === 'lr');
    })();
    assert.equal(rooms.rooms.find((r) => r.name === 'clubhouse')?.topic, 'members only');
    assert.equal(rooms.rooms.find((r) => r.name === 'general')?.topic, 'house rules');
  });

  it('lets a room owner delete messages in their room only', async () => {
    await using owner = await jsonUser(server.url, 'landlord');
    await using tenant = await jsonUser(server.url, 'tenant');
    for (const c of [owner, tenant]) {
      c.send({ type: 'JoinRoom', room: 'estate', ref: 'j' });
      await c.nextOfType('Ack', (m) => m.ref === 'j');
    }
    tenant.send({ type: 'SendMessage', room: 'estate', content: 'in the estate', ref: 'a' });
    const inRoom = await tenant.nextOfType('Message', (m) => m.ref === 'a');
    tenant.send({ type: 'SendMessage', room: 'general', content: 'in general', ref: 'b' });
    const elsewhere = await tenant.nextOfType('Message', (m) => m.ref === 'b');
    owner.send({ type: 'DeleteMessage', id: elsewhere.id, ref: 'd1' });
    assert.equal((await owner.nextOfType('Error', (m) => m.ref === 'd1')).code, 'FORBIDDEN');
    owner.send({ type: 'DeleteMessage', id: inRoom.id, ref: 'd2' });
    await owner.nextOfType('Ack', (m) => m.ref === 'd2');
  });
});
