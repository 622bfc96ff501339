/**
 * Login tokens: random, given to the client once, stored only as SHA-256 hashes. Every
 * account has them: a registered one from Register and Login, a guest one from SetUsername
 * (JSON mode) or GetToken; a guest's token lasts as long as the guest account.
 */
import * as crypto from 'node:crypto';
import type { Account } from '../ports.js';
import { randomBase64url } from '../random-pool.js';
import type { HandlerContext } from './context.js';
import { fail } from './errors.js';

export function hashToken(token: string): string {
  return sha256Hex(token);
}

/**
 * crypto.hash, one-shot, makes no Hash object per call (a reconnect storm hashes a token per
 * account); Node 20 before 20.12 has only createHash.
 */
const sha256Hex: (text: string) => string = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'hex')
  : (text) => crypto.createHash('sha256').update(text).digest('hex');

/** A new random token and its hash (the store keeps only the hash). */
export function newToken(): { token: string; tokenHash: string } {
  const token = randomBase64url(32);
  return { token, tokenHash: hashToken(token) };
}

/**
 * A new token for the account. A guest's token works as long as the guest account lasts
 * (`--guest-ttl` after its last connection): ending the account deletes its tokens.
 */
export async function issueToken(ctx: HandlerContext, account: string): Promise<NewToken> {
  const t = newLoginToken(ctx);
  await ctx.store.createToken({ tokenHash: t.tokenHash, account, expiresAt: t.expiresAt });
  return t;
}

/** A token as a client gets it (`token`) and as the store keeps it (`tokenHash`, `expiresAt`). */
export interface NewToken {
  token: string;
  tokenHash: string;
  expiresAt: string;
}

/** A new login token with its expiry, not stored yet (a new guest's is stored with its account: Store.createGuest). */
export function newLoginToken(ctx: Pick<HandlerContext, 'now' | 'config'>): NewToken {
  return { ...newToken(), expiresAt: new Date(ctx.now() + ctx.config.tokenTtlDays * 86_400_000).toISOString() };
}

/**
 * The live account a token (by its hash) stands for: TOKEN_INVALID for an unknown or expired
 * token, an ended account, a guest past its time; BANNED for a banned name or account.
 * The WebSocket's `Login {token}` and the HTTP API's bearer tokens both ask here.
 */
export async function accountOfToken(ctx: Pick<HandlerContext, 'store' | 'now'>, tokenHash: string): Promise<Account & { key: string; tokenExpiresAt: string }> {
  // The token, its account and the name's ban in one store call: a reconnect storm makes one per account.
  const found = await ctx.store.tokenLogin(tokenHash);
  if (!found || Date.parse(found.expiresAt) <= ctx.now()) fail('TOKEN_INVALID');
  const { account } = found;
  if (account.key === null) fail('TOKEN_INVALID');
  if (account.passwordHash === null && account.expiresAt !== null && Date.parse(account.expiresAt) <= ctx.now()) {
    fail('TOKEN_INVALID', 'That guest account has ended: its name is free again. Pick a name.');
  }
  // As isBanned: a name ban, or the account's own flag (bans from before name bans).
  if (found.nameBanned || account.banned) fail('BANNED');
  return { ...account, key: account.key, tokenExpiresAt: found.expiresAt };
}
