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
export async function issueToken(ctx: HandlerContext, account: string): Promise<{ token: string; tokenHash: string; expiresAt: string }> {
  const token = randomBytes(32).toString('base64url');
  const tokenHash = hashToken(token);
  const expiresAt = new Date(ctx.now() + ctx.config.tokenTtlDays * 86_400_000).toISOString();
  await ctx.store.createToken({ tokenHash, account, expiresAt });
  return { token, tokenHash, expiresAt };
}
