/**
 * The client core shared by the web and terminal clients: one JSON-mode connection that
 * reconnects with jittered back-off, logs in again, rejoins its rooms and fetches what it
 * missed by `seq`, so that every room message is surfaced exactly once, in order.
 * It runs in browsers and in Node: the caller supplies the WebSocket constructor.
 */
import { retryAfterSeconds, shouldReconnect } from '../../protocol/codes.js';
import { JSON_SUBPROTOCOL, type ChatMessage, type Ref, type RoomSummary, type ServerMessage, type ServerMessageOf } from '../../protocol/messages.js';
import type { ClientMessage } from '../../protocol/schema.js';

/** The part of the WebSocket API the client uses (browser WebSocket and `ws` both fit). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

export type ClientStatus = 'connecting' | 'online' | 'reconnecting' | 'closed';

export interface Identity {
  username?: string;
  password?: string;
  token?: string;
}

export interface ClientOptions {
  url: string;
  createSocket: SocketFactory;
  identity: Identity;
  /** Rooms to be in after every (re)connect. Defaults to `general`. */
  rooms?: string[];
  /**
   * The account's memberships decide its rooms (the server enters them at login): after
   * identifying, the core asks `ListConversations` instead of joining `rooms`, keeps `rooms`
   * in step with ConversationAdded and ConversationRemoved, and surfaces the messages of
   * two-member direct conversations (`PrivateMessage` with `room` and `seq`) as `chat` too.
   */
  memberships?: boolean;
  /**
   * When a kept guest token is refused (its account ended) and a name is known: take the name
   * afresh (the terminal client) instead of failing the session (the web client shows its
   * sign-in screen with a note). Default false.
   */
  renameOnEndedToken?: boolean;
  /** Whether to reconnect after a drop (default true). */
  reconnect?: boolean;
  backoff?: { initialMs: number; maxMs: number };
  /** How long a request waits for its answer (default 15 s). */
  requestTimeoutMs?: number;
}

export interface ClientEvents {
  /** Any server message, after de-duplication of room messages. */
  message: ServerMessage;
  /** A room message not seen before, live or fetched on resume, in seq order per room. */
  chat: ChatMessage;
  status: { status: ClientStatus; detail?: string };
  /** The session is ready after a (re)connect: named, rooms joined, gaps fetched. */
  ready: { username: string; resumed: boolean };
  /** History that could not be fully recovered (retention pruned it). */
  gap: { room: string; fromSeq: number };
  /** The server closed the connection for good (ban, logout, bad login) or close() was called. */
  closed: { code: number; reason: string };
  /** A send was refused for now (STORE_UNAVAILABLE, RATE_LIMITED): it stays pending and is sent again. */
  retrying: { nonce: string; code: string; attempt: number };
  /** The server gave the account a token (a guest's name, a login): keep it to come back as the same account. */
  token: { token: string; username: string; guest: boolean };
}

type Listener<K extends keyof ClientEvents> = (ev: ClientEvents[K]) => void;

/**
 * Session errors on a reconnect that are worth another attempt: the name still held by
 * our previous connection (until the server's heartbeat drops it), and transient trouble.
 */
const SESSION_RETRY_CODES = new Set(['NAME_TAKEN', 'TIMEOUT', 'RATE_LIMITED', 'STORE_UNAVAILABLE', 'INTERNAL']);
/** Enough attempts, with back-off up to 15 s, to outlast a 30 s server heartbeat twice. */
const MAX_SESSION_RETRIES = 10;
/** Answers to JoinRoom that mean the room is no longer the account's to be in. */
const LOST_ROOM_CODES = new Set(['NO_SUCH_ROOM', 'NOT_IN_ROOM', 'FORBIDDEN']);
/** Messages a resume page asks for (the server may send fewer: it bounds pages in bytes too). */
const RESUME_PAGE = 500;
/**
 * History requests sent with a resume's login at most (sendEarly): with the Login and
 * ListConversations, well inside the server's default burst of 40 frames a connection; the
 * rooms past it are fetched after, one at a time.
 */
const EARLY_PAGES = 24;

/** A first History page asked for with the login: from `after`. */
interface EarlyPage {
  after: number;
  page: Promise<ServerMessage>;
}
type EarlyPages = Map<string, EarlyPage>;

/** The requests a resume sends with its login (sendEarly). */
interface EarlyRequests {
  login: Promise<ServerMessage>;
  /** With memberships: the account's conversations. */
  conversations: Promise<ServerMessage> | undefined;
  /** Without: the rooms joined again (up to half of EARLY_PAGES). */
  joins: Map<string, Promise<ServerMessage>>;
  pages: EarlyPages;
}

export class ClientError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

interface Pending {
  resolve(msg: ServerMessage): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class ParleyClient {
  status: ClientStatus = 'closed';
  username: string | null = null;
  token: string | null = null;
  /** Whether the account is a guest one (its token resumes it; files need a registered account). */
  guest = false;
  /** Whether the account is an administrator's (LoggedIn said so: it may manage every room). */
  admin = false;
  /** Rooms the client is in, in join order. */
  readonly rooms: string[];
  /** Highest seq surfaced per room. */
  readonly lastSeq = new Map<string, number>();

  private socket: SocketLike | null = null;
  private readonly listeners = new Map<keyof ClientEvents, Set<(ev: never) => void>>();
  private readonly pending = new Map<string, Pending>();
  private nextRef = 1;
  private attempt = 0;
  private stopped = false;
  private connectedOnce = false;
  /** This connection's session began with the Login that sendEarly sent: the requests sent with it are answers to use. */
  private loggedInWithToken = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** The resume fetch running per room (fetchMissed). */
  private readonly fetching = new Map<string, { again: boolean; done: Promise<void> }>();
  /** How many messages a resume page asks for: halved after a page lost to a drop, reset by an answer. */
  private resumeLimit = RESUME_PAGE;
  /**
   * Sends not yet confirmed: re-sent with the same nonce after a reconnect, and after a
   * retryable refusal (the store unavailable, a rate limit) with back-off, until the server
   * confirms or refuses for good: the typed text is never lost to a passing failure.
   */
  private readonly outbox = new Map<string, OutboxEntry>();

  constructor(private readonly opts: ClientOptions) {
    this.rooms = [...(opts.rooms ?? ['general'])];
  }

  on<K extends keyof ClientEvents>(event: K, fn: Listener<K>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as (ev: never) => void);
    return () => set.delete(fn as (ev: never) => void);
  }

  private emit<K extends keyof ClientEvents>(event: K, ev: ClientEvents[K]): void {
    for (const fn of this.listeners.get(event) ?? []) (fn as Listener<K>)(ev);
  }

  private setStatus(status: ClientStatus, detail?: string): void {
    this.status = status;
    this.emit('status', detail === undefined ? { status } : { status, detail });
  }

  /** Connects and resolves once the session is ready; rejects if the first attempt fails. */
  connect(): Promise<void> {
    this.stopped = false;
    return new Promise((resolve, reject) => {
      const offReady = this.on('ready', () => { offReady(); offClosed(); resolve(); });
      const offClosed = this.on('closed', (ev) => { offReady(); offClosed(); reject(new ClientError('CLOSED', ev.reason || `closed (${ev.code})`)); });
      this.open();
    });
  }

  /** Closes for good. */
  close(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.close(1000, 'bye');
    this.failPending(new ClientError('CLOSED', 'The client was closed.'));
    for (const entry of this.outbox.values()) {
      clearTimeout(entry.retry);
      entry.reject(new ClientError('CLOSED', 'The client was closed.'));
    }
    this.outbox.clear();
    this.setStatus('closed');
  }

  private open(): void {
    this.setStatus(this.connectedOnce ? 'reconnecting' : 'connecting');
    let socket: SocketLike;
    try {
      socket = this.opts.createSocket(this.opts.url, [JSON_SUBPROTOCOL]);
    } catch (err) {
      this.finish(1006, (err as Error).message);
      return;
    }
    this.socket = socket;
    socket.onopen = () => { void this.startSession(); };
    socket.onmessage = (ev) => { this.onFrame(typeof ev.data === 'string' ? ev.data : String(ev.data)); };
    socket.onerror = () => { /* onclose follows with the code */ };
    socket.onclose = (ev) => { this.onSocketClose(socket, ev.code, ev.reason); };
  }

  private onSocketClose(socket: SocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.failPending(new ClientError('DISCONNECTED', 'The connection dropped.'));
    if (this.stopped) return;
    const wanted = this.opts.reconnect !== false && shouldReconnect(code) && (this.connectedOnce || this.attempt < 1);
    if (!wanted || !this.connectedOnce) {
      this.finish(code, reason);
      return;
    }
    this.scheduleReconnect(reason);
  }

  private finish(code: number, reason: string): void {
    this.stopped = true;
    for (const entry of this.outbox.values()) {
      clearTimeout(entry.retry);
      entry.reject(new ClientError('CLOSED', reason || 'The connection closed.'));
    }
    this.outbox.clear();
    this.setStatus('closed', reason);
    this.emit('closed', { code, reason });
  }

  private scheduleReconnect(reason: string): void {
    const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 500, maxMs: 15_000 };
    const hinted = retryAfterSeconds(reason);
    const base = Math.min(maxMs, initialMs * 2 ** this.attempt);
    const backoff = base / 2 + Math.random() * (base / 2);
    // The server's retry-after is a floor; the jitter on top spreads out clients it turned away together.
    const delay = hinted === undefined ? backoff : hinted * 1000 + backoff;
    this.attempt++;
    this.setStatus('reconnecting', `retrying in ${Math.round(delay / 100) / 10} s`);
    this.retryTimer = setTimeout(() => { this.retryTimer = null; if (!this.stopped) this.open(); }, delay);
  }

  private failPending(err: Error): void {
    for (const [ref, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(ref);
    }
  }

  /** Identifies, joins rooms and fetches every room's gap. */
  private async startSession(): Promise<void> {
    let early: EarlyRequests | null = null;
    this.loggedInWithToken = false;
    try {
      early = this.sendEarly();
      await this.identify(early?.login);
      if (this.opts.memberships) await this.followMemberships(early?.conversations);
      else for (const room of [...this.rooms]) await this.rejoin(room, this.loggedInWithToken ? early?.joins.get(room) : undefined);
      const resumed = this.connectedOnce;
      if (resumed) await this.catchUp(early?.pages);
      this.connectedOnce = true;
      this.attempt = 0;
      for (const entry of this.outbox.values()) this.sendRaw(entry.msg);
      this.setStatus('online');
      this.emit('ready', { username: this.username ?? '', resumed });
    } catch (err) {
      const e = err as ClientError;
      if (e.code === 'DISCONNECTED') return;
      if (this.connectedOnce && this.attempt < MAX_SESSION_RETRIES && SESSION_RETRY_CODES.has(e.code)) {
        // After a silent drop the server may hold our name until its heartbeat notices: retry.
        const socket = this.socket;
        this.socket = null;
        this.failPending(new ClientError('DISCONNECTED', 'The connection dropped.'));
        socket?.close(1000, 'session failed; retrying');
        this.scheduleReconnect('');
        return;
      }
      this.socket?.close(1000, 'session failed');
      this.finish(4000, e.message);
    }
  }

  /**
   * Joins a room of `rooms` after a connect. On a reconnect, a room the account lost meanwhile
   * (removed from a private room while away) is dropped from `rooms` rather than ending the session.
   */
  private async rejoin(room: string, sent?: Promise<ServerMessage>): Promise<void> {
    try {
      await (sent ?? this.request({ type: 'JoinRoom', room }));
    } catch (err) {
      if (!this.connectedOnce || !LOST_ROOM_CODES.has((err as ClientError).code)) throw err;
      const i = this.rooms.indexOf(room);
      if (i >= 0) this.rooms.splice(i, 1);
      this.lastSeq.delete(room);
    }
  }

  /**
   * A resume in one write: when a token is known, `Login {token}`, `ListConversations` (when
   * the account's memberships decide the rooms; else, after a drop, a `JoinRoom` per room)
   * and, after a drop, one `History {after}` per room with a known last seq (EARLY_PAGES
   * requests at most) go out together, without waiting for LoggedIn. The server runs a connection's frames in order, so the requests see the login;
   * one round trip instead of one per request, and on a server that many clients reconnect
   * to at once, one read and one write for what was a dozen. If the login fails, the
   * requests after it fail too and are not used (their rejections are swallowed).
   */
  private sendEarly(): EarlyRequests | null {
    const token = this.token ?? this.opts.identity.token;
    // Without memberships the core joins its own rooms: worth sending early on a resume only.
    if (!token || (!this.opts.memberships && !this.connectedOnce)) return null;
    const quiet = <T>(p: Promise<T>): Promise<T> => {
      p.catch(() => undefined);
      return p;
    };
    const login = this.request({ type: 'Login', token });
    const conversations = this.opts.memberships ? quiet(this.request({ type: 'ListConversations' })) : undefined;
    const joins = new Map<string, Promise<ServerMessage>>();
    if (!this.opts.memberships) {
      for (const room of this.rooms.slice(0, EARLY_PAGES / 2)) joins.set(room, quiet(this.request({ type: 'JoinRoom', room })));
    }
    const pages: EarlyPages = new Map();
    if (this.connectedOnce) {
      for (const room of this.rooms) {
        const after = this.lastSeq.get(room);
        if (after === undefined || pages.size >= EARLY_PAGES - joins.size) continue;
        pages.set(room, { after, page: quiet(this.request({ type: 'History', room, after, limit: this.resumeLimit })) });
      }
    }
    return { login, conversations, joins, pages };
  }

  private async identify(sentLogin?: Promise<ServerMessage>): Promise<void> {
    const { identity } = this.opts;
    if (this.token ?? identity.token) {
      try {
        const answer = await (sentLogin ?? this.request({ type: 'Login', token: (this.token ?? identity.token)! }));
        this.acceptLogin(answer);
        this.loggedInWithToken = sentLogin !== undefined && answer.type === 'LoggedIn';
        return;
      } catch (err) {
        if (!identity.password && !this.tokenEnded(err)) throw err;
      }
    }
    if (identity.password && identity.username) {
      this.acceptLogin(await this.request({ type: 'Login', username: identity.username, password: identity.password }));
      return;
    }
    const name = this.username ?? identity.username;
    if (!name) throw new ClientError('NOT_NAMED', 'No name to connect with.');
    const ack = await this.request({ type: 'SetUsername', username: name });
    this.username = String((ack as { username?: unknown }).username ?? name);
    // A guest's token: the next connection resumes the same account (name, rooms, conversations).
    const token = (ack as { token?: unknown }).token;
    if (typeof token === 'string') {
      this.token = token;
      this.guest = true;
      this.emit('token', { token, username: this.username, guest: true });
    }
  }

  /**
   * Whether a refused token leaves a name to take afresh: the guest account it belonged to
   * ended (its name is free again), so the client names itself as it did the first time.
   */
  private tokenEnded(err: unknown): boolean {
    if (!this.opts.renameOnEndedToken) return false;
    if ((err as ClientError).code !== 'TOKEN_INVALID' || !(this.username ?? this.opts.identity.username)) return false;
    this.token = null;
    return true;
  }

  private acceptLogin(answer: ServerMessage): void {
    if (answer.type !== 'LoggedIn') return;
    this.username = answer.username;
    this.token = answer.token;
    this.guest = answer.guest === true;
    this.admin = answer.admin === true;
    this.emit('token', { token: answer.token, username: answer.username, guest: this.guest });
  }

  /** The account's conversations become `rooms` (the `Conversations` answer is also emitted as a message). */
  private async followMemberships(sent?: Promise<ServerMessage>): Promise<void> {
    // The early request is the one to use only if the login it followed is the one that
    // succeeded (a refused token falls back to a password or a name: ask again then).
    const answer = await (sent !== undefined && this.loggedInWithToken ? sent : this.request({ type: 'ListConversations' }));
    if (answer.type !== 'Conversations') return;
    this.rooms.splice(0, this.rooms.length, ...answer.conversations.map((c) => c.room));
  }

  /** Keeps `rooms` in step with the account's memberships as they change. */
  private trackMembership(msg: ServerMessage): void {
    if (msg.type === 'ConversationAdded' && !this.rooms.includes(msg.conversation.room)) this.rooms.push(msg.conversation.room);
    if (msg.type === 'ConversationRemoved') {
      const i = this.rooms.indexOf(msg.room);
      if (i >= 0) this.rooms.splice(i, 1);
      this.lastSeq.delete(msg.room);
    }
  }

  /**
   * Fetches, per room, every message after the last one surfaced; `early` holds the first
   * pages already asked for with the login (sendEarly), used when they ask from where the
   * room still is.
   */
  private async catchUp(early?: EarlyPages): Promise<void> {
    const usable = early !== undefined && this.loggedInWithToken ? early : undefined;
    for (const room of this.rooms) {
      if (!this.lastSeq.has(room)) continue;
      const sent = usable?.get(room);
      await this.fetchMissed(room, sent !== undefined && sent.after === this.lastSeq.get(room) ? sent : undefined);
    }
  }

  /**
   * Fetches what the room missed, once at a time per room: a live message that shows a gap
   * while a fetch is running asks that fetch to go on (no second fetch of the same pages).
   */
  private fetchMissed(room: string, sent?: EarlyPage): Promise<void> {
    const running = this.fetching.get(room);
    if (running) {
      running.again = true;
      return running.done;
    }
    const state = { again: false, done: Promise.resolve() };
    this.fetching.set(room, state);
    state.done = (async () => {
      try {
        do {
          state.again = false;
          const after = this.lastSeq.get(room);
          if (after !== undefined) await this.fetchAfter(room, after, sent);
          sent = undefined;
        } while (state.again);
      } finally {
        this.fetching.delete(room);
      }
    })();
    return state.done;
  }

  /**
   * Follows `History {after}` pages until `hasMore` is false. The server bounds a page in
   * bytes as well as in count, so a page may hold fewer than asked: every page surfaces its
   * messages at once (a drop then resumes after them, never from the start), and a page that
   * does not move past `after` ends the walk instead of asking for it again. When the
   * connection drops while a page is on its way, the next attempt asks for half as many
   * (`resumeLimit`), so a backlog converges even against a server that answers big pages
   * with a disconnect.
   */
  private async fetchAfter(room: string, after: number, sent?: EarlyPage): Promise<void> {
    for (let first = true; ; first = false) {
      let page: ServerMessageOf<'History'>;
      try {
        // The page asked for with the login, if it asked from here (else a page of our own).
        const early = first && sent !== undefined && sent.after === after ? await sent.page.catch(() => null) : null;
        page = (early?.type === 'History' ? early : await this.request({ type: 'History', room, after, limit: this.resumeLimit })) as ServerMessageOf<'History'>;
      } catch (err) {
        if ((err as ClientError).code === 'DISCONNECTED') this.resumeLimit = Math.max(1, Math.floor(this.resumeLimit / 2));
        throw err;
      }
      this.resumeLimit = RESUME_PAGE;
      if (page.incomplete && first) this.emit('gap', { room, fromSeq: after + 1 });
      for (const m of page.messages) this.surfaceFetched(m);
      const last = page.messages[page.messages.length - 1]?.seq;
      if (!page.hasMore || last === undefined || last <= after) return;
      after = last;
    }
  }

  /**
   * Surfaces a message of a `History {after}` answer, which holds every message the server
   * still has after that seq: a jump in seq there is history pruned by retention (reported
   * as a gap), not a message to fetch again.
   */
  private surfaceFetched(m: ChatMessage): void {
    const last = this.lastSeq.get(m.room);
    if (last !== undefined && m.seq <= last) return;
    this.lastSeq.set(m.room, m.seq);
    this.emit('chat', m);
  }

  /** Surfaces a room message once; a jump in seq triggers a fetch of the gap. */
  private surface(m: ChatMessage): void {
    const last = this.lastSeq.get(m.room);
    if (last !== undefined && m.seq <= last) return;
    if (last !== undefined && m.seq > last + 1) {
      void this.fetchMissed(m.room).catch(() => undefined);
      return;
    }
    this.lastSeq.set(m.room, m.seq);
    this.emit('chat', m);
  }

  private onFrame(data: string): void {
    let msg: ServerMessage;
    try {
      msg = JSON.parse(data) as ServerMessage;
    } catch {
      return;
    }
    if ((msg.type === 'Message' || msg.type === 'PrivateMessage') && msg.nonce) this.confirm(msg.nonce, msg);
    else if (msg.type === 'Error' && typeof msg.ref === 'string' && msg.ref.startsWith('n:')) this.refuse(msg.ref.slice(2), msg);
    if (this.opts.memberships) this.trackMembership(msg);
    if (msg.type === 'Message') {
      this.surface(msg);
    } else if (msg.type === 'PrivateMessage' && this.opts.memberships && msg.room !== undefined && msg.seq !== undefined) {
      this.surface(directAsChat(msg));
    } else if (msg.type === 'History' && msg.ref === undefined) {
      // Recent history sent on join: surface the messages after what we already have.
      for (const m of msg.messages) this.surfaceHistory(m);
      // An empty room: resume from seq 0, so that a later catch-up fetches everything.
      if (msg.messages.length === 0 && !msg.hasMore && !this.lastSeq.has(msg.room)) this.lastSeq.set(msg.room, 0);
    }
    if ('ref' in msg && msg.ref !== undefined) this.answer(msg.ref, msg);
    this.emit('message', msg);
  }

  private confirm(nonce: string, msg: ServerMessage): void {
    const entry = this.outbox.get(nonce);
    if (!entry) return;
    this.outbox.delete(nonce);
    clearTimeout(entry.retry);
    entry.resolve(msg);
  }

  private refuse(nonce: string, msg: ServerMessageOf<'Error'>): void {
    const entry = this.outbox.get(nonce);
    if (!entry) return;
    if (msg.retryable && !this.stopped) {
      // Sent again with the same nonce (stored once whatever happens), later and later.
      const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 500, maxMs: 15_000 };
      const base = Math.min(maxMs, initialMs * 2 ** entry.attempts++);
      clearTimeout(entry.retry);
      entry.retry = setTimeout(() => { if (this.outbox.get(nonce) === entry) this.sendRaw(entry.msg); }, base / 2 + Math.random() * (base / 2));
      this.emit('retrying', { nonce, code: msg.code, attempt: entry.attempts });
      return;
    }
    this.outbox.delete(nonce);
    entry.reject(new ClientError(msg.code, msg.message));
  }

  private surfaceHistory(m: ChatMessage): void {
    const last = this.lastSeq.get(m.room);
    if (last === undefined || m.seq === last + 1) this.surface(m);
  }

  private answer(ref: Ref, msg: ServerMessage): void {
    const p = this.pending.get(String(ref));
    if (!p) return;
    this.pending.delete(String(ref));
    clearTimeout(p.timer);
    if (msg.type === 'Error') p.reject(new ClientError(msg.code, msg.message));
    else p.resolve(msg);
  }

  private sendRaw(msg: ClientMessage): boolean {
    if (!this.socket || this.socket.readyState !== 1) return false;
    this.socket.send(JSON.stringify(msg));
    return true;
  }

  /** Sends a message and resolves with the server's direct answer (same `ref`). */
  request(msg: ClientMessage): Promise<ServerMessage> {
    const ref = `c${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new ClientError('TIMEOUT', `No answer to ${msg.type}.`));
      }, this.opts.requestTimeoutMs ?? 15_000);
      this.pending.set(ref, { resolve, reject, timer });
      if (!this.sendRaw({ ...msg, ref } as ClientMessage)) {
        clearTimeout(timer);
        this.pending.delete(ref);
        reject(new ClientError('DISCONNECTED', 'Not connected.'));
      }
    });
  }

  /**
   * The rooms on the server, ListRooms page after page (a RoomList holds at most 500): every
   * room, up to `maxPages` pages. The default (5,000 rooms, 10 requests) stays well inside
   * the per-connection rate limit, which a client refreshing its list must share with chat.
   */
  async listRooms(maxPages = 10): Promise<RoomSummary[]> {
    const rooms: RoomSummary[] = [];
    let after: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const list = await this.request(after === undefined ? { type: 'ListRooms' } : { type: 'ListRooms', after }) as ServerMessageOf<'RoomList'>;
      rooms.push(...list.rooms);
      if (list.next === undefined) break;
      after = list.next;
    }
    return rooms;
  }

  /**
   * Sends a room message with a nonce and resolves with its stored copy. After a dropped
   * connection it is re-sent with the same nonce until the server confirms it, so it is
   * stored once whatever happens. `extra` adds uploaded files (ids from `POST /api/files`;
   * then `content` may be empty) and the id of the message this one replies to.
   */
  sendMessage(room: string, content: string, extra: SendExtras = {}): Promise<ServerMessageOf<'Message'>> {
    return this.sendConfirmed({ type: 'SendMessage', room, content, nonce: randomNonce(), ...withExtras(extra) }) as Promise<ServerMessageOf<'Message'>>;
  }

  sendPrivate(to: string, content: string, extra: Pick<SendExtras, 'attachments'> = {}): Promise<ServerMessageOf<'PrivateMessage'>> {
    const attachments = extra.attachments?.length ? { attachments: extra.attachments } : {};
    return this.sendConfirmed({ type: 'PrivateMessage', to, content, nonce: randomNonce(), ...attachments }) as Promise<ServerMessageOf<'PrivateMessage'>>;
  }

  private sendConfirmed(msg: OutboxMessage): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const withRef = { ...msg, ref: `n:${msg.nonce}` };
      this.outbox.set(msg.nonce, { msg: withRef, resolve, reject, attempts: 0, retry: undefined });
      this.sendRaw(withRef);
    });
  }

  async join(room: string): Promise<string> {
    const ack = await this.request({ type: 'JoinRoom', room });
    const name = String((ack as { room?: unknown }).room ?? room);
    if (!this.rooms.includes(name)) this.rooms.push(name);
    return name;
  }

  async leave(room: string): Promise<void> {
    await this.request({ type: 'LeaveRoom', room });
    const i = this.rooms.indexOf(room);
    if (i >= 0) this.rooms.splice(i, 1);
  }

  /** Sends without waiting for an answer (typing, read markers). */
  fire(msg: ClientMessage): void {
    this.sendRaw(msg);
  }
}

interface OutboxEntry {
  msg: OutboxMessage;
  resolve(m: ServerMessage): void;
  reject(e: Error): void;
  /** Retryable refusals so far (the back-off grows with them). */
  attempts: number;
  retry: ReturnType<typeof setTimeout> | undefined;
}

type OutboxMessage =
  | { type: 'SendMessage'; room: string; content: string; nonce: string; ref?: Ref; attachments?: string[]; replyTo?: string }
  | { type: 'PrivateMessage'; to: string; content: string; nonce: string; ref?: Ref; attachments?: string[] };

/** What a message may carry besides its text. */
export interface SendExtras {
  /** Ids of uploaded files (at most 10). */
  attachments?: string[];
  /** The id of the room message this one answers. */
  replyTo?: string;
}

function withExtras(extra: SendExtras): Pick<SendExtras, 'attachments' | 'replyTo'> {
  return {
    ...(extra.attachments?.length ? { attachments: extra.attachments } : {}),
    ...(extra.replyTo ? { replyTo: extra.replyTo } : {}),
  };
}

/** A direct conversation's message as the room message it is (its `room` and `seq` known). */
function directAsChat(m: ServerMessageOf<'PrivateMessage'>): ChatMessage {
  const { id, room, seq, from, content, timestamp, editedAt, deleted, reactions, replyTo, attachments, mentions, bot } = m;
  return {
    id, room: room!, seq: seq!, username: m.username ?? from, content, timestamp,
    ...(editedAt !== undefined ? { editedAt } : {}), ...(deleted !== undefined ? { deleted } : {}),
    ...(reactions ? { reactions } : {}), ...(replyTo ? { replyTo } : {}),
    ...(attachments?.length ? { attachments } : {}), ...(mentions?.length ? { mentions } : {}), ...(bot ? { bot } : {}),
  };
}

function randomNonce(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
