/**
 * Join and leave notices (UserJoined, UserLeft) for a room, bounded so that a join storm
 * costs O(n) frames instead of O(n²).
 *
 * - A room with at most LARGE_ROOM members on this node gets one notice per first arrival
 *   and per last departure, at once, exactly as the contract shows them ("* NAME joined
 *   general"). Frames for one member within one event-loop turn still leave in one socket
 *   write (the transport coalesces per connection per turn).
 * - A room of more than SMALL_ROOM members on this node whose arrivals and departures come
 *   faster than BURST a SUMMARY_INTERVAL_MS (a reconnect storm, a server restart) is
 *   summarised like a large one while that lasts: each arrival would otherwise cost a frame,
 *   and a socket write, for every member already back, O(LARGE_ROOM²) per room. A small
 *   room keeps its per-user notices however busy it is (each costs at most SMALL_ROOM frames). The rate is a count per room that
 *   decays by e every SUMMARY_INTERVAL_MS, so a burst is seen however it falls on the clock.
 * - Above that size, per-user notices stop: joins and leaves are counted per room, and a
 *   summary SystemMessage ("12 joined and 3 left general; 1,204 members now") goes to the
 *   room at the end of the turn, the next after SUMMARY_INTERVAL_MS, then at most once every
 *   MAX_SUMMARY_INTERVAL_MS while the churn lasts (each summary is a socket write per member:
 *   a reconnect storm of a few seconds is told in three, "1 joined", "212 joined" and the
 *   rest once it is over, where doubling intervals took five, the last ones reaching
 *   everyone), and back to SUMMARY_INTERVAL_MS once an interval passes quietly. Each member then receives at most one presence frame per room per interval
 *   however many people arrive, so a storm of n joins costs O(n · duration) frames, not n²/2.
 *   `ListUsers {room}` (or /users) gives the names.
 * - Every room's summary of one interval goes out in the same turn, with one read of the
 *   member counts: a member of ten busy rooms gets its ten summaries in one socket write,
 *   not ten (a reconnect storm of accounts in many large rooms was writing one frame per
 *   member per room per second, each in its own write).
 * - What presence reports by itself (a dead node's users, arrivals another node missed) is
 *   worded by `reportNotices` with the same threshold: per-user notices for up to LARGE_ROOM
 *   users of a room at once, one summary line above it.
 */
import type { ServerMessage } from '../../protocol/messages.js';
import type { PresenceReport } from '../ports.js';
import type { Session } from './session.js';

/**
 * Members on this node above which a room gets summaries instead of per-user notices; also
 * the most users of one room that a presence report names one by one.
 */
export const LARGE_ROOM = 100;
/** The shortest time between two summaries of one room. */
export const SUMMARY_INTERVAL_MS = 1_000;
/** The time between summaries of a room after its first two, while churn goes on without a quiet interval. */
export const MAX_SUMMARY_INTERVAL_MS = 8_000;
/** Arrivals and departures per SUMMARY_INTERVAL_MS (a decaying count) above which a room of more than SMALL_ROOM is summarised. */
export const BURST = 10;
/** Members on this node up to which a room keeps per-user notices however busy it is. */
export const SMALL_ROOM = 20;
/** Rooms whose rate is remembered at most (the quietest go first). */
const RATES_KEPT = 10_000;

/** What the notices need from the chat. */
export interface NoticeTarget {
  /** Sessions in the room on this node. */
  localMembers(room: string): number;
  /** Online members of these rooms, cluster-wide. */
  memberCounts(rooms: readonly string[]): Promise<Map<string, number>>;
  broadcast(room: string, msg: ServerMessage, except?: Session): void;
  now(): number;
}

interface Churn {
  joined: number;
  left: number;
}

export class PresenceNotices {
  /** Joins and leaves of large rooms not summarised yet. */
  private readonly churn = new Map<string, Churn>();
  /** Rooms summarised at the last flush: they stay in summary mode for one more interval. */
  private recent = new Set<string>();
  /** When the last flush went out (0: never). */
  private last = 0;
  /** The wait before the next flush while churn goes on (the shortest after a quiet interval, then the longest). */
  private interval = SUMMARY_INTERVAL_MS;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** A flush is scheduled for the end of this turn. */
  private soon = false;
  /** Per room, arrivals and departures (a count decaying by e every SUMMARY_INTERVAL_MS) as of `at`. */
  private readonly rates = new Map<string, { count: number; at: number }>();

  constructor(private readonly target: NoticeTarget) {}

  /** `username` arrived in `room` (its first connection there); `except` is the joining session. */
  joined(room: string, username: string, except?: Session): void {
    if (!this.large(room)) {
      this.target.broadcast(room, { type: 'UserJoined', username, room }, except);
      return;
    }
    this.entry(room).joined++;
    this.schedule();
  }

  /** `username` left `room` (its last connection there). */
  left(room: string, username: string): void {
    if (!this.large(room)) {
      this.target.broadcast(room, { type: 'UserLeft', username, room });
      return;
    }
    this.entry(room).left++;
    this.schedule();
  }

  /** Stops pending summaries (shutdown). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.churn.clear();
    this.recent.clear();
    this.rates.clear();
  }

  private large(room: string): boolean {
    const busy = this.busy(room);
    const members = this.target.localMembers(room);
    return (busy && members > SMALL_ROOM) || members > LARGE_ROOM || this.churn.has(room) || this.recent.has(room);
  }

  /** Counts one arrival or departure; whether the room's rate is above BURST a SUMMARY_INTERVAL_MS. */
  private busy(room: string): boolean {
    const now = this.target.now();
    let rate = this.rates.get(room);
    if (rate) {
      rate.count = rate.count * Math.exp(-(now - rate.at) / SUMMARY_INTERVAL_MS) + 1;
      rate.at = now;
    } else {
      if (this.rates.size >= RATES_KEPT) this.forgetQuiet(now);
      this.rates.set(room, (rate = { count: 1, at: now }));
    }
    return rate.count > BURST;
  }

  /** Forgets the rooms whose rate has decayed to nothing (or, if none has, the oldest). */
  private forgetQuiet(now: number): void {
    for (const [room, rate] of this.rates) if (now - rate.at > 10 * SUMMARY_INTERVAL_MS) this.rates.delete(room);
    if (this.rates.size >= RATES_KEPT) this.rates.delete(this.rates.keys().next().value!);
  }

  private entry(room: string): Churn {
    let c = this.churn.get(room);
    if (!c) this.churn.set(room, (c = { joined: 0, left: 0 }));
    return c;
  }

  private schedule(): void {
    if (this.soon || this.timer) return;
    const wait = this.last + SUMMARY_INTERVAL_MS - this.target.now();
    if (wait <= 0) {
      this.soon = true;
      process.nextTick(() => { this.soon = false; this.flush(); });
      return;
    }
    this.timer = setTimeout(() => { this.timer = null; this.flush(); }, wait);
    this.timer.unref?.();
  }

  /** Summarises every room with churn, all in one turn once the member counts are read. */
  private flush(): void {
    const due = [...this.churn];
    this.churn.clear();
    this.recent = new Set(due.map(([room]) => room));
    if (due.length === 0) {
      this.interval = SUMMARY_INTERVAL_MS;
      return;
    }
    this.last = this.target.now();
    // Churn that goes on within the interval is summarised at its end; then the rooms leave
    // summary mode once an interval passes quietly.
    this.timer = setTimeout(() => { this.timer = null; this.flush(); }, this.interval);
    this.timer.unref?.();
    this.interval = MAX_SUMMARY_INTERVAL_MS;
    const send = (counts: Map<string, number> | null): void => {
      for (const [room, { joined, left }] of due) {
        this.target.broadcast(room, { type: 'SystemMessage', room, content: summaryText(room, joined, left, counts ? counts.get(room) ?? 0 : null) });
      }
    };
    void this.target.memberCounts(due.map(([room]) => room)).then(send, () => send(null));
  }
}

/** "12 joined and 3 left general; 1,204 members now". */
export function summaryText(room: string, joined: number, left: number, members: number | null): string {
  const what = [joined > 0 ? `${joined} joined` : '', left > 0 ? `${left} left` : ''].filter(Boolean).join(' and ');
  return `${what} ${room}${members === null ? '' : `; ${members.toLocaleString('en-US')} members now`}`;
}

export type PresenceNotice = Extract<ServerMessage, { type: 'UserLeft' | 'UserJoined' | 'SystemMessage' }> & { room: string };

/** The notices for a presence report: per user, or one summary for a room with more than LARGE_ROOM at once. */
export function reportNotices(report: PresenceReport): PresenceNotice[] {
  return [...wordPairs(report.left, 'UserLeft'), ...wordPairs(report.joined, 'UserJoined')];
}

function wordPairs(pairs: Array<[string, string]>, type: 'UserLeft' | 'UserJoined'): PresenceNotice[] {
  const byRoom = new Map<string, string[]>();
  for (const [room, username] of pairs) {
    const names = byRoom.get(room);
    if (names) names.push(username);
    else byRoom.set(room, [username]);
  }
  const out: PresenceNotice[] = [];
  for (const [room, users] of byRoom) {
    if (users.length <= LARGE_ROOM) {
      for (const username of users) out.push({ type, username, room });
      continue;
    }
    const verb = type === 'UserLeft' ? 'left' : 'joined';
    const why = type === 'UserLeft' ? 'a server went away' : 'a server reconnected';
    out.push({ type: 'SystemMessage', room, content: `${users.length} users ${verb} ${room} (${why}); /users lists who is here` });
  }
  return out;
}
