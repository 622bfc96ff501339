/** The mention parser: what in a message's text is a mention, before any name is looked up. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMentions, withoutCode } from '../../src/protocol/mentions.js';

const names = (text: string): string[] => parseMentions(text).names;

describe('parseMentions', () => {
  it('finds @names at the start, after spaces and after punctuation', () => {
    assert.deepEqual(names('@ann hi'), ['ann']);
    assert.deepEqual(names('hi @ann and @Bob'), ['ann', 'Bob']);
    assert.deepEqual(names('(@ann) "@bob" [@carl]'), ['ann', 'bob', 'carl']);
  });

  it('keeps the name as written (case is compared later, by name key) and lists it once', () => {
    assert.deepEqual(names('@ANN @ann @ANN'), ['ANN', 'ann']);
  });

  it('leaves trailing punctuation out, trailing dots included, but keeps inner dots', () => {
    assert.deepEqual(names('thanks @ann, @bob. @carl! @dan? @eve: @j.r.r... @x.y.'), ['ann', 'bob', 'carl', 'dan', 'eve', 'j.r.r', 'x.y']);
    assert.deepEqual(names("@ann's turn"), ['ann']);
  });

  it('accepts name characters of every script, digits, "_" and "-"', () => {
    assert.deepEqual(names('@zoë @名前 @a_b-c @007'), ['zoë', '名前', 'a_b-c', '007']);
  });

  it('does not see mentions inside words: e-mail addresses and the like', () => {
    assert.deepEqual(names('mail ann@example.com or x@y'), []);
    assert.deepEqual(names('a@@ann'), []);
    assert.deepEqual(names('@@ann'), []);
  });

  it('does not see mentions inside code spans or fenced code blocks', () => {
    assert.deepEqual(names('run `@ann` now'), []);
    assert.deepEqual(names('``x @ann ` y`` @bob'), ['bob']);
    assert.deepEqual(names('```\n@ann\n```\n@bob'), ['bob']);
    assert.deepEqual(names('```\n@ann never closed'), []);
    // An unclosed single backtick is literal text: the mention after it counts.
    assert.deepEqual(names('a ` then @ann'), ['ann']);
  });

  it('refuses names longer than 32 characters and a bare @', () => {
    assert.deepEqual(names(`@${'a'.repeat(33)} @ @. @ann`), ['ann']);
    assert.deepEqual(names(`@${'a'.repeat(32)}`), ['a'.repeat(32)]);
  });

  it('tells @here and @room apart from names, in any case', () => {
    assert.deepEqual(parseMentions('@HERE look'), { names: [], here: true, room: false });
    assert.deepEqual(parseMentions('@room, @ann'), { names: ['ann'], here: false, room: true });
    assert.deepEqual(parseMentions('`@room`'), { names: [], here: false, room: false });
  });

  it('keeps at most 20 names', () => {
    const many = Array.from({ length: 30 }, (_, i) => `@u${i}`).join(' ');
    assert.equal(names(many).length, 20);
  });

  it('blanks code without moving anything else', () => {
    const text = 'a `b` c ```d``` e';
    assert.equal(withoutCode(text).length, text.length);
    assert.equal(withoutCode(text), 'a     c         e');
  });
});
