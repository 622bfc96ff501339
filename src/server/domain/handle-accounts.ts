/**
 * Accounts and moderation: Register, Login (password or token), Logout, GetToken, Kick, Ban,
 * Unban. Passwords go through the PasswordHasher port (Argon2id in production); tokens are
 * random and stored only as SHA-256 hashes (tokens.ts).
 */
import { CLOSE } from '../../protocol/codes.js';
import { nameKey, normaliseName } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import type { Account } from '../ports.js';
import type { HandlerContext } from './context.js';
import { fail } from './errors.js';
import { checkLine, requireAdmin, requireNamed, validName } from './guards.js';
import { accountNamed, enterAccount, greetInRoom, isBanned, moveToName, nameRefused, newAccountId } from './membership.js';
import { refOf } from './outbound.js';
import type { Session } from './session.js';
import { accountOfToken, hashToken, issueToken } from './tokens.js';

const MIN_PASSWORD = 8;
const MAX_PASSWORD = 256;

/**
 * Registers a name with a password. On a guest connection it is the guest account that
 * becomes registered (under this name), keeping its rooms, conversations and messages.
 */
export async function register(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Register'>): Promise<void> {
  const username = validName(msg.username);
  const key = nameKey(username);
  if (msg.password.length < MIN_PASSWORD || msg.password.length > MAX_PASSWORD) fail('WEAK_PASSWORD');
  if (s.account !== null && !s.guest) fail('FORBIDDEN', 'You are already logged in.');
  const { store } = ctx;
  const holder = await store.accountByName(key);
  if (holder?.passwordHash) fail('ALREADY_REGISTERED');
  if (await store.nameBanned(key)) fail('BANNED', `The name ${username} is banned.`);
  // Each registration costs an Argon2id hash and an account row: limited per address.
  const address = s.conn.remoteAddress;
  const now = ctx.now();
  if (!ctx.addressLimiter.allow(`addr:${address}`, now) || !ctx.loginLimiter.allow(`register:${address}`, now)) {
    fail('AUTH_RATE_LIMITED', 'Too many registrations from your address. Try again later.');
  }
  const passwordHash = await ctx.hasher.hash(msg.password);
  let first = false;
  if (s.account !== null) {
    // The guest account itself becomes registered; under another name only when it is free.
    const name = key === s.key && username === s.username ? {} : { name: { key, username } };
    if (!(await store.updateAccount(s.account, { ...name, passwordHash }, ctx.iso()))) await nameRefused(ctx, key, username);
    if (key !== s.key || username !== s.username) {
      await ctx.presence.claimName(key, username, `account:${s.account}`, s.id);
      await moveToName(ctx, s, key, username);
    }
    s.guest = false;
    s.admin = ctx.config.admins.some((a) => nameKey(a) === key);
  } else {
    const account: Account & { key: string } = {
      id: newAccountId(), key, username, passwordHash, banned: false, createdAt: ctx.iso(), expiresAt: null, endsWithConnection: false, bot: false,
    };
    if (!(await store.createAccount(account, ctx.iso()))) {
      // Another registration of the name won the race.
      if ((await store.accountByName(key))?.passwordHash) fail('ALREADY_REGISTERED');
      await nameRefused(ctx, key, username);
    }
    first = await enterAccount(ctx, s, account, true);
    if (!first) return;
  }
  const t = await issueToken(ctx, s.account!);
  s.tokenHash = t.tokenHash;
  if (s.mode === 'text') s.send({ type: 'Ack', for: 'Register', username: s.username });
  else s.send({ type: 'LoggedIn', username: s.username!, token: t.token, expiresAt: t.expiresAt, ...adminOf(s), ...refOf(msg) });
  if (first) await greetInRoom(ctx, s);
}

/** Resumes an account on this connection: by token (guests and registered accounts), or by name and password. */
export async function login(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Login'>): Promise<void> {
  const ref = refOf(msg);
  if (msg.token !== undefined) {
    const tokenHash = hashToken(msg.token);
    const { tokenExpiresAt, ...account } = await accountOfToken(ctx, tokenHash);
    const first = s.account === null;
    if (s.account !== account.id && !(await enterAccount(ctx, s, account))) return;
    s.tokenHash = tokenHash;
    s.send({ type: 'LoggedIn', username: account.username, token: msg.token, expiresAt: tokenExpiresAt, ...(s.guest ? { guest: true } : {}), ...adminOf(s), ...ref });
    // A resuming JSON client asks for what it missed in each room itself (History after its
    // last seq): no join history to send it, which a reconnect storm would pay for per account.
    if (first && s.mode === 'text') await greetInRoom(ctx, s);
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
  // The dummy hash is asked for before the account is read, so the first login after a start
  // pays for making it whether or not the name has an account.
  const dummy = ctx.dummyHash();
  dummy.catch(() => undefined); // awaited below only for an unknown name
  const found = await ctx.store.accountByName(key);
  const account = found?.passwordHash ? found : null;
  // An unknown name costs a verification too, so the answer's timing does not tell.
  const ok = await ctx.hasher.verify(account?.passwordHash ?? (await dummy), msg.password);
  if (!account || !ok) {
    failures.note(`name:${key}`, now);
    failures.note(`at:${address}|${key}`, now);
    fail('AUTH_FAILED');
  }
  if (await isBanned(ctx, key, account)) fail('BANNED');
  const first = s.account === null;
  if (s.account !== account.id && !(await enterAccount(ctx, s, account))) return;
  const t = await issueToken(ctx, account.id);
  s.tokenHash = t.tokenHash;
  s.send({ type: 'LoggedIn', username: account.username, token: t.token, expiresAt: t.expiresAt, ...adminOf(s), ...ref });
  if (first) await greetInRoom(ctx, s);
}

/** A token for the session's account: a text-mode guest that asks for one lasts `--guest-ttl` after its last connection. */
export async function getToken(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'GetToken'>): Promise<void> {
  const { account, username } = requireNamed(s);
  if (s.guest) await ctx.store.updateAccount(account, { endsWithConnection: false, expiresAt: new Date(ctx.now() + Math.max(ctx.config.guestTtlSeconds * 1000, 3_600_000)).toISOString() }, ctx.iso());
  const t = await issueToken(ctx, account);
  s.tokenHash = t.tokenHash;
  s.send({ type: 'LoggedIn', username, token: t.token, expiresAt: t.expiresAt, ...(s.guest ? { guest: true } : {}), ...adminOf(s), ...refOf(msg) });
}

/** Revokes the connection's token and closes it; a guest that logs out gives its name up when its last connection ends. */
export async function logout(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Logout'>): Promise<void> {
  if (!s.account) fail('NOT_LOGGED_IN');
  if (s.tokenHash) await ctx.store.deleteToken(s.tokenHash);
  if (s.guest) await ctx.store.updateAccount(s.account, { endsWithConnection: true }, ctx.iso());
  s.send({ type: 'Ack', for: 'Logout', ...refOf(msg) });
  s.leaving = true;
  s.close(CLOSE.LOGGED_OUT, 'logged out');
}

export async function kick(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Kick'>): Promise<void> {
  requireAdmin(s);
  const reason = checkLine(msg.reason);
  const key = nameKey(validName(msg.username));
  const name = (await ctx.presence.lookup(key)) ?? fail('NO_SUCH_USER', `${msg.username} is not online.`);
  const account = await accountNamed(ctx, name);
  const seconds = ctx.config.kickHoldSeconds;
  // Held before the connections close: nobody, the kicked user included, takes the name
  // until the kick's retry-after has passed, on any node.
  await ctx.presence.holdName(key, seconds * 1000);
  s.send({ type: 'Ack', for: 'Kick', username: name, ...refOf(msg) });
  ctx.kickUser(account.id, CLOSE.KICKED, closeReason(`kicked by ${s.username}${reason ? `: ${reason}` : ''}`, `; retry-after=${seconds}`));
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
  // The account too, when there is one; a guest's ends (after an unban, its name is anyone's).
  const account = await ctx.store.accountByName(key);
  if (account) await ctx.store.setBanned(account.id, true);
  s.send({ type: 'Ack', for: 'Ban', username: msg.username, ...refOf(msg) });
  if (!account) return;
  ctx.kickUser(account.id, CLOSE.BANNED, 'banned');
  if (account.passwordHash === null) await ctx.store.endGuests(ctx.iso(), [account.id]);
}

export async function unban(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Unban'>): Promise<void> {
  requireAdmin(s);
  const name = validName(msg.username);
  const key = nameKey(name);
  const byName = await ctx.store.setNameBan(key, false);
  const account = await ctx.store.accountByName(key);
  if (account?.banned) await ctx.store.setBanned(account.id, false);
  if (!byName && !account?.banned) fail('NO_SUCH_USER', `${name} is not banned.`);
  s.send({ type: 'Ack', for: 'Unban', username: msg.username, ...refOf(msg) });
}

/** `admin: true` on LoggedIn for an administrator's session (a client shows what only administrators may do). */
function adminOf(s: Session): { admin?: true } {
  return s.admin ? { admin: true } : {};
}
