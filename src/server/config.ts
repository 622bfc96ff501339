/**
 * Every setting of `parley serve`, in one table: its flag, its environment variable, its
 * default and what it means. `parley serve --help` is generated from this table, and the
 * README's configuration table documents the same rows (test/unit/readme.test.ts checks it).
 */
import { publicName } from './transport/origin.js';
import { parseTrustProxy } from './transport/trust-proxy.js';

export interface Config {
  port: number;
  host: string;
  /** SQLite file (a path, `sqlite:` or `file:` URL), `:memory:`, or a `postgres://` URL (store/db-setting.ts parses it). */
  db: string;
  redis: string | null;
  /** Key prefix in Redis: processes sharing a Redis and a prefix are one chat. */
  redisPrefix: string;
  tlsCert: string | null;
  tlsKey: string | null;
  logLevel: string;
  /** Origins allowed to open a WebSocket from a browser; empty: the server's own origin only. `*` allows all. */
  allowedOrigins: string[];
  /** Browser origins whose pages may call the HTTP API (CORS); empty: none (the default). `*` allows all. */
  apiOrigins: string[];
  /** Account names with administrator rights. */
  admins: string[];
  workers: number;
  /** 0 keeps messages forever. */
  retentionDays: number;
  /** Messages sent to a client when it joins a room. */
  historyOnJoin: number;
  /** The most messages one History request returns. */
  historyLimit: number;
  /** Bytes of serialised messages one History, PrivateHistory or SearchResults frame carries at most (then `hasMore`). */
  historyPageBytes: number;
  /** Different emoji one message can carry. */
  maxReactionEmoji: number;
  /** Reactions one user can put on one message. */
  maxReactionsPerUser: number;
  maxContentLength: number;
  /** The largest WebSocket message accepted, in bytes (closes with 1009 above it). */
  maxPayload: number;
  /** Sustained messages per second per connection (token bucket). */
  messagesPerSecond: number;
  /** Burst size of the per-connection token bucket. */
  messageBurst: number;
  /** Rate-limit errors in a row before the connection is closed with 1008. */
  rateLimitStrikes: number;
  maxConnectionsPerIp: number;
  /** New connections per second per address (admission; burst of twice this). */
  connectRatePerIp: number;
  maxRoomsPerUser: number;
  /** Rooms the server holds at most; joining a new room past it is refused. */
  maxRooms: number;
  /** Milliseconds a client has to finish the WebSocket handshake. */
  handshakeTimeoutMs: number;
  /** Milliseconds between pings; a client that misses one is terminated. */
  heartbeatMs: number;
  /** Bytes a client has left unread, from earlier event-loop turns, before it is closed with 1013 (one large answer alone never counts). */
  maxBufferedBytes: number;
  /** Milliseconds a user stays present after their last connection drops (reload grace). */
  presenceGraceMs: number;
  tokenTtlDays: number;
  /** How long a guest account (and its name) lasts after its last connection, in seconds. */
  guestTtlSeconds: number;
  /** Login attempts per minute for one name from one address. */
  loginAttemptsPerMinute: number;
  /** Searches per account (a guest: per name) per minute; a burst of ten seconds' worth. */
  searchesPerMinute: number;
  /** Searches this node runs at once; more wait their turn, up to SEARCH_QUEUE, and past that get SEARCH_BUSY. */
  searchesInFlight: number;
  /** Percent of the wall clock this node's searches may take, over time (past a short burst, they wait for it). */
  searchShare: number;
  /** Login and registration attempts per minute from one address, whatever the names. */
  loginAttemptsPerAddress: number;
  /** Failed logins per minute on one name, across addresses, past which only addresses that have not failed on it may try. */
  loginFailuresPerName: number;
  /** Rooms one address (or account) may create per minute. */
  roomsPerAddressPerMinute: number;
  /** Rooms one address (or account) may create per hour. */
  roomsPerAddressPerHour: number;
  /** Rooms one account (or guest name) may own in all; past it, creating another is refused. */
  maxRoomsPerOwner: number;
  /** Seconds a kicked user's name is held (no one may take it) and the kick's retry-after. */
  kickHoldSeconds: number;
  /** Proxies (addresses or CIDRs) whose X-Forwarded-For names the client; empty: the header is ignored. */
  trustProxy: string[];
  /**
   * Host names (or URLs) the server is reached by, besides the local ones: a browser page is
   * the server's own origin only when its Host is one of these or a local name or address.
   */
  publicHosts: string[];
  /** Bearer token that shows /metrics and the details of /healthz to any address; null: loopback only. */
  metricsToken: string | null;
  /** Folder of uploaded files with a SQLite --db; null: `files` beside the database. With `:memory:` files are kept in memory, with PostgreSQL in the database, unless this is set. */
  filesDir: string | null;
  /** The largest upload, in bytes (413 above it). */
  maxUploadBytes: number;
  /** Bytes of stored uploads per account (413 QUOTA_EXCEEDED above it). */
  uploadQuotaBytes: number;
  /** Uploads per account and per address per minute (429 above it). */
  uploadsPerMinute: number;
  /** Web Push endpoints may be on loopback, private or other non-public addresses (tests, private networks). */
  pushAllowPrivate: boolean;
  /** Pushes waiting to be sent at most; past it the oldest is dropped (counted in /metrics). */
  pushQueue: number;
  /** Milliseconds during which more notifications for one account in one conversation coalesce into one push. */
  pushCoalesceMs: number;
  /** The VAPID `sub` claim (RFC 8292): a mailto: or https: URL where push services can reach the operator. */
  vapidSubject: string;
  /** Outgoing webhooks may go to loopback, private or other non-public addresses (tests, private networks). */
  webhookAllowPrivate: boolean;
  /** Milliseconds one outgoing webhook delivery attempt may take in all. */
  webhookTimeoutMs: number;
  /** Outgoing webhook deliveries waiting at most (queued or between retries); past it new ones are dropped (counted in /metrics). */
  webhookQueue: number;
}

type Kind = 'string' | 'int' | 'list' | 'nullable' | 'bool';

export interface OptionSpec {
  key: keyof Config;
  flag: string;
  env: string;
  kind: Kind;
  description: string;
}

export const DEFAULTS: Config = {
  port: 8080,
  host: '0.0.0.0',
  db: './data/parley.db',
  redis: null,
  redisPrefix: 'parley:',
  tlsCert: null,
  tlsKey: null,
  logLevel: 'info',
  allowedOrigins: [],
  apiOrigins: [],
  admins: [],
  workers: 1,
  retentionDays: 0,
  historyOnJoin: 50,
  historyLimit: 500,
  historyPageBytes: 256 * 1024,
  maxReactionEmoji: 20,
  maxReactionsPerUser: 10,
  maxContentLength: 4000,
  maxPayload: 64 * 1024,
  messagesPerSecond: 20,
  messageBurst: 40,
  rateLimitStrikes: 20,
  maxConnectionsPerIp: 200,
  connectRatePerIp: 50,
  maxRoomsPerUser: 100,
  maxRooms: 10_000,
  handshakeTimeoutMs: 10_000,
  heartbeatMs: 30_000,
  maxBufferedBytes: 1024 * 1024,
  presenceGraceMs: 3_000,
  tokenTtlDays: 30,
  guestTtlSeconds: 86_400,
  loginAttemptsPerMinute: 10,
  searchesPerMinute: 30,
  searchesInFlight: 1,
  searchShare: 50,
  loginAttemptsPerAddress: 30,
  loginFailuresPerName: 30,
  roomsPerAddressPerMinute: 10,
  roomsPerAddressPerHour: 60,
  maxRoomsPerOwner: 100,
  kickHoldSeconds: 60,
  trustProxy: [],
  publicHosts: [],
  metricsToken: null,
  filesDir: null,
  maxUploadBytes: 25 * 1024 * 1024,
  uploadQuotaBytes: 1024 * 1024 * 1024,
  uploadsPerMinute: 20,
  pushAllowPrivate: false,
  pushQueue: 1000,
  pushCoalesceMs: 60_000,
  vapidSubject: 'mailto:admin@localhost',
  webhookAllowPrivate: false,
  webhookTimeoutMs: 10_000,
  webhookQueue: 1000,
};

export const OPTIONS: OptionSpec[] = [
  { key: 'port', flag: '--port <n>', env: 'PORT', kind: 'int', description: 'port for HTTP and WebSocket' },
  { key: 'host', flag: '--host <addr>', env: 'HOST', kind: 'string', description: 'address to listen on' },
  { key: 'db', flag: '--db <path-or-url>', env: 'DATABASE_URL', kind: 'string', description: 'SQLite file (a path, sqlite: or file: URL), :memory:, or postgres:// URL' },
  { key: 'redis', flag: '--redis <url>', env: 'REDIS_URL', kind: 'nullable', description: 'Redis URL: joins the processes sharing it into one chat' },
  { key: 'redisPrefix', flag: '--redis-prefix <prefix>', env: 'REDIS_PREFIX', kind: 'string', description: 'Redis key prefix: processes sharing a Redis and a prefix are one chat' },
  { key: 'tlsCert', flag: '--tls-cert <file>', env: 'TLS_CERT', kind: 'nullable', description: 'PEM certificate: serve HTTPS and WSS (with --tls-key)' },
  { key: 'tlsKey', flag: '--tls-key <file>', env: 'TLS_KEY', kind: 'nullable', description: 'PEM private key for --tls-cert' },
  { key: 'logLevel', flag: '--log-level <level>', env: 'LOG_LEVEL', kind: 'string', description: 'fatal, error, warn, info, debug, trace or silent' },
  { key: 'allowedOrigins', flag: '--allowed-origins <list>', env: 'ALLOWED_ORIGINS', kind: 'list', description: 'comma-separated browser origins allowed to connect (default: the server\'s own; * for any)' },
  { key: 'apiOrigins', flag: '--api-origins <list>', env: 'API_ORIGINS', kind: 'list', description: 'comma-separated browser origins whose pages may call the HTTP API (CORS; default: none; * for any)' },
  { key: 'admins', flag: '--admin <names>', env: 'ADMINS', kind: 'list', description: 'comma-separated registered account names that are administrators (repeatable)' },
  { key: 'workers', flag: '--workers <n>', env: 'WORKERS', kind: 'int', description: 'processes sharing the port (node:cluster; use with --redis for one chat)' },
  { key: 'retentionDays', flag: '--retention-days <n>', env: 'RETENTION_DAYS', kind: 'int', description: 'delete messages older than this many days (0: keep forever)' },
  { key: 'historyOnJoin', flag: '--history-on-join <n>', env: 'HISTORY_ON_JOIN', kind: 'int', description: 'recent messages sent on joining a room (a client may ask for fewer: `history` of SetUsername and JoinRoom)' },
  { key: 'historyLimit', flag: '--history-limit <n>', env: 'HISTORY_LIMIT', kind: 'int', description: 'most messages one History request returns' },
  { key: 'historyPageBytes', flag: '--history-page-bytes <n>', env: 'HISTORY_PAGE_BYTES', kind: 'int', description: 'bytes of messages one history or search page carries at most' },
  { key: 'maxReactionEmoji', flag: '--max-reaction-emoji <n>', env: 'MAX_REACTION_EMOJI', kind: 'int', description: 'different emoji one message can carry' },
  { key: 'maxReactionsPerUser', flag: '--max-reactions-per-user <n>', env: 'MAX_REACTIONS_PER_USER', kind: 'int', description: 'reactions one user can put on one message' },
  { key: 'searchesPerMinute', flag: '--searches-per-minute <n>', env: 'SEARCHES_PER_MINUTE', kind: 'int', description: 'searches per account (a guest: per name) per minute' },
  { key: 'searchesInFlight', flag: '--searches-in-flight <n>', env: 'SEARCHES_IN_FLIGHT', kind: 'int', description: 'searches the node runs at once (more wait their turn)' },
  { key: 'searchShare', flag: '--search-share <percent>', env: 'SEARCH_SHARE', kind: 'int', description: 'percent of the time the node spends searching at most, over time (past a short burst, searches wait their turn)' },
  { key: 'maxContentLength', flag: '--max-content-length <n>', env: 'MAX_CONTENT_LENGTH', kind: 'int', description: 'longest message, in characters' },
  { key: 'maxPayload', flag: '--max-payload <bytes>', env: 'MAX_PAYLOAD', kind: 'int', description: 'largest WebSocket message (larger ones close with 1009)' },
  { key: 'messagesPerSecond', flag: '--messages-per-second <n>', env: 'MESSAGES_PER_SECOND', kind: 'int', description: 'sustained messages per second per connection' },
  { key: 'messageBurst', flag: '--message-burst <n>', env: 'MESSAGE_BURST', kind: 'int', description: 'burst allowance of the per-connection rate limit' },
  { key: 'rateLimitStrikes', flag: '--rate-limit-strikes <n>', env: 'RATE_LIMIT_STRIKES', kind: 'int', description: 'rate-limited messages in a row before closing with 1008' },
  { key: 'maxConnectionsPerIp', flag: '--max-connections-per-ip <n>', env: 'MAX_CONNECTIONS_PER_IP', kind: 'int', description: 'open connections per client address' },
  { key: 'connectRatePerIp', flag: '--connect-rate-per-ip <n>', env: 'CONNECT_RATE_PER_IP', kind: 'int', description: 'new connections per second per address' },
  { key: 'maxRoomsPerUser', flag: '--max-rooms-per-user <n>', env: 'MAX_ROOMS_PER_USER', kind: 'int', description: 'rooms one connection may be in' },
  { key: 'maxRooms', flag: '--max-rooms <n>', env: 'MAX_ROOMS', kind: 'int', description: 'rooms the server holds; creating one past this is refused' },
  { key: 'handshakeTimeoutMs', flag: '--handshake-timeout <ms>', env: 'HANDSHAKE_TIMEOUT', kind: 'int', description: 'time allowed for the HTTP upgrade' },
  { key: 'heartbeatMs', flag: '--heartbeat <ms>', env: 'HEARTBEAT', kind: 'int', description: 'ping interval; a peer missing a pong is dropped' },
  { key: 'maxBufferedBytes', flag: '--max-buffered-bytes <n>', env: 'MAX_BUFFERED_BYTES', kind: 'int', description: 'bytes a client leaves unread (sent in earlier turns) before it is closed with 1013' },
  { key: 'presenceGraceMs', flag: '--presence-grace <ms>', env: 'PRESENCE_GRACE', kind: 'int', description: 'how long a user stays present after the last connection drops' },
  { key: 'tokenTtlDays', flag: '--token-ttl-days <n>', env: 'TOKEN_TTL_DAYS', kind: 'int', description: 'lifetime of login tokens' },
  { key: 'guestTtlSeconds', flag: '--guest-ttl <seconds>', env: 'GUEST_TTL', kind: 'int', description: 'how long a guest account and its name last after its last connection (its token expires then)' },
  { key: 'loginAttemptsPerMinute', flag: '--login-attempts-per-minute <n>', env: 'LOGIN_ATTEMPTS_PER_MINUTE', kind: 'int', description: 'login attempts per minute on one name from one address' },
  { key: 'loginAttemptsPerAddress', flag: '--login-attempts-per-address <n>', env: 'LOGIN_ATTEMPTS_PER_ADDRESS', kind: 'int', description: 'login and registration attempts per minute from one address' },
  { key: 'loginFailuresPerName', flag: '--login-failures-per-name <n>', env: 'LOGIN_FAILURES_PER_NAME', kind: 'int', description: 'failed logins per minute on one name, from all addresses, past which addresses that failed on it wait' },
  { key: 'roomsPerAddressPerMinute', flag: '--rooms-per-address-per-minute <n>', env: 'ROOMS_PER_ADDRESS_PER_MINUTE', kind: 'int', description: 'rooms one address or account may create per minute' },
  { key: 'roomsPerAddressPerHour', flag: '--rooms-per-address-per-hour <n>', env: 'ROOMS_PER_ADDRESS_PER_HOUR', kind: 'int', description: 'rooms one address or account may create per hour' },
  { key: 'maxRoomsPerOwner', flag: '--max-rooms-per-owner <n>', env: 'MAX_ROOMS_PER_OWNER', kind: 'int', description: 'rooms one account may own in all (creating one past this is refused)' },
  { key: 'kickHoldSeconds', flag: '--kick-hold <seconds>', env: 'KICK_HOLD', kind: 'int', description: 'how long a kicked user\'s name is held (the kick\'s retry-after)' },
  { key: 'trustProxy', flag: '--trust-proxy <addrs>', env: 'TRUST_PROXY', kind: 'list', description: 'comma-separated proxy addresses or CIDRs whose X-Forwarded-For names the client' },
  { key: 'publicHosts', flag: '--public-hosts <list>', env: 'PUBLIC_HOSTS', kind: 'list', description: 'comma-separated host names (or URLs) the server is reached by, for the same-origin check' },
  { key: 'metricsToken', flag: '--metrics-token <token>', env: 'METRICS_TOKEN', kind: 'nullable', description: 'bearer token that shows /metrics and /healthz details to any address (default: loopback only)' },
  { key: 'filesDir', flag: '--files-dir <path>', env: 'FILES_DIR', kind: 'nullable', description: 'folder for uploaded files with a SQLite --db (default: files beside the database; PostgreSQL keeps them in the database)' },
  { key: 'maxUploadBytes', flag: '--max-upload-bytes <n>', env: 'MAX_UPLOAD_BYTES', kind: 'int', description: 'largest file upload, in bytes (larger ones answer 413)' },
  { key: 'uploadQuotaBytes', flag: '--upload-quota-bytes <n>', env: 'UPLOAD_QUOTA_BYTES', kind: 'int', description: 'bytes of stored uploads per account' },
  { key: 'uploadsPerMinute', flag: '--uploads-per-minute <n>', env: 'UPLOADS_PER_MINUTE', kind: 'int', description: 'file uploads per account and per address per minute' },
  { key: 'pushAllowPrivate', flag: '--push-allow-private <yes/no>', env: 'PUSH_ALLOW_PRIVATE', kind: 'bool', description: 'allow Web Push endpoints on loopback, private and other non-public addresses' },
  { key: 'pushQueue', flag: '--push-queue <n>', env: 'PUSH_QUEUE', kind: 'int', description: 'Web Push requests waiting at most (the oldest is dropped past it)' },
  { key: 'pushCoalesceMs', flag: '--push-coalesce <ms>', env: 'PUSH_COALESCE', kind: 'int', description: 'one push per account and conversation per this window (later ones are counted into the next)' },
  { key: 'webhookAllowPrivate', flag: '--webhook-allow-private <yes/no>', env: 'WEBHOOK_ALLOW_PRIVATE', kind: 'bool', description: 'allow outgoing webhooks to loopback, private and other non-public addresses' },
  { key: 'webhookTimeoutMs', flag: '--webhook-timeout <ms>', env: 'WEBHOOK_TIMEOUT', kind: 'int', description: 'time one outgoing webhook delivery attempt may take (then it is retried)' },
  { key: 'webhookQueue', flag: '--webhook-queue <n>', env: 'WEBHOOK_QUEUE', kind: 'int', description: 'outgoing webhook deliveries waiting at most (new ones are dropped past it)' },
  { key: 'vapidSubject', flag: '--vapid-subject <uri>', env: 'VAPID_SUBJECT', kind: 'string', description: 'mailto: or https: contact sent to push services (VAPID)' },
];

/** Parses one raw option value (from a flag or the environment). Throws a readable Error. */
export function parseValue(spec: OptionSpec, raw: string | string[]): Config[keyof Config] {
  const text = Array.isArray(raw) ? raw.join(',') : raw;
  switch (spec.kind) {
    case 'int': {
      const n = Number(text);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${spec.flag.split(' ')[0]} must be a whole number, not "${text}"`);
      return n;
    }
    case 'list':
      return text.split(',').map((s) => s.trim()).filter(Boolean);
    case 'nullable':
      return text === '' ? null : text;
    case 'string':
      return text;
    case 'bool': {
      const t = text.trim().toLowerCase();
      if (['yes', 'true', '1', 'on'].includes(t)) return true;
      if (['no', 'false', '0', 'off', ''].includes(t)) return false;
      throw new Error(`${spec.flag.split(' ')[0]} must be yes or no, not "${text}"`);
    }
  }
}

export function validateConfig(c: Config): void {
  parseTrustProxy(c.trustProxy);
  for (const h of c.publicHosts) if (!publicName(h)) throw new Error(`--public-hosts: "${h}" is not a host name or URL`);
  if (c.port > 65535) throw new Error(`--port must be 0 to 65535, not ${c.port}`);
  if ((c.tlsCert === null) !== (c.tlsKey === null)) throw new Error('--tls-cert and --tls-key go together');
  if (c.workers < 1) throw new Error('--workers must be at least 1');
  if (c.maxContentLength < 1 || c.maxPayload < 128) throw new Error('--max-content-length and --max-payload are too small');
  if (!/^(mailto:|https:\/\/)\S+$/.test(c.vapidSubject)) throw new Error(`--vapid-subject must be a mailto: or https: URL, not "${c.vapidSubject}"`);
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(c.logLevel)) {
    throw new Error(`--log-level must be fatal, error, warn, info, debug, trace or silent, not "${c.logLevel}"`);
  }
}

/** A config for tests: in-memory store, port 0, quiet, generous limits. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...DEFAULTS, port: 0, host: '127.0.0.1', db: ':memory:', logLevel: 'silent', heartbeatMs: 30_000, presenceGraceMs: 0, ...overrides };
}
