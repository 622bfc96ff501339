/** Argon2id password hashing behind the PasswordHasher port. */
import { hash, verify } from '@node-rs/argon2';
import type { PasswordHasher } from './domain/deps.js';

/** Algorithm.Argon2id (a const enum in the typings, so its value is spelled out). */
const ARGON2ID = 2;

/** OWASP's minimum Argon2id settings: 19 MiB, 2 passes, 1 lane. */
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const argon2Hasher: PasswordHasher = {
  hash: (password) => hash(password, OPTIONS),
  async verify(hashed, password) {
    try {
      return await verify(hashed, password);
    } catch {
      return false;
    }
  },
};
