/**
 * The HTTP status of each error code an answer over HTTP may carry (the API, incoming
 * webhooks): one table, so the same refusal reads the same on every route. Codes not listed
 * are bad input: 400.
 */
import type { ErrorCode } from '../../protocol/codes.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  NOT_LOGGED_IN: 401, TOKEN_INVALID: 401,
  FORBIDDEN: 403, BANNED: 403, NOT_IN_ROOM: 403,
  NO_SUCH_ROOM: 404, NO_SUCH_ENDPOINT: 404, NO_SUCH_WEBHOOK: 404,
  METHOD_NOT_ALLOWED: 405,
  CONTENT_TOO_LONG: 413, BODY_TOO_LARGE: 413,
  RATE_LIMITED: 429, AUTH_RATE_LIMITED: 429,
  INTERNAL: 500,
  STORE_UNAVAILABLE: 503, SEARCH_TIMEOUT: 503,
};

export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code] ?? 400;
}

/** `Retry-After` for a 429 (seconds; at least 1), nothing for other statuses. */
export function retryHeaders(status: number, retryAfterSeconds: number | undefined): Record<string, string> {
  return status === 429 ? { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds ?? 1))) } : {};
}
