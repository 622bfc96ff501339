import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FakeChat, type FakeClient } from '../helpers/fake-chat.js';
import { assertValidJsonFrame, frameText, textLine } from './arbitraries.js';

const LIMITS = { messageBurst: 100_000, messagesPerSecond: 100_000, maxContentLength: 200 };

/**
 * Every frame a client received is valid: a JSON client gets only server messages; a text
 * client gets lines until a JSON frame switches it to JSON mode, then server messages.
 */
function assertFramesValid(c: FakeClient, startedAs: 'json' | 'text'): void {
  for (const f of c.conn.frames) {
    assert.equal(typeof f, 'string');
    assert.ok(f.length > 0, 'an empty frame');
    if (startedAs === 'json' || f.startsWith('{')) assertValidJsonFrame(f);
    else assert.doesNotMatch(f, /\[object Object\]|^undefined$/);
  }
}

describe('domain properties', () => {
  it('random JSON-mode frames never throw and every frame sent back is a valid server message', async () => {
    await fc.assert(fc.asyncProperty(fc.boolean(), fc.array(frameText, { minLength: 1, maxLength: 25 }), async (named, frames) => {
      const chat = await new FakeChat(LIMITS).start();
      const fuzz = named ? await chat.jsonUser('fuzz') : chat.connect('json');
      const peer = await chat.jsonUser('peer');
      peer.say({ type: 'SendMessage', content: 'hello', ref: 'p' });
      for (const f of frames) fuzz.say(f);
      await chat.settle();
      assertFramesValid(fuzz, 'json');
      assertFramesValid(peer, 'json');
      // The peer is undisturbed: it still gets answers.
      peer.say({ type: 'Ping', ref: 'after' });
      await chat.settle();
      assert.ok(peer.conn.ofType('Ack').some((m) => m.ref === 'after'));
    }), { numRuns: 150 });
  });

  it('random text-mode lines never throw and every line sent back is well-formed', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.oneof(textLine, frameText), { minLength: 1, maxLength: 25 }), async (lines) => {
      const chat = await new FakeChat(LIMITS).start();
      const peer = await chat.textUser('peer');
      const fuzz = chat.connect('text');
      fuzz.say('fuzz');
      for (const l of lines) fuzz.say(l);
      await chat.settle();
      assertFramesValid(fuzz, 'text');
      assertFramesValid(peer, 'text');
      peer.say('/users');
      await chat.settle();
      assert.ok(peer.conn.frames.some((f) => f.startsWith('Users in general')));
    }), { numRuns: 150 });
  });

  it('random frames from a logged-in administrator never cause INTERNAL either', async () => {
    await fc.assert(fc.asyncProperty(fc.array(frameText, { minLength: 1, maxLength: 20 }), async (frames) => {
      const chat = await new FakeChat({ ...LIMITS, admins: ['boss'] }).start();
      const admin = chat.connect('json');
      admin.say({ type: 'Register', username: 'boss', password: 'correct horse' });
      await chat.settle();
      const guest = await chat.jsonUser('alice');
      for (const f of frames) admin.say(f);
      await chat.settle();
      assertFramesValid(admin, 'json');
      assertFramesValid(guest, 'json');
    }), { numRuns: 100 });
  });
});
