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

/**
 * A store call failed; the client sees STORE_UNAVAILABLE, the log sees the cause. Every
 * call through the domain's store (store-port.ts) fails this way, naming the method.
 */
export class StoreFailure extends Error {
  override readonly cause: unknown;

  constructor(readonly operation: string, cause: unknown) {
    // Wrapped once: a failure passed on again keeps the first operation's cause.
    const root = cause instanceof StoreFailure ? cause.cause : cause;
    super(`store ${operation} failed: ${root instanceof Error ? root.message : String(root)}`);
    this.cause = root;
  }
}

export function fail(code: ErrorCode, detail?: string): never {
  throw new ChatError(code, detail);
}
