import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeChat } from '../helpers/fake-chat.js';

describe('chat domain', () => {
  it('welcomes a text client with how to set a name and /help', async () => {
    const chat = await new FakeChat().start();
    const c = chat.connect('text');
    assert.match(c.conn.frames[0]!, /name/i);
    assert.match(c.conn.frames[0]!, /\/help/);
  });

  it('takes the first text line as the name and joins general', async () => {
    const chat = await new FakeChat().start();
    const c = chat.connect('text');
    c.say('alice');
    await chat.settle();
    assert.equal(c.session.username, 'alice');
    assert.deepEqual([...c.session.rooms], ['general']);
    assert.ok(c.conn.frames.some((f) => f.includes('You are now alice')));
  });

  it('sends a room message to the other members and no echo to a text sender', async () => {
    const chat = await new FakeChat().start();
    const alice = await chat.textUser('alice');
    const bob = await chat.textUser('bob');
    alice.conn.clear();
    alice.say('hello bob');
    await chat.settle();
    assert.deepEqual(bob.conn.frames, ['alice: hello bob']);
    assert.deepEqual(alice.conn.frames, []);
  });

  it('echoes a JSON sender its own Message with ref and nonce, and seq grows by one', async () => {
    const chat = await new FakeChat().start();
    const ann = await chat.jsonUser('ann');
    ann.say({ type: 'SendMessage', content: 'one', ref: 1, nonce: 'n1' });
    ann.say({ type: 'SendMessage', content: 'two', ref: 2 });
    await chat.settle();
    const echoes = ann.conn.ofType('Message');
    assert.equal(echoes.length, 2);
    assert.equal(echoes[0]!.ref, 1);
    assert.equal(echoes[0]!.nonce, 'n1');
    assert.equal(echoes[1]!.seq, echoes[0]!.seq + 1);
    assert.match(echoes[0]!.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('serialises a broadcast once for many JSON recipients', async () => {
    const chat = await new FakeChat().start();
    const members = await Promise.all(['a', 'b', 'c', 'd'].map((n) => chat.jsonUser(n)));
    for (const m of members) m.conn.clear();
    members[0]!.say({ type: 'SendMessage', content: 'x' });
    await chat.settle();
    const frames = members.slice(1).map((m) => m.conn.frames[0]);
    assert.ok(frames.every((f) => f === frames[0]));
  });

  it('notifies the room when a user joins and leaves', async () => {
    const chat = await new FakeChat().start();
    const alice = await chat.textUser('alice');
    const bob = await chat.textUser('bob');
    assert.ok(alice.conn.frames.includes('* bob joined general'));
    bob.say('/quit');
    chat.chat.disconnect(bob.session);
    await chat.settle();
    assert.ok(alice.conn.frames.includes('* bob left general'));
  });

  it('refuses a name that differs only by case from an online user', async () => {
    const chat = await new FakeChat().start();
    await chat.jsonUser('Alice');
    const c = chat.connect('json');
    c.say({ type: 'SetUsername', username: 'alice', ref: 'x' });
    await chat.settle();
    const err = c.conn.ofType('Error')[0];
    assert.equal(err?.code, 'NAME_TAKEN');
    assert.equal(err?.ref, 'x');
  });

  it('delivers a private message to the addressee only', async () => {
    const chat = await new FakeChat().start();
    const a = await chat.jsonUser('a');
    const b = await chat.jsonUser('b');
    const c = await chat.jsonUser('c');
    for (const x of [a, b, c]) x.conn.clear();
    a.say({ type: 'PrivateMessage', to: 'B', content: 'psst', ref: 'p' });
    await chat.settle();
    assert.equal(b.conn.ofType('PrivateMessage')[0]?.content, 'psst');
    assert.equal(c.conn.frames.length, 0);
    assert.equal(a.conn.ofType('PrivateMessage')[0]?.ref, 'p');
  });

  it('tags text lines from a room that is not the current one', async () => {
    const chat = await new FakeChat().start();
    const alice = await chat.textUser('alice');
    const bob = await chat.textUser('bob');
    alice.say('/join tech');
    bob.say('/join tech');
    await chat.settle();
    bob.say('/join general');
    await chat.settle();
    bob.conn.clear();
    alice.say('in tech');
    await chat.settle();
    assert.deepEqual(bob.conn.frames, ['[tech] alice: in tech']);
  });

  it('rate-limits a flooding client and finally closes it with 1008', async () => {
    const chat = await new FakeChat({ messagesPerSecond: 5, messageBurst: 5, rateLimitStrikes: 10 }).start();
    const c = await chat.jsonUser('flood');
    for (let i = 0; i < 30; i++) c.say({ type: 'Ping' });
    await chat.settle();
    assert.ok(c.conn.ofType('Error').some((e) => e.code === 'RATE_LIMITED'));
    assert.equal(c.conn.closedWith?.code, 1008);
  });

  it('answers a handler crash with INTERNAL and keeps serving', async () => {
    const chat = await new FakeChat().start();
    const c = await chat.jsonUser('x');
    chat.store.history = async () => { throw new Error('disk on fire'); };
    // A page before a seq (the newest page of a room it is in may come from memory).
    c.say({ type: 'History', room: 'general', before: 10, ref: 'h' });
    c.say({ type: 'Ping', ref: 'p' });
    await chat.settle();
    const err = c.conn.ofType('Error')[0];
    assert.equal(err?.code, 'STORE_UNAVAILABLE');
    assert.doesNotMatch(err!.message, /disk on fire/);
    assert.ok(c.conn.ofType('Ack').some((a) => a.ref === 'p'));
  });

  it('handles one connection\'s frames in order', async () => {
    const chat = await new FakeChat().start();
    const c = chat.connect('json');
    c.say({ type: 'SetUsername', username: 'ord' });
    c.say({ type: 'JoinRoom', room: 'newroom' });
    c.say({ type: 'SendMessage', room: 'newroom', content: 'first', ref: 'm' });
    await chat.settle();
    assert.equal(c.conn.ofType('Error').length, 0, JSON.stringify(c.conn.ofType('Error')));
    assert.equal(c.conn.ofType('Message')[0]?.room, 'newroom');
  });
});

describe('room limits', () => {
  it('refuses to create a room past --max-rooms but still joins existing ones', async () => {
    const chat = await new FakeChat({ maxRooms: 4 }).start();
    const c = await chat.jsonUser('builder');
    c.say({ type: 'JoinRoom', room: 'fourth', ref: 1 });
    c.say({ type: 'JoinRoom', room: 'fifth', ref: 2 });
    c.say({ type: 'JoinRoom', room: 'random', ref: 3 });
    await chat.settle();
    assert.ok(c.conn.ofType('Ack').some((a) => a.ref === 1));
    assert.equal(c.conn.ofType('Error').find((e) => e.ref === 2)?.code, 'TOO_MANY_ROOMS');
    assert.ok(c.conn.ofType('Ack').some((a) => a.ref === 3));
  });
});

describe('sender echo', () => {
  it('is the broadcast frame plus ref and nonce, field for field', async () => {
    const chat = await new FakeChat().start();
    const a = await chat.jsonUser('echoa');
    const b = await chat.jsonUser('echob');
    a.say({ type: 'SendMessage', content: 'quote " and \\ backslash', ref: 'r"1', nonce: 'n1' });
    await chat.settle();
    const echo = a.conn.ofType('Message')[0]!;
    const seen = b.conn.ofType('Message')[0]!;
    assert.deepEqual(echo, { ...seen, ref: 'r"1', nonce: 'n1' });
  });
});

describe('the user list', () => {
  it('carries at most 1,000 names, with the total and hasMore, whoever is online', async () => {
    const chat = await new FakeChat().start();
    const c = await chat.jsonUser('lister');
    const presence = chat.presence;
    for (let i = 0; i < 1_200; i++) await presence.claimName(`u${i}`, `u${i}`, `guest:g${i}`, `g${i}`);
    c.say({ type: 'ListUsers', ref: 'all' });
    await chat.settle();
    const list = c.conn.ofType('UserList').find((m) => m.ref === 'all')!;
    assert.equal(list.users.length, 1_000);
    assert.equal(list.total, 1_201);
    assert.equal(list.hasMore, true);
  });
});
