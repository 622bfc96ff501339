/**
 * The one table of error codes and close codes. Both wire modes use it: JSON mode sends
 * `Error {code, message, retryable}`, text mode sends `Error: message` lines.
 * `docs/protocol.md` lists every code; a test keeps the two in step.
 */

export const ERRORS = {
  BAD_JSON: { message: 'That frame is not valid JSON.', retryable: false },
  BAD_MESSAGE: { message: 'That message is missing a field or has a field of the wrong type.', retryable: false },
  UNKNOWN_TYPE: { message: 'Unknown message type.', retryable: false },
  UNKNOWN_COMMAND: { message: 'Unknown command. Type /help for the list of commands.', retryable: false },
  MISSING_ARGUMENT: { message: 'That command needs an argument. Type /help for usage.', retryable: false },
  CONTENT_TOO_LONG: { message: 'That message is too long.', retryable: false },
  EMPTY_CONTENT: { message: 'That message is empty.', retryable: false },
  INVALID_NAME: { message: 'Names are 1 to 32 letters, digits, "_", "-" or ".".', retryable: false },
  INVALID_ROOM: { message: 'Room names are 1 to 32 letters, digits, "_", "-" or ".".', retryable: false },
  NAME_TAKEN: { message: 'That name is in use. Pick another one.', retryable: false },
  NAME_RESERVED: { message: 'That name belongs to a registered account. Log in to use it.', retryable: false },
  NOT_NAMED: { message: 'Set a name first: /name NAME (or SetUsername).', retryable: false },
  NOT_IN_ROOM: { message: 'You are not in that room. Join it first.', retryable: false },
  NO_SUCH_ROOM: { message: 'There is no such room.', retryable: false },
  NO_SUCH_USER: { message: 'There is no account with that name.', retryable: false },
  NOT_A_MEMBER: { message: 'That account is not a member of that conversation.', retryable: false },
  ROOM_EXISTS: { message: 'That room exists already. Join it, or pick another name.', retryable: false },
  TOO_MANY_MEMBERS: { message: 'A direct conversation holds at most 10 accounts.', retryable: false },
  NO_SUCH_MESSAGE: { message: 'There is no such message.', retryable: false },
  NO_SUCH_FILE: { message: 'There is no such file, or it is not yours to attach. Upload it first.', retryable: false },
  FILE_TOO_LARGE: { message: 'That file is too large.', retryable: false },
  QUOTA_EXCEEDED: { message: 'Your uploads use all of your storage quota. Delete messages with files first.', retryable: false },
  BAD_UPLOAD: { message: 'An upload is a multipart/form-data body with the file in the field "file".', retryable: false },
  FORBIDDEN: { message: 'You are not allowed to do that.', retryable: false },
  TOO_MANY_ROOMS: { message: 'You are in too many rooms. Leave one first.', retryable: false },
  TOO_MANY_REACTIONS: { message: 'That message has as many reactions as it can take.', retryable: false },
  RATE_LIMITED: { message: 'Slow down: too many messages.', retryable: true },
  AUTH_FAILED: { message: 'Wrong name or password.', retryable: false },
  AUTH_RATE_LIMITED: { message: 'Too many login attempts. Try again later.', retryable: true },
  TOKEN_INVALID: { message: 'That token is invalid or has expired. Log in with your password.', retryable: false },
  WEAK_PASSWORD: { message: 'Passwords are 8 to 256 characters.', retryable: false },
  BANNED: { message: 'This account is banned.', retryable: false },
  ALREADY_REGISTERED: { message: 'That name is already registered.', retryable: false },
  NOT_LOGGED_IN: { message: 'Log in first.', retryable: false },
  SEARCH_TIMEOUT: { message: 'That search took too long. Use more or rarer words, or search one room.', retryable: false },
  SEARCH_BUSY: { message: 'Another search of yours is still running. Wait for its answer.', retryable: true },
  BAD_PUSH_SUBSCRIPTION: { message: 'That push subscription cannot be used.', retryable: false },
  TOO_MANY_SUBSCRIPTIONS: { message: 'This account holds as many push subscriptions as it can. Remove one first.', retryable: false },
  NO_SUCH_ENDPOINT: { message: 'There is no such API endpoint. See docs/api.md.', retryable: false },
  METHOD_NOT_ALLOWED: { message: 'That endpoint does not take this HTTP method.', retryable: false },
  BODY_TOO_LARGE: { message: 'That request body is too large.', retryable: false },
  NO_SUCH_WEBHOOK: { message: 'There is no such webhook (it may have been revoked).', retryable: false },
  BAD_WEBHOOK_URL: { message: 'That webhook URL cannot be used.', retryable: false },
  TOO_MANY_WEBHOOKS: { message: 'That room has as many webhooks as it can. Revoke one first.', retryable: false },
  STORE_UNAVAILABLE: { message: 'The message store is unavailable. Try again.', retryable: true },
  INTERNAL: { message: 'Something went wrong on the server.', retryable: true },
} as const satisfies Record<string, { message: string; retryable: boolean }>;

export type ErrorCode = keyof typeof ERRORS;

/** RFC 6455 and Parley close codes. Codes 1012/1013 and 4xxx say when a client should retry. */
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  /** Kicked by a moderator; may reconnect. */
  KICKED: 4001,
  /** Banned: do not reconnect. */
  BANNED: 4003,
  /** Logged out or replaced. */
  LOGGED_OUT: 4004,
} as const;

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];

/** Whether a client that saw this close code should reconnect on its own. */
export function shouldReconnect(code: number): boolean {
  return !(code === CLOSE.NORMAL || code === CLOSE.BANNED || code === CLOSE.LOGGED_OUT ||
    code === CLOSE.PROTOCOL_ERROR || code === CLOSE.INVALID_PAYLOAD || code === CLOSE.MESSAGE_TOO_BIG);
}

/** Parses a `retry-after=N` hint (seconds) out of a close reason, if present. */
export function retryAfterSeconds(reason: string): number | undefined {
  const m = /retry-after=(\d+)/.exec(reason);
  return m ? Number(m[1]) : undefined;
}
