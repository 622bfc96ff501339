/**
 * zod schemas for every client-to-server JSON message. Field bounds here are the outer
 * wall (no string can be unbounded); the server applies its configured, tighter limits
 * (content length, history limit) in the domain so that it can answer with precise codes.
 */
import { z } from 'zod';

const ref = z.union([z.string().max(64), z.number().finite()]).optional();
const name = z.string().max(256);
const room = z.string().max(256);
const text = z.string().max(1_000_000);
const id = z.string().min(1).max(128);
const nonce = z.string().min(1).max(128).optional();
/** File ids from `POST /api/files`, at most 10 per message. */
const attachments = z.array(id).max(10).optional();
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const limit = z.number().int().min(1).max(100_000).optional();

function msg<T extends string, S extends z.ZodRawShape>(type: T, shape: S) {
  return z.object({ type: z.literal(type), ref, ...shape });
}

export const clientSchemas = {
  SetUsername: msg('SetUsername', { username: name }),
  JoinRoom: msg('JoinRoom', { room }),
  LeaveRoom: msg('LeaveRoom', { room: room.optional() }),
  SendMessage: msg('SendMessage', { content: text, room: room.optional(), nonce, attachments, replyTo: id.optional() }),
  PrivateMessage: msg('PrivateMessage', { to: name, content: text, nonce, attachments }),
  ListRooms: msg('ListRooms', { after: room.optional(), limit }),
  ListUsers: msg('ListUsers', { room: room.optional() }),
  History: msg('History', { room: room.optional(), before: seq.optional(), after: seq.optional(), limit }),
  PrivateHistory: msg('PrivateHistory', { with: name, before: z.string().max(64).optional(), limit }),
  Typing: msg('Typing', { room: room.optional(), active: z.boolean() }),
  EditMessage: msg('EditMessage', { id, content: text }),
  DeleteMessage: msg('DeleteMessage', { id }),
  React: msg('React', { id, emoji: z.string().min(1).max(64) }),
  MarkRead: msg('MarkRead', { room, seq }),
  Register: msg('Register', { username: name, password: z.string().max(1024) }),
  Login: msg('Login', { username: name.optional(), password: z.string().max(1024).optional(), token: z.string().max(512).optional() }),
  Logout: msg('Logout', {}),
  Search: msg('Search', { query: z.string().min(1).max(256), room: room.optional(), before: seq.optional(), limit }),
  SetTopic: msg('SetTopic', { room: room.optional(), topic: z.string().max(4096) }),
  Kick: msg('Kick', { username: name, reason: z.string().max(512).optional() }),
  Ban: msg('Ban', { username: name, reason: z.string().max(512).optional() }),
  Unban: msg('Unban', { username: name }),
  Ping: msg('Ping', {}),
} as const;

export type ClientType = keyof typeof clientSchemas;
export type ClientMessageOf<T extends ClientType> = z.infer<(typeof clientSchemas)[T]>;
export type ClientMessage = { [T in ClientType]: ClientMessageOf<T> }[ClientType];

export const CLIENT_TYPES = Object.keys(clientSchemas) as ClientType[];

export function isClientType(t: unknown): t is ClientType {
  return typeof t === 'string' && Object.prototype.hasOwnProperty.call(clientSchemas, t);
}
