/**
 * Presence in Redis, cluster-wide (see presence-lua.ts for the keys and the scripts).
 *
 * - Name claims, joins and leaves are Lua scripts: atomic across nodes, so a name is unique
 *   in the cluster and first-arrival / last-departure answers are exact.
 * - Each node renews `alive:<node>` every `heartbeatMs` (TTL `ttlMs`) and indexes its own
 *   entries under `idx:<node>`. Every heartbeat also lists registered nodes whose alive key
 *   has expired; the node that takes `sweep-lock` removes their entries and reports their
 *   users' last departures (`onReport`), which the domain words and fans out to every node.
 *   A node killed without a goodbye is gone from every list within ttlMs + heartbeatMs
 *   (13 s with the defaults). A room that lost many users at once gets one summary line.
 * - This node's own entries are mirrored in memory. While Redis is unreachable, answers come
 *   from that mirror (the node serves its own clients); when Redis is back (or the node finds
 *   its alive key gone: a Redis restart, or a pause long enough to be swept), the node
 *   re-registers its entries atomically and reports the arrivals and departures that
 *   happened meanwhile, for the other nodes' clients.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../domain/deps.js';
import { compareNames } from '../../protocol/names.js';
import type { Presence, PresenceReport } from '../ports.js';
import type { ClusterBus } from './bus-cluster.js';
import { BEAT, CLAIM, COUNTS, GOODBYE, HOLD, JOIN, LEAVE, RELEASE, RESYNC, SCRIPTS, SWEEP_DEAD } from './presence-lua.js';
import { MemoryPresence } from './presence-memory.js';

export interface RedisPresenceOptions {
  /** A command connection (the Redis bus's). */
  redis: Redis;
  /** The bus of this node: its nodeId names this node. */
  bus: ClusterBus;
  prefix: string;
  log: Logger;
  /** How often this node renews its alive key and looks for dead nodes (default 3000). */
  heartbeatMs?: number;
  /** How long the alive key lives without renewal (default 10000). */
  ttlMs?: number;
}

interface NameEntry {
  key: string;
  username: string;
  owner: string;
  conn: string;
}

interface RoomEntry {
  room: string;
  key: string;
  username: string;
  conn: string;
}

type ScriptRunner = (...args: Array<string | number>) => Promise<unknown>;

export class RedisPresence implements Presence {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly log: Logger;
  private readonly node: string;
  private readonly heartbeatMs: number;
  private readonly ttlMs: number;
  /** This node's own entries: the answers while Redis is down, and what a resync restores. */
  private readonly local = new MemoryPresence();
  private readonly names = new Map<string, NameEntry>();
  private readonly memberships = new Map<string, RoomEntry>();
  /** Redis missed some of this node's changes: re-register at the next heartbeat. */
  private dirty = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private beating: Promise<void> | null = null;
  private closed = false;
  private reportTo: (report: PresenceReport) => void = () => undefined;

  constructor(options: RedisPresenceOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.log = options.log;
    this.node = options.bus.nodeId;
    this.heartbeatMs = options.heartbeatMs ?? 3_000;
    this.ttlMs = options.ttlMs ?? 10_000;
    for (const s of SCRIPTS) {
      if (!(s.name in this.redis)) this.redis.defineCommand(s.name, { numberOfKeys: 0, lua: s.lua });
    }
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => { void this.heartbeat(); }, this.heartbeatMs);
    this.timer.unref();
  }

  onReport(listener: (report: PresenceReport) => void): void {
    this.reportTo = listener;
  }

  /** Says goodbye: removes this node's entries and reports its users' departures. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.beating;
    if (!this.up()) return;
    try {
      this.report({ left: flatPairs(await this.run(GOODBYE.name, this.node)), joined: [], audience: 'everyone' });
    } catch (err) {
      this.log.warn({ err }, 'presence goodbye failed; other nodes will sweep this node');
    }
  }

  // ---- Presence ------------------------------------------------------------------------

  async claimName(key: string, username: string, owner: string, connId: string): Promise<boolean> {
    const clusterOwner = this.qualify(owner);
    let inRedis = false;
    if (this.up()) {
      try {
        if ((await this.run(CLAIM.name, key, username, clusterOwner, this.node, connId)) !== 1) return false;
        inRedis = true;
      } catch (err) {
        this.missed(err);
      }
    } else {
      this.dirty = true;
    }
    if (!(await this.local.claimName(key, username, clusterOwner, connId))) {
      // Only after an outage can this node's view disagree with Redis; the node's own view wins.
      if (inRedis) await this.orLocal(async () => { await this.run(RELEASE.name, key, this.node, connId); }, undefined);
      return false;
    }
    for (const [id, e] of this.names) if (e.key === key && e.owner !== clusterOwner) this.names.delete(id);
    this.names.set(`${key}|${connId}`, { key, username, owner: clusterOwner, conn: connId });
    return true;
  }

  async holdName(key: string, ms: number): Promise<void> {
    // Held here too, so the hold stands on this node while Redis is unreachable.
    await this.local.holdName(key, ms);
    await this.orLocal(async () => { await this.run(HOLD.name, key, Math.max(1, Math.round(ms))); }, undefined);
  }

  async isHeld(key: string): Promise<boolean> {
    return this.orLocal(async () => (await this.redis.exists(this.key(`held:${key}`))) === 1, await this.local.isHeld(key));
  }

  async releaseName(key: string, connId: string): Promise<void> {
    this.names.delete(`${key}|${connId}`);
    await this.local.releaseName(key, connId);
    await this.orLocal(async () => { await this.run(RELEASE.name, key, this.node, connId); }, undefined);
  }

  async join(room: string, key: string, username: string, connId: string): Promise<boolean> {
    this.memberships.set(`${room}|${key}|${connId}`, { room, key, username, conn: connId });
    const first = await this.local.join(room, key, username, connId);
    return this.orLocal(async () => (await this.run(JOIN.name, room, key, username, this.node, connId)) === 1, first);
  }

  async joinRooms(rooms: readonly string[], key: string, username: string, connId: string): Promise<boolean[]> {
    for (const room of rooms) this.memberships.set(`${room}|${key}|${connId}`, { room, key, username, conn: connId });
    const firsts = await this.local.joinRooms(rooms, key, username, connId);
    if (rooms.length === 0) return firsts;
    return this.orLocal(async () => {
      // One JOIN script per room, all in one pipeline: one write and one round trip.
      const pipeline = this.redis.pipeline();
      const join = (pipeline as unknown as Record<string, ScriptRunner>)[JOIN.name]!;
      for (const room of rooms) void join.call(pipeline, this.prefix, room, key, username, this.node, connId);
      return ((await pipeline.exec()) ?? []).map(([err, reply]) => {
        if (err) throw err;
        return reply === 1;
      });
    }, firsts);
  }

  async leave(room: string, key: string, connId: string): Promise<boolean> {
    this.memberships.delete(`${room}|${key}|${connId}`);
    const last = await this.local.leave(room, key, connId);
    return this.orLocal(async () => (await this.run(LEAVE.name, room, key, this.node, connId)) === 1, last);
  }

  async members(room: string): Promise<string[]> {
    return this.orLocal(async () => sortNames(await this.redis.hvals(this.key(`room:${room}`))), await this.local.members(room));
  }

  async online(): Promise<string[]> {
    return this.orLocal(async () => sortNames(await this.redis.hvals(this.key('online'))), await this.local.online());
  }

  async counts(rooms?: readonly string[]): Promise<Map<string, number>> {
    return this.orLocal(async () => {
      const counts = new Map<string, number>();
      if (rooms) {
        // One HLEN per room asked for, in one round trip; never a walk over every room.
        const pipeline = this.redis.pipeline();
        for (const room of rooms) pipeline.hlen(this.key(`room:${room}`));
        for (const [i, [err, n]] of ((await pipeline.exec()) ?? []).entries()) {
          if (err) throw err;
          if (Number(n) > 0) counts.set(rooms[i]!, Number(n));
        }
        return counts;
      }
      const flat = (await this.run(COUNTS.name)) as Array<string | number>;
      for (let i = 0; i + 1 < flat.length; i += 2) counts.set(String(flat[i]), Number(flat[i + 1]));
      return counts;
    }, await this.local.counts(rooms));
  }

  async lookup(key: string): Promise<string | null> {
    return this.orLocal(() => this.redis.hget(this.key('online'), key), await this.local.lookup(key));
  }

  // ---- heartbeat, sweeper, resync ---------------------------------------------------------

  /** One heartbeat at a time; a slow one makes the next tick skip. */
  private async heartbeat(): Promise<void> {
    if (this.beating || this.closed) return;
    this.beating = this.beat().catch((err: unknown) => {
      this.dirty = true;
      this.log.debug({ err }, 'presence heartbeat failed');
    }).finally(() => { this.beating = null; });
    await this.beating;
  }

  private async beat(): Promise<void> {
    if (!this.up()) {
      this.dirty = true;
      return;
    }
    const [existed, ...dead] = (await this.run(BEAT.name, this.node, this.ttlMs)) as [number, ...string[]];
    if (existed !== 1 || this.dirty) await this.resync();
    if (dead.length > 0) await this.sweep(dead);
  }

  /** Replaces this node's entries in Redis with the mirror, announcing what changed meanwhile. */
  private async resync(): Promise<void> {
    this.dirty = false;
    const args: string[] = [];
    for (const e of this.names.values()) args.push('n', e.key, e.username, e.owner, e.conn);
    for (const e of this.memberships.values()) args.push('r', e.room, e.key, e.username, e.conn);
    let reply: Array<string | number>;
    try {
      reply = (await this.run(RESYNC.name, this.node, this.ttlMs, ...args)) as Array<string | number>;
    } catch (err) {
      this.dirty = true;
      throw err;
    }
    let i = 0;
    const take = (): Array<[string, string]> => {
      const n = Number(reply[i++]);
      const pairs: Array<[string, string]> = [];
      for (let k = 0; k < n; k++, i += 2) pairs.push([String(reply[i]), String(reply[i + 1])]);
      return pairs;
    };
    const left = take();
    const joined = take();
    const conflicts = reply.slice(i + 1).map(String);
    const both = new Set(left.filter(([r, u]) => joined.some(([r2, u2]) => r === r2 && u === u2)).map(([r, u]) => `${r}|${u}`));
    const changed = (pairs: Array<[string, string]>): Array<[string, string]> => pairs.filter(([r, u]) => !both.has(`${r}|${u}`));
    // This node's clients saw these live; the other nodes' clients missed them.
    this.report({ left: changed(left), joined: changed(joined), audience: 'others' });
    if (conflicts.length > 0) this.log.warn({ names: conflicts }, 'names claimed on another node while Redis was unreachable');
    if (this.names.size + this.memberships.size > 0) {
      this.log.info({ names: this.names.size, memberships: this.memberships.size }, 'presence re-registered in Redis');
    }
  }

  /** Removes nodes whose alive key expired, when this node holds the sweep lock. */
  private async sweep(dead: string[]): Promise<void> {
    const lock = await this.redis.set(this.key('sweep-lock'), this.node, 'PX', this.heartbeatMs, 'NX');
    if (lock !== 'OK') return;
    for (const node of dead) {
      const pairs = flatPairs(await this.run(SWEEP_DEAD.name, node));
      this.log.warn({ deadNode: node, departures: pairs.length }, 'removed the users of a node that stopped renewing its presence');
      this.report({ left: pairs, joined: [], audience: 'everyone' });
    }
  }

  private report(report: PresenceReport): void {
    if (report.left.length + report.joined.length === 0) return;
    try {
      this.reportTo(report);
    } catch (err) {
      this.log.error({ err }, 'presence report listener failed');
    }
  }

  // ---- helpers --------------------------------------------------------------------------

  private up(): boolean {
    return this.redis.status === 'ready';
  }

  /** Runs `op` on Redis when it is reachable; otherwise, or when it fails, answers `fallback`. */
  private async orLocal<T>(op: () => Promise<T>, fallback: T): Promise<T> {
    if (!this.up()) {
      this.dirty = true;
      return fallback;
    }
    try {
      return await op();
    } catch (err) {
      this.missed(err);
      return fallback;
    }
  }

  private missed(err: unknown): void {
    this.dirty = true;
    this.log.debug({ err }, 'presence: Redis call failed; answering from this node');
  }

  private run(name: string, ...args: Array<string | number>): Promise<unknown> {
    const fn = (this.redis as unknown as Record<string, ScriptRunner>)[name]!;
    return fn.call(this.redis, this.prefix, ...args);
  }

  private key(suffix: string): string {
    return `${this.prefix}${suffix}`;
  }

  /** Guest owners are per connection, and connection ids are per process: make them per node. */
  private qualify(owner: string): string {
    return owner.startsWith('guest:') ? `guest:${this.node}/${owner.slice(6)}` : owner;
  }
}

function flatPairs(reply: unknown): Array<[string, string]> {
  const flat = Array.isArray(reply) ? reply.map(String) : [];
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  return pairs;
}

function sortNames(names: string[]): string[] {
  return names.sort(compareNames);
}
