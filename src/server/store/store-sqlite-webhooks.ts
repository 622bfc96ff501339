/**
 * The SQLite store's webhooks (migration 13): `webhooks` (incoming, per room; index
 * (room, created_at)) and `bot_hooks` (outgoing, per bot account). SqliteStore delegates the
 * WebhookStore calls here.
 */
import type Database from 'better-sqlite3';
import type { BotHookRecord, WebhookRecord } from '../ports.js';
import { toIso, toMillis } from './store-common.js';

interface WebhookRow { id: string; room: string; name: string; bot: string; secret_hash: string; creator: string; created_at: number }
interface BotHookRow { account: string; url: string; secret: string; created_at: number }

const WEBHOOK = 'SELECT id, room, name, bot, secret_hash, creator, created_at FROM webhooks';

/** Every statement of the webhooks, prepared once (sqliteStatementTexts checks their plans). */
export function prepareWebhooks(db: Database.Database) {
  return {
    webhookInsert: db.prepare<[string, string, string, string, string, string, number]>(
      'INSERT INTO webhooks (id, room, name, bot, secret_hash, creator, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    webhookGet: db.prepare<[string], WebhookRow>(`${WEBHOOK} WHERE id = ?`),
    webhooksOf: db.prepare<[string], WebhookRow>(`${WEBHOOK} WHERE room = ? ORDER BY created_at, id`),
    webhookDelete: db.prepare<[string], WebhookRow>(`DELETE FROM webhooks WHERE id = ? RETURNING id, room, name, bot, secret_hash, creator, created_at`),
    botHookPut: db.prepare<[string, string, string, number]>(
      'INSERT INTO bot_hooks (account, url, secret, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (account) DO UPDATE SET url = excluded.url, secret = excluded.secret, created_at = excluded.created_at'),
    botHookDelete: db.prepare<[string]>('DELETE FROM bot_hooks WHERE account = ?'),
    // The JSON array drives: one primary-key probe per account.
    botHooksOf: db.prepare<[string], BotHookRow>(
      'SELECT h.account, h.url, h.secret, h.created_at FROM json_each(?) AS j CROSS JOIN bot_hooks h ON h.account = j.value'),
  };
}

function webhookFromRow(r: WebhookRow): WebhookRecord {
  return { id: r.id, room: r.room, name: r.name, bot: r.bot, secretHash: r.secret_hash, creator: r.creator, createdAt: toIso(r.created_at) };
}

/** The WebhookStore part of SqliteStore; see the file comment. */
export class SqliteWebhooks {
  readonly #st: ReturnType<typeof prepareWebhooks>;

  constructor(db: Database.Database) {
    this.#st = prepareWebhooks(db);
  }

  create(w: WebhookRecord): void {
    this.#st.webhookInsert.run(w.id, w.room, w.name, w.bot, w.secretHash, w.creator, toMillis(w.createdAt));
  }

  get(id: string): WebhookRecord | null {
    const r = this.#st.webhookGet.get(id);
    return r ? webhookFromRow(r) : null;
  }

  of(room: string): WebhookRecord[] {
    return this.#st.webhooksOf.all(room).map(webhookFromRow);
  }

  delete(id: string): WebhookRecord | null {
    const r = this.#st.webhookDelete.get(id);
    return r ? webhookFromRow(r) : null;
  }

  setBotHook(account: string, hook: Omit<BotHookRecord, 'account'> | null): void {
    if (hook === null) this.#st.botHookDelete.run(account);
    else this.#st.botHookPut.run(account, hook.url, hook.secret, toMillis(hook.createdAt));
  }

  botHooks(accounts: readonly string[]): Map<string, BotHookRecord> {
    if (accounts.length === 0) return new Map();
    return new Map(this.#st.botHooksOf.all(JSON.stringify(accounts)).map((r) => [r.account, { account: r.account, url: r.url, secret: r.secret, createdAt: toIso(r.created_at) }]));
  }
}
