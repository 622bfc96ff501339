/**
 * Errors a handler raises for the client: a stable code from protocol/codes.ts and an
 * optional detail. Anything else thrown is normalised to INTERNAL (or STORE_UNAVAILABLE
 * for a failed store call) at the boundary and logged with its cause.
 */
import { ERRORS, type ErrorCode } from '../../protocol/codes.js';

export class ChatError extends Error {
  constructor(readonly code: ErrorCode, readonly detail?: string) {
    super(detail ?? ERRORS[code].message);
  }
}

/** A store call failed; the client sees STORE_UNAVAILABLE, the log sees the cause. */
export class StoreFailure extends Error {
  constructor(readonly operation: string, override readonly cause: unknown) {
    super(`store ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Runs a store call, wrapping its failure so the boundary can tell it apart. */
export async function stored<T>(operation: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw new StoreFailure(operation, err);
  }
}

export function fail(code: ErrorCode, detail?: string): never {
  throw new ChatError(code, detail);
}
