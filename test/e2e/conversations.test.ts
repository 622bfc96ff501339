/**
 * Identity and conversations over real sockets, on every store: every name is an account
 * (a guest's token brings it back), memberships last, private rooms show nothing to
 * non-members, direct messages wait for people who are away, and a name that changes hands
 * carries nothing of its old account.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { nameKey } from '../../src/protocol/names.js';
import { openStore } from '../../src/server/store/open-store.js';
import { registeredUser, loggedInUser, PASSWORD } from '../helpers/accounts.js';
import { eventually } from '../helpers/eventually.js';
import { storeBackends } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';

type Json = TestClient<ServerMessage>;
type Of<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

const backends = await storeBackends('conv');

let counter = 0;
/** A fresh ref for each request. */
function ref(): string {
  return `r${++counter}`;
}

/** Sends a request and resolves its direct answer (any type carrying the ref). */
async function ask(c: Json, msg: Record<string, unknown>): Promise<ServerMessage> {
  const r = ref();
  c.send({ ...msg, ref: r });
  return c.next((f) => (f as { ref?: unknown }).ref === r, 15_000, `the answer to ${String(msg.type)}`);
}

async function expectError(c: Json, msg: Record<string, unknown>, code: string): Promise<void> {
  const answer = await ask(c, msg);
  assert.equal(answer.type, 'Error', `${String(msg.type)} answers an Error, not ${JSON.stringify(answer).slice(0, 200)}`);
  assert.equal((answer as Of<'Error'>).code, code);
}

/** A guest in JSON mode: its name, and the token SetUsername gave it. */
async function guest(url: string, name: string): Promise<{ c: Json; token: string }> {
  const c = await TestClient.json(url);
  await c.nextOfType('Welcome');
  c.send({ type: 'SetUsername', username: name, ref: 'name' });
  const ack = await c.nextOfType('Ack', (m) => m.ref === 'name');
  assert.equal(typeof ack.token, 'string', 'SetUsername answers with a token');
  await c.nextOfType('History', (m) => m.room === 'general');
  return { c, token: ack.token as string };
}

/** A new connection that resumes an account with its token. */
async function resume(url: string, token: string): Promise<Json> {
  const c = await TestClient.json(url);
  await c.nextOfType('Welcome');
  c.send({ type: 'Login', token, ref: 'resume' });
  const answer = await c.next((f) => (f as { ref?: unknown }).ref === 'resume');
  assert.equal(answer.type, 'LoggedIn', JSON.stringify(answer));
  return c;
}

async function conversations(c: Json): Promise<Of<'Conversations'>['conversations']> {
  const answer = await ask(c, { type: 'ListConversations' });
  assert.equal(answer.type, 'Conversations');
  return (answer as Of<'Conversations'>).conversations;
}

for (const [name, make, skip] of backends) {
  describe(`identity and conversations (${name} store)`, { skip }, () => {
    let server: TestServer;
    let cleanup: () => Promise<void>;
    before(async () => {
      const backend = await make();
      cleanup = backend.cleanup;
      server = await startTestServer({ presenceGraceMs: 0, guestTtlSeconds: 3600, admins: ['boss'] }, { store: openStore(backend.db) });
    });
    after(async () => {
      await server.close();
      await cleanup();
    });

    it('the next holder of a departed guest\'s name reads none of its private messages', async () => {
      await (await registeredUser(server.url, 'wendy')).close();
      const ann = await textUser(server.url, 'ann');
      ann.send('/pm wendy psst');
      await ann.nextLine('[pm to wendy] psst');
      ann.send('/quit');
      await ann.waitClosed();
      // The text-mode guest ends with its last connection: its name is free again.
      let next: Json | null = null;
      await eventually(async () => {
        const c = await TestClient.json(server.url);
        await c.nextOfType('Welcome');
        c.send({ type: 'SetUsername', username: 'ann', ref: 'take' });
        const answer = await c.next((f) => (f as { ref?: unknown }).ref === 'take');
        if (answer.type === 'Ack') next = c;
        else c.close();
        return answer.type === 'Ack';
      }, 15_000, 'the name ann is free after its guest left');
      const taker = next! as Json;
      taker.send({ type: 'PrivateHistory', with: 'wendy', ref: 'ph' });
      const ph = await taker.nextOfType('PrivateHistory', (m) => m.ref === 'ph');
      assert.deepEqual(ph.messages, [], 'the new ann sees no private message of the old one');
      assert.equal((await conversations(taker)).filter((c) => c.kind === 'direct').length, 0);
      // wendy still has the conversation, with the old ann's message.
      await using wendy = await loggedInUser(server.url, 'wendy');
      const direct = (await conversations(wendy)).find((c) => c.kind === 'direct');
      assert.ok(direct, 'wendy has the direct conversation');
      assert.equal(direct.unread, 1);
      // The id of that conversation is nothing to the new ann.
      await expectError(taker, { type: 'History', room: direct.room }, 'NO_SUCH_ROOM');
      await expectError(taker, { type: 'SendMessage', room: direct.room, content: 'hi' }, 'NOT_IN_ROOM');
      taker.close();
    });

    it('a guest that comes back with its token keeps its name, rooms, ownership and conversations, with no leave or join notice', async () => {
      const { c: first, token } = await guest(server.url, 'kai');
      assert.equal((await ask(first, { type: 'CreateRoom', room: 'kais-room' })).type, 'Ack');
      await using watcher = await jsonUser(server.url, 'watcher1');
      assert.equal((await ask(watcher, { type: 'JoinRoom', room: 'kais-room' })).type, 'Ack');
      // A second tab: the same account, no "name in use".
      await using second = await resume(server.url, token);
      first.close();
      await first.waitClosed();
      await using again = await resume(server.url, token);
      const rooms = (await conversations(again)).map((c) => c.room);
      assert.ok(rooms.includes('general') && rooms.includes('kais-room'), `kai is still in ${rooms.join(', ')}`);
      assert.equal((await ask(again, { type: 'SetTopic', room: 'kais-room', topic: 'still mine' })).type, 'Ack', 'kai still owns the room');
      await watcher.nextOfType('Topic', (m) => m.topic === 'still mine');
      assert.ok(!watcher.frames.some((f) => (f.type === 'UserLeft' || f.type === 'UserJoined') && f.username === 'kai'),
        'nobody saw kai leave or come back');
      // A message sent meanwhile reaches both of kai's connections.
      watcher.send({ type: 'SendMessage', room: 'kais-room', content: 'hello kai' });
      await second.nextOfType('Message', (m) => m.content === 'hello kai');
      await again.nextOfType('Message', (m) => m.content === 'hello kai');
    });

    it('several users joining a room that does not exist yet all join it: one creates it, the others become members', async () => {
      const users = await Promise.all(['jo1', 'jo2', 'jo3', 'jo4'].map((n) => jsonUser(server.url, n)));
      try {
        const answers = await Promise.all(users.map((u) => ask(u, { type: 'JoinRoom', room: 'brandnew' })));
        assert.deepEqual(answers.map((a) => [a.type, (a as { room?: string }).room]), users.map(() => ['Ack', 'brandnew']));
        const roles = await Promise.all(users.map(async (u) => {
          const list = await ask(u, { type: 'ListConversations' }) as Of<'Conversations'>;
          return list.conversations.find((c) => c.room === 'brandnew')?.role;
        }));
        assert.deepEqual(roles.filter((r) => r === 'owner').length, 1, JSON.stringify(roles));
        assert.deepEqual(roles.filter((r) => r === 'member').length, 3, JSON.stringify(roles));
      } finally {
        for (const u of users) await u.close();
      }
    });

    it('a direct message to an account that is away is stored, counted and read after its login', async () => {
      await (await registeredUser(server.url, 'olga')).close();
      await using sam = await jsonUser(server.url, 'sam');
      const echo = await ask(sam, { type: 'PrivateMessage', to: 'olga', content: 'see you tomorrow' });
      assert.equal(echo.type, 'PrivateMessage');
      const pm = echo as Of<'PrivateMessage'>;
      assert.equal(pm.from, 'sam');
      assert.equal(pm.to, 'olga');
      assert.equal(typeof pm.room, 'string');
      assert.equal(pm.seq, 1);
      await using olga = await loggedInUser(server.url, 'olga');
      const direct = (await conversations(olga)).find((c) => c.room === pm.room);
      assert.ok(direct, 'olga has the conversation');
      assert.equal(direct.kind, 'direct');
      assert.deepEqual(direct.with, ['sam']);
      assert.equal(direct.unread, 1);
      const history = await ask(olga, { type: 'History', room: pm.room });
      assert.deepEqual((history as Of<'History'>).messages.map((m) => m.content), ['see you tomorrow']);
      assert.equal((await ask(olga, { type: 'MarkRead', room: pm.room, seq: 1 })).type, 'Ack');
      assert.equal((await conversations(olga)).find((c) => c.room === pm.room)?.unread, 0);
      // Replies, edits and reactions work there as in a room.
      olga.send({ type: 'SendMessage', room: pm.room, content: 'ok!', ref: 'reply' });
      const reply = await sam.nextOfType('PrivateMessage', (m) => m.content === 'ok!');
      assert.equal(reply.seq, 2);
      assert.equal((await ask(sam, { type: 'React', id: reply.id, emoji: '👍' })).type, 'Ack');
      await olga.nextOfType('Reaction', (m) => m.id === reply.id);
      await expectError(sam, { type: 'PrivateMessage', to: 'nobody-at-all', content: 'x' }, 'NO_SUCH_USER');
    });

    it('counts mentions per direct conversation, and MarkRead clears them', async () => {
      await (await registeredUser(server.url, 'mira')).close();
      await using pat = await jsonUser(server.url, 'pat');
      const pm = (await ask(pat, { type: 'PrivateMessage', to: 'mira', content: '@mira look at this' })) as Of<'PrivateMessage'>;
      await ask(pat, { type: 'PrivateMessage', to: 'mira', content: 'and this' });
      await using mira = await loggedInUser(server.url, 'mira');
      const direct = (await conversations(mira)).find((c) => c.room === pm.room)!;
      assert.deepEqual([direct.unread, direct.mentions, direct.notify], [2, 1, 'all']);
      await ask(mira, { type: 'MarkRead', room: pm.room, seq: pm.seq });
      const after = (await conversations(mira)).find((c) => c.room === pm.room)!;
      assert.deepEqual([after.unread, after.mentions], [1, 0]);
    });

    it('a private room shows nothing to non-members: list, join, history, search, users, messages, typing', async () => {
      await using owner = await jsonUser(server.url, 'rhea');
      await using outsider = await jsonUser(server.url, 'otto');
      assert.equal((await ask(owner, { type: 'CreateRoom', room: 'staff', private: true })).type, 'Ack');
      owner.send({ type: 'SendMessage', room: 'staff', content: 'secret plans xylophone' });
      await owner.nextOfType('Message', (m) => m.content === 'secret plans xylophone');
      const list = await ask(outsider, { type: 'ListRooms' });
      assert.ok(!(list as Of<'RoomList'>).rooms.some((r) => r.name === 'staff'), 'not listed');
      await expectError(outsider, { type: 'JoinRoom', room: 'staff' }, 'NO_SUCH_ROOM');
      await expectError(outsider, { type: 'History', room: 'staff' }, 'NO_SUCH_ROOM');
      await expectError(outsider, { type: 'ListUsers', room: 'staff' }, 'NO_SUCH_ROOM');
      await expectError(outsider, { type: 'Search', query: 'xylophone', room: 'staff' }, 'NO_SUCH_ROOM');
      await expectError(outsider, { type: 'SendMessage', room: 'staff', content: 'let me in' }, 'NOT_IN_ROOM');
      await expectError(outsider, { type: 'Typing', room: 'staff', active: true, ref: 't' }, 'NOT_IN_ROOM');
      const search = await ask(outsider, { type: 'Search', query: 'xylophone' });
      assert.deepEqual((search as Of<'SearchResults'>).messages, [], 'search everywhere finds nothing of it');
      // Nothing of it reaches the outsider live: not its messages, not its typing.
      owner.send({ type: 'Typing', room: 'staff', active: true });
      owner.send({ type: 'SendMessage', room: 'staff', content: 'still secret', ref: 'still' });
      await owner.nextOfType('Message', (m) => m.ref === 'still');
      assert.equal((await ask(outsider, { type: 'Ping' })).type, 'Ack');
      assert.ok(!outsider.frames.some((f) => f.type !== 'Error' && JSON.stringify(f).includes('staff')), 'no frame but its own refusals names the room');
      // An invitation lets otto in: live at once, on every connection of his.
      await expectError(outsider, { type: 'Invite', room: 'staff', username: 'otto' }, 'NO_SUCH_ROOM');
      assert.equal((await ask(owner, { type: 'Invite', room: 'staff', username: 'otto' })).type, 'Ack');
      const added = await outsider.nextOfType('ConversationAdded', (m) => m.conversation.room === 'staff');
      assert.equal(added.conversation.kind, 'private');
      owner.send({ type: 'SendMessage', room: 'staff', content: 'welcome otto' });
      await outsider.nextOfType('Message', (m) => m.content === 'welcome otto');
      assert.ok(((await ask(outsider, { type: 'ListRooms' })) as Of<'RoomList'>).rooms.some((r) => r.name === 'staff'));
      // Members cannot invite to a private room; the owner cannot be removed; removal stops delivery.
      await expectError(outsider, { type: 'Invite', room: 'staff', username: 'sam' }, 'FORBIDDEN');
      await expectError(outsider, { type: 'RemoveMember', room: 'staff', username: 'rhea' }, 'FORBIDDEN');
      await expectError(owner, { type: 'Invite', room: 'staff', username: 'no-such-person' }, 'NO_SUCH_USER');
      assert.equal((await ask(owner, { type: 'RemoveMember', room: 'staff', username: 'otto' })).type, 'Ack');
      await outsider.nextOfType('ConversationRemoved', (m) => m.room === 'staff');
      owner.send({ type: 'SendMessage', room: 'staff', content: 'otto is gone', ref: 'gone' });
      await owner.nextOfType('Message', (m) => m.ref === 'gone');
      await expectError(outsider, { type: 'History', room: 'staff' }, 'NO_SUCH_ROOM');
      assert.ok(!outsider.frames.some((f) => f.type === 'Message' && f.content === 'otto is gone'), 'a removed member receives nothing more');
    });

    it('moderators: the owner makes one, who may invite and remove members but not the owner', async () => {
      await using owner = await jsonUser(server.url, 'mona');
      await using mod = await jsonUser(server.url, 'moe');
      await using member = await jsonUser(server.url, 'max');
      assert.equal((await ask(owner, { type: 'CreateRoom', room: 'mods', private: true })).type, 'Ack');
      assert.equal((await ask(owner, { type: 'Invite', room: 'mods', username: 'moe' })).type, 'Ack');
      await expectError(mod, { type: 'Invite', room: 'mods', username: 'max' }, 'FORBIDDEN');
      assert.equal((await ask(owner, { type: 'SetRole', room: 'mods', username: 'moe', role: 'moderator' })).type, 'Ack');
      assert.equal((await ask(mod, { type: 'Invite', room: 'mods', username: 'max' })).type, 'Ack');
      await member.nextOfType('ConversationAdded', (m) => m.conversation.room === 'mods');
      const members = (await ask(member, { type: 'ListMembers', room: 'mods' })) as Of<'Members'>;
      assert.deepEqual(members.members.map((m) => [m.username, m.role]).sort(), [['max', 'member'], ['moe', 'moderator'], ['mona', 'owner']]);
      await expectError(mod, { type: 'RemoveMember', room: 'mods', username: 'mona' }, 'FORBIDDEN');
      assert.equal((await ask(mod, { type: 'RemoveMember', room: 'mods', username: 'max' })).type, 'Ack');
      await member.nextOfType('ConversationRemoved', (m) => m.room === 'mods' && m.by === 'moe');
    });

    it('bots: a direct conversation names them in bots (and only then), a bot is never made a moderator, and an administrator\'s LoggedIn says admin', async () => {
      await using boss = await registeredUser(server.url, 'boss');
      await using again = await loggedInUser(server.url, 'boss');
      const tokenLogin = await ask(again, { type: 'GetToken' }) as Of<'LoggedIn'>;
      assert.equal(tokenLogin.admin, true, 'GetToken answers admin: true to an administrator');
      await using people = await registeredUser(server.url, 'norm');
      const mine = await ask(people, { type: 'GetToken' }) as Of<'LoggedIn'>;
      assert.equal(mine.type, 'LoggedIn');
      assert.equal('admin' in mine, false, 'nobody else is told anything');
      const made = await ask(boss, { type: 'CreateBot', name: 'helper' });
      assert.equal(made.type, 'Ack');
      await using viaToken = await TestClient.json(server.url);
      await viaToken.nextOfType('Welcome');
      const resumed = await ask(viaToken, { type: 'Login', token: tokenLogin.token }) as Of<'LoggedIn'>;
      assert.equal(resumed.admin, true, 'a token login of an administrator says so too');

      // A direct conversation with the bot, and a group one with the bot and a person.
      const opened = await ask(people, { type: 'OpenDirect', usernames: ['helper'] }) as Of<'Ack'>;
      const added = await people.nextOfType('ConversationAdded', (m) => m.conversation.room === opened.room);
      assert.deepEqual(added.conversation.bots, ['helper']);
      const group = await ask(people, { type: 'OpenDirect', usernames: ['helper', 'boss'] }) as Of<'Ack'>;
      const human = await ask(people, { type: 'OpenDirect', usernames: ['boss'] }) as Of<'Ack'>;
      const list = await conversations(people);
      const of = (room: unknown) => list.find((c) => c.room === room)!;
      assert.deepEqual(of(opened.room).bots, ['helper']);
      assert.deepEqual(of(group.room).bots, ['helper']);
      assert.deepEqual([...of(group.room).with!].sort(), ['boss', 'helper']);
      assert.equal('bots' in of(human.room), false, 'a conversation without bots carries no bots field');
      assert.equal('bots' in of('general'), false);

      // A bot in a room: the owner may not make it a moderator (nor may an administrator).
      assert.equal((await ask(people, { type: 'CreateRoom', room: 'botroom' })).type, 'Ack');
      assert.equal((await ask(people, { type: 'Invite', room: 'botroom', username: 'helper' })).type, 'Ack');
      await expectError(people, { type: 'SetRole', room: 'botroom', username: 'helper', role: 'moderator' }, 'FORBIDDEN');
      await expectError(boss, { type: 'SetRole', room: 'botroom', username: 'helper', role: 'moderator' }, 'FORBIDDEN');
      assert.equal((await ask(people, { type: 'SetRole', room: 'botroom', username: 'helper', role: 'member' })).type, 'Ack', 'making it a member stays allowed');
      const members = await ask(people, { type: 'ListMembers', room: 'botroom' }) as Of<'Members'>;
      assert.deepEqual(members.members.map((m) => [m.username, m.role, m.bot === true]).sort(), [['helper', 'member', true], ['norm', 'owner', false]]);
    });

    it('a group conversation of three: everyone hears of it and receives its messages', async () => {
      await using a = await jsonUser(server.url, 'gaia');
      await using b = await jsonUser(server.url, 'gus');
      await (await registeredUser(server.url, 'gwen')).close();
      const opened = (await ask(a, { type: 'OpenDirect', usernames: ['gus', 'gwen'] })) as Of<'Ack'>;
      assert.equal(opened.for, 'OpenDirect');
      const room = opened.room as string;
      await b.nextOfType('ConversationAdded', (m) => m.conversation.room === room);
      a.send({ type: 'SendMessage', room, content: 'hello both' });
      await b.nextOfType('Message', (m) => m.room === room && m.content === 'hello both');
      // The same people get the same conversation again.
      assert.equal(((await ask(b, { type: 'OpenDirect', usernames: ['gwen', 'gaia'] })) as Of<'Ack'>).room, room);
      await using gwen = await loggedInUser(server.url, 'gwen');
      const c = (await conversations(gwen)).find((x) => x.room === room);
      assert.deepEqual(c?.with?.slice().sort(), ['gaia', 'gus']);
      assert.equal(c?.unread, 1);
      await expectError(a, { type: 'OpenDirect', usernames: Array.from({ length: 10 }, (_, i) => `nobody${i}`) }, 'BAD_MESSAGE');
    });

    it('Register on a guest connection keeps the account: its messages stay editable and its rooms stay', async () => {
      const { c } = await guest(server.url, 'reggie');
      await using _c = c;
      assert.equal((await ask(c, { type: 'JoinRoom', room: 'reg-room' })).type, 'Ack');
      c.send({ type: 'SendMessage', room: 'reg-room', content: 'before registering', ref: 'before' });
      const sent = await c.nextOfType('Message', (m) => m.ref === 'before');
      const loggedIn = await ask(c, { type: 'Register', username: 'reggie', password: PASSWORD });
      assert.equal(loggedIn.type, 'LoggedIn');
      await using later = await loggedInUser(server.url, 'reggie');
      assert.ok((await conversations(later)).some((x) => x.room === 'reg-room'));
      assert.equal((await ask(later, { type: 'EditMessage', id: sent.id, content: 'edited later' })).type, 'Ack');
    });

    it('a text-mode guest that asks for its token keeps its name after it leaves, and comes back with it', async () => {
      const t = await textUser(server.url, 'tess');
      t.send('/token');
      const line = await t.nextLine('Your token: ');
      const token = /Your token: (\S+)/.exec(line)![1]!;
      t.send('/quit');
      await t.waitClosed();
      await using other = await TestClient.json(server.url);
      await other.nextOfType('Welcome');
      await expectError(other, { type: 'SetUsername', username: 'tess' }, 'NAME_TAKEN');
      await using back = await resume(server.url, token);
      assert.ok((await conversations(back)).some((c) => c.room === 'general'));
    });

    it('bad input: a missing account, a flood of invitations, another pair\'s conversation', async () => {
      await using a = await jsonUser(server.url, 'bea');
      await using b = await jsonUser(server.url, 'bob2');
      await using c = await jsonUser(server.url, 'cy');
      const pm = (await ask(a, { type: 'PrivateMessage', to: 'bob2', content: 'between us' })) as Of<'PrivateMessage'>;
      await expectError(c, { type: 'History', room: pm.room }, 'NO_SUCH_ROOM');
      await expectError(c, { type: 'JoinRoom', room: pm.room }, 'NO_SUCH_ROOM');
      await expectError(c, { type: 'Invite', room: pm.room!, username: 'cy' }, 'NO_SUCH_ROOM');
      const found = (await ask(c, { type: 'Search', query: 'between' })) as Of<'SearchResults'>;
      assert.deepEqual(found.messages, []);
      await expectError(a, { type: 'RemoveMember', room: 'general', username: 'nobody-here' }, 'NO_SUCH_USER');
      let limited = false;
      for (let i = 0; i < 100 && !limited; i++) {
        const answer = await ask(a, { type: 'Invite', room: 'general', username: 'cy' });
        limited = answer.type === 'Error' && answer.code === 'RATE_LIMITED';
      }
      assert.ok(limited, 'invitations are rate limited');
      void b;
    });
  });
}

describe('guest accounts end --guest-ttl after their last connection', () => {
  it('frees the name, refuses the token, and the next holder sees nothing of the old guest', async () => {
    await using server = await startTestServer({ presenceGraceMs: 0, guestTtlSeconds: 1 });
    const { c, token } = await guest(server.url, 'brief');
    assert.equal((await ask(c, { type: 'CreateRoom', room: 'briefs-room', private: true })).type, 'Ack');
    c.close();
    await c.waitClosed();
    let taker: Json | null = null;
    await eventually(async () => {
      const next = await TestClient.json(server.url);
      await next.nextOfType('Welcome');
      const answer = await ask(next, { type: 'SetUsername', username: 'brief' });
      if (answer.type === 'Ack') taker = next;
      else next.close();
      return answer.type === 'Ack';
    }, 20_000, 'the name to be free a second after the guest left');
    await using newcomer = taker! as Json;
    await expectError(newcomer, { type: 'History', room: 'briefs-room' }, 'NO_SUCH_ROOM');
    assert.ok(!(await conversations(newcomer)).some((x) => x.room === 'briefs-room'));
    await using stale = await TestClient.json(server.url);
    await stale.nextOfType('Welcome');
    await expectError(stale, { type: 'Login', token }, 'TOKEN_INVALID');
  });

  it('starts the time of every guest of a crowd that leaves at once (more than are handled in one turn)', async () => {
    await using server = await startTestServer({ presenceGraceMs: 0, guestTtlSeconds: 1 });
    const names = Array.from({ length: 40 }, (_, i) => `crowd${i}`);
    const crowd = await Promise.all(names.map((n) => guest(server.url, n)));
    for (const { c } of crowd) c.close();
    for (const { c } of crowd) await c.waitClosed();
    // Each name is held until its guest's time (a second after it left) runs out: then free.
    const takers: Json[] = [];
    try {
      for (const name of names) {
        await eventually(async () => {
          const next = await TestClient.json(server.url);
          await next.nextOfType('Welcome');
          const answer = await ask(next, { type: 'SetUsername', username: name });
          if (answer.type === 'Ack') takers.push(next);
          else next.close();
          return answer.type === 'Ack';
        }, 20_000, `${name} to be free a second after the crowd left`);
      }
    } finally {
      for (const t of takers) t.close();
    }
  });
});

for (const [name, make, skip] of backends) {
  describe(`a graceful shutdown writes its guests' departures (${name} store)`, { skip: skip || (name === 'memory' ? 'a memory store does not outlive its server' : false) }, () => {
    it('a text-mode guest connected when the server stops ends with its connection, and its name is free after a restart', async () => {
      const backend = await make();
      try {
        const first = await startTestServer({ presenceGraceMs: 0 }, { store: openStore(backend.db) });
        const ann = await textUser(first.url, 'ann');
        try {
          await first.close();
        } finally {
          ann.close();
        }
        // Its account ended (a text-mode guest ends with its last connection) before the store closed.
        const store = openStore(backend.db);
        await store.init();
        try {
          assert.equal(await store.accountByName(nameKey('ann')), null, 'the guest the server closed holds no account under its name');
        } finally {
          await store.close();
        }
        await using second = await startTestServer({ presenceGraceMs: 0 }, { store: openStore(backend.db) });
        await using next = await TestClient.json(second.url);
        await next.nextOfType('Welcome');
        const answer = await ask(next, { type: 'SetUsername', username: 'ann' });
        assert.equal(answer.type, 'Ack', `the departed text-mode guest's name is free: ${JSON.stringify(answer)}`);
      } finally {
        await backend.cleanup();
      }
    });
  });
}
