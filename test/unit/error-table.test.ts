import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { CLOSE, ERRORS, shouldReconnect } from '../../src/protocol/codes.js';
import { CLIENT_TYPES } from '../../src/protocol/schema.js';
import { COMMAND_NAMES } from '../../src/protocol/text.js';

const DOC = new URL('../../docs/protocol.md', import.meta.url);

/** The lines of the section whose heading contains `title`, up to the next heading of the same level. */
function section(doc: string, title: string): string[] {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => /^## /.test(l) && l.includes(title));
  assert.ok(start >= 0, `docs/protocol.md has a section "${title}"`);
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** Table rows of a section as arrays of trimmed cells (header and separator rows dropped). */
function rows(lines: string[]): string[][] {
  return lines
    .filter((l) => l.startsWith('|') && !/^\|\s*-/.test(l))
    .map((l) => l.slice(1, l.endsWith('|') ? -1 : undefined).split(' | ').map((c) => c.trim()))
    .slice(1);
}

function unquote(cell: string): string {
  return cell.replace(/^`|`$/g, '');
}

describe('the error table and docs/protocol.md', () => {
  it('lists every error code with its exact message and retryable flag, and no code that does not exist', async () => {
    const doc = await readFile(DOC, 'utf8');
    const table = rows(section(doc, 'Error codes'));
    const documented = new Map(table.map((r) => [unquote(r[0]!), r]));
    assert.equal(documented.size, table.length, 'no code is listed twice');
    for (const [code, { message, retryable }] of Object.entries(ERRORS)) {
      const row = documented.get(code);
      assert.ok(row, `${code} is documented`);
      assert.equal(row[1], message, `${code}'s message`);
      assert.equal(row[2], retryable ? 'yes' : 'no', `${code}'s retryable flag`);
    }
    for (const code of documented.keys()) assert.ok(code in ERRORS, `docs name ${code}, which codes.ts does not have`);
  });

  it('lists every close code with its name and whether to reconnect, and no close code that does not exist', async () => {
    const doc = await readFile(DOC, 'utf8');
    const table = rows(section(doc, 'Close codes'));
    const byName = new Map<string, number>(Object.entries(CLOSE));
    const documented = new Set<number>();
    for (const row of table) {
      const code = Number(row[0]);
      const name = unquote(row[1]!);
      assert.equal(byName.get(name), code, `${row[0]} ${name} is in CLOSE`);
      assert.equal(row[2], shouldReconnect(code) ? 'yes' : 'no', `whether to reconnect after ${code}`);
      assert.ok(row[3] && row[3].length > 10, `what to do after ${code}`);
      documented.add(code);
    }
    for (const [name, code] of Object.entries(CLOSE)) assert.ok(documented.has(code), `${code} ${name} is documented`);
  });

  it('names no other code anywhere in the page', async () => {
    const doc = await readFile(DOC, 'utf8');
    const closeValues = new Set<number>(Object.values(CLOSE));
    for (const m of doc.matchAll(/`([A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z]{4,})`/g)) {
      assert.ok(m[1]! in ERRORS || m[1]! in CLOSE, `docs/protocol.md names ${m[1]}, which is neither an error code nor a close code`);
    }
    // A close code in prose follows "close", "closed", "closes" or "code" closely.
    for (const m of doc.matchAll(/\b(?:clos\w*|codes?)\b[^.|]{0,40}?\b([14]\d{3})\b/gi)) {
      assert.ok(closeValues.has(Number(m[1])), `docs/protocol.md names close code ${m[1]}, which CLOSE does not have`);
    }
  });

  it('documents every client message type and every text-mode command', async () => {
    const doc = await readFile(DOC, 'utf8');
    const clientTable = rows(section(doc, 'client to server')).map((r) => unquote(r[0]!));
    assert.deepEqual([...clientTable].sort(), [...CLIENT_TYPES].sort());
    const text = section(doc, 'Text mode').join('\n');
    for (const name of COMMAND_NAMES) assert.ok(text.includes(`/${name}`), `/${name} is documented`);
  });

  it('documents every server message type', async () => {
    const doc = await readFile(DOC, 'utf8');
    const serverTable = rows(section(doc, 'server to client')).map((r) => unquote(r[0]!));
    const expected = ['Welcome', 'Message', 'PrivateMessage', 'SystemMessage', 'UserJoined', 'UserLeft', 'RoomList', 'UserList',
      'History', 'PrivateHistory', 'SearchResults', 'Typing', 'MessageEdited', 'MessageDeleted', 'Reaction', 'ReadReceipt',
      'Topic', 'LoggedIn', 'Conversations', 'ConversationAdded', 'ConversationRemoved', 'RoomCreated', 'Members', 'Bots', 'Webhooks', 'Ack', 'Error'];
    assert.deepEqual([...serverTable].sort(), [...expected].sort());
  });
});
