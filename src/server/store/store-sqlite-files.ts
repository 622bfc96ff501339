/**
 * The SQLite store's file tables (migration 9): file metadata, message-file links and
 * replies. (Settings are the store's own: getSetting, initSetting.) SqliteStore calls these inside its own transactions; a page of messages
 * reads its files and replies with one query each (ids passed as a JSON array).
 */
import type Database from 'better-sqlite3';
import type { Attachment, ChatMessage, ReplyRef } from '../../protocol/messages.js';
import type { FileRecord, NewRoomMessage } from '../ports.js';
import { attachmentsByMessage, replyRefOf, toIso, toMillis, type AttachmentRow } from './store-common.js';

interface FileRow {
  id: string; sha256: string; name: string; size: number; type: string; width: number | null; height: number | null;
  thumb_sha256: string | null; owner: string; created_at: number;
}
type PruneRange = { cut: number; from: number; to: number };

const IN_IDS = 'IN (SELECT value FROM json_each(?))';

/** Prepared statements for files, links and replies; see the file comment. */
export class SqliteFiles {
  readonly #db: Database.Database;
  readonly #st;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#st = {
      fileInsert: db.prepare<[string, string, string, number, string, number | null, number | null, string | null, string, number]>(
        `INSERT INTO files (id, sha256, name, size, type, width, height, thumb_sha256, owner, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      fileGet: db.prepare<[string], FileRow>('SELECT id, sha256, name, size, type, width, height, thumb_sha256, owner, created_at FROM files WHERE id = ?'),
      ownerBytes: db.prepare<[string], number>('SELECT coalesce(sum(size), 0) FROM files WHERE owner = ?').pluck(),
      link: db.prepare<[string, number, string]>('INSERT OR IGNORE INTO message_files (message_id, position, file_id) VALUES (?, ?, ?)'),
      markAttached: db.prepare<[string]>('UPDATE files SET attached = 1 WHERE id = ? AND attached = 0'),
      reply: db.prepare<[string, string, string]>('INSERT OR IGNORE INTO message_replies (message_id, reply_to, reply_username) VALUES (?, ?, ?)'),
      filesFor: db.prepare<[string], AttachmentRow>(
        `SELECT mf.message_id, f.id, f.name, f.size, f.type, f.width, f.height, f.thumb_sha256
         FROM message_files mf JOIN files f ON f.id = mf.file_id WHERE mf.message_id ${IN_IDS} ORDER BY mf.message_id, mf.position`),
      repliesFor: db.prepare<[string], { message_id: string; reply_to: string; reply_username: string; content: string | null; deleted: number | null }>(
        `SELECT r.message_id, r.reply_to, r.reply_username, o.content, o.deleted
         FROM message_replies r LEFT JOIN messages o ON o.id = r.reply_to WHERE r.message_id ${IN_IDS}`),
      unlink: db.prepare<[string]>('DELETE FROM message_files WHERE message_id = ?'),
      pruneLinks: db.prepare<PruneRange>(
        'DELETE FROM message_files WHERE message_id IN (SELECT id FROM messages WHERE n > @from AND n <= @to AND ts < @cut)'),
      pruneReplies: db.prepare<PruneRange>(
        'DELETE FROM message_replies WHERE message_id IN (SELECT id FROM messages WHERE n > @from AND n <= @to AND ts < @cut)'),
      sweep: db.prepare<[number], { sha256: string; thumb_sha256: string | null }>(
        `DELETE FROM files WHERE (attached = 1 OR created_at < ?)
         AND NOT EXISTS (SELECT 1 FROM message_files mf WHERE mf.file_id = files.id) RETURNING sha256, thumb_sha256`),
      blobUsed: db.prepare<[string, string], number>('SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = ? OR thumb_sha256 = ?)').pluck(),
    };
  }

  /** Inside the append transaction: links the batch's new messages to their files and originals. */
  linkBatch(jobs: NewRoomMessage[], created: (ChatMessage | undefined)[]): void {
    const s = this.#st;
    jobs.forEach((job, i) => {
      const message = created[i];
      if (!message) return;
      (job.attachments ?? []).forEach((fileId, position) => {
        s.link.run(message.id, position, fileId);
        s.markAttached.run(fileId);
      });
      if (job.replyTo) s.reply.run(message.id, job.replyTo.id, job.replyTo.username);
    });
  }

  /** The files and reply originals of a page of messages: one query each. */
  extras(ids: string[]): { files: Map<string, Attachment[]>; replies: Map<string, ReplyRef> } {
    const json = JSON.stringify(ids);
    const files = attachmentsByMessage(this.#st.filesFor.all(json));
    const refs = new Map<string, ReplyRef>();
    for (const r of this.#st.repliesFor.all(json)) {
      refs.set(r.message_id, replyRefOf(r.reply_to, r.reply_username, r.content === null ? null : { content: r.content, deleted: r.deleted === 1 }));
    }
    return { files, replies: refs };
  }

  /** Inside deleteMessage's transaction: the deleted message no longer holds its files. */
  unlink(messageId: string): void {
    this.#st.unlink.run(messageId);
  }

  /** Inside a prune chunk, before its room messages go. */
  pruneRoomRange(range: PruneRange): void {
    this.#st.pruneLinks.run(range);
    this.#st.pruneReplies.run(range);
  }

  createFile(f: FileRecord): void {
    this.#st.fileInsert.run(f.id, f.sha256, f.name, f.size, f.type, f.width, f.height, f.thumbSha256, f.owner, toMillis(f.createdAt));
  }

  getFile(id: string): FileRecord | null {
    const r = this.#st.fileGet.get(id);
    return r ? {
      id: r.id, sha256: r.sha256, name: r.name, size: r.size, type: r.type, width: r.width, height: r.height,
      thumbSha256: r.thumb_sha256, owner: r.owner, createdAt: toIso(r.created_at),
    } : null;
  }

  uploadedBytes(owner: string): number {
    return this.#st.ownerBytes.get(owner) ?? 0;
  }

  sweep(unattachedBefore: string): string[] {
    const s = this.#st;
    return this.#db.transaction(() => {
      const dropped = new Set<string>();
      for (const r of s.sweep.all(toMillis(unattachedBefore))) {
        dropped.add(r.sha256);
        if (r.thumb_sha256) dropped.add(r.thumb_sha256);
      }
      return [...dropped].filter((sha) => s.blobUsed.get(sha, sha) === 0);
    }).immediate();
  }
}
