/**
 * The chat domain: takes connection events (connect, frame, disconnect) and envelopes from
 * other nodes, applies the rules, and answers through Connections and the ports. It never
 * sees a socket or a database driver.
 *
 * Frames of one connection are handled in order: a handler that returns a promise holds
 * back that connection's next frames until it settles, except that a room message is
 * confirmed asynchronously (the store commits appends in call order, so echoes stay ordered).
 *
 * Requests without a connection (the HTTP API, integrations such as webhooks posting as a
 * bot) come in through `request(account, msg)`: the same handlers, so the same rules,
 * limits, validation and error codes as a WebSocket frame. Each request runs on a transient
 * session (request.ts) that is never in the hub or in presence: nobody sees it join or leave,
 * it is not online, and it receives nothing but its own answer. Its rooms are the account's
 * memberships read from the store (plus the public room a request names: public rooms are
 * open to post to and read), never rooms joined on a connection. Rate limits apply per
 * account (RequestLimits: a bucket per account id, the WebSocket's per-connection rate), and
 * the per-address limits count `address`. Only REQUEST_TYPES may be requested: the others
 * are about a connection (names, logins, typing, push subscriptions).
 */
import { randomBytes } from 'node:crypto';
import { ERRORS, type ErrorCode } from '../../protocol/codes.js';
import type { Ref, ServerMessage, ServerMessageOf } from '../../protocol/messages.js';
import { DEFAULT_ROOMS, nameKey, normaliseRoom } from '../../protocol/names.js';
import { asJsonSwitch, parseClientFrame, parseClientValue, type Parsed } from '../../protocol/parse.js';
import type { ClientMessage } from '../../protocol/schema.js';
import { helpText, parseTextLine, topicText, welcomeText } from '../../protocol/text.js';
import type { Config } from '../config.js';
import type { Account, Connection, Presence, RoomRecord, Store, WireMode } from '../ports.js';
import type { HandlerContext } from './context.js';
import type { ChatDeps, ChatMetrics, Logger, PasswordHasher } from './deps.js';
import { noMetrics } from './deps.js';
import { ChatError, StoreFailure, fail } from './errors.js';
import { Fanout } from './fanout.js';
import { AttemptLimiter } from './attempt-limiter.js';
import { HANDLERS } from './handlers.js';
import { lastCall } from '../memo.js';
import { VERSION } from '../../paths.js';
import { Hub } from './hub.js';
import type { Outbound } from './outbound.js';
import { PresenceNotices, reportNotices } from './presence-notices.js';
import type { RecentMessages } from './recent-messages.js';
import { Session } from './session.js';
import { instrumentStore } from './store-port.js';
import { BOT } from '../store/store-common.js';
import { RENEW_GUESTS_MS, enterRoomHere, exitRoomHere, guestExpiry } from './membership.js';
import { AnswerConnection, REQUEST_TYPES, RequestLimits, type RequestAnswer } from './request.js';
import { accountOfToken, hashToken } from './tokens.js';

const MAX_QUEUED_FRAMES = 256;
/** Invitations (and new direct conversations) one account or address may make a minute. */
const INVITES_PER_MINUTE = 30;
/** Direct conversations whose members this node remembers. */
const DIRECT_CACHE = 10_000;
/** Guest renewals tendGuests makes before it lets the event loop run. */
const RENEWALS_PER_TURN = 32;
/** Departed guests' bookkeeping (guestGone) done in one turn before the event loop runs again. */
const DEPARTURES_PER_TURN = 32;

export class Chat implements HandlerContext {
  private readonly hub = new Hub();
  /** The ports, with the store wrapped once (store-port.ts: timed, failures named). */
  private readonly deps: ChatDeps;
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: ChatMetrics;
  readonly now: () => number;
  /** Rooms known to this node (a cache of the store's rooms table). */
  private readonly rooms = new Map<string, RoomRecord>();
  private readonly leaveTimers = new Set<ReturnType<typeof setTimeout>>();
  /** UserJoined/UserLeft, bounded for large rooms (presence-notices.ts). */
  readonly notices = new PresenceNotices({
    localMembers: (room) => this.hub.roomSessions(room).size,
    memberCounts: (rooms) => this.deps.presence.counts(rooms),
    broadcast: (room, msg, except) => { this.broadcast(room, msg, except); },
    now: () => this.now(),
  });
  /** Login attempts on one name from one address, and registrations from one address. */
  readonly loginLimiter: AttemptLimiter;
  /** Login and registration attempts from one address, whatever the names. */
  readonly addressLimiter: AttemptLimiter;
  /** Failed logins per name (`name:`), across addresses, and per address and name (`at:`). */
  readonly failureLimiter: AttemptLimiter;
  /** Rooms created per address and per account: per minute and per hour (handle-rooms.ts). */
  readonly roomLimiters: [AttemptLimiter, AttemptLimiter];
  /** Invitations and new direct conversations per account and per address, a minute. */
  readonly inviteLimiter = new AttemptLimiter(INVITES_PER_MINUTE);
  /** The members of direct conversations this node has delivered to (they never change). */
  private readonly directs = new Map<string, Promise<Array<{ account: string; username: string; bot?: true }>>>();
  /** Renews connected guests' accounts; ends guests whose time is up. */
  private guestTimer: ReturnType<typeof setInterval> | null = null;
  private dummy: Promise<string> | null = null;
  /** Guests' departures waiting for guestGone (account id, name key), and the drain that runs them, if one does. */
  private readonly departures: Array<[string, string]> = [];
  private draining: Promise<void> | null = null;
  /** Guests' name releases not yet settled: each departure waits for its release (shutdown waits for both). */
  private readonly releases = new Set<Promise<void>>();
  /** Every JSON connection gets the same Welcome (unnamed, JSON mode): serialised once. */
  private welcomeJson: string | null = null;
  /** Formats a clock reading once per millisecond (every append asks for it). */
  private readonly isoOf = lastCall((ms: number) => new Date(ms).toISOString());
  /** Every delivery to clients, on this node and the others. */
  private readonly fanout: Fanout;
  /** Requests without a connection, per account (request()). */
  private readonly requestLimits: RequestLimits;
  private requests = 0;

  constructor(deps: ChatDeps) {
    this.metrics = deps.metrics ?? noMetrics;
    this.deps = { ...deps, store: instrumentStore(deps.store, this.metrics) };
    this.config = deps.config;
    this.log = deps.log;
    this.now = deps.now ?? Date.now;
    this.loginLimiter = new AttemptLimiter(deps.config.loginAttemptsPerMinute);
    this.addressLimiter = new AttemptLimiter(deps.config.loginAttemptsPerAddress);
    this.failureLimiter = new AttemptLimiter(deps.config.loginFailuresPerName);
    this.roomLimiters = [new AttemptLimiter(deps.config.roomsPerAddressPerMinute), new AttemptLimiter(deps.config.roomsPerAddressPerHour, 3_600_000)];
    this.requestLimits = new RequestLimits(deps.config.messagesPerSecond, deps.config.messageBurst);
    this.fanout = new Fanout(deps.bus, this.hub, this.metrics, {
      ...(deps.gapMs !== undefined ? { gapMs: deps.gapMs } : {}),
      observe: (msg) => { if (msg.type === 'Topic') this.rememberTopic(msg.room, msg.topic); },
      source: { lastSeqs: (rooms) => this.store.lastSeqs(rooms), history: (q) => this.store.history(q) },
      onError: (err) => this.log.warn({ err }, 'filling missed messages from the store failed; trying again'),
      onMember: (account, room, added) => this.followMembership(account, room, added),
      now: () => this.now(),
    });
    deps.presence.onReport((report) => {
      for (const notice of reportNotices(report)) {
        if (report.audience === 'everyone') this.fanout.toRoom(notice.room, notice);
        else this.fanout.toOthers(notice.room, notice);
      }
    });
  }

  /** Loads rooms and makes sure the built-in ones exist. */
  async start(): Promise<void> {
    for (const name of DEFAULT_ROOMS) {
      await this.deps.store.ensureRoom({ name, topic: '', owner: null, createdAt: new Date(this.now()).toISOString(), kind: 'public' });
    }
    for (const room of await this.deps.store.listRooms()) this.rooms.set(room.name, room);
    this.guestTimer = setInterval(() => void this.tendGuests(), RENEW_GUESTS_MS);
    this.guestTimer.unref?.();
  }

  /**
   * Keeps connected guests' accounts alive (their time counts from their last connection) and
   * ends the guests whose time is up, so their names are free and their tokens gone.
   */
  private async tendGuests(): Promise<void> {
    try {
      const guests = new Map<string, boolean>();
      for (const s of this.hub.sessions) if (s.guest && s.account) guests.set(s.account, guests.get(s.account) ?? false);
      const nowIso = this.iso();
      let n = 0;
      for (const id of guests.keys()) {
        const a = await this.deps.store.getAccount(id);
        if (a && a.passwordHash === null && a.key !== null) await this.deps.store.updateAccount(id, { expiresAt: guestExpiry(this, a.endsWithConnection) }, nowIso);
        // A synchronous store answers within the turn: without a pause, thousands of connected
        // guests would hold the event loop for their whole renewal (a stall every ten minutes).
        if (++n % RENEWALS_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await this.deps.store.endGuests(nowIso);
    } catch (err) {
      this.log.warn({ err }, 'renewing or ending guest accounts failed; trying again later');
    }
  }

  /**
   * A hash to verify against when a login names no account, so both take the same time. Made
   * with the first password login, not at start: a server nobody logs in to never loads the
   * hasher nor spends its 19 MiB.
   */
  dummyHash(): Promise<string> {
    this.dummy ??= this.deps.hasher.hash(randomBytes(16).toString('hex')).catch((err: unknown) => {
      this.dummy = null;
      throw err;
    });
    return this.dummy;
  }

  // ---- connection lifecycle --------------------------------------------------------------

  connect(conn: Connection, mode: WireMode): Session {
    const s = new Session(conn, mode, this.config.messagesPerSecond, this.config.messageBurst, this.now());
    this.hub.add(s);
    if (mode === 'text') conn.send(welcomeText(null));
    else conn.send(this.welcomeJson ??= JSON.stringify(this.welcome(s)));
    return s;
  }

  welcome(s: Session): ServerMessage {
    const c = this.config;
    return {
      type: 'Welcome', server: 'parley', version: VERSION, protocol: 1, mode: s.mode, username: s.username,
      motd: 'Welcome to Parley! Send SetUsername (or Login) to start; rooms: general, random, tech.',
      rooms: [...DEFAULT_ROOMS],
      limits: { maxContentLength: c.maxContentLength, maxPayload: c.maxPayload, messagesPerSecond: c.messagesPerSecond, historyLimit: c.historyLimit, maxUploadBytes: c.maxUploadBytes },
    };
  }

  /** The connection is gone (closed by either side). */
  disconnect(s: Session): void {
    if (s.closed) return;
    s.closed = true;
    s.queue = null;
    const rooms = [...s.rooms];
    this.hub.remove(s);
    if (!s.key) return;
    const key = s.key;
    const username = s.username!;
    const release = this.deps.presence.releaseName(key, s.id);
    void release.catch((err) => this.log.warn({ err }, 'presence release failed'));
    if (s.guest && s.account) {
      const account = s.account;
      // A failed release is logged above; the departure is then left to the guest's lease.
      const departing = release.then(() => this.departed(account, key), () => undefined);
      this.releases.add(departing);
      void departing.finally(() => this.releases.delete(departing));
    }
    const leave = (): void => { void this.leaveRooms(rooms, key, username, s.id); };
    if (s.leaving || this.config.presenceGraceMs <= 0) {
      leave();
      return;
    }
    // A reload reconnects within the grace period: its join finds the user still present,
    // and this leave finds another connection, so neither notice is sent.
    const timer = setTimeout(() => { this.leaveTimers.delete(timer); leave(); }, this.config.presenceGraceMs);
    timer.unref?.();
    this.leaveTimers.add(timer);
  }

  /**
   * Queues a guest's departure for guestGone, which the queue runs DEPARTURES_PER_TURN at a
   * time: a crowd leaving at once (a network blip, a closing bench) made every guestGone's
   * store calls in one turn (2,000 departures held the event loop for over half a second).
   */
  private departed(account: string, key: string): void {
    this.departures.push([account, key]);
    this.draining ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drainDepartures());
  }

  private async drainDepartures(): Promise<void> {
    try {
      while (this.departures.length > 0) {
        await this.guestsGone(this.departures.splice(0, DEPARTURES_PER_TURN));
        if (this.departures.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.draining = null;
    }
  }

  /**
   * Guests' connections closed: each account with no connection left anywhere ends (a
   * text-mode guest that never asked for a token; its leave notice still waits for the
   * presence grace) or its time starts (`--guest-ttl`), all in one store call (guestsGone,
   * which leaves alone an account registered meanwhile).
   */
  private async guestsGone(departures: ReadonlyArray<[string, string]>): Promise<void> {
    try {
      const gone = await Promise.all(departures.map(async ([account, key]) => (
        this.hub.userSessions(account).size > 0 || (await this.deps.presence.lookup(key)) !== null ? null : account)));
      const ids = gone.filter((id): id is string => id !== null);
      if (ids.length > 0) await this.deps.store.guestsGone(ids, new Date(this.now() + this.config.guestTtlSeconds * 1000).toISOString());
    } catch (err) {
      this.log.warn({ err }, 'could not start guest accounts\' time');
    }
  }

  private async leaveRooms(rooms: string[], key: string, username: string, connId: string): Promise<void> {
    for (const room of rooms) {
      try {
        if (await this.deps.presence.leave(room, key, connId)) this.notices.left(room, username);
      } catch (err) {
        this.log.warn({ err, room }, 'presence leave failed');
      }
    }
  }

  /** Closes every connection with `code` and sends pending leave notices now. */
  async shutdown(code: number, reason: string): Promise<void> {
    if (this.guestTimer) clearInterval(this.guestTimer);
    for (const timer of this.leaveTimers) clearTimeout(timer);
    this.leaveTimers.clear();
    this.notices.stop();
    this.fanout.close();
    for (const s of [...this.hub.sessions]) {
      s.leaving = true;
      s.close(code, reason);
      this.disconnect(s);
    }
    // The guests' departures are written before the store closes: a text-mode guest's account
    // ends (its memberships and token with it), and a guest's time counts from now, not from
    // its lease's last renewal.
    await Promise.all(this.releases);
    await this.draining;
  }

  // ---- frames ----------------------------------------------------------------------------

  /** One text frame from a client. */
  receive(s: Session, data: string): void {
    if (s.closed) return;
    if (!s.bucket.take(this.now())) {
      this.rateLimited(s);
      return;
    }
    s.strikes = 0;
    this.metrics.messageIn();
    if (s.mode === 'text') {
      const obj = asJsonSwitch(data);
      if (!obj) {
        this.receiveText(s, data);
        return;
      }
      s.mode = 'json';
      this.accept(s, parseClientValue(obj));
      return;
    }
    this.accept(s, parseClientFrame(data));
  }

  private rateLimited(s: Session): void {
    s.strikes++;
    this.metrics.rateLimited();
    if (s.strikes >= this.config.rateLimitStrikes) {
      s.leaving = true;
      s.close(1008, 'rate limit exceeded; retry-after=10');
      return;
    }
    if (s.strikes === 1 || s.strikes % 10 === 0) this.replyError(s, new ChatError('RATE_LIMITED'));
  }

  private accept(s: Session, parsed: Parsed): void {
    if (parsed.ok) this.enqueue(s, parsed.msg);
    else this.replyError(s, new ChatError(parsed.code, parsed.detail), parsed.ref);
  }

  private receiveText(s: Session, line: string): void {
    const action = parseTextLine(line, s.current);
    switch (action.kind) {
      case 'help':
        s.conn.send(helpText());
        return;
      case 'topic':
        s.conn.send(topicText(s.current, s.current ? this.rooms.get(s.current)?.topic : undefined));
        return;
      case 'switch': {
        const room = normaliseRoom(action.room);
        if (room === undefined) return this.replyError(s, new ChatError('INVALID_ROOM'));
        if (!s.rooms.has(room)) return this.replyError(s, new ChatError('NOT_IN_ROOM', `You are not in ${room}. /join ${room} first.`));
        s.current = room;
        s.conn.send(`* Messages now go to ${room}.`);
        return;
      }
      case 'quit':
        s.leaving = true;
        s.conn.send('* Bye!');
        s.close(1000, 'bye');
        return;
      case 'error':
        this.replyError(s, new ChatError(action.code, action.detail));
        return;
      case 'chat':
        if (!s.username) this.enqueue(s, { type: 'SetUsername', username: action.content.trim() });
        else if (action.content.trim() === '') return;
        else if (!s.current) this.replyError(s, new ChatError('NOT_IN_ROOM', 'You are not in a room. Type /join ROOM to join one.'));
        else this.enqueue(s, { type: 'SendMessage', content: action.content, room: s.current });
        return;
      case 'message':
        if (action.msg.type === 'Register' && !action.msg.username) {
          if (!s.username) return this.replyError(s, new ChatError('NOT_NAMED'));
          action.msg.username = s.username;
        }
        this.enqueue(s, action.msg);
    }
  }

  /** Runs the message now, or after the connection's earlier frames finish. */
  private enqueue(s: Session, msg: ClientMessage): void {
    const queue = s.queue;
    if (!s.busy && (queue === null || queue.length === 0)) {
      this.run(s, msg);
      return;
    }
    if (queue !== null && queue.length >= MAX_QUEUED_FRAMES) return this.replyError(s, new ChatError('RATE_LIMITED'), msg.ref);
    (s.queue ??= []).push(msg);
  }

  /** Runs the handler; resolves (never rejects) when it settled, or undefined when it finished at once. */
  private run(s: Session, msg: ClientMessage): Promise<void> | undefined {
    let result: void | Promise<void>;
    try {
      result = (HANDLERS[msg.type] as (chat: Chat, s: Session, m: ClientMessage) => void | Promise<void>)(this, s, msg);
    } catch (err) {
      this.replyError(s, err, msg.ref);
      return undefined;
    }
    if (!result) return undefined;
    s.busy = true;
    return result.catch((err: unknown) => this.replyError(s, err, msg.ref)).finally(() => {
      s.busy = false;
      this.pump(s);
    });
  }

  // ---- requests without a connection ------------------------------------------------------

  /**
   * The live account a bearer token stands for (a login token or a bot's token). Rejects with
   * a ChatError: TOKEN_INVALID (unknown, expired, ended) or BANNED; STORE_UNAVAILABLE when the
   * store failed.
   */
  async authenticate(token: string): Promise<Account> {
    try {
      const { tokenExpiresAt: _, ...account } = await accountOfToken(this, hashToken(token));
      return account;
    } catch (err) {
      if (err instanceof ChatError) throw err;
      this.log.error({ err }, 'checking a token failed');
      throw new ChatError('STORE_UNAVAILABLE');
    }
  }

  /**
   * Runs one client message as `account`, without a connection (see the file comment), and
   * resolves its direct answer: what a WebSocket client gets with its `ref` (the `ref`
   * left out), e.g. the `Message` of a SendMessage once it is committed and delivered to the
   * room's members, or an `Error`. Never rejects. `address` is the client's address for the
   * per-address limits (default `api`). The caller has authenticated the account; a banned
   * or ended account is refused here too (BANNED, TOKEN_INVALID).
   */
  async request(account: Account, msg: ClientMessage, options: { address?: string } = {}): Promise<RequestAnswer> {
    const answerError = (code: ErrorCode, detail?: string): RequestAnswer => ({ reply: this.errorMessage(new ChatError(code, detail)) });
    if (!REQUEST_TYPES.has(msg.type)) return answerError('BAD_MESSAGE', `${msg.type} needs a WebSocket connection.`);
    const wait = this.requestLimits.take(account.id, this.now());
    if (wait > 0) {
      this.metrics.rateLimited();
      return { ...answerError('RATE_LIMITED'), retryAfterSeconds: Math.ceil(wait / 1000) };
    }
    this.metrics.messageIn();
    const ref = `request-${++this.requests}`;
    const conn = new AnswerConnection(`${this.deps.bus.nodeId}:${ref}`, options.address ?? 'api', ref);
    const s = new Session(conn, 'json', this.config.messagesPerSecond, this.config.messageBurst, this.now());
    try {
      if (account.key === null) return answerError('TOKEN_INVALID');
      const entry = await this.deps.store.entryOf(account.id, account.key);
      if (entry.nameBanned || account.banned) return answerError('BANNED');
      s.transient = true;
      s.account = account.id;
      s.username = account.username;
      s.key = account.key;
      s.bot = account.bot;
      s.guest = account.passwordHash === null && !account.bot;
      s.admin = !s.guest && !s.bot && this.config.admins.some((a) => nameKey(a) === account.key);
      for (const room of entry.rooms) s.addRoom(room);
      const named = 'room' in msg && typeof msg.room === 'string' ? normaliseRoom(msg.room) : undefined;
      if (named !== undefined && !s.rooms.has(named) && (await this.room(named))?.kind === 'public') s.addRoom(named);
    } catch (err) {
      return { reply: this.errorMessage(err) };
    }
    await this.run(s, { ...msg, ref });
    return { reply: await conn.answer(msg.type) };
  }

  private pump(s: Session): void {
    while (!s.busy && !s.closed && s.queue !== null && s.queue.length > 0) this.run(s, s.queue.shift()!);
  }

  /** Answers a failed request: known errors with their code, anything else as INTERNAL and logged. */
  replyError(s: Session, err: unknown, ref?: Ref): void {
    const msg = this.errorMessage(err, s.id);
    if (ref !== undefined) msg.ref = ref;
    s.send(msg);
  }

  /** The Error a failure is answered with (counted; an unknown failure logged, its details kept from the client). */
  private errorMessage(err: unknown, conn?: string): ServerMessageOf<'Error'> {
    let e: ChatError;
    if (err instanceof ChatError) {
      e = err;
    } else if (err instanceof StoreFailure) {
      this.log.error({ err: err.cause, operation: err.operation, conn }, 'store operation failed');
      e = new ChatError('STORE_UNAVAILABLE');
    } else {
      this.log.error({ err, conn }, 'unexpected error handling a client message');
      e = new ChatError('INTERNAL');
    }
    this.metrics.error(e.code);
    return { type: 'Error', code: e.code, message: e.detail ?? ERRORS[e.code].message, retryable: ERRORS[e.code].retryable };
  }

  // ---- fan-out (fanout.ts) -------------------------------------------------------------------

  /**
   * Sends to every member of a room on every node, but `except` (a local session). `echo`
   * runs right after the local delivery, in the same turn: the sender's own copy, which must
   * take its turn in seq order like everyone else's; a `resend` reaches only who missed it.
   */
  broadcast(room: string, msg: ServerMessage, except?: Session, echo?: (out: Outbound) => void, resend = false): Outbound {
    return this.fanout.toRoom(room, msg, except, echo, resend);
  }

  /** Sends to every connection of an account on every node, but `except`. */
  toUser(account: string, msg: ServerMessage | Outbound, except?: Session): void {
    this.fanout.toUser(account, msg, except);
  }

  /** Closes every connection of an account on every node. */
  kickUser(account: string, code: number, reason: string): void {
    this.fanout.kick(account, code, reason);
  }

  toAll(msg: ServerMessage): void {
    this.fanout.toAll(msg);
  }

  membershipChanged(account: string, room: string, added: boolean): void {
    this.fanout.member(account, room, added);
  }

  /**
   * A membership changed (here or on another node): this node's connections of the account
   * follow, in this turn, so the room's next message (which the bus brings after this) reaches them.
   */
  private followMembership(account: string, room: string, added: boolean): void {
    for (const s of [...this.hub.userSessions(account)]) {
      // Quietly: an invitation is announced by its SystemMessage, a new direct conversation by
      // ConversationAdded; join notices mark connections arriving, not memberships.
      const step = added
        ? enterRoomHere(this, s, room, true)
        : exitRoomHere(this, s, room);
      void step.catch((err: unknown) => this.log.warn({ err, room }, 'following a membership change failed'));
    }
  }

  /** The newest messages of rooms read lately (recent-messages.ts), kept by fan-out. */
  get recent(): RecentMessages {
    return this.fanout.recent;
  }

  /** Retention (or anything else) changed stored messages behind fan-out: History reads the store again. */
  storeChanged(): void {
    this.fanout.recent.clear();
  }

  directMembers(room: string): Promise<Array<{ account: string; username: string; bot?: true }>> {
    let members = this.directs.get(room);
    if (!members) {
      members = this.deps.store.members(room, 10).then((rows) => rows.map((m) => ({ account: m.account, username: m.username, ...(m.bot ? BOT : {}) })));
      this.directs.set(room, members);
      void members.catch(() => this.directs.delete(room));
      if (this.directs.size > DIRECT_CACHE) this.directs.delete(this.directs.keys().next().value!);
    }
    return members;
  }

  // ---- the rest of HandlerContext -------------------------------------------------------------

  /** This node's open sessions (a read-only view, for health figures and tests). */
  get sessions(): ReadonlySet<Session> {
    return this.hub.sessions;
  }

  get store(): Store {
    return this.deps.store;
  }

  get presence(): Presence {
    return this.deps.presence;
  }

  get hasher(): PasswordHasher {
    return this.deps.hasher;
  }

  get signer(): ChatDeps['signer'] {
    return this.deps.signer;
  }

  get pusher(): ChatDeps['pusher'] {
    return this.deps.pusher;
  }

  get botNotifier(): ChatDeps['botNotifier'] {
    return this.deps.botNotifier;
  }

  newId(): string {
    return this.deps.newId();
  }

  bindUser(s: Session): void {
    this.hub.bindUser(s);
  }

  unbindUser(s: Session): void {
    this.hub.unbindUser(s);
  }

  enterRoom(room: string, s: Session): void {
    this.hub.join(room, s);
  }

  exitRoom(room: string, s: Session): void {
    this.hub.leave(room, s);
  }

  userJoined(room: string, username: string, except?: Session): void {
    this.notices.joined(room, username, except);
  }

  userLeft(room: string, username: string): void {
    this.notices.left(room, username);
  }

  cachedRoom(name: string): RoomRecord | undefined {
    return this.rooms.get(name);
  }

  rememberRoom(record: RoomRecord): void {
    this.rooms.set(record.name, record);
  }

  roomCount(): number {
    return this.rooms.size;
  }

  rememberTopic(room: string, topic: string): void {
    const r = this.rooms.get(room);
    if (r) r.topic = topic;
  }

  /** The room record, from the cache or the store (rooms created on other nodes). */
  async room(name: string): Promise<RoomRecord | null> {
    const cached = this.rooms.get(name);
    if (cached) return cached;
    const r = await this.deps.store.getRoom(name);
    if (r) this.rooms.set(name, r);
    return r;
  }

  async requireRoom(name: string): Promise<RoomRecord> {
    return (await this.room(name)) ?? fail('NO_SUCH_ROOM', `There is no room "${name}".`);
  }

  /** The clock as ISO 8601. */
  iso(): string {
    return this.isoOf(this.now());
  }
}
