/**
 * The checks handlers share: who the session is, which room a request names, what it may
 * do there, and what a message may hold. Each throws a ChatError with a stable code.
 */
import { cleanContent, isBlank, normaliseName, normaliseRoom } from '../../protocol/names.js';
import type { RoomRecord } from '../ports.js';
import type { HandlerContext } from './context.js';
import { fail } from './errors.js';
import type { Session } from './session.js';

export function requireNamed(s: Session): { username: string; key: string } {
  if (!s.username || !s.key) fail('NOT_NAMED');
  return { username: s.username, key: s.key };
}

export function roomName(raw: string): string {
  return normaliseRoom(raw) ?? fail('INVALID_ROOM', `"${raw.slice(0, 40)}" is not a valid room name. Room names are 1 to 32 letters, digits, "_", "-" or ".".`);
}

/**
 * Whether the session owns the room: an account that created it, from any connection; a
 * guest only on the connection that created it (a departed guest's name can be taken).
 */
export function ownsRoom(s: Session, record: RoomRecord | null): boolean {
  return record !== null && record.owner !== null && record.owner === s.key && (s.account === s.key || s.createdRoom(record.name));
}

/** The owner of a name claim: the account for logged-in users, the connection for guests. */
export function claimOwner(s: Session): string {
  return s.account ? `account:${s.account}` : `guest:${s.id}`;
}

/**
 * Cleans and bounds message content; throws EMPTY_CONTENT (nothing visible: only
 * whitespace and invisible characters such as U+3164 or U+2800) or CONTENT_TOO_LONG.
 */
export function checkContent(ctx: HandlerContext, raw: string): string {
  const content = cleanContent(raw).replace(/\s+$/, '');
  if (isBlank(content)) fail('EMPTY_CONTENT');
  const max = ctx.config.maxContentLength;
  if (content.length > max) fail('CONTENT_TOO_LONG', `Messages are at most ${max} characters; that one has ${content.length}.`);
  return content;
}

/** An optional one-line text (a kick reason): cleaned, on one line; EMPTY_CONTENT when it shows nothing. */
export function checkLine(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  const line = cleanContent(raw).replace(/\s+/g, ' ').trim();
  if (isBlank(line)) fail('EMPTY_CONTENT');
  return line;
}

export function memberRoom(s: Session, raw: string | undefined): string {
  const room = raw === undefined ? (s.current ?? fail('NOT_IN_ROOM', 'You are not in a room. Join one first.')) : roomName(raw);
  if (!s.rooms.has(room)) fail('NOT_IN_ROOM', `You are not in ${room}. Join it first.`);
  return room;
}

export function validName(raw: string): string {
  return normaliseName(raw) ?? fail('INVALID_NAME');
}

export function requireAdmin(s: Session): void {
  requireNamed(s);
  if (!s.admin) fail('FORBIDDEN', 'Only administrators can do that.');
}
