/**
 * The terminal client's parts at their own edges: URL handling, error descriptions,
 * colours, formatting, completion, and the socket that drops a silent connection.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { createCompleter } from '../../src/client/cli/completion.js';
import { CliError, describeSocketError, normaliseUrl, wsSocketFactory } from '../../src/client/cli/connect.js';
import {
  ackText, chatLine, clientHelpText, conversationsText, directLabel, formatServerMessage, mentionsMe, roomListText, switchTarget, unreadSummary, type FormatContext,
} from '../../src/client/cli/format.js';
import { ConversationBook } from '../../src/client/cli/conversations.js';
import { ReadMarks } from '../../src/client/cli/read-marks.js';
import { configDir, tokenFileName, TokenKeeper } from '../../src/client/cli/token-store.js';
import { createStyle, nameColour, stripAnsi } from '../../src/client/cli/style.js';
import type { ChatMessage, ConversationSummary } from '../../src/protocol/messages.js';

const plain: FormatContext = { style: createStyle(false), current: 'general', me: 'ann', recall: () => undefined };
const msg: ChatMessage = { id: 'm1', seq: 1, room: 'general', username: 'bob', content: 'hi', timestamp: '2026-01-02T03:04:05.000Z' };

describe('parley client parts', () => {
  it('takes ws and wss URLs, maps http(s), adds ws:// to a bare host, and refuses the rest', () => {
    assert.equal(normaliseUrl(undefined), 'ws://localhost:8080');
    assert.equal(normaliseUrl('wss://chat.example.org'), 'wss://chat.example.org');
    assert.equal(normaliseUrl('https://chat.example.org/'), 'wss://chat.example.org');
    assert.equal(normaliseUrl('localhost:9000'), 'ws://localhost:9000');
    for (const bad of ['ftp://x', 'ws://', 'ws://a b']) {
      assert.throws(() => normaliseUrl(bad), (err: unknown) => err instanceof CliError && err.exitCode === 2 && /bad URL/.test(err.message));
    }
  });

  it('describes transport errors in a few words', () => {
    assert.equal(describeSocketError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), 'connection refused');
    assert.match(describeSocketError(new Error('Unexpected server response: 403')), /HTTP 403/);
  });

  it('gives a name the same colour whatever its case', () => {
    assert.equal(nameColour('Alice'), nameColour('alice'));
    const colours = new Set(['ann', 'bob', 'cat', 'dan', 'eve', 'fay', 'gus', 'hal', 'ivy', 'jon'].map(nameColour));
    assert.ok(colours.size >= 4, 'names spread over the palette');
    assert.ok(!colours.has(31), 'red is kept for errors');
  });

  it('formats room messages, private messages and notices as plain lines without colours', () => {
    assert.match(chatLine(msg, plain), /^\d\d:\d\d bob: hi$/);
    assert.match(chatLine({ ...msg, room: 'tech' }, plain), /^\d\d:\d\d \[tech\] bob: hi$/);
    assert.match(chatLine({ ...msg, editedAt: msg.timestamp, reactions: { '👍': ['ann', 'cat'] } }, plain), /bob: hi \(edited\) \[👍 2\]$/);
    const pm = { type: 'PrivateMessage' as const, id: 'p', from: 'ann', to: 'bob', content: 'psst', timestamp: msg.timestamp };
    assert.match(formatServerMessage(pm, plain)!, /\[pm to bob\] psst$/);
    assert.match(formatServerMessage({ ...pm, from: 'bob', to: 'ann' }, plain)!, /\[pm from bob\] psst$/);
    assert.equal(formatServerMessage({ type: 'Typing', room: 'general', username: 'bob', active: true }, plain), null);
    const coloured = chatLine(msg, { ...plain, style: createStyle(true) });
    assert.notEqual(coloured, stripAnsi(coloured));
    assert.equal(stripAnsi(coloured), chatLine(msg, plain));
  });

  it('marks bots: [bot] before the name in messages, private messages, member lists and the bot list', () => {
    assert.match(chatLine({ ...msg, bot: true }, plain), /^\d\d:\d\d \[bot\] bob: hi$/);
    assert.match(chatLine({ ...msg, bot: true, content: '/me deploys' }, plain), /^\d\d:\d\d \* \[bot\] bob deploys$/);
    const pm = { type: 'PrivateMessage' as const, id: 'p', from: 'bob', to: 'ann', content: 'psst', timestamp: msg.timestamp };
    assert.match(formatServerMessage({ ...pm, bot: true }, plain)!, /\[pm from \[bot\] bob\] psst$/);
    const members = formatServerMessage({ type: 'Members', room: 'general', total: 2, hasMore: false, members: [
      { username: 'ann', role: 'owner', online: true }, { username: 'ci', role: 'member', online: false, bot: true },
    ] }, plain)!;
    assert.match(members, /ann \(owner\), \[bot\] ci - away$/);
    assert.match(formatServerMessage({ type: 'Bots', bots: [{ username: 'ci', createdAt: '2026-12-01T10:00:00.000Z' }] }, plain)!, /\[bot\] ci \(since 2026-12-01\)/);
  });

  it('strips terminal escapes from what other users wrote', () => {
    assert.equal(stripAnsi(chatLine({ ...msg, content: 'a\x1b[2Jb' }, plain)).endsWith('a[2Jb'), true);
  });

  it('completes commands, rooms after room commands and users elsewhere', () => {
    const complete = createCompleter({ rooms: () => ['general', 'tech', 'random'], users: () => ['Alice', 'albert', 'bob'], conversations: () => ['general', 'tech'] });
    assert.deepEqual(complete('/jo'), [['/join '], '/jo']);
    assert.deepEqual(complete('/join te'), [['tech '], 'te']);
    assert.deepEqual(complete('/switch '), [['general ', 'tech '], ''], '/switch completes only rooms the account is in');
    assert.deepEqual(complete('/pm b'), [['bob '], 'b']);
    assert.deepEqual(complete('al'), [['albert: ', 'Alice: '], 'al']);
    assert.deepEqual(complete('hello @bo'), [['@bob '], '@bo']);
  });

  it('completes @names after "@" anywhere in a line, and levels after /notify', () => {
    const complete = createCompleter({ rooms: () => ['general'], users: () => ['Alice', 'albert', 'bob'], conversations: () => ['general'] });
    assert.deepEqual(complete('@'), [['@albert: ', '@Alice: ', '@bob: '], '@']);
    assert.deepEqual(complete('look at this @AL'), [['@albert ', '@Alice '], '@AL']);
    assert.deepEqual(complete('/pm bob ask @b'), [['@bob '], '@b']);
    assert.deepEqual(complete('/notify m'), [['mentions '], 'm']);
    assert.deepEqual(complete('/notify all @a'), [['@albert ', '@Alice '], '@a']);
    assert.deepEqual(complete('mail ann@b'), [[], 'ann@b']);
    assert.deepEqual(complete('/no'), [['/notify '], '/no']);
  });

  it('completes the conversation commands: direct conversations after /switch, names after /invite and /dm, a room after the name', () => {
    const complete = createCompleter({ rooms: () => ['general', 'staff'], users: () => ['bob', 'cy'], conversations: () => ['general', 'staff', '@bob', '@bob,@cy'] });
    assert.deepEqual(complete('/switch @b'), [['@bob ', '@bob,@cy '], '@b']);
    assert.deepEqual(complete('/switch st'), [['staff '], 'st']);
    assert.deepEqual(complete('/invite c'), [['cy '], 'c']);
    assert.deepEqual(complete('/invite cy st'), [['staff '], 'st']);
    assert.deepEqual(complete('/mod b'), [['bob '], 'b']);
    assert.deepEqual(complete('/dm bob c'), [['cy '], 'c']);
    assert.deepEqual(complete('/members s'), [['staff '], 's']);
    assert.deepEqual(complete('/cr'), [['/create '], '/cr']);
    assert.deepEqual(complete('/conv'), [['/conversations ', '/convs '], '/conv']);
  });

  it('shows direct conversations by their people, actions as "* NAME does", and the conversation commands\' answers', () => {
    const ctx: FormatContext = { ...plain, label: (room) => (room === 'dm-abc' ? directLabel(['bob']) : room) };
    assert.match(chatLine({ ...msg, room: 'dm-abc' }, ctx), /^\d\d:\d\d \[@bob\] bob: hi$/);
    assert.match(chatLine({ ...msg, room: 'dm-abc' }, { ...ctx, current: 'dm-abc' }), /^\d\d:\d\d bob: hi$/);
    assert.match(chatLine({ ...msg, content: '/me waves' }, ctx), /^\d\d:\d\d \* bob waves$/);
    assert.match(chatLine({ ...msg, room: 'tech', content: '/me waves' }, ctx), /^\d\d:\d\d \[tech\] \* bob waves$/);
    assert.match(chatLine({ ...msg, content: '/me' }, ctx), /bob: \/me$/, 'an empty action is plain text');
    const summary = (room: string, extra: Partial<ConversationSummary> = {}): ConversationSummary => ({
      room, kind: 'public', role: 'member', topic: '', lastSeq: 5, lastActivity: msg.timestamp, unread: 0, mentions: 0, notify: 'mentions', ...extra,
    });
    const list = [summary('dm-abc', { kind: 'direct', with: ['bob'], unread: 2 }), summary('staff', { kind: 'private', role: 'owner' }), summary('general')];
    assert.equal(conversationsText(list, ctx), 'Your conversations (/switch to one):\n    @bob - 2 unread\n    staff (private) [owner]\n  > general');
    assert.equal(unreadSummary(list.map((c) => ({ c, unread: c.unread })), ctx), '* Unread: @bob 2. /switch there and /history to read them.');
    assert.equal(unreadSummary([{ c: list[1]!, unread: 0 }], ctx), null);
    assert.equal(switchTarget({ room: 'dm-x', kind: 'direct', with: ['bob', 'cy'] }), '@bob,@cy');
    assert.equal(ackText({ for: 'CreateRoom', room: 'staff', kind: 'private' }, ctx), '* Created the private room staff. Messages now go to staff. /invite people to it.');
    assert.equal(ackText({ for: 'Invite', room: 'staff', username: 'cy' }, ctx), '* cy is now a member of staff.');
    assert.equal(ackText({ for: 'OpenDirect', room: 'dm-abc', with: ['bob'] }, ctx), '* Direct conversation with @bob: /switch @bob to talk there.');
    assert.match(clientHelpText(), /\/create ROOM \[--private\]/);
    assert.match(clientHelpText(), /\/switch @NAME/);
  });

  it('shows a new webhook\'s URL whole (a path is completed with the server\'s origin), the list, and a bot\'s signing secret', () => {
    const ctx: FormatContext = { ...plain, origin: 'https://chat.example' };
    const made = ackText({ for: 'CreateWebhook', room: 'deploys', id: 'wh1', name: 'ci', url: '/api/webhooks/wh1/s3cret' }, ctx)!;
    assert.match(made, /Webhook wh1 of deploys posts as ci/);
    assert.match(made, /\n {4}https:\/\/chat\.example\/api\/webhooks\/wh1\/s3cret\n/);
    assert.match(ackText({ for: 'CreateWebhook', room: 'deploys', id: 'wh1', name: 'ci', url: 'http://h:1/api/webhooks/wh1/x' }, ctx)!, /http:\/\/h:1\/api\/webhooks\/wh1\/x/);
    assert.equal(ackText({ for: 'RevokeWebhook', room: 'deploys', id: 'wh1' }, ctx), '* Webhook wh1 of deploys is revoked.');
    assert.match(formatServerMessage({ type: 'Webhooks', room: 'deploys', webhooks: [{ id: 'wh1', name: 'ci', createdBy: 'ann', createdAt: '2026-12-01T00:00:00.000Z' }] }, ctx)!,
      /Webhooks of deploys .*\n {2}wh1 {2}ci created 2026-12-01 by ann/);
    assert.match(formatServerMessage({ type: 'Webhooks', room: 'deploys', webhooks: [] }, ctx)!, /no webhooks/);
    assert.match(ackText({ for: 'SetBotWebhook', name: 'helper', url: 'https://bot.example/h', secret: 'abc' }, ctx)!, /signing secret, shown only now: abc/);
  });

  it('names the account\'s conversations for /switch: @NAME, a group in any order, a room, never one it is not in', () => {
    const book = new ConversationBook();
    const base = { role: 'member' as const, topic: '', lastSeq: 10, lastActivity: msg.timestamp, unread: 4, mentions: 0, notify: 'all' as const };
    book.replace([{ ...base, room: 'dm-a', kind: 'direct', with: ['Bob'] }, { ...base, room: 'dm-b', kind: 'direct', with: ['bob', 'cy'] }, { ...base, room: 'staff', kind: 'private' }]);
    const rooms = ['general', 'staff', 'dm-a', 'dm-b'];
    assert.equal(book.named('@bob', rooms), 'dm-a');
    assert.equal(book.named('@CY,@bob', rooms), 'dm-b');
    assert.equal(book.named('@cy', rooms), null);
    assert.equal(book.named('#Staff', rooms), 'staff');
    assert.equal(book.named('tech', rooms), null);
    assert.equal(book.named('@bob', ['general']), null, 'only conversations the account is in');
    assert.equal(book.label('dm-b'), '@bob, @cy');
    assert.equal(book.target('dm-b'), '@bob,@cy');
    assert.equal(book.label('staff'), 'staff');
    book.direct('dm-a', ['someone else'], true);
    assert.equal(book.label('dm-a'), '@Bob', 'a message does not rename a known conversation');
    assert.equal(book.markShown('staff', 8), true);
    assert.equal(book.markShown('staff', 7), false);
    assert.equal(book.unreadOf({ ...base, room: 'staff', kind: 'private' }), 2, 'what was shown here is not unread');
    assert.deepEqual(book.replace([{ ...base, room: 'staff', kind: 'private' }]), ['dm-a', 'dm-b'], 'conversations lost while away');
  });

  it('sends one read mark per room, the furthest, once the connection is up, and the rest at once on quit', async () => {
    let online = false;
    const sent: Array<[unknown, boolean]> = [];
    let wake: () => void = () => undefined;
    const marks = new ReadMarks({ online: () => online, send: (msg, asRequest) => { sent.push([msg, asRequest]); wake(); } }, 5);
    marks.add('general', 3);
    marks.add('general', 4);
    marks.add('dm-a', 1);
    const first = new Promise<void>((resolve) => { wake = resolve; });
    online = true;
    await first;
    assert.deepEqual(sent, [[{ type: 'MarkRead', room: 'general', seq: 4 }, true], [{ type: 'MarkRead', room: 'dm-a', seq: 1 }, true]]);
    marks.add('general', 9);
    marks.flush(true);
    assert.deepEqual(sent[2], [{ type: 'MarkRead', room: 'general', seq: 9 }, false]);
    marks.stop();
  });

  it('keeps one token file per server and name, under PARLEY_CONFIG_DIR or XDG_CONFIG_HOME', () => {
    assert.equal(configDir({ PARLEY_CONFIG_DIR: '/p' }), '/p');
    assert.equal(configDir({ XDG_CONFIG_HOME: '/x' }), join('/x', 'parley'));
    assert.equal(tokenFileName('ws://h:1', 'Ann'), tokenFileName('ws://h:1', 'ann'), 'names that differ in case share an account');
    assert.notEqual(tokenFileName('ws://h:1', 'ann'), tokenFileName('ws://h:2', 'ann'));
    assert.match(tokenFileName(`ws://${'h'.repeat(300)}`, 'ann'), /^[0-9a-f]{32}\.token$/);
    const dir = mkdtempSync(join(tmpdir(), 'parley-keeper-'));
    try {
      const keeper = new TokenKeeper('ws://h:1', undefined, dir);
      assert.equal(keeper.read('ann'), null);
      keeper.save('ann', 'tok-1');
      assert.equal(keeper.read('ANN'), 'tok-1');
      assert.equal(statSync(keeper.fileFor('ann')!).mode & 0o777, 0o600);
      assert.equal(new TokenKeeper('ws://h:2', undefined, dir).read('ann'), null);
      keeper.forget('ann');
      assert.equal(keeper.read('ann'), null);
      assert.equal(new TokenKeeper('ws://h:1', undefined, null).fileFor('ann'), null, 'nowhere for a generated name');
      assert.equal(new TokenKeeper('ws://h:1', join(dir, 'one'), dir).fileFor('bob'), join(dir, 'one'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('marks a message that mentions the user, by name in any case or by @here/@room, but not the user\'s own', () => {
    assert.equal(mentionsMe(['ANN'], 'bob', 'ann'), true);
    assert.equal(mentionsMe(['@here'], 'bob', 'ann'), true);
    assert.equal(mentionsMe(['@room'], 'bob', 'ann'), true);
    assert.equal(mentionsMe(['cat'], 'bob', 'ann'), false);
    assert.equal(mentionsMe(['ann'], 'Ann', 'ann'), false);
    assert.equal(mentionsMe(undefined, 'bob', 'ann'), false);
    assert.equal(mentionsMe(['ann'], 'bob', null), false);
    assert.match(chatLine({ ...msg, content: '@ann hi', mentions: ['ann'] }, plain), /^@ \d\d:\d\d bob: @ann hi$/);
    assert.match(chatLine({ ...msg, content: '@cat hi', mentions: ['cat'] }, plain), /^\d\d:\d\d bob: @cat hi$/);
    assert.match(chatLine({ ...msg, content: 'two\nlines', mentions: ['@here'] }, plain), /^@ \d\d:\d\d bob: two\n {8}lines$/);
    const coloured = chatLine({ ...msg, content: '@ann hi', mentions: ['ann'] }, { ...plain, style: createStyle(true) });
    assert.ok(coloured.startsWith('\x1b[7m@\x1b[27m '), 'an inverse marker');
    assert.ok(coloured.includes('\x1b[1m@ann hi\x1b[22m'), 'the text in bold');
    const pm = { type: 'PrivateMessage' as const, id: 'p', from: 'bob', to: 'ann', content: 'hey @ann', timestamp: msg.timestamp, mentions: ['ann'] };
    assert.match(formatServerMessage(pm, plain)!, /^@ \d\d:\d\d \[pm from bob\] hey @ann$/);
  });

  it('lists unread mentions and a level other than the default in /rooms', () => {
    const room = { name: 'general', topic: '', members: 2, joined: true, lastSeq: 9, unread: 3, mentions: 0, notify: 'mentions' as const };
    assert.equal(roomListText([room], plain), 'Rooms:\n  > general (2 online, 3 unread)');
    assert.equal(roomListText([{ ...room, mentions: 1 }], plain), 'Rooms:\n  > general (2 online, 3 unread, 1 mention)');
    assert.equal(roomListText([{ ...room, name: 'tech', mentions: 2, notify: 'none' }], plain), 'Rooms:\n  * tech (2 online, 3 unread, 2 mentions, notify none)');
    assert.equal(clientHelpText().match(/\/notify /g)?.length, 1, 'one /notify line in the client help');
    assert.match(clientHelpText(), /\/notify \[LEVEL\] \[ROOM\]/);
  });

  it('drops a connection whose server stops answering pings', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: false });
    try {
      await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
      const { port } = wss.address() as { port: number };
      const socket = wsSocketFactory(100).create(`ws://127.0.0.1:${port}`, []);
      const closed = new Promise<number>((resolve) => { socket.onclose = (ev) => resolve(ev.code); });
      socket.onopen = () => undefined;
      socket.onerror = () => undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const code = await Promise.race([closed, new Promise<string>((resolve) => { timer = setTimeout(() => resolve('still open'), 20_000); })]);
      clearTimeout(timer);
      assert.equal(code, 1006);
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});
