/**
 * The HTTP API on the chat port (docs/api.md): `GET /api/rooms`, `GET /api/conversations`,
 * `GET` and `POST /api/rooms/{room}/messages`, with `Authorization: Bearer TOKEN` (a login
 * token or a bot's token). Each request becomes one client message, checked by the same
 * zod schema as a WebSocket frame and run by `Chat.request` through the same handlers, so
 * the rules, limits and error codes are the WebSocket's; this file only turns HTTP into a
 * message and the answer into a status and a JSON body.
 *
 * Bodies are JSON only (`Content-Type: application/json`), read up to `--max-payload` bytes
 * and for at most BODY_MS. Errors are `{code, message}` (the protocol's codes) with a status
 * per code (STATUS). Authentication is the bearer token alone: no cookie is read, so a page
 * of another origin cannot act for a signed-in user. CORS is closed unless `--api-origins`
 * lists the page's origin (or `*`): then answers carry `Access-Control-Allow-Origin` and a
 * preflight (`OPTIONS`) is answered; never with credentials, which bearer tokens do not need.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERRORS, type ErrorCode } from '../../protocol/codes.js';
import type { ServerMessage, ServerMessageOf } from '../../protocol/messages.js';
import { normaliseRoom } from '../../protocol/names.js';
import { parseClientValue } from '../../protocol/parse.js';
import type { ClientMessage } from '../../protocol/schema.js';
import type { Config } from '../config.js';
import { AttemptLimiter } from '../domain/attempt-limiter.js';
import type { Logger } from '../domain/deps.js';
import { ChatError } from '../domain/errors.js';
import type { RequestAnswer } from '../domain/request.js';
import type { Account } from '../ports.js';
import { addressKey } from './address-key.js';
import { httpStatusOf, retryHeaders } from './http-status.js';
import type { ClientAddressResolver } from './trust-proxy.js';

/** How long a request body may take to arrive. */
const BODY_MS = 10_000;
/** Requests with a wrong token one address may make a minute before it is turned away. */
const BAD_TOKENS_PER_MINUTE = 30;

/** The part of the chat the API calls. */
export interface ApiChat {
  authenticate(token: string): Promise<Account>;
  request(account: Account, msg: ClientMessage, options?: { address?: string }): Promise<RequestAnswer>;
}

export interface HttpApiDeps {
  chat: ApiChat;
  config: Pick<Config, 'maxPayload' | 'apiOrigins'>;
  resolver: ClientAddressResolver;
  log: Logger;
  now?: () => number;
}

/** A refusal before the request reached the chat: its status, code and message, and headers. */
class ApiError extends Error {
  constructor(readonly status: number, readonly code: ErrorCode, message?: string, readonly headers: Record<string, string> = {}) {
    super(message ?? ERRORS[code].message);
  }
}

/** One endpoint: the methods it takes, and the client message a request makes. */
interface Route {
  methods: readonly string[];
  /** The message for the request; `body` is the parsed JSON body (POST only). */
  message(method: string, query: URLSearchParams, body: Record<string, unknown> | null): Record<string, unknown>;
  /** The body of a successful answer, and its status. */
  answer(reply: ServerMessage): { status: number; body: unknown };
}

/** See the file comment; `handle` is the server's route hook. */
export class HttpApi {
  readonly #d: HttpApiDeps;
  readonly #now: () => number;
  readonly #badTokens = new AttemptLimiter(BAD_TOKENS_PER_MINUTE);
  readonly #origins: ReadonlySet<string>;

  constructor(deps: HttpApiDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#origins = new Set(deps.config.apiOrigins.map((o) => o.replace(/\/+$/, '').toLowerCase()));
  }

  /** Answers the API's paths (true); anything else is left to the other routes (false). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const raw = req.url ?? '/';
    if (!raw.startsWith('/api/rooms') && !raw.startsWith('/api/conversations')) return false;
    const url = new URL(raw, 'http://localhost');
    let route: Route | null;
    try {
      route = routeOf(url.pathname);
    } catch (error) {
      this.#fail(req, res, error);
      return true;
    }
    if (route === null) return false;
    this.#cors(req, res, route);
    if (req.method === 'OPTIONS' && res.hasHeader('Access-Control-Allow-Origin')) {
      res.writeHead(204).end();
      return true;
    }
    void this.#serve(req, res, route, url.searchParams).catch((error: unknown) => this.#fail(req, res, error));
    return true;
  }

  /** The CORS headers for a page of an origin listed in `--api-origins` (none for the others: the browser keeps the answer from the page). */
  #cors(req: IncomingMessage, res: ServerResponse, route: Route): void {
    const origin = req.headers.origin;
    if (origin === undefined || this.#origins.size === 0) return;
    const any = this.#origins.has('*');
    if (!any && !this.#origins.has(origin.toLowerCase())) return;
    res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', 'Retry-After, WWW-Authenticate');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', route.methods.join(', '));
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
      res.setHeader('Access-Control-Max-Age', '600');
    }
  }

  async #serve(req: IncomingMessage, res: ServerResponse, route: Route, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    if (!route.methods.includes(method)) {
      throw new ApiError(405, 'METHOD_NOT_ALLOWED', `Use ${route.methods.join(' or ')} here.`, { Allow: route.methods.join(', ') });
    }
    const address = addressKey(this.#d.resolver.clientAddress(req));
    const account = await this.#authenticate(req, address);
    const body = method === 'POST' ? await readJson(req, this.#d.config.maxPayload) : null;
    const parsed = parseClientValue(route.message(method, query, body));
    if (!parsed.ok) throw new ApiError(400, parsed.code, parsed.detail);
    const { reply, retryAfterSeconds } = await this.#d.chat.request(account, parsed.msg, { address });
    if (reply.type === 'Error') throw errorOf(reply, parsed.msg, retryAfterSeconds);
    const { status, body: answer } = route.answer(reply);
    send(res, status, answer);
  }

  /** The account of the request's bearer token; 401 without a valid one, 429 for an address that keeps trying wrong ones. */
  async #authenticate(req: IncomingMessage, address: string): Promise<Account> {
    const m = /^Bearer\s+(\S{1,512})\s*$/i.exec(req.headers.authorization ?? '');
    const challenge = { 'WWW-Authenticate': 'Bearer realm="parley"' };
    if (!m) throw new ApiError(401, 'NOT_LOGGED_IN', 'Send Authorization: Bearer TOKEN (a login token or a bot token).', challenge);
    const now = this.#now();
    if (!this.#badTokens.permits(address, now)) throw new ApiError(429, 'AUTH_RATE_LIMITED', undefined, { 'Retry-After': '60' });
    try {
      return await this.#d.chat.authenticate(m[1]!);
    } catch (error) {
      if (!(error instanceof ChatError)) throw error;
      if (error.code === 'TOKEN_INVALID') this.#badTokens.note(address, now);
      throw new ApiError(httpStatusOf(error.code), error.code, error.message, error.code === 'TOKEN_INVALID' ? challenge : {});
    }
  }

  /** Answers a failed request; one refused before its body was read closes the connection rather than read the rest. */
  #fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    let e: ApiError;
    if (error instanceof ApiError) e = error;
    else {
      this.#d.log.error({ err: error, url: req.url }, 'HTTP API request failed');
      e = new ApiError(500, 'INTERNAL');
    }
    const unread = !req.complete;
    send(res, e.status, { code: e.code, message: e.message }, unread ? { ...e.headers, Connection: 'close' } : e.headers);
    if (unread) {
      req.resume();
      setTimeout(() => req.socket.destroy(), 5_000).unref();
    }
  }
}

/** The route of a path under /api/rooms or /api/conversations; null for a path of neither. */
function routeOf(path: string): Route | null {
  if (path === '/api/rooms' || path === '/api/rooms/') return ROOMS;
  if (path === '/api/conversations' || path === '/api/conversations/') return CONVERSATIONS;
  const m = /^\/api\/rooms\/([^/]+)(\/.*)?$/.exec(path);
  if (!m) return null;
  const room = decodeRoom(m[1]!);
  if (m[2] === '/messages' || m[2] === '/messages/') return messagesOf(room);
  throw new ApiError(404, 'NO_SUCH_ENDPOINT', `There is no endpoint ${path.slice(0, 120)}. See docs/api.md.`);
}

function decodeRoom(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError(400, 'INVALID_ROOM');
  }
}

const ROOMS: Route = {
  methods: ['GET'],
  message: (_method, query) => ({ type: 'ListRooms', ...optional('after', query.get('after')), ...numbers(query, ['limit']) }),
  answer: (reply) => {
    const r = reply as ServerMessageOf<'RoomList'>;
    return { status: 200, body: { rooms: r.rooms, hasMore: r.hasMore, ...(r.next !== undefined ? { next: r.next } : {}) } };
  },
};

const CONVERSATIONS: Route = {
  methods: ['GET'],
  message: () => ({ type: 'ListConversations' }),
  answer: (reply) => ({ status: 200, body: { conversations: (reply as ServerMessageOf<'Conversations'>).conversations } }),
};

/** `GET` (History) and `POST` (SendMessage) on one room's messages. */
function messagesOf(room: string): Route {
  return {
    methods: ['GET', 'POST'],
    message: (method, query, body) => method === 'POST'
      ? { type: 'SendMessage', room, ...pick(body!, ['content', 'nonce', 'replyTo', 'attachments']) }
      : { type: 'History', room, ...numbers(query, ['after', 'before', 'limit']) },
    answer: (reply) => {
      if (reply.type !== 'History') return { status: 201, body: reply };
      const { messages, hasMore, firstSeq, incomplete } = reply;
      return { status: 200, body: { messages, hasMore, ...(firstSeq !== undefined ? { firstSeq } : {}), ...(incomplete ? { incomplete } : {}) } };
    },
  };
}

function optional(key: string, value: string | null): Record<string, string> {
  return value === null ? {} : { [key]: value };
}

/** Whole-number query parameters (400 for anything else: the schema bounds them further). */
function numbers(query: URLSearchParams, keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of keys) {
    const value = query.get(key);
    if (value === null) continue;
    if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) throw new ApiError(400, 'BAD_MESSAGE', `"${key}" must be a whole number.`);
    out[key] = Number(value);
  }
  return out;
}

/** The given fields of a body (others are ignored, as unknown fields of a frame are). */
function pick(body: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (Object.prototype.hasOwnProperty.call(body, key)) out[key] = body[key];
  return out;
}

/** An Error answer as an HTTP error: a room one cannot post to is, for the API, a room that does not exist. */
function errorOf(reply: ServerMessageOf<'Error'>, msg: ClientMessage, retryAfterSeconds: number | undefined): ApiError {
  if (reply.code === 'NOT_IN_ROOM' && msg.type === 'SendMessage') {
    const room = normaliseRoom(msg.room ?? '') ?? msg.room;
    return new ApiError(404, 'NO_SUCH_ROOM', `There is no room "${room}".`);
  }
  const status = httpStatusOf(reply.code);
  return new ApiError(status, reply.code, reply.message, retryHeaders(status, retryAfterSeconds ?? (reply.code === 'AUTH_RATE_LIMITED' ? 60 : 1)));
}

/** The JSON body of a POST: `Content-Type: application/json`, at most `limit` bytes, within BODY_MS. */
function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return Promise.reject(new ApiError(415, 'BAD_JSON', 'Send a JSON body with Content-Type: application/json.'));
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) return Promise.reject(new ApiError(413, 'BODY_TOO_LARGE', `Request bodies are at most ${limit} bytes.`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => done(new ApiError(408, 'BAD_MESSAGE', 'The request body did not arrive in time.')), BODY_MS);
    function done(error: ApiError | null): void {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (error) return reject(error);
      let value: unknown;
      try {
        value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reject(new ApiError(400, 'BAD_JSON', 'That body is not valid JSON.'));
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return reject(new ApiError(400, 'BAD_MESSAGE', 'The body must be a JSON object.'));
      resolve(value as Record<string, unknown>);
    }
    function onData(chunk: Buffer): void {
      size += chunk.length;
      if (size > limit) return done(new ApiError(413, 'BODY_TOO_LARGE', `Request bodies are at most ${limit} bytes.`));
      chunks.push(chunk);
    }
    function onEnd(): void {
      done(null);
    }
    function onError(): void {
      done(new ApiError(400, 'BAD_MESSAGE', 'The request body was cut off.'));
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(text)), ...headers,
  });
  res.end(text);
}
