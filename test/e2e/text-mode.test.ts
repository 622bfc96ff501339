import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, textUser } from '../helpers/ws-client.js';

describe('text mode (wscat habits)', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  it('welcomes with how to set a name and /help', async () => {
    await using c = await TestClient.text(server.url);
    const welcome = await c.nextLine('Welcome');
    assert.match(welcome, /name/i);
    assert.match(welcome, /\/help/);
  });

  it('takes the first line as the name, joins general and tells the room', async () => {
    await using ann = await textUser(server.url, 'ann');
    await using c = await TestClient.text(server.url);
    await c.nextLine('Welcome');
    c.send('ben');
    await c.nextLine('You are now ben');
    await c.nextLine('You are in general');
    await ann.nextLine('* ben joined general');
  });

  it('sends a line to everyone else in the room and no echo to the sender', async () => {
    await using a = await textUser(server.url, 'carl');
    await using b = await textUser(server.url, 'dora');
    await using c = await textUser(server.url, 'emil');
    a.skip();
    a.send('hello room');
    assert.equal(await b.nextLine('hello room'), 'carl: hello room');
    assert.equal(await c.nextLine('hello room'), 'carl: hello room');
    a.send('/users');
    await a.nextLine('Users in general');
    assert.ok(!a.frames.some((f) => f === 'carl: hello room'), 'the sender got an echo');
  });

  it('sends recent history to a client that joins', async () => {
    await using a = await textUser(server.url, 'hist1');
    a.send('/join histroom');
    await a.nextLine('You are in histroom');
    a.send('remember this');
    a.send('/users');
    await a.nextLine('Users in histroom');
    await using b = await textUser(server.url, 'hist2');
    b.send('/join histroom');
    await b.nextLine('You are in histroom');
    assert.match(await b.nextLine('remember this'), /hist1: remember this/);
  });

  it('sets the notification level with /notify LEVEL [ROOM] (@NAME: the conversation with NAME)', async () => {
    await using a = await textUser(server.url, 'nell');
    a.send('/register correct horse');
    await a.nextLine('is now registered to you');
    a.send('/notify none');
    assert.equal(await a.nextLine('Notifications for'), '* Notifications for general: none.');
    await using ned = await textUser(server.url, 'ned');
    a.send('/notify all @ned');
    assert.match(await a.nextLine('Error'), /no conversation with ned yet/);
    a.send('/pm ned hello');
    await a.nextLine('[pm to ned] hello');
    a.send('/notify all @ned');
    assert.equal(await a.nextLine('Notifications for'), '* Notifications for @ned: all.');
    a.send('/notify loud');
    assert.match(await a.nextLine('Usage'), /\/notify all\|mentions\|none/);
    await using guest = await textUser(server.url, 'nils');
    guest.send('/notify mentions');
    assert.equal(await guest.nextLine('Notifications for'), '* Notifications for general: mentions.');
  });

  it('creates private rooms, invites, lists conversations, /me, /join #room and /switch only to rooms one is in', async () => {
    await using a = await textUser(server.url, 'tara');
    await using b = await textUser(server.url, 'tom');
    a.send('/create backstage --private');
    await a.nextLine('Created the private room backstage');
    b.send('/join backstage');
    assert.match(await b.nextLine('Error'), /no room "backstage"/);
    b.send('/switch tech');
    assert.match(await b.nextLine('Error'), /not in tech/);
    a.send('/invite tom');
    await a.nextLine('tom is now a member of backstage');
    await b.nextLine('You are a member of backstage (private)');
    b.send('/switch backstage');
    await b.nextLine('Messages now go to backstage');
    b.send('/me waves');
    assert.equal(await a.nextLine('waves'), '* tom waves');
    b.send('/join #Tech');
    await b.nextLine('You are in tech');
    b.send('/pm tara psst');
    await b.nextLine('[pm to tara] psst');
    await a.nextLine('[pm from tom] psst');
    a.send('/conversations');
    const list = await a.nextLine('Your conversations');
    assert.match(list, /#backstage \(private\)/);
    assert.match(list, /@tom \(dm-/);
    assert.match(list, /#general/);
    a.send('/members');
    assert.match(await a.nextLine('Members of backstage'), /tara \(owner\), tom/);
  });

  it('shows a registered account its token on /token, a token the HTTP API takes', async () => {
    await using c = await textUser(server.url, 'rhea');
    c.send('/register a-long-password');
    await c.nextLine('is now registered to you');
    c.send('/token');
    const line = await c.nextLine('Your token: ');
    const token = /Your token: (\S+) /.exec(line)![1]!;
    const res = await fetch(`${server.httpUrl}/api/conversations`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const body = await res.json() as { conversations: { room: string }[] };
    assert.ok(body.conversations.some((x) => x.room === 'general'));
    c.send('/login rhea a-long-password');
    assert.equal(await c.nextLine('Logged in as'), '* Logged in as rhea.');
  });

  it('changes name with /name and /nick and tells the room', async () => {
    await using a = await textUser(server.url, 'fred');
    await using b = await textUser(server.url, 'gina');
    a.send('/nick freddy');
    await a.nextLine('You are now freddy');
    await b.nextLine('fred is now known as freddy');
    a.send('/name frederick');
    await a.nextLine('You are now frederick');
  });

  it('joins, switches and leaves rooms; tags lines from other rooms', async () => {
    await using a = await textUser(server.url, 'hana');
    await using b = await textUser(server.url, 'ivan');
    a.send('/join tech');
    await a.nextLine('You are in tech');
    b.send('/join tech');
    await b.nextLine('You are in tech');
    await a.nextLine('* ivan joined tech');
    b.send('/join general');
    await b.nextLine('You are in general');
    a.send('in tech');
    assert.equal(await b.nextLine('in tech'), '[tech] hana: in tech');
    a.send('/leave tech');
    await a.nextLine('You left tech');
    await b.nextLine('* hana left tech');
  });

  it('lists rooms with /rooms and users with /users and /who', async () => {
    await using a = await textUser(server.url, 'jack');
    a.send('/rooms');
    const rooms = await a.nextLine('Rooms:');
    for (const r of ['general', 'random', 'tech']) assert.match(rooms, new RegExp(r));
    a.send('/users');
    assert.match(await a.nextLine('Users in general'), /jack/);
    a.send('/who random');
    await a.nextLine('Users in random');
  });

  it('sends private messages with /pm and /msg to the addressee only', async () => {
    await using a = await textUser(server.url, 'kate');
    await using b = await textUser(server.url, 'liam');
    await using c = await textUser(server.url, 'mona');
    c.skip();
    a.send('/pm liam secret one');
    assert.equal(await b.nextLine('secret one'), '[pm from kate] secret one');
    await a.nextLine('[pm to liam] secret one');
    a.send('/msg LIAM secret two');
    await b.nextLine('secret two');
    c.send('/users');
    await c.nextLine('Users in general');
    assert.ok(!c.frames.some((f) => f.includes('secret')), 'a third user saw the private message');
  });

  it('shows /history [N]', async () => {
    await using a = await textUser(server.url, 'nina');
    a.send('/join hroom');
    await a.nextLine('You are in hroom');
    for (const t of ['h1', 'h2', 'h3']) a.send(t);
    a.send('/history 2');
    const h = await a.nextLine('--- history of hroom');
    assert.match(h, /h2/);
    assert.match(h, /h3/);
    assert.doesNotMatch(h, /h1/);
  });

  it('sets and shows a room topic with /topic', async () => {
    await using a = await textUser(server.url, 'topicowner');
    a.send('/join topicroom');
    await a.nextLine('You are in topicroom');
    a.send('/topic');
    assert.equal(await a.nextLine('Topic of'), '* Topic of topicroom: (none)');
    a.send('/topic plants and seeds');
    await a.nextLine('set the topic of topicroom: plants and seeds');
    a.send('/topic');
    assert.equal(await a.nextLine('Topic of'), '* Topic of topicroom: plants and seeds');
  });

  it('shows /help listing every command', async () => {
    await using a = await textUser(server.url, 'olaf');
    a.send('/help');
    const help = await a.nextLine('Commands:');
    for (const cmd of ['/help', '/name', '/join', '/leave', '/rooms', '/users', '/pm', '/history', '/quit']) assert.ok(help.includes(cmd), cmd);
  });

  it('answers an unknown command with an error that mentions /help and stays open', async () => {
    await using a = await textUser(server.url, 'pia');
    a.send('/dance');
    assert.match(await a.nextLine('Error'), /\/help/);
    a.send('/users');
    await a.nextLine('Users in general');
  });

  it('answers commands with missing arguments with usage and stays open', async () => {
    await using a = await textUser(server.url, 'quin');
    for (const line of ['/join', '/pm', '/pm someone', '/name']) {
      a.send(line);
      assert.match(await a.nextLine('Error'), /Usage/);
    }
    assert.equal(a.closed, null);
  });

  it('leaves with /quit and /exit: the room hears it', async () => {
    await using watcher = await textUser(server.url, 'rita');
    for (const [name, cmd] of [['sam', '/quit'], ['tom', '/exit']] as const) {
      const c = await textUser(server.url, name);
      c.send(cmd);
      assert.equal((await c.waitClosed()).code, 1000);
      await watcher.nextLine(`* ${name} left general`);
    }
  });

  it('tells the room when a client drops', async () => {
    await using watcher = await textUser(server.url, 'uma');
    const c = await textUser(server.url, 'vic');
    c.ws.terminate();
    await watcher.nextLine('* vic left general');
  });

  it('refuses an invalid or taken name with an error line', async () => {
    await using a = await textUser(server.url, 'walt');
    await using c = await TestClient.text(server.url);
    await c.nextLine('Welcome');
    c.send('bad name!');
    await c.nextLine('Error');
    c.send('WALT');
    await c.nextLine(/Error: .*in use/);
    c.send('walter');
    await c.nextLine('You are now walter');
  });
});
