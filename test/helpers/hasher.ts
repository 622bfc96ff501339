import type { PasswordHasher } from '../../src/server/domain/deps.js';

/** A fast hasher for tests that do not test hashing itself (real Argon2id costs ~50 ms). */
export const fastHasher: PasswordHasher = {
  async hash(password) {
    return `plain$${password}`;
  },
  async verify(hash, password) {
    return hash === `plain$${password}`;
  },
};
