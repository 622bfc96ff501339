/**
 * src/server/transport/frame-writer.ts at its own edge: server text frames as RFC 6455
 * (section 5.2) lays them out, and one Buffer per payload string, so a broadcast is framed once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeTextFrame, textFrame } from '../../src/server/transport/frame-writer.js';

/** An unmasked, final text frame written out by hand from RFC 6455 section 5.2. */
function rfc6455TextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const n = payload.length;
  let header: Buffer;
  if (n <= 125) {
    header = Buffer.from([0x81, n]);
  } else if (n <= 0xffff) {
    header = Buffer.from([0x81, 126, n >> 8, n & 0xff]);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x81;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([header, payload]);
}

describe('frame writer', () => {
  it('frames text exactly as RFC 6455 says, for every length class', () => {
    for (const text of ['', 'a', 'z'.repeat(125), 'z'.repeat(126), 'ü'.repeat(40_000), 'q'.repeat(70_000)]) {
      const frame = encodeTextFrame(text);
      assert.ok(frame.equals(rfc6455TextFrame(text)), `length ${text.length}`);
    }
  });

  it('returns the same Buffer for the same string, so a broadcast is framed once', () => {
    const text = JSON.stringify({ type: 'Message', content: 'once' });
    assert.equal(textFrame(text), textFrame(text));
  });
});
