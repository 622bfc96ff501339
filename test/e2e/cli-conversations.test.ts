/**
 * The terminal client and issue 21's identity and conversations, over a real server: the
 * token kept between starts (same account, rooms and ownership), private rooms and
 * invitations, direct messages that wait for someone away, actions, and `/switch` that
 * only ever talks in a conversation the account is in.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tokenFileName } from '../../src/client/cli/token-store.js';
import { loggedInUser, PASSWORD, registeredUser } from '../helpers/accounts.js';
import { cliConfigDir, removeCliConfigDirs } from '../helpers/cli-config.js';
import { chatter, CliProcess, START_TIMEOUT } from '../helpers/cli-process.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser } from '../helpers/ws-client.js';

after(removeCliConfigDirs);

describe('parley client: identity and conversations', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer({ presenceGraceMs: 0, guestTtlSeconds: 3600 }); });
  after(async () => { await server.close(); });

  it('keeps a guest\'s token (mode 0600) and resumes the same account on the next start: its rooms, and still their owner', async () => {
    const env = { PARLEY_CONFIG_DIR: cliConfigDir() };
    const first = await chatter(server.url, 'kai', [], env);
    try {
      first.write('/join kaisroom');
      await first.line('You are in kaisroom');
      first.write('/conversations');
      await first.line(/^ {2}> kaisroom \[owner\]$/);
      assert.ok(!first.out.some((l) => l.includes('You are a member of kaisroom')), 'a join is announced once');
      first.write('/quit');
      assert.equal((await first.exited()).code, 0);
    } finally {
      first.kill();
    }
    const file = join(env.PARLEY_CONFIG_DIR, 'tokens', tokenFileName(server.url, 'kai'));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(readFileSync(file, 'utf8').trim().length > 20, 'a token in the file');

    await using watcher = await jsonUser(server.url, 'watcher');
    watcher.send({ type: 'JoinRoom', room: 'kaisroom', ref: 'j' });
    await watcher.nextOfType('Ack', (m) => m.ref === 'j');
    const again = new CliProcess([server.url, '--name', 'kai'], env);
    try {
      assert.match(await again.line('Connected to', START_TIMEOUT), /as kai\. You are in .*kaisroom/);
      again.write('/switch kaisroom');
      await again.line('Messages now go to kaisroom');
      again.write('/topic still mine');
      await watcher.nextOfType('Topic', (m) => m.topic === 'still mine' && m.by === 'kai');
      assert.ok(!again.out.some((l) => l.startsWith('!')), `no error: ${again.out.join(' | ')}`);
    } finally {
      again.kill();
    }
  });

  it('takes the name afresh, with a note, when the kept token is refused (the guest account ended)', async () => {
    const env = { PARLEY_CONFIG_DIR: cliConfigDir() };
    const file = join(env.PARLEY_CONFIG_DIR, 'tokens', tokenFileName(server.url, 'lou'));
    mkdirSync(join(env.PARLEY_CONFIG_DIR, 'tokens'), { recursive: true });
    writeFileSync(file, 'a-token-of-an-ended-guest\n', { mode: 0o600 });
    await using lou = await chatter(server.url, 'lou', [], env);
    assert.ok(lou.out.some((l) => /kept token for lou was refused.*taking the name lou afresh/.test(l)), lou.out.join(' | '));
    assert.match(lou.out.find((l) => l.includes('Connected to'))!, /as lou\./);
    const kept = readFileSync(file, 'utf8').trim();
    assert.notEqual(kept, 'a-token-of-an-ended-guest', 'the new account\'s token is kept instead');
    assert.ok(kept.length > 20);
    // A guest that takes another name keeps its account: the token follows the name.
    lou.write('/name lulu');
    await lou.line('* You are now lulu.');
    assert.equal(readFileSync(join(env.PARLEY_CONFIG_DIR, 'tokens', tokenFileName(server.url, 'lulu')), 'utf8').trim(), kept);
    assert.throws(() => statSync(file), /ENOENT/);
  });

  it('makes a private room with /create --private that appears for whoever is /invited, with their roles in /members', async () => {
    await using rhea = await chatter(server.url, 'rhea');
    await using otto = await chatter(server.url, 'otto');
    rhea.write('/create staff --private');
    await rhea.line('* Created the private room staff. Messages now go to staff. /invite people to it.');
    otto.write('/switch staff');
    await otto.line('! You are not in staff. /join staff first.');
    rhea.write('/invite otto');
    await rhea.line('* otto is now a member of staff.');
    await otto.line('* You are a member of staff (private): /switch staff to talk there.');
    otto.write('/switch staff');
    await otto.line('* Messages now go to staff.');
    otto.write('hello staff');
    assert.match(await rhea.line('otto: hello staff'), /^\d\d:\d\d otto: hello staff$/);
    otto.write('/conversations');
    await otto.line(/^ {2}> staff \(private\)/);
    rhea.write('/mod otto');
    await rhea.line('* otto is now a moderator of staff.');
    otto.write('/members');
    assert.match(await otto.line('Members of staff'), /^Members of staff \(2\): otto \(moderator\), rhea \(owner\)$/);
    rhea.write('/remove otto');
    await rhea.line('* otto is no longer a member of staff.');
    await otto.line('* You are no longer in staff (removed by rhea).');
    await otto.line('* Messages now go to general.');
    otto.write('/switch staff');
    await otto.line('! You are not in staff. /join staff first.');
    assert.ok(!rhea.out.some((l) => l.includes('You are a member of staff')), 'a creation is announced once');
  });

  it('opens a group conversation with /dm, shown by its people, and /token says where the token is kept', async () => {
    await (await registeredUser(server.url, 'gwen')).close();
    const env = { PARLEY_CONFIG_DIR: cliConfigDir() };
    await using gia = await chatter(server.url, 'gia', [], env);
    await using gus = await chatter(server.url, 'gus');
    gia.write('/dm gus gwen');
    await gia.line('* Direct conversation with @gus, @gwen: /switch @gus,@gwen to talk there.');
    await gus.line(/^\* Direct conversation with @(gia, @gwen|gwen, @gia): \/switch @(gia,@gwen|gwen,@gia) to talk there\.$/);
    gia.write('/switch @GWEN,@gus');
    await gia.line('* Messages now go to @gus, @gwen.');
    gia.write('hello both');
    assert.match(await gus.line('hello both'), /^\d\d:\d\d \[@(gia, @gwen|gwen, @gia)\] gia: hello both$/);
    gia.write('/token');
    const line = await gia.line('Your token:');
    const token = /Your token: (\S+) \(kept in (.+): starting this client again with --name gia resumes you\)/.exec(line);
    assert.ok(token, line);
    assert.equal(token[2], join(env.PARLEY_CONFIG_DIR, 'tokens', tokenFileName(server.url, 'gia')));
    assert.equal(readFileSync(token[2]!, 'utf8').trim(), token[1]);
    assert.equal(gia.out.filter((l) => l.startsWith('* Direct conversation with')).length, 1, 'an opening is announced once');
  });

  it('delivers /pm to a registered account that is away: its next login says what is unread, and /switch @NAME reads and answers it', async () => {
    await (await registeredUser(server.url, 'olga')).close();
    await using sam = await chatter(server.url, 'sam');
    sam.write('/pm olga see you tomorrow');
    assert.match(await sam.line('see you tomorrow'), /^\d\d:\d\d \[@olga\] sam: see you tomorrow$/);
    await using olga = new CliProcess([server.url, '--name', 'olga', '--password']);
    olga.write(PASSWORD);
    await olga.line('Connected to', START_TIMEOUT);
    await olga.line('* Unread: @sam 1.');
    olga.write('/switch @sam');
    await olga.line('* Messages now go to @sam.');
    olga.write('/history');
    await olga.line('--- history of @sam ---');
    assert.match(await olga.line('see you tomorrow'), /^\d\d:\d\d sam: see you tomorrow$/);
    olga.write('thanks');
    assert.match(await sam.line('thanks'), /^\d\d:\d\d \[@olga\] olga: thanks$/);
    sam.write('/switch @olga');
    await sam.line('* Messages now go to @olga.');
    sam.write('/me waves back');
    assert.match(await olga.line('waves back'), /^\d\d:\d\d \* sam waves back$/);
    olga.write('/conversations');
    await olga.line('Your conversations');
    assert.match(await olga.line('@sam'), /^ {2}> @sam$/, 'nothing unread that was shown here');
    // Read here is read everywhere: the client marks what it showed.
    await using elsewhere = await loggedInUser(server.url, 'olga');
    let asked = 0;
    await eventually(async () => {
      const ref = `c${++asked}`;
      elsewhere.send({ type: 'ListConversations', ref });
      const list = await elsewhere.nextOfType('Conversations', (m) => m.ref === ref);
      return list.conversations.find((c) => c.kind === 'direct')?.unread === 0;
    }, 10_000, 'the conversation with sam read on the server');
  });

  it('shows /me as "* NAME does" to everyone, and sends it as a message like any other', async () => {
    await using ann = await chatter(server.url, 'ann');
    await using bob = await chatter(server.url, 'bob');
    await using cy = await jsonUser(server.url, 'cy');
    ann.write('/me waves');
    assert.match(await bob.line('waves'), /^\d\d:\d\d \* ann waves$/);
    assert.match(await ann.line('waves'), /^\d\d:\d\d \* ann waves$/);
    const seen = await cy.nextOfType('Message', (m) => m.username === 'ann');
    assert.equal(seen.content, '/me waves');
  });

  it('refuses /switch to a room the account is not in, or a conversation it does not have, and joins nothing', async () => {
    await using dee = await chatter(server.url, 'dee');
    dee.write('/switch nowhere');
    await dee.line('! You are not in nowhere. /join nowhere first.');
    dee.write('/switch @nobody');
    await dee.line('! You have no conversation with nobody. /pm nobody TEXT or /dm nobody starts one.');
    dee.write('/conversations');
    await dee.line('Your conversations');
    dee.write('/join #tech');
    await dee.line('You are in tech. Messages now go to tech.');
    assert.ok(!dee.out.some((l) => l.includes('nowhere') && !l.startsWith('!')), 'nowhere was not joined');
  });
});
