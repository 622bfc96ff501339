/**
 * The checks handlers share: who the session is, which room a request names, what it may
 * do there, and what a message may hold. Each throws a ChatError with a stable code.
 */
import { cleanContent, isBlank, normaliseName, normaliseRoom } from '../../protocol/names.js';
import type { HandlerContext } from './context.js';
import { fail } from './errors.js';
import type { Session } from './session.js';

/** The session's name and account; NOT_NAMED before it has one. */
export function requireNamed(s: Session): { username: string; key: string; account: string } {
  if (!s.username || !s.key || !s.account) fail('NOT_NAMED');
  return { username: s.username, key: s.key, account: s.account };
}

export function roomName(raw: string): string {
  return normaliseRoom(raw) ?? fail('INVALID_ROOM', `"${raw.slice(0, 40)}" is not a valid room name. Room names are 1 to 32 letters, digits, "_", "-" or ".".`);
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
