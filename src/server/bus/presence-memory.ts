/**
 * Presence in one process's memory: the default when there is no Redis. Several nodes in
 * one process (tests) can share one instance, which then acts as the cluster's presence.
 */
import { compareNames } from '../../protocol/names.js';
import type { Presence, PresenceReport } from '../ports.js';

interface Holder {
  username: string;
  /**
   * Its connections: one id alone (nearly every holder: one connection of an account in a
   * room), a Set from the second on, null when none is left. 10,000 connections in 10 rooms
   * each held 100,000 one-element Sets.
   */
  conns: Conns;
}

type Conns = string | Set<string> | null;

function connCount(c: Conns): number {
  return c === null ? 0 : typeof c === 'string' ? 1 : c.size;
}

function withConn(c: Conns, id: string): Conns {
  if (c === null || c === id) return id;
  if (typeof c === 'string') return new Set([c, id]);
  c.add(id);
  return c;
}

/** `c` without `id` (the same value when it was not there). */
function withoutConn(c: Conns, id: string): Conns {
  if (c === id) return null;
  if (c === null || typeof c === 'string') return c;
  c.delete(id);
  return c.size === 0 ? null : c;
}

function hasConn(c: Conns, id: string): boolean {
  return c === id || (c !== null && typeof c !== 'string' && c.has(id));
}

interface NameClaim extends Holder {
  owner: string;
}

export class MemoryPresence implements Presence {
  private readonly names = new Map<string, NameClaim>();
  private readonly rooms = new Map<string, Map<string, Holder>>();
  /** Names held after a kick: key -> until (ms since the epoch). */
  private readonly holds = new Map<string, number>();

  async claimName(key: string, username: string, owner: string, connId: string): Promise<boolean> {
    if (this.held(key)) return false;
    const claim = this.names.get(key);
    const onlyThisConn = claim !== undefined && connCount(claim.conns) === 1 && hasConn(claim.conns, connId);
    if (claim && claim.owner !== owner && !onlyThisConn && connCount(claim.conns) > 0) return false;
    if (!claim || claim.owner !== owner) {
      this.names.set(key, { username, owner, conns: connId });
    } else {
      claim.username = username;
      claim.conns = withConn(claim.conns, connId);
    }
    return true;
  }

  async holdName(key: string, ms: number): Promise<void> {
    this.holds.set(key, Date.now() + ms);
    // Expired holds are forgotten as new ones come: the map stays as small as the live holds.
    if (this.holds.size > 64) for (const [k, until] of this.holds) if (until <= Date.now()) this.holds.delete(k);
  }

  async isHeld(key: string): Promise<boolean> {
    return this.held(key);
  }

  private held(key: string): boolean {
    const until = this.holds.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.holds.delete(key);
    return false;
  }

  async releaseName(key: string, connId: string): Promise<void> {
    const claim = this.names.get(key);
    if (!claim) return;
    claim.conns = withoutConn(claim.conns, connId);
    if (claim.conns === null) this.names.delete(key);
  }

  async join(room: string, key: string, username: string, connId: string): Promise<boolean> {
    return this.joinNow(room, key, username, connId);
  }

  async joinRooms(rooms: readonly string[], key: string, username: string, connId: string): Promise<boolean[]> {
    return rooms.map((room) => this.joinNow(room, key, username, connId));
  }

  private joinNow(room: string, key: string, username: string, connId: string): boolean {
    let members = this.rooms.get(room);
    if (!members) this.rooms.set(room, (members = new Map()));
    const holder = members.get(key);
    if (holder) {
      holder.conns = withConn(holder.conns, connId);
      holder.username = username;
      return false;
    }
    members.set(key, { username, conns: connId });
    return true;
  }

  async leave(room: string, key: string, connId: string): Promise<boolean> {
    const members = this.rooms.get(room);
    const holder = members?.get(key);
    if (!members || !holder || !hasConn(holder.conns, connId)) return false;
    holder.conns = withoutConn(holder.conns, connId);
    if (holder.conns !== null) return false;
    members.delete(key);
    if (members.size === 0) this.rooms.delete(room);
    return true;
  }

  async members(room: string): Promise<string[]> {
    return [...(this.rooms.get(room)?.values() ?? [])].map((h) => h.username).sort(compareNames);
  }

  async online(): Promise<string[]> {
    return [...this.names.values()].map((c) => c.username).sort(compareNames);
  }

  async counts(rooms?: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (rooms) {
      for (const room of rooms) {
        const members = this.rooms.get(room);
        if (members) counts.set(room, members.size);
      }
      return counts;
    }
    for (const [room, members] of this.rooms) counts.set(room, members.size);
    return counts;
  }

  async lookup(key: string): Promise<string | null> {
    return this.names.get(key)?.username ?? null;
  }

  /** One process: nobody else's users can vanish, and nothing is missed, so there is never a report. */
  onReport(_listener: (report: PresenceReport) => void): void {}

  async start(): Promise<void> {}
  async close(): Promise<void> {}
}
