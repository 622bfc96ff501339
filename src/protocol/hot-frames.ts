/**
 * Hand-written checks for the client frames a busy server parses most (History, Login,
 * SendMessage, ListConversations, Ping): a reconnecting client sends a Login, a
 * ListConversations and a History per room, and the zod schema's generic walk cost about
 * half of parsing them. Each check accepts exactly what its schema in `schema.ts` accepts and
 * returns the same value (the schema's keys in its order, a present key kept even when
 * undefined, unknown keys dropped, arrays copied); a property test holds them to it. A frame
 * a check refuses goes to the zod schema, which words the error: a check never has to.
 */
import { BOUNDS, hasUnstorable, type ClientMessageOf, type ClientType } from './schema.js';

/** The checked message, or undefined when the schema must decide (and word the error). */
type Check<T extends ClientType> = (obj: Record<string, unknown>) => ClientMessageOf<T> | undefined;

/** Marks a refusal while a check goes on reading (no exceptions on the refused path). */
const BAD: unique symbol = Symbol('bad');
type Bad = typeof BAD;

/** `str(max, min)` of schema.ts: a string of min..max UTF-16 units, no NUL, no lone surrogate. */
function str(v: unknown, max: number, min = 0): v is string {
  return typeof v === 'string' && v.length >= min && v.length <= max && !hasUnstorable(v);
}

/** A finite number (zod's `z.number()` refuses NaN and ±Infinity). */
function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** `z.number().int().min(lo).max(hi)` with safe-integer bounds. */
function int(v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= lo && v <= hi;
}

/** The `ref` every message may carry: a string of at most BOUNDS.ref or a finite number. */
function refOk(v: unknown): boolean {
  return finite(v) || str(v, BOUNDS.ref);
}

const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/**
 * Copies optional key `key` of `obj` into `out` when it is there (as zod does: `key in obj`,
 * so a key present with an undefined value is kept), when `ok` accepts its value; BAD when not.
 */
function optional(obj: Record<string, unknown>, out: Record<string, unknown>, key: string, ok: (v: unknown) => boolean): Bad | void {
  const v = obj[key];
  if (v === undefined) {
    if (key in obj) out[key] = undefined;
    return;
  }
  if (!ok(v)) return BAD;
  out[key] = v;
}

/** `{type, ref}` first, as every schema of `msg()` starts. */
function head(obj: Record<string, unknown>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = { type: obj.type };
  return optional(obj, out, 'ref', refOk) === BAD ? undefined : out;
}

const roomOk = (v: unknown): boolean => str(v, BOUNDS.room);
const nameOk = (v: unknown): boolean => str(v, BOUNDS.name);
const seqOk = (v: unknown): boolean => int(v, 0, MAX_SEQ);
const limitOk = (v: unknown): boolean => int(v, 1, BOUNDS.limit);
const tokenOk = (v: unknown): boolean => str(v, BOUNDS.token);
const passwordOk = (v: unknown): boolean => str(v, BOUNDS.password);
const idOk = (v: unknown): boolean => str(v, BOUNDS.id, 1);
const attachmentsOk = (v: unknown): boolean => Array.isArray(v) && v.length <= BOUNDS.attachments && v.every(idOk);

function history(obj: Record<string, unknown>): ClientMessageOf<'History'> | undefined {
  const out = head(obj);
  if (!out) return undefined;
  if (optional(obj, out, 'room', roomOk) === BAD || optional(obj, out, 'before', seqOk) === BAD
    || optional(obj, out, 'after', seqOk) === BAD || optional(obj, out, 'limit', limitOk) === BAD) return undefined;
  return out as ClientMessageOf<'History'>;
}

function login(obj: Record<string, unknown>): ClientMessageOf<'Login'> | undefined {
  const out = head(obj);
  if (!out) return undefined;
  if (optional(obj, out, 'username', nameOk) === BAD || optional(obj, out, 'password', passwordOk) === BAD
    || optional(obj, out, 'token', tokenOk) === BAD) return undefined;
  return out as ClientMessageOf<'Login'>;
}

function sendMessage(obj: Record<string, unknown>): ClientMessageOf<'SendMessage'> | undefined {
  const out = head(obj);
  if (!out || !str(obj.content, BOUNDS.text)) return undefined;
  out.content = obj.content;
  if (optional(obj, out, 'room', roomOk) === BAD || optional(obj, out, 'nonce', idOk) === BAD
    || optional(obj, out, 'attachments', attachmentsOk) === BAD || optional(obj, out, 'replyTo', idOk) === BAD) return undefined;
  // zod hands back a copy of an array.
  if (Array.isArray(out.attachments)) out.attachments = [...(out.attachments as string[])];
  return out as ClientMessageOf<'SendMessage'>;
}

function bare<T extends 'ListConversations' | 'Ping'>(obj: Record<string, unknown>): ClientMessageOf<T> | undefined {
  return head(obj) as ClientMessageOf<T> | undefined;
}

/** The hand-written checks, by type; other types have only their zod schema. */
export const HOT_CHECKS: { readonly [T in ClientType]?: Check<T> } = {
  History: history,
  Login: login,
  SendMessage: sendMessage,
  ListConversations: bare<'ListConversations'>,
  Ping: bare<'Ping'>,
};
