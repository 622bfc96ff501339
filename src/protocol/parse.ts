/**
 * Turns an untrusted JSON frame into a typed client message or a clear error.
 * Nothing here throws: every input yields a `Parsed` value.
 */
import type { ErrorCode } from './codes.js';
import type { Ref } from './messages.js';
import { HOT_CHECKS } from './hot-frames.js';
import { clientSchemas, isClientType, type ClientMessage } from './schema.js';

export type Parsed =
  | { ok: true; msg: ClientMessage }
  | { ok: false; code: ErrorCode; detail: string; ref?: Ref };

function refOf(value: Record<string, unknown>): Ref | undefined {
  const r = value.ref;
  if (typeof r === 'string' && r.length <= 64) return r;
  if (typeof r === 'number' && Number.isFinite(r)) return r;
  return undefined;
}

/** Parses a decoded JSON value (already known to be an object or not). */
export function parseClientValue(value: unknown): Parsed {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'BAD_MESSAGE', detail: 'A frame must be a JSON object with a string "type".' };
  }
  const obj = value as Record<string, unknown>;
  const ref = refOf(obj);
  if (typeof obj.type !== 'string') {
    return { ok: false, code: 'BAD_MESSAGE', detail: 'A frame must have a string "type".', ref };
  }
  if (!isClientType(obj.type)) {
    return { ok: false, code: 'UNKNOWN_TYPE', detail: `Unknown message type "${obj.type.slice(0, 64)}".`, ref };
  }
  // The most frequent types first by hand (hot-frames.ts): what it refuses, zod decides and words.
  const hot = HOT_CHECKS[obj.type]?.(obj);
  if (hot !== undefined) return { ok: true, msg: hot as ClientMessage };
  const result = clientSchemas[obj.type].safeParse(obj);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? `"${issue.path.join('.')}"` : 'the message';
    return { ok: false, code: 'BAD_MESSAGE', detail: `${obj.type}: ${where}: ${issue?.message ?? 'invalid'}.`, ref };
  }
  return { ok: true, msg: result.data as ClientMessage };
}

/** Parses one JSON-mode text frame. */
export function parseClientFrame(frame: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return { ok: false, code: 'BAD_JSON', detail: 'That frame is not valid JSON.' };
  }
  return parseClientValue(value);
}

/**
 * In text mode, a frame that is a JSON object with a string `type` switches the
 * connection to JSON mode. Returns the decoded object when it is one, else undefined.
 */
export function asJsonSwitch(line: string): Record<string, unknown> | undefined {
  const t = line.trimStart();
  if (t[0] !== '{') return undefined;
  try {
    const v: unknown = JSON.parse(line);
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { type?: unknown }).type === 'string') {
      return v as Record<string, unknown>;
    }
  } catch {
    // Not JSON: an ordinary line that happens to start with "{".
  }
  return undefined;
}
