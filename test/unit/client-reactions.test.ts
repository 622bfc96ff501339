/**
 * Both clients apply `Reaction` changes to the reactions they hold, and a reaction named like
 * a JavaScript built-in (`constructor`, `__proto__`, …) is an emoji like any other there too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatLine } from '../../src/client/cli/format.js';
import { chatMessageOf } from '../../src/client/cli/script.js';
import { createStyle } from '../../src/client/cli/style.js';
import { applyMessage } from '../../src/client/web/apply.js';
import { buildListContent } from '../../src/client/web/list-content.js';
import { AppState } from '../../src/client/web/state.js';
import type { ChatMessage, ServerMessage } from '../../src/protocol/messages.js';
import { reactionEntries } from '../../src/protocol/reactions.js';

/** A message as a client gets it off the wire: parsed from JSON text. */
const wire = JSON.parse(JSON.stringify({
  id: 'm1', seq: 1, room: 'general', username: 'ann', content: 'hi', timestamp: '2026-01-01T12:00:00.000Z',
  reactions: { constructor: ['bob'], toString: ['ann', 'bob'] },
}).replace('"constructor"', '"__proto__":["cat"],"constructor"')) as ChatMessage;

function reaction(emoji: string, username: string, added: boolean, count: number): ServerMessage {
  return { type: 'Reaction', id: 'm1', room: 'general', seq: 1, emoji, username, added, count };
}

describe('clients and reactions', () => {
  it('the web client applies Reaction changes, whatever the emoji is called', () => {
    const s = new AppState();
    s.username = 'ann';
    const r = s.room('general');
    r.joined = true;
    r.add(wire);
    assert.ok(applyMessage(s, reaction('constructor', 'ann', true, 2)));
    assert.ok(applyMessage(s, reaction('__proto__', 'cat', false, 0)));
    assert.ok(applyMessage(s, reaction('valueOf', 'dan', true, 1)));
    assert.ok(applyMessage(s, reaction('toString', 'BOB', false, 1)));
    const m = r.messages.get('m1')!;
    assert.deepEqual(reactionEntries(m.reactions), [['constructor', ['bob', 'ann']], ['toString', ['ann']], ['valueOf', ['dan']]]);
    assert.equal(r.reactionsStale('m1', 'constructor', 2), false);
    assert.equal(r.reactionsStale('m1', 'hasOwnProperty', 0), false);
    assert.equal(r.reactionsStale('m1', 'constructor', 5), true, 'a count the client cannot account for means it missed a change');
    const items = buildListContent(s).items;
    const entry = items.find((i) => i.kind === 'msg');
    assert.ok(entry && entry.kind === 'msg');
    assert.deepEqual(reactionEntries(entry.entry.reactions).map(([e]) => e), ['constructor', 'toString', 'valueOf']);
  });

  it('a deletion clears the reactions, and a change to an unknown message changes nothing', () => {
    const s = new AppState();
    const r = s.room('general');
    r.add(wire);
    assert.equal(applyMessage(s, { ...reaction('x', 'y', true, 1), id: 'elsewhere' } as ServerMessage), false);
    applyMessage(s, { type: 'MessageDeleted', id: 'm1', room: 'general', seq: 1 });
    assert.deepEqual(reactionEntries(r.messages.get('m1')!.reactions), []);
  });

  it('the terminal client shows and prints them, __proto__ included', () => {
    const style = createStyle(false);
    const line = chatLine(wire, { style, current: 'general', me: 'ann', recall: () => undefined });
    assert.match(line, /__proto__ 1/);
    assert.match(line, /constructor 1/);
    assert.match(JSON.stringify(chatMessageOf(wire)), /"__proto__":\["cat"\]/, '--tail JSON output carries the key');
  });
});
