/**
 * The SQLite store's memberships and direct conversations (migration 11): `memberships`
 * (primary key (room, account), index (account, room)) and `direct_rooms` (group key to
 * room). SqliteStore delegates the ConversationStore calls here; opening a direct
 * conversation writes its room, its group and its memberships in one IMMEDIATE transaction.
 */
import type Database from 'better-sqlite3';
import type { AccountEntry, ConversationKind, MemberRecord, MembershipRecord, Role, RoomRecord } from '../ports.js';
import { toMillis } from './store-common.js';

/** Every statement of the memberships, prepared once (sqliteStatementTexts checks their plans). */
export function prepareMembers(db: Database.Database) {
  return {
    memberAdd: db.prepare<[string, string, string, number]>(
      'INSERT INTO memberships (room, account, role, joined_at) VALUES (?, ?, ?, ?) ON CONFLICT (room, account) DO NOTHING'),
    memberRemove: db.prepare<[string, string]>('DELETE FROM memberships WHERE room = ? AND account = ?'),
    memberRole: db.prepare<[string, string, string]>('UPDATE memberships SET role = ? WHERE room = ? AND account = ?'),
    roleIn: db.prepare<[string, string], string>('SELECT role FROM memberships WHERE room = ? AND account = ?').pluck(),
    // The JSON array drives: one primary-key probe per room.
    rolesIn: db.prepare<[string, string], { room: string; role: string }>(
      'SELECT m.room, m.role FROM json_each(?) AS j CROSS JOIN memberships m ON m.room = j.value AND m.account = ?'),
    membershipsOf: db.prepare<[string], { room: string; kind: string; role: string }>(
      `SELECT m.room, coalesce(r.kind, 'public') AS kind, m.role FROM memberships m LEFT JOIN rooms r ON r.name = m.room
       WHERE m.account = ? ORDER BY m.room`),
    // The rooms alone: the (account, room) index holds them, no row of the table is read.
    roomsOf: db.prepare<[string], string>('SELECT room FROM memberships WHERE account = ? ORDER BY room').pluck(),
    // entryOf: the rooms as roomsOf, after a NULL when the name (its key) is banned; one
    // statement where there were two (a login makes one; a reconnect storm, one per account).
    // Both sides come in index order, merged without a sort; NULL sorts first.
    entryOf: db.prepare<[string, string], string | null>(
      'SELECT room FROM memberships WHERE account = ? UNION ALL SELECT NULL FROM name_bans WHERE key = ? ORDER BY 1').pluck(),
    // A member without an account row (a departed guest of a conversation carried over from
    // before accounts had ids) shows by its id, which is its old name key.
    members: db.prepare<[string, number], { account: string; username: string; role: string; bot: number | null }>(
      `SELECT m.account, coalesce(a.username, m.account) AS username, m.role, a.bot FROM memberships m LEFT JOIN accounts a ON a.id = m.account
       WHERE m.room = ? ORDER BY username COLLATE NOCASE, m.account LIMIT ?`),
    memberCount: db.prepare<[string], number>('SELECT count(*) FROM memberships WHERE room = ?').pluck(),
    directGet: db.prepare<[string], string>('SELECT room FROM direct_rooms WHERE group_key = ?').pluck(),
    directInsert: db.prepare<[string, string]>('INSERT INTO direct_rooms (group_key, room) VALUES (?, ?)'),
    directRoomInsert: db.prepare<[string, string, string | null, number]>(
      "INSERT INTO rooms (name, topic, owner, created_at, kind) VALUES (?, ?, ?, ?, 'direct') ON CONFLICT (name) DO NOTHING"),
  };
}

/** The ConversationStore part of SqliteStore; see the file comment. */
export class SqliteMembers {
  readonly #st: ReturnType<typeof prepareMembers>;
  readonly #openDirect: (group: string, room: RoomRecord, members: readonly string[]) => { room: string | null; created: boolean };

  constructor(db: Database.Database) {
    const s = (this.#st = prepareMembers(db));
    this.#openDirect = db.transaction((group: string, room: RoomRecord, members: readonly string[]) => {
      const existing = s.directGet.get(group);
      if (existing !== undefined) return { room: existing, created: false };
      const at = toMillis(room.createdAt);
      if (s.directRoomInsert.run(room.name, room.topic, room.owner, at).changes === 0) return { room: null, created: false };
      s.directInsert.run(group, room.name);
      for (const account of members) s.memberAdd.run(room.name, account, 'member', at);
      return { room: room.name, created: true };
    }).immediate;
  }

  add(room: string, account: string, role: Role, at: string): boolean {
    return this.#st.memberAdd.run(room, account, role, toMillis(at)).changes === 1;
  }

  remove(room: string, account: string): boolean {
    return this.#st.memberRemove.run(room, account).changes === 1;
  }

  setRole(room: string, account: string, role: Role): boolean {
    return this.#st.memberRole.run(role, room, account).changes === 1;
  }

  roleIn(room: string, account: string): Role | null {
    return (this.#st.roleIn.get(room, account) as Role | undefined) ?? null;
  }

  rolesIn(account: string, rooms: readonly string[]): Map<string, Role> {
    if (rooms.length === 0) return new Map();
    return new Map(this.#st.rolesIn.all(JSON.stringify(rooms), account).map((r) => [r.room, r.role as Role]));
  }

  membershipsOf(account: string): MembershipRecord[] {
    return this.#st.membershipsOf.all(account).map((r) => ({ room: r.room, kind: r.kind as ConversationKind, role: r.role as Role }));
  }

  roomsOf(account: string): string[] {
    return this.#st.roomsOf.all(account);
  }

  /** ConversationStore.entryOf: whether the name key is banned, and the account's rooms (by name). */
  entryOf(account: string, key: string): AccountEntry {
    const rows = this.#st.entryOf.all(account, key);
    if (rows[0] !== null) return { nameBanned: false, rooms: rows as string[] };
    rows.shift();
    return { nameBanned: true, rooms: rows as string[] };
  }

  members(room: string, limit: number): MemberRecord[] {
    return this.#st.members.all(room, Math.max(0, limit)).map((r): MemberRecord => ({
      account: r.account, username: r.username, role: r.role as Role, ...(r.bot === 1 ? { bot: true } : {}),
    }));
  }

  count(room: string): number {
    return this.#st.memberCount.get(room)!;
  }

  directRoom(group: string): string | null {
    return this.#st.directGet.get(group) ?? null;
  }

  openDirect(group: string, room: RoomRecord, members: readonly string[]): { room: string | null; created: boolean } {
    return this.#openDirect(group, room, members);
  }
}
