/**
 * Login tokens: random, given to the client once, stored only as SHA-256 hashes. Every
 * account has them: a registered one from Register and Login, a guest one from SetUsername
 * (JSON mode) or GetToken; a guest's token lasts as long as the guest account.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { HandlerContext } from './context.js';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * A new token for the account. A guest's token works as long as the guest account lasts
 * (`--guest-ttl` after its last connection): ending the account deletes its tokens.
 */
export async function issueToken(ctx: HandlerContext, account: string): Promise<NewToken> {
  const t = newToken(ctx);
  await ctx.store.createToken({ tokenHash: t.tokenHash, account, expiresAt: t.expiresAt });
  return t;
}

/** A token as a client gets it (`token`) and as the store keeps it (`tokenHash`, `expiresAt`). */
export interface NewToken {
  token: string;
  tokenHash: string;
  expiresAt: string;
}

/** A new random token, not stored yet (a new guest's is stored with its account: AccountStore.createGuest). */
export function newToken(ctx: Pick<HandlerContext, 'now' | 'config'>): NewToken {
  const token = randomBytes(32).toString('base64url');
  return { token, tokenHash: hashToken(token), expiresAt: new Date(ctx.now() + ctx.config.tokenTtlDays * 86_400_000).toISOString() };
}
