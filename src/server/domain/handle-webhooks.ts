/**
 * Incoming webhooks of a room: CreateWebhook, ListWebhooks, RevokeWebhook, for the room's
 * owner or an administrator. A webhook is a URL with its own secret
 * (`/api/webhooks/{id}/{secret}`: integrations/incoming.ts) that posts to the room as the
 * webhook's bot account, created with it under the name asked for (the name rules of any
 * account) and made a member of the room. The secret is shown once, in the Ack; only its
 * SHA-256 is stored. Revoking deletes the webhook and ends its bot account (its name is
 * free again; its messages stay, under the name they were sent with).
 *
 * SetBotWebhook (administrators) sets where a bot account's outgoing webhook goes
 * (integrations/bot-hooks.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { WebhookSummary } from '../../protocol/messages.js';
import { nameKey } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import type { NewAccount, RoomRecord, WebhookRecord } from '../ports.js';
import type { HandlerContext } from './context.js';
import { fail } from './errors.js';
import { requireAdmin, requireNamed, roomName, validName } from './guards.js';
import { EndpointRefused, resolveEndpoint } from '../push/endpoint-guard.js';
import { WEBHOOK_SCHEMES } from '../integrations/outgoing.js';
import { nameRefused, newAccountId, readableRoom, roleOf } from './membership.js';
import { refOf } from './outbound.js';
import type { Session } from './session.js';

/** Webhooks one room may have. */
export const MAX_WEBHOOKS_PER_ROOM = 20;

/** The path of a webhook's URL on this server. */
export function webhookPath(id: string, secret: string): string {
  return `/api/webhooks/${encodeURIComponent(id)}/${encodeURIComponent(secret)}`;
}

/** SHA-256 of a webhook secret, hex (what the store keeps). */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The room, when the session may manage its webhooks: its owner or an administrator. */
async function managedRoom(ctx: HandlerContext, s: Session, raw: string): Promise<RoomRecord> {
  requireNamed(s);
  const room = roomName(raw);
  const record = await readableRoom(ctx, s, room);
  if (record.kind === 'direct') fail('FORBIDDEN', 'A direct conversation has no webhooks.');
  if ((await roleOf(ctx, s, room)) !== 'owner') fail('FORBIDDEN', `Only the owner of ${room} or an administrator can manage its webhooks.`);
  return record;
}

/**
 * The bot account a webhook posts as: a new account holding `name` (NAME_TAKEN or
 * NAME_RESERVED when it is held, BANNED when the name is banned), with no password and no
 * expiry, marked as a bot.
 */
async function createWebhookBot(ctx: HandlerContext, name: string): Promise<NewAccount> {
  const key = nameKey(name);
  if (await ctx.store.nameBanned(key)) fail('BANNED', `The name ${name} is banned. Pick another one.`);
  const account: NewAccount = {
    id: newAccountId(), key, username: name, passwordHash: null, createdAt: ctx.iso(), expiresAt: null, endsWithConnection: false, bot: true,
  };
  if (!(await ctx.store.createAccount(account, ctx.iso()))) await nameRefused(ctx, key, name);
  return account;
}

/** A webhook makes an account: at most as many a minute, per account and per address, as invitations (inviteLimiter). */
function limitCreation(ctx: HandlerContext, s: Session): void {
  const now = ctx.now();
  const keys = [`webhook-addr:${s.conn.remoteAddress}`, `webhook-account:${s.account}`];
  if (!keys.every((k) => ctx.inviteLimiter.permits(k, now))) fail('RATE_LIMITED', 'You are creating webhooks too fast. Wait a minute.');
  for (const k of keys) ctx.inviteLimiter.note(k, now);
}

/** Creates a webhook of the room; the Ack carries its URL (with the secret, shown only now). */
export async function createWebhook(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'CreateWebhook'>): Promise<void> {
  const { username, account } = requireNamed(s);
  const record = await managedRoom(ctx, s, msg.room);
  const name = validName(msg.name);
  limitCreation(ctx, s);
  if ((await ctx.store.webhooksOf(record.name)).length >= MAX_WEBHOOKS_PER_ROOM) {
    fail('TOO_MANY_WEBHOOKS', `${record.name} has ${MAX_WEBHOOKS_PER_ROOM} webhooks, as many as a room can have. Revoke one first.`);
  }
  const bot = await createWebhookBot(ctx, name);
  await ctx.store.addMember(record.name, bot.id, 'member', ctx.iso());
  const secret = randomBytes(32).toString('base64url');
  const hook: WebhookRecord = {
    id: `wh${randomBytes(9).toString('base64url')}`, room: record.name, name: bot.username, bot: bot.id, secretHash: secretHash(secret),
    creator: account, createdAt: ctx.iso(),
  };
  await ctx.store.createWebhook(hook);
  const url = `${s.conn.origin ?? ''}${webhookPath(hook.id, secret)}`;
  s.send({ type: 'Ack', for: 'CreateWebhook', room: record.name, id: hook.id, name: hook.name, url, ...refOf(msg) });
  ctx.broadcast(record.name, { type: 'SystemMessage', room: record.name, content: `${username} added the webhook ${hook.name}` });
}

/** The room's webhooks (never their secrets). */
export async function listWebhooks(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'ListWebhooks'>): Promise<void> {
  const record = await managedRoom(ctx, s, msg.room);
  const hooks = await ctx.store.webhooksOf(record.name);
  const creators = new Map<string, string | null>();
  for (const id of new Set(hooks.map((h) => h.creator))) creators.set(id, (await ctx.store.getAccount(id))?.username ?? null);
  const webhooks: WebhookSummary[] = hooks.map((h) => ({ id: h.id, name: h.name, createdBy: creators.get(h.creator) ?? null, createdAt: h.createdAt }));
  s.send({ type: 'Webhooks', room: record.name, webhooks, ...refOf(msg) });
}

/** Revokes one of the room's webhooks: its URL answers 404 from now on, its bot account ends. */
export async function revokeWebhook(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'RevokeWebhook'>): Promise<void> {
  const { username } = requireNamed(s);
  const record = await managedRoom(ctx, s, msg.room);
  const hook = await ctx.store.getWebhook(msg.id);
  if (!hook || hook.room !== record.name) fail('NO_SUCH_WEBHOOK', `${record.name} has no webhook ${msg.id.slice(0, 40)}.`);
  if (!(await ctx.store.deleteWebhook(hook.id))) fail('NO_SUCH_WEBHOOK', `${record.name} has no webhook ${msg.id.slice(0, 40)}.`);
  await ctx.store.revokeBot(hook.bot);
  ctx.membershipChanged(hook.bot, record.name, false);
  s.send({ type: 'Ack', for: 'RevokeWebhook', room: record.name, id: hook.id, ...refOf(msg) });
  ctx.broadcast(record.name, { type: 'SystemMessage', room: record.name, content: `${username} revoked the webhook ${hook.name}` });
}

/**
 * Sets where a bot's outgoing webhook goes (administrators): an `http:` or `https:` URL whose
 * host resolves only to public addresses (unless `--webhook-allow-private`), checked again at
 * each delivery. A new signing secret is made each time and shown once, in the Ack. A null
 * or empty `url` removes the webhook.
 */
export async function setBotWebhook(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'SetBotWebhook'>): Promise<void> {
  requireAdmin(s);
  const name = validName(msg.name);
  const bot = await ctx.store.accountByName(nameKey(name));
  if (!bot?.bot || bot.key === null) fail('NO_SUCH_USER', `There is no bot named ${name}.`);
  if (msg.url === null || msg.url.trim() === '') {
    await ctx.store.setBotHook(bot.id, null);
    s.send({ type: 'Ack', for: 'SetBotWebhook', name: bot.username, url: null, ...refOf(msg) });
    return;
  }
  const url = msg.url.trim();
  try {
    await resolveEndpoint(url, ctx.config.webhookAllowPrivate, undefined, WEBHOOK_SCHEMES);
  } catch (err) {
    if (err instanceof EndpointRefused) fail('BAD_WEBHOOK_URL', `That URL cannot be used: ${err.message}.`);
    throw err;
  }
  const secret = randomBytes(32).toString('base64url');
  await ctx.store.setBotHook(bot.id, { url, secret, createdAt: ctx.iso() });
  ctx.log.info({ bot: bot.id, by: s.account }, 'bot webhook set');
  s.send({ type: 'Ack', for: 'SetBotWebhook', name: bot.username, url, secret, ...refOf(msg) });
}
