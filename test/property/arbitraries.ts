/**
 * fast-check arbitraries for client input, and checks that a server answer is well-formed.
 * Shared by the property suites.
 */
import fc from 'fast-check';
import { ERRORS } from '../../src/protocol/codes.js';
import type { ServerType } from '../../src/protocol/messages.js';
import { CLIENT_TYPES } from '../../src/protocol/schema.js';

/** Every server message type; `satisfies` keeps this list in step with the union. */
const SERVER_TYPE_TABLE = {
  Welcome: true, Message: true, PrivateMessage: true, SystemMessage: true, UserJoined: true, UserLeft: true,
  RoomList: true, UserList: true, History: true, PrivateHistory: true, SearchResults: true, Typing: true,
  MessageEdited: true, MessageDeleted: true, Reaction: true, ReadReceipt: true, Topic: true, LoggedIn: true,
  Conversations: true, ConversationAdded: true, ConversationRemoved: true, RoomCreated: true, Members: true,
  Bots: true, Webhooks: true, Ack: true, Error: true,
} as const satisfies Record<ServerType, true>;

export const SERVER_TYPES = new Set<string>(Object.keys(SERVER_TYPE_TABLE));

export function isErrorCode(code: unknown): boolean {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, code);
}

/** Throws unless `frame` is one JSON object with a known server type (and, for Error, a known code). */
export function assertValidJsonFrame(frame: string): void {
  const v = JSON.parse(frame) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`not an object: ${frame.slice(0, 200)}`);
  const m = v as Record<string, unknown>;
  if (typeof m.type !== 'string' || !SERVER_TYPES.has(m.type)) throw new Error(`unknown server type: ${frame.slice(0, 200)}`);
  if (m.type === 'Error') {
    if (!isErrorCode(m.code)) throw new Error(`unknown error code: ${frame.slice(0, 200)}`);
    if (typeof m.message !== 'string' || m.message.length === 0) throw new Error(`Error without a message: ${frame}`);
    if (typeof m.retryable !== 'boolean') throw new Error(`Error without retryable: ${frame}`);
    if (m.code === 'INTERNAL') throw new Error(`random input caused INTERNAL: ${frame}`);
  }
}

const word = fc.constantFrom('general', 'random', 'tech', 'alice', 'Alice', 'bob', 'room-1', '', ' ', 'x'.repeat(40), 'ålice', 'аlice', '../x', 'a\u0000b');
const anyString = fc.oneof(word, fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 10 }));
const fieldValue = fc.oneof(anyString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));

/** Objects shaped like client messages: a real type (usually) with plausible and implausible fields. */
export const clientLikeObject = fc.record({
  type: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...CLIENT_TYPES) }, { weight: 1, arbitrary: anyString }),
  ref: fc.option(fc.oneof(fc.string({ maxLength: 70 }), fc.integer()), { nil: undefined }),
  username: fc.option(fieldValue, { nil: undefined }),
  room: fc.option(fieldValue, { nil: undefined }),
  content: fc.option(fieldValue, { nil: undefined }),
  to: fc.option(fieldValue, { nil: undefined }),
  id: fc.option(fieldValue, { nil: undefined }),
  password: fc.option(fieldValue, { nil: undefined }),
  token: fc.option(fieldValue, { nil: undefined }),
  limit: fc.option(fc.oneof(fc.integer(), fc.double()), { nil: undefined }),
  after: fc.option(fc.oneof(fc.integer(), fc.double()), { nil: undefined }),
  before: fc.option(fc.oneof(fc.integer(), fc.double()), { nil: undefined }),
  active: fc.option(fieldValue, { nil: undefined }),
  emoji: fc.option(fieldValue, { nil: undefined }),
  query: fc.option(fieldValue, { nil: undefined }),
  topic: fc.option(fieldValue, { nil: undefined }),
  seq: fc.option(fc.oneof(fc.integer(), fc.double()), { nil: undefined }),
}, { requiredKeys: ['type'] });

/** Any JSON value, client-like objects more often. */
export const jsonValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), clientLikeObject, clientLikeObject);

/** Text a client might send as one frame: JSON text, lines, commands, garbage. */
export const frameText = fc.oneof(
  jsonValue.map((v) => JSON.stringify(v) ?? 'null'),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.tuple(fc.constantFrom('/', '//', '/join ', '/pm ', '/name ', '/nick ', '/leave ', '/history ', '/topic ', '/register ', '/login ', '/logout', '/kick ', '/ban ', '/unban ', '/users ', '/search ', '/switch ', '{'), anyString)
    .map(([a, b]) => a + b),
);

/** A text-mode line: commands and chat. */
export const textLine = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.tuple(fc.constantFrom('/', '//', '/help', '/quit', '/join ', '/pm ', '/msg ', '/history ', '/topic ', '/login ', '/kick ', '/ban x ', '/unban', '/users', '/who ', '/unknown'), anyString, fc.constantFrom('', '\r\n', '\n', ' '))
    .map(([a, b, c]) => a + b + c),
);
