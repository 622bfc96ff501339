import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatText, formatSize } from '../../src/protocol/text.js';
import { contentDisposition } from '../../src/server/files/serve-file.js';
import { cleanFileName } from '../../src/server/files/upload.js';
import { UrlSigner, attachmentOf, filePath } from '../../src/server/files/urls.js';
import { excerptOf } from '../../src/server/store/store-common.js';

describe('file names', () => {
  it('keeps the last path segment, drops control characters, bounds the length and never leaves it empty', () => {
    assert.equal(cleanFileName('../../etc/passwd'), 'passwd');
    assert.equal(cleanFileName('C:\\Users\\me\\photo.jpg'), 'photo.jpg');
    assert.equal(cleanFileName('a\u0000b\u202ec.txt'), 'abc.txt');
    assert.equal(cleanFileName('   '), 'file');
    assert.equal(cleanFileName('..'), 'file');
    assert.equal(cleanFileName(undefined), 'file');
    assert.equal([...cleanFileName('é'.repeat(400))].length, 255);
  });

  it('writes Content-Disposition with an RFC 8187 name and a safe ASCII fallback', () => {
    assert.equal(contentDisposition('attachment', 'résumé "final".pdf'),
      `attachment; filename="r_sum_ _final_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf`);
    assert.equal(contentDisposition('inline', "it's (1).png"), `inline; filename="it's (1).png"; filename*=UTF-8''it%27s%20%281%29.png`);
  });

  it('never lets a file named "thumb" meet the thumbnail path', () => {
    assert.equal(filePath('abc', 'thumb'), '/files/abc/%74humb');
    assert.equal(filePath('abc', 'a b.png'), '/files/abc/a%20b.png');
  });
});

describe('UrlSigner', () => {
  const secret = Buffer.alloc(32, 7);
  let now = 1_700_000_000_000;
  const signer = new UrlSigner(secret, 600, () => now);

  it('accepts its own signature until it expires, for that id only', () => {
    const q = new URLSearchParams(signer.query('file1'));
    assert.equal(signer.check('file1', q.get('exp'), q.get('sig')), true);
    assert.equal(signer.check('file2', q.get('exp'), q.get('sig')), false);
    assert.equal(signer.check('file1', String(Number(q.get('exp')) + 1), q.get('sig')), false);
    assert.equal(signer.check('file1', q.get('exp'), `${q.get('sig')}x`), false);
    assert.equal(signer.check('file1', null, q.get('sig')), false);
    assert.equal(signer.check('file1', '1e9', q.get('sig')), false);
    now += 601_000;
    assert.equal(signer.check('file1', q.get('exp'), q.get('sig')), false);
  });

  it('signs a message\'s attachments once, leaving messages without them as they are', () => {
    const plain = { id: 'm', attachments: undefined };
    assert.equal(signer.signMessage(plain), plain);
    const a = attachmentOf({ id: 'f', name: 'x.png', size: 3, type: 'image/png', width: 2, height: 1, thumb: true });
    const signed = signer.signMessage({ id: 'm', attachments: [a] }).attachments![0]!;
    assert.match(signed.url, /^\/files\/f\/x\.png\?exp=\d+&sig=[\w-]+$/);
    assert.match(signed.thumbnailUrl!, /^\/files\/f\/thumb\?exp=\d+&sig=[\w-]+$/);
    assert.equal(a.url, '/files/f/x.png');
  });
});

describe('replies and files in text', () => {
  it('quotes at most 140 characters with whitespace collapsed', () => {
    assert.equal(excerptOf('  a \n\n b\tc  '), 'a b c');
    const long = excerptOf('word '.repeat(100));
    assert.ok([...long].length <= 140);
    assert.ok(long.endsWith('…'));
  });

  it('prints sizes for people and a line per file', () => {
    assert.deepEqual([formatSize(0), formatSize(1023), formatSize(2048), formatSize(25 * 1024 * 1024)], ['0 B', '1023 B', '2.0 KB', '25 MB']);
    const line = formatText({
      type: 'Message', id: 'm', seq: 1, room: 'general', username: 'ann', content: 'look', timestamp: '2026-01-01T00:00:00.000Z',
      replyTo: { id: 'o', username: 'bob', excerpt: 'what?' },
      attachments: [{ id: 'f', name: 'a.png', size: 1536, type: 'image/png', url: '/files/f/a.png?exp=1&sig=s' }],
    }, 'general');
    assert.equal(line, 'ann: (reply to bob: what?) look\n  [file] a.png (1.5 KB) /files/f/a.png?exp=1&sig=s');
  });
});
