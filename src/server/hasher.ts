/** Argon2id password hashing behind the PasswordHasher port. */
import type { PasswordHasher } from './domain/deps.js';

/** The native module loads with the first password, not when the server starts. */
const argon2 = (): Promise<typeof import('@node-rs/argon2')> => import('@node-rs/argon2');

/** Algorithm.Argon2id (a const enum in the typings, so its value is spelled out). */
const ARGON2ID = 2;

/** OWASP's minimum Argon2id settings: 19 MiB, 2 passes, 1 lane. */
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const argon2Hasher: PasswordHasher = {
  hash: async (password) => (await argon2()).hash(password, OPTIONS),
  async verify(hashed, password) {
    const { verify } = await argon2();
    try {
      return await verify(hashed, password);
    } catch {
      return false;
    }
  },
};
