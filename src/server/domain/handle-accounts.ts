/**
 * Accounts and moderation: Register, Login (password or token), Logout, Kick, Ban, Unban.
 * Passwords go through the PasswordHasher port (Argon2id in production); tokens are
 * random and stored only as SHA-256 hashes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CLOSE } from '../../protocol/codes.js';
import { nameKey, normaliseName } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import type { Account } from '../ports.js';
import type { HandlerContext } from './context.js';
import { fail } from './errors.js';
import { checkLine, claimOwner, requireAdmin, validName } from './guards.js';
import { becomeNamed, closeIfBanned, isBanned, joinGeneral } from './membership.js';
import { refOf } from './outbound.js';
import type { Session } from './session.js';

const MIN_PASSWORD = 8;
const MAX_PASSWORD = 256;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

async function issueToken(ctx: HandlerContext, key: string): Promise<{ token: string; tokenHash: string; expiresAt: string }> {
  const token = randomBytes(32).toString('base64url');
  const tokenHash = hashToken(token);
  const expiresAt = new Date(ctx.now() + ctx.config.tokenTtlDays * 86_400_000).toISOString();
  await ctx.store.createToken({ tokenHash, key, expiresAt });
  return { token, tokenHash, expiresAt };
}

/**
 * Makes the session the account's: its name, its admin rights. Resolves true when this
 * gave the session its first name (the caller answers, then joins `general`).
 */
async function enterAccount(ctx: HandlerContext, s: Session, account: Account): Promise<boolean> {
  const previous = s.account;
  s.account = account.key;
  let first = false;
  try {
    if (s.key !== account.key) first = await becomeNamed(ctx, s, account.username);
    else await ctx.presence.claimName(account.key, account.username, `account:${account.key}`, s.id);
  } catch (err) {
    s.account = previous;
    throw err;
  }
  s.admin = ctx.config.admins.some((a) => nameKey(a) === account.key);
  await closeIfBanned(ctx, s, account.key);
  return first;
}

export async function register(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Register'>): Promise<void> {
  const username = validName(msg.username);
  const key = nameKey(username);
  if (msg.password.length < MIN_PASSWORD || msg.password.length > MAX_PASSWORD) fail('WEAK_PASSWORD');
  if (s.account) fail('FORBIDDEN', 'You are already logged in.');
  const { store, presence, hasher } = ctx;
  if (await store.getAccount(key)) fail('ALREADY_REGISTERED');
  if (await store.nameBanned(key)) fail('BANNED', `The name ${username} is banned.`);
  if (s.key !== key && (await presence.lookup(key)) !== null) fail('NAME_TAKEN', `${username} is online: only they can register that name.`);
  // Each registration costs an Argon2id hash and an account row: limited per address.
  const address = s.conn.remoteAddress;
  const now = ctx.now();
  if (!ctx.addressLimiter.allow(`addr:${address}`, now) || !ctx.loginLimiter.allow(`register:${address}`, now)) {
    fail('AUTH_RATE_LIMITED', 'Too many registrations from your address. Try again later.');
  }
  const passwordHash = await hasher.hash(msg.password);
  // The name is claimed by this connection before the account exists, so whoever took it
  // meanwhile (a guest, another registration) fails this one with NAME_TAKEN and no account
  // is created, and whoever tries after this claim is refused: never an account whose name
  // someone else is using. The account's own claim then replaces this one (sole holder).
  const held = s.key === key;
  if (!held && !(await presence.claimName(key, username, claimOwner(s), s.id))) fail('NAME_TAKEN', `The name "${username}" is in use. Pick another one.`);
  const account = { key, username, passwordHash, createdAt: ctx.iso() };
  let created = false;
  try {
    created = await store.createAccount(account);
  } finally {
    if (!created && !held) await presence.releaseName(key, s.id);
  }
  if (!created) fail('ALREADY_REGISTERED');
  const first = await enterAccount(ctx, s, { ...account, banned: false });
  const t = await issueToken(ctx, key);
  s.tokenHash = t.tokenHash;
  if (s.mode === 'text') s.send({ type: 'Ack', for: 'Register', username: s.username });
  else s.send({ type: 'LoggedIn', username: s.username!, token: t.token, expiresAt: t.expiresAt, ...refOf(msg) });
  if (first) await joinGeneral(ctx, s);
}

export async function login(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Login'>): Promise<void> {
  const ref = refOf(msg);
  if (msg.token !== undefined) {
    const tokenHash = hashToken(msg.token);
    const record = await ctx.store.getToken(tokenHash);
    if (!record || Date.parse(record.expiresAt) <= ctx.now()) fail('TOKEN_INVALID');
    const account = (await ctx.store.getAccount(record.key)) ?? fail('TOKEN_INVALID');
    if (await isBanned(ctx, account.key, account)) fail('BANNED');
    const first = await enterAccount(ctx, s, account);
    s.tokenHash = tokenHash;
    s.send({ type: 'LoggedIn', username: account.username, token: msg.token, expiresAt: record.expiresAt, ...ref });
    if (first) await joinGeneral(ctx, s);
    return;
  }
  if (msg.username === undefined || msg.password === undefined) fail('BAD_MESSAGE', 'Login needs a username and a password, or a token.');
  const key = nameKey(normaliseName(msg.username) ?? msg.username.slice(0, 64));
  const now = ctx.now();
  const address = s.conn.remoteAddress;
  // Limits per address and per (address, name), never per name alone: ten wrong passwords
  // from one address must not lock the owner out from another. The address first: a
  // limited address must not record attempts on (or fill the limiter with) names.
  if (!ctx.addressLimiter.allow(`addr:${address}`, now) || !ctx.loginLimiter.allow(`${address}|${key}`, now)) fail('AUTH_RATE_LIMITED');
  // A name failing from many addresses at once (more than --login-failures-per-name a
  // minute) is only slowed down: an address that already failed on it this minute waits,
  // one that has not (the owner, elsewhere) may still try.
  const failures = ctx.failureLimiter;
  if (!failures.permits(`name:${key}`, now) && failures.count(`at:${address}|${key}`, now) > 0) fail('AUTH_RATE_LIMITED');
  const account = await ctx.store.getAccount(key);
  // An unknown name costs a verification too, so the answer's timing does not tell.
  const ok = await ctx.hasher.verify(account?.passwordHash ?? ctx.dummyHash(), msg.password);
  if (!account || !ok) {
    failures.note(`name:${key}`, now);
    failures.note(`at:${address}|${key}`, now);
    fail('AUTH_FAILED');
  }
  if (await isBanned(ctx, key, account)) fail('BANNED');
  const first = await enterAccount(ctx, s, account);
  const t = await issueToken(ctx, key);
  s.tokenHash = t.tokenHash;
  s.send({ type: 'LoggedIn', username: account.username, token: t.token, expiresAt: t.expiresAt, ...ref });
  if (first) await joinGeneral(ctx, s);
}

export async function logout(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Logout'>): Promise<void> {
  if (!s.account) fail('NOT_LOGGED_IN');
  if (s.tokenHash) await ctx.store.deleteToken(s.tokenHash);
  s.send({ type: 'Ack', for: 'Logout', ...refOf(msg) });
  s.leaving = true;
  s.close(CLOSE.LOGGED_OUT, 'logged out');
}

export async function kick(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Kick'>): Promise<void> {
  requireAdmin(s);
  const reason = checkLine(msg.reason);
  const key = nameKey(validName(msg.username));
  const name = (await ctx.presence.lookup(key)) ?? fail('NO_SUCH_USER');
  const seconds = ctx.config.kickHoldSeconds;
  // Held before the connections close: nobody, the kicked user included, takes the name
  // until the kick's retry-after has passed, on any node.
  await ctx.presence.holdName(key, seconds * 1000);
  s.send({ type: 'Ack', for: 'Kick', username: name, ...refOf(msg) });
  ctx.kickUser(key, CLOSE.KICKED, closeReason(`kicked by ${s.username}${reason ? `: ${reason}` : ''}`, `; retry-after=${seconds}`));
}

/** A close reason is at most 123 bytes of UTF-8 (ws throws past that): cut the text, keep the suffix whole. */
export function closeReason(text: string, suffix: string): string {
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch + suffix) > 123) break;
    out += ch;
  }
  return out + suffix;
}

/**
 * Bans a name, registered or not: a guest's name is refused until unbanned, like an
 * account's (which can no longer log in). Every connection using it is closed with 4003.
 */
export async function ban(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Ban'>): Promise<void> {
  requireAdmin(s);
  checkLine(msg.reason);
  const name = validName(msg.username);
  const key = nameKey(name);
  await ctx.store.setNameBan(key, true);
  // The account too, when there is one (false when there is none).
  await ctx.store.setBanned(key, true);
  s.send({ type: 'Ack', for: 'Ban', username: msg.username, ...refOf(msg) });
  ctx.kickUser(key, CLOSE.BANNED, 'banned');
}

export async function unban(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Unban'>): Promise<void> {
  requireAdmin(s);
  const name = validName(msg.username);
  const key = nameKey(name);
  const byName = await ctx.store.setNameBan(key, false);
  const account = await ctx.store.getAccount(key);
  if (account?.banned) await ctx.store.setBanned(key, false);
  if (!byName && !account?.banned) fail('NO_SUCH_USER', `${name} is not banned.`);
  s.send({ type: 'Ack', for: 'Unban', username: msg.username, ...refOf(msg) });
}
