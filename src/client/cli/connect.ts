/**
 * The terminal client's edge with the outside world: the server URL, the `ws` socket, the
 * token file, and turning what went wrong into one line for stderr.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { ClientError, type ParleyClient, type SocketFactory, type SocketLike } from '../core/client.js';
import type { ServerMessage } from '../../protocol/messages.js';

export const DEFAULT_URL = 'ws://localhost:8080';

/** A failure the command reports as one line on stderr before exiting with `exitCode`. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/**
 * The WebSocket URL to connect to. `ws://` and `wss://` are taken as they are, `http(s)://`
 * is mapped to `ws(s)://`, and a bare `host:port` gets `ws://`.
 */
export function normaliseUrl(raw: string | undefined): string {
  let text = (raw ?? DEFAULT_URL).trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `ws://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`bad URL "${raw}": expected ws://HOST[:PORT] or wss://HOST[:PORT]`, 2);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if ((url.protocol !== 'ws:' && url.protocol !== 'wss:') || url.hostname === '') {
    throw new CliError(`bad URL "${raw}": expected ws://HOST[:PORT] or wss://HOST[:PORT]`, 2);
  }
  return url.href.replace(/\/$/, '');
}

/** A generated guest name for script modes: `tail-1a2b`, `send-9f0c`. */
export function guestName(prefix: string): string {
  return `${prefix}-${randomBytes(2).toString('hex')}`;
}

/** How often the client pings the server; a ping without a pong by the next one drops the socket. */
const PING_INTERVAL_MS = 30_000;

/**
 * A `ws` socket factory that remembers the last transport error (the close event has
 * none) and pings the server, so that a connection that died silently (a laptop that
 * slept, a network that vanished) is dropped and the core reconnects.
 */
export interface WsSockets {
  create: SocketFactory;
  /** The last transport error of the current attempt (refused, not found…), if any. */
  lastError(): Error | null;
  /** The code and reason of the last close, to say why a connection was lost. */
  lastClose(): { code: number; reason: string } | null;
}

export function wsSocketFactory(pingIntervalMs = PING_INTERVAL_MS): WsSockets {
  let last: Error | null = null;
  let closed: { code: number; reason: string } | null = null;
  const create: SocketFactory = (url, protocols) => {
    const ws = new WebSocket(url, protocols, { handshakeTimeout: 10_000 });
    let alive = true;
    let timer: ReturnType<typeof setInterval> | null = null;
    ws.on('error', function rememberError(err: Error) { last = err; });
    ws.on('open', function startPinging() {
      last = null;
      timer = setInterval(() => {
        if (!alive) {
          ws.terminate();
          return;
        }
        alive = false;
        ws.ping();
      }, pingIntervalMs);
      timer.unref();
    });
    ws.on('pong', function markAlive() { alive = true; });
    ws.on('message', function markAlive() { alive = true; });
    ws.on('close', function stopPinging(code: number, reason: Buffer) {
      if (timer) clearInterval(timer);
      closed = { code, reason: reason.toString() };
    });
    return ws as unknown as SocketLike;
  };
  return { create, lastError: () => last, lastClose: () => closed };
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS lookup failed)',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server\'s TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server\'s TLS certificate is not trusted',
  CERT_HAS_EXPIRED: 'the server\'s TLS certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server\'s TLS certificate does not match the host name',
  EPROTO: 'TLS handshake failed (is it a wss:// server?)',
};

/** The transport error as a few words: `connection refused`. */
export function describeSocketError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code && Object.hasOwn(REASONS, code)) return REASONS[code]!;
  if (/Opening handshake has timed out/i.test(err.message)) return 'the WebSocket handshake timed out';
  const status = /Unexpected server response: (\d+)/.exec(err.message);
  if (status) return `the server answered HTTP ${status[1]} instead of a WebSocket upgrade`;
  return err.message.replace(/\s*\n\s*/g, ' ') || 'connection failed';
}

/** Codes of Error answers that mean the login or the name was refused. */
const LOGIN_CODES = new Set(['AUTH_FAILED', 'AUTH_RATE_LIMITED', 'TOKEN_INVALID', 'BANNED', 'NAME_TAKEN', 'NAME_RESERVED', 'INVALID_NAME', 'NOT_NAMED']);

/**
 * Connects and resolves once the session is ready. Any failure becomes a CliError whose
 * message is the one line to print: the unreachable server, the refused login, the name
 * in use. `code` on the error is the server's error code when there was one.
 */
export async function connectOrExplain(client: ParleyClient, url: string, lastSocketError: () => Error | null): Promise<void> {
  let lastServerError: Extract<ServerMessage, { type: 'Error' }> | null = null;
  const off = client.on('message', (m) => { if (m.type === 'Error') lastServerError = m; });
  try {
    await client.connect();
  } catch (err) {
    const serverError = lastServerError as Extract<ServerMessage, { type: 'Error' }> | null;
    if (serverError && LOGIN_CODES.has(serverError.code)) {
      const what = serverError.code === 'NAME_TAKEN' || serverError.code === 'NAME_RESERVED' || serverError.code === 'INVALID_NAME' ? 'name refused' : 'login refused';
      throw Object.assign(new CliError(`${what}: ${serverError.message}`), { code: serverError.code });
    }
    const socketError = lastSocketError();
    if (socketError) throw new CliError(`cannot connect to ${url}: ${describeSocketError(socketError)}`);
    const reason = err instanceof ClientError || err instanceof Error ? err.message : String(err);
    throw new CliError(`cannot connect to ${url}: ${reason || 'the connection closed'}`);
  } finally {
    off();
  }
}

/** The token stored in `file`, or null when the file is missing or empty. */
export function readTokenFile(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`cannot read token file ${file}: ${(err as Error).message}`, 2);
  }
  const token = text.trim();
  return token === '' ? null : token;
}

/** Writes a login token to `file`, readable by its owner only. */
export function writeTokenFile(file: string, token: string): void {
  try {
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  } catch (err) {
    throw new CliError(`cannot write token file ${file}: ${(err as Error).message}`);
  }
}
