/**
 * `parley export ROOM`: a room's messages, oldest first, as JSON or Markdown. It reads through
 * the Store's history a page at a time and writes each page before it reads the next (waiting
 * while the output is full), so memory stays bounded whatever the room's size. Any backend
 * works, and a server may be running on the same database meanwhile.
 */
import { once } from 'node:events';
import { createWriteStream, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { ChatMessage } from '../protocol/messages.js';
import { normaliseRoom } from '../protocol/names.js';
import type { RoomRecord, Store } from './ports.js';
import { openStore, parseDbSetting } from './store/open-store.js';

export type ExportFormat = 'json' | 'markdown';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['json', 'markdown'];

/** Messages read per history page. */
const PAGE = 500;

export interface ExportOptions {
  db: string;
  room: string;
  format: ExportFormat;
  /** A file to write (created or replaced); null: standard output. */
  out: string | null;
}

/** Writes the export; resolves with the number of messages written. */
export async function exportRoom(options: ExportOptions): Promise<number> {
  const room = normaliseRoom(options.room.replace(/^#/, ''));
  if (room === undefined) throw new Error(`"${options.room}" is not a room name`);
  const setting = parseDbSetting(options.db);
  if (setting.kind === 'memory') throw new Error(`--db ${options.db} keeps nothing on disk: there is nothing to export`);
  if (setting.kind === 'sqlite' && !isFile(setting.path)) throw new Error(`no database at ${setting.path} (--db ${options.db})`);
  const store = openStore(options.db);
  await store.init();
  try {
    const record = await store.getRoom(room);
    if (!record) throw new Error(`no room #${room} in ${setting.kind === 'sqlite' ? setting.path : 'the database'}`);
    const out = options.out === null ? process.stdout : createWriteStream(options.out);
    const writer = options.format === 'json' ? jsonWriter(record) : markdownWriter(record);
    const count = await writePages(store, room, out, writer);
    if (out !== process.stdout) {
      out.end();
      await once(out, 'finish');
    }
    return count;
  } finally {
    await store.close();
  }
}

/** How one format writes the start, each message, and the end. */
interface Writer {
  head: string;
  message(m: ChatMessage, first: boolean): string;
  tail(count: number): string;
}

async function writePages(store: Store, room: string, out: Writable, writer: Writer): Promise<number> {
  let failure: Error | null = null;
  const onError = (error: Error): void => { failure = error; };
  out.on('error', onError);
  const write = (text: string): Promise<void> => new Promise((resolve, reject) => {
    if (failure) return reject(failure);
    if (out.write(text)) return resolve();
    const done = (): void => {
      out.off('drain', done);
      out.off('error', done);
      if (failure) reject(failure);
      else resolve();
    };
    out.on('drain', done);
    out.on('error', done);
  });
  try {
    await write(writer.head);
    let after = 0;
    let count = 0;
    for (;;) {
      const page = await store.history({ room, after, limit: PAGE });
      let chunk = '';
      for (const m of page.messages) chunk += writer.message(m, count++ === 0);
      if (chunk) await write(chunk);
      if (!page.hasMore || page.messages.length === 0) break;
      after = page.messages[page.messages.length - 1]!.seq;
    }
    await write(writer.tail(count));
    return count;
  } finally {
    out.off('error', onError);
  }
}

/** One JSON document: `{room, topic, exportedAt, messages: [...]}`, a message per line. */
function jsonWriter(record: RoomRecord): Writer {
  const head = JSON.stringify({ room: record.name, topic: record.topic, exportedAt: new Date().toISOString() });
  return {
    head: `${head.slice(0, -1)},"messages":[`,
    message: (m, first) => `${first ? '' : ','}\n${JSON.stringify(m)}`,
    tail: (count) => `${count > 0 ? '\n' : ''}]}\n`,
  };
}

/** A heading for the room, then each message: author, time, seq, and its text quoted. */
function markdownWriter(record: RoomRecord): Writer {
  const topic = record.topic ? `Topic: ${escapeLine(record.topic)}\n\n` : '';
  return {
    head: `# #${record.name}\n\n${topic}Exported from Parley on ${new Date().toISOString()}.\n`,
    message: (m) => {
      const notes = [`#${m.seq}`];
      if (m.editedAt) notes.push(`edited ${m.editedAt}`);
      const reactions = Object.entries(m.reactions ?? {}).map(([emoji, names]) => `${emoji} ${names.length}`);
      if (reactions.length > 0) notes.push(reactions.join(' '));
      const body = m.deleted ? '> *(deleted)*' : m.content.split('\n').map((line) => `> ${escapeLine(line)}`.trimEnd()).join('\n');
      return `\n**${m.username}**${m.bot ? ' (bot)' : ''} · ${m.timestamp} · ${notes.join(' · ')}\n\n${body}\n`;
    },
    tail: (count) => `\n---\n\n${count} message${count === 1 ? '' : 's'}.\n`,
  };
}

/** Keeps a line text where Markdown would let raw HTML through. */
function escapeLine(line: string): string {
  return line.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
