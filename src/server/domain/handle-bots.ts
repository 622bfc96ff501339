/**
 * Bot accounts: CreateBot, ListBots, RevokeBot (administrators). A bot is an account with a
 * name (unique among all accounts), no password and no expiry; it signs in only with the
 * token made when it was created: as a bearer token on the HTTP API, or `Login {token}` on a
 * WebSocket. Its messages carry `bot: true`. Revoking frees its name and deletes its tokens
 * and room memberships; its messages stay.
 */
import { CLOSE } from '../../protocol/codes.js';
import { nameKey } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import type { HandlerContext } from './context.js';
import { fail } from './errors.js';
import { requireAdmin, validName } from './guards.js';
import { nameRefused, newAccountId } from './membership.js';
import { refOf } from './outbound.js';
import type { Session } from './session.js';
import { newToken } from './tokens.js';

/** A bot's tokens do not expire (revoking the bot deletes them). */
export const BOT_TOKEN_EXPIRES = '9999-12-31T23:59:59.000Z';

export async function createBot(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'CreateBot'>): Promise<void> {
  requireAdmin(s);
  const username = validName(msg.name);
  const key = nameKey(username);
  if (await ctx.store.nameBanned(key)) fail('BANNED', `The name ${username} is banned.`);
  const account = {
    id: newAccountId(), key, username, passwordHash: null, createdAt: ctx.iso(), expiresAt: null, endsWithConnection: false, bot: true,
  };
  if (!(await ctx.store.createAccount(account, ctx.iso()))) await nameRefused(ctx, key, username);
  const t = newToken();
  await ctx.store.createToken({ tokenHash: t.tokenHash, account: account.id, expiresAt: BOT_TOKEN_EXPIRES });
  ctx.log.info({ bot: account.id, by: s.account }, 'bot created');
  s.send({ type: 'Ack', for: 'CreateBot', username, token: t.token, ...refOf(msg) });
}

export async function listBots(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'ListBots'>): Promise<void> {
  requireAdmin(s);
  const bots = await ctx.store.listBots();
  s.send({
    type: 'Bots', bots: bots.map((b) => ({ username: b.username, createdAt: b.createdAt, ...(b.banned ? { banned: true as const } : {}) })), ...refOf(msg),
  });
}

export async function revokeBot(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'RevokeBot'>): Promise<void> {
  requireAdmin(s);
  const name = validName(msg.name);
  const bot = await ctx.store.accountByName(nameKey(name));
  if (!bot?.bot || !(await ctx.store.revokeBot(bot.id))) fail('NO_SUCH_USER', `There is no bot named ${name}.`);
  ctx.log.info({ bot: bot.id, by: s.account }, 'bot revoked');
  // Its live connections (a bot logged in on a WebSocket) end now.
  ctx.kickUser(bot.id, CLOSE.LOGGED_OUT, 'bot revoked');
  s.send({ type: 'Ack', for: 'RevokeBot', username: bot.username, ...refOf(msg) });
}
