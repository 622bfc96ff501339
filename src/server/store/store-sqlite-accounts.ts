/**
 * The SQLite store's accounts (migration 11): accounts by id and by the name key they hold,
 * guests that end, login tokens and name bans. SqliteStore delegates the AccountStore calls
 * here. Taking a name (createAccount, a rename) and ending guests are IMMEDIATE transactions,
 * so two processes on one file never both take a name, and an expired guest is ended in the
 * same transaction that takes its name.
 */
import type Database from 'better-sqlite3';
import type { Account, AccountChange, NewAccount, TokenLogin } from '../ports.js';
import { toIso, toMillis, TOKENS_PER_ACCOUNT } from './store-common.js';

interface AccountRow {
  id: string; key: string | null; username: string; password_hash: string | null; banned: number;
  created_at: number; expires_at: number | null; ends_with_connection: number; bot: number;
}

/** tokenLogin's row: the token's expiry, the account's columns in AccountRow's order, and its name's ban (0 or 1). */
type TokenLoginRow = [
  token_expires_at: number, id: string, key: string | null, username: string, password_hash: string | null, banned: number,
  created_at: number, expires_at: number | null, ends_with_connection: number, bot: number, name_banned: number,
];

const ACCOUNT = 'SELECT id, key, username, password_hash, banned, created_at, expires_at, ends_with_connection, bot FROM accounts';

/** Every statement of the accounts, prepared once (sqliteStatementTexts checks their plans). */
export function prepareAccounts(db: Database.Database) {
  return {
    accountInsert: db.prepare<[string, string, string, string | null, number, number | null, number, number]>(
      `INSERT INTO accounts (id, key, username, password_hash, created_at, expires_at, ends_with_connection, bot)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    accountGet: db.prepare<[string], AccountRow>(`${ACCOUNT} WHERE id = ?`),
    accountByName: db.prepare<[string], AccountRow>(`${ACCOUNT} WHERE key = ?`),
    // The JSON array drives: one probe of the key index per name.
    accountsByNames: db.prepare<[string], AccountRow>(
      `SELECT a.id, a.key, a.username, a.password_hash, a.banned, a.created_at, a.expires_at, a.ends_with_connection, a.bot
       FROM json_each(?) AS j CROSS JOIN accounts a ON a.key = j.value`),
    accountIdExists: db.prepare<[string], number>('SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?)').pluck(),
    accountRename: db.prepare<[string, string, string]>('UPDATE accounts SET key = ?, username = ? WHERE id = ?'),
    accountRegister: db.prepare<[string, string]>('UPDATE accounts SET password_hash = ?, expires_at = NULL, ends_with_connection = 0 WHERE id = ?'),
    guestExpiry: db.prepare<[number, string]>('UPDATE accounts SET expires_at = ? WHERE id = ? AND password_hash IS NULL AND bot = 0'),
    guestEndsWithConnection: db.prepare<[number, string]>('UPDATE accounts SET ends_with_connection = ? WHERE id = ? AND password_hash IS NULL AND bot = 0'),
    accountBan: db.prepare<[number, string]>('UPDATE accounts SET banned = ? WHERE id = ?'),
    // Guests due to end (the accounts_guest_expiry index).
    guestsDue: db.prepare<[number], string>(
      'SELECT id FROM accounts WHERE key IS NOT NULL AND password_hash IS NULL AND expires_at <= ?').pluck(),
    // Departed guests (guestsGone): the time of those that outlive their connection starts...
    guestsGoneExpire: db.prepare<[number, string]>(
      `UPDATE accounts SET expires_at = ? WHERE id IN (SELECT value FROM json_each(?))
       AND key IS NOT NULL AND password_hash IS NULL AND bot = 0 AND ends_with_connection = 0`),
    // ...and those that end with it are ended.
    guestsGoneEnding: db.prepare<[string], string>(
      `SELECT id FROM accounts WHERE id IN (SELECT value FROM json_each(?))
       AND key IS NOT NULL AND password_hash IS NULL AND bot = 0 AND ends_with_connection = 1`).pluck(),
    // Ends a guest (bot 0) or revokes a bot (bot 1): the name is freed.
    accountEnd: db.prepare<[string, number], string>(
      'UPDATE accounts SET key = NULL WHERE id = ? AND key IS NOT NULL AND password_hash IS NULL AND bot = ? RETURNING id').pluck(),
    // The accounts_bots index.
    botList: db.prepare<[], AccountRow>(`${ACCOUNT} WHERE bot = 1 AND key IS NOT NULL ORDER BY key`),
    endTokens: db.prepare<[string]>('DELETE FROM tokens WHERE key = ?'),
    // An ended guest stays in its direct conversations only.
    endMemberships: db.prepare<[string]>(`DELETE FROM memberships WHERE account = ?
       AND NOT EXISTS (SELECT 1 FROM rooms r WHERE r.name = memberships.room AND r.kind = 'direct')`),
    endReads: db.prepare<[string]>(`DELETE FROM read_positions WHERE user_key = ?
       AND NOT EXISTS (SELECT 1 FROM rooms r WHERE r.name = read_positions.room AND r.kind = 'direct')`),
    endLevels: db.prepare<[string]>('DELETE FROM notify_levels WHERE account = ?'),
    endPushes: db.prepare<[string]>('DELETE FROM push_subscriptions WHERE account = ?'),
    endMentions: db.prepare<[string]>('DELETE FROM unread_mentions WHERE account = ?'),
    nameBanAdd: db.prepare<[string, number]>('INSERT INTO name_bans (key, created_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
    nameBanDel: db.prepare<[string]>('DELETE FROM name_bans WHERE key = ?'),
    nameBanGet: db.prepare<[string], { ok: number }>('SELECT 1 AS ok FROM name_bans WHERE key = ?'),
    tokenInsert: db.prepare<[string, string, number]>('INSERT OR REPLACE INTO tokens (token_hash, key, expires_at) VALUES (?, ?, ?)'),
    // An account's tokens but the new one and the newest `keep` others (tokens_key index; the
    // column `key` holds the account id).
    tokenTrim: db.prepare<{ key: string; hash: string; keep: number }>(
      `DELETE FROM tokens WHERE key = @key AND token_hash != @hash AND token_hash NOT IN (
         SELECT token_hash FROM tokens WHERE key = @key AND token_hash != @hash ORDER BY expires_at DESC, token_hash LIMIT @keep)`),
    tokenGet: db.prepare<[string], { key: string; expires_at: number }>('SELECT key, expires_at FROM tokens WHERE token_hash = ?'),
    tokenDelete: db.prepare<[string]>('DELETE FROM tokens WHERE token_hash = ?'),
    // A login by token: the token, its account and the account's name ban in one statement.
    // Rows as arrays (TokenLoginRow): a reconnect storm makes one per account, and an array
    // costs less to make than an object of eleven named columns.
    tokenLogin: db.prepare<[string], TokenLoginRow>(
      `SELECT t.expires_at, a.id, a.key, a.username, a.password_hash, a.banned, a.created_at, a.expires_at,
         a.ends_with_connection, a.bot, EXISTS (SELECT 1 FROM name_bans b WHERE b.key = a.key)
       FROM tokens t JOIN accounts a ON a.id = t.key WHERE t.token_hash = ?`).raw(),
  };
}

/** The AccountStore part of SqliteStore; see the file comment. */
export class SqliteAccounts {
  readonly #st: ReturnType<typeof prepareAccounts>;
  readonly #create: (a: NewAccount, now: number) => boolean;
  readonly #update: (id: string, change: AccountChange, now: number) => boolean;
  readonly #endGuests: (now: number, ids?: readonly string[]) => string[];
  readonly #createToken: (t: { tokenHash: string; account: string; expiresAt: string }) => void;
  readonly #revokeBot: (id: string) => boolean;

  constructor(db: Database.Database) {
    const s = (this.#st = prepareAccounts(db));
    this.#create = db.transaction((a: NewAccount, now: number): boolean => this.createInTx(a, now)).immediate;
    this.#update = db.transaction((id: string, change: AccountChange, now: number): boolean => {
      const row = s.accountGet.get(id);
      if (!row || row.key === null) return false;
      if (change.name) {
        if (!this.#takeName(change.name.key, now, id)) return false;
        s.accountRename.run(change.name.key, change.name.username, id);
      }
      if (change.passwordHash !== undefined) s.accountRegister.run(change.passwordHash, id);
      if (change.expiresAt !== undefined) s.guestExpiry.run(toMillis(change.expiresAt), id);
      if (change.endsWithConnection !== undefined) s.guestEndsWithConnection.run(change.endsWithConnection ? 1 : 0, id);
      return true;
    }).immediate;
    this.#endGuests = db.transaction((now: number, ids?: readonly string[]): string[] => {
      const ended: string[] = [];
      for (const id of ids ?? s.guestsDue.all(now)) if (this.#end(id)) ended.push(id);
      return ended;
    }).immediate;
    this.#createToken = db.transaction((t: { tokenHash: string; account: string; expiresAt: string }) => {
      s.tokenInsert.run(t.tokenHash, t.account, toMillis(t.expiresAt));
      s.tokenTrim.run({ key: t.account, hash: t.tokenHash, keep: TOKENS_PER_ACCOUNT - 1 });
    }).immediate;
    this.#revokeBot = db.transaction((id: string): boolean => this.#end(id, true)).immediate;
  }

  /**
   * Inside a transaction: whether the name key can be taken at `now`. Nobody holds it, or
   * `self` does, or a guest past its expiresAt, which is ended here to free it.
   */
  #takeName(key: string, now: number, self: string | null): boolean {
    const holder = this.#st.accountByName.get(key);
    if (!holder || holder.id === self) return true;
    if (holder.password_hash !== null || holder.expires_at === null || holder.expires_at > now) return false;
    return this.#end(holder.id);
  }

  /**
   * Inside a transaction: ends one guest account (see AccountStore.endGuests), or with `bot`
   * revokes one bot account (revokeBot); false when it is none (any more).
   */
  #end(id: string, bot = false): boolean {
    const s = this.#st;
    if (s.accountEnd.get(id, bot ? 1 : 0) === undefined) return false;
    s.endTokens.run(id);
    s.endMemberships.run(id);
    s.endReads.run(id);
    s.endLevels.run(id);
    s.endPushes.run(id);
    s.endMentions.run(id);
    return true;
  }

  create(a: NewAccount, now: string): boolean {
    return this.#create(a, toMillis(now));
  }

  /** create's statements, for a caller already inside a write transaction (createGuest's batch). */
  createInTx(a: NewAccount, now: number | string): boolean {
    const s = this.#st;
    const at = typeof now === 'string' ? toMillis(now) : now;
    if (s.accountIdExists.get(a.id) === 1 || !this.#takeName(a.key, at, null)) return false;
    const expires = a.expiresAt === null ? null : toMillis(a.expiresAt);
    s.accountInsert.run(a.id, a.key, a.username, a.passwordHash, toMillis(a.createdAt), expires, a.endsWithConnection ? 1 : 0, a.bot ? 1 : 0);
    return true;
  }

  get(id: string): Account | null {
    const row = this.#st.accountGet.get(id);
    return row ? accountFromRow(row) : null;
  }

  byName(key: string): Account | null {
    const row = this.#st.accountByName.get(key);
    return row ? accountFromRow(row) : null;
  }

  byNames(keys: readonly string[]): Map<string, Account> {
    if (keys.length === 0) return new Map();
    return new Map(this.#st.accountsByNames.all(JSON.stringify(keys)).map((row) => [row.key!, accountFromRow(row)]));
  }

  update(id: string, change: AccountChange, now: string): boolean {
    return this.#update(id, change, toMillis(now));
  }

  endGuests(now: string, ids?: readonly string[]): string[] {
    return this.#endGuests(toMillis(now), ids);
  }

  /** Inside a write transaction (createGuest's batch, which departures share): AccountStore.guestsGone. */
  guestsGoneInTx(ids: readonly string[], expiresAt: string): string[] {
    const s = this.#st;
    const list = JSON.stringify(ids);
    s.guestsGoneExpire.run(toMillis(expiresAt), list);
    const ended: string[] = [];
    for (const id of s.guestsGoneEnding.all(list)) if (this.#end(id)) ended.push(id);
    return ended;
  }

  setBanned(id: string, banned: boolean): boolean {
    return this.#st.accountBan.run(banned ? 1 : 0, id).changes === 1;
  }

  setNameBan(key: string, banned: boolean): boolean {
    const s = this.#st;
    return (banned ? s.nameBanAdd.run(key, Date.now()) : s.nameBanDel.run(key)).changes === 1;
  }

  nameBanned(key: string): boolean {
    return this.#st.nameBanGet.get(key) !== undefined;
  }

  createToken(t: { tokenHash: string; account: string; expiresAt: string }): void {
    this.#createToken(t);
  }

  /** A new account's first token: nothing to trim (inside createGuest's transaction). */
  createFirstToken(t: { tokenHash: string; account: string; expiresAt: string }): void {
    this.#st.tokenInsert.run(t.tokenHash, t.account, toMillis(t.expiresAt));
  }

  getToken(tokenHash: string): { account: string; expiresAt: string } | null {
    const row = this.#st.tokenGet.get(tokenHash);
    return row ? { account: row.key, expiresAt: toIso(row.expires_at) } : null;
  }

  tokenLogin(tokenHash: string): TokenLogin | null {
    const r = this.#st.tokenLogin.get(tokenHash);
    if (!r) return null;
    const account: Account = {
      id: r[1], key: r[2], username: r[3], passwordHash: r[4], banned: r[5] === 1, createdAt: toIso(r[6]),
      expiresAt: r[7] === null ? null : toIso(r[7]), endsWithConnection: r[8] === 1, bot: r[9] === 1,
    };
    return { expiresAt: toIso(r[0]), account, nameBanned: r[10] === 1 };
  }

  deleteToken(tokenHash: string): void {
    this.#st.tokenDelete.run(tokenHash);
  }

  listBots(): Account[] {
    return this.#st.botList.all().map(accountFromRow);
  }

  revokeBot(id: string): boolean {
    return this.#revokeBot(id);
  }
}

function accountFromRow(r: AccountRow): Account {
  return {
    id: r.id, key: r.key, username: r.username, passwordHash: r.password_hash, banned: r.banned === 1, createdAt: toIso(r.created_at),
    expiresAt: r.expires_at === null ? null : toIso(r.expires_at), endsWithConnection: r.ends_with_connection === 1, bot: r.bot === 1,
  };
}
