/**
 * Local routing: which of this process's sessions are in which room and belong to which
 * user, and fan-out to them. Cluster-wide presence lives behind the Presence port; the hub
 * only knows local connections. A broadcast is serialised once per wire form (Outbound).
 */
import type { LocalDelivery } from './fanout.js';
import { Outbound } from './outbound.js';
import type { Session } from './session.js';

export class Hub implements LocalDelivery {
  private readonly byRoom = new Map<string, Set<Session>>();
  private readonly byUser = new Map<string, Set<Session>>();
  readonly sessions = new Set<Session>();

  add(s: Session): void {
    this.sessions.add(s);
  }

  remove(s: Session): void {
    this.sessions.delete(s);
    for (const room of s.rooms) this.leave(room, s);
    if (s.key) this.unbindUser(s);
  }

  bindUser(s: Session): void {
    if (!s.key) return;
    let set = this.byUser.get(s.key);
    if (!set) this.byUser.set(s.key, (set = new Set()));
    set.add(s);
  }

  unbindUser(s: Session): void {
    if (!s.key) return;
    const set = this.byUser.get(s.key);
    if (!set) return;
    set.delete(s);
    if (set.size === 0) this.byUser.delete(s.key);
  }

  join(room: string, s: Session): void {
    let set = this.byRoom.get(room);
    if (!set) this.byRoom.set(room, (set = new Set()));
    set.add(s);
    s.addRoom(room);
  }

  leave(room: string, s: Session): void {
    s.removeRoom(room);
    const set = this.byRoom.get(room);
    if (!set) return;
    set.delete(s);
    if (set.size === 0) this.byRoom.delete(room);
  }

  /** This process's sessions of a user. */
  userSessions(key: string): ReadonlySet<Session> {
    return this.byUser.get(key) ?? EMPTY;
  }

  /** The rooms with sessions on this node. */
  rooms(): Iterable<string> {
    return this.byRoom.keys();
  }

  roomSessions(room: string): ReadonlySet<Session> {
    return this.byRoom.get(room) ?? EMPTY;
  }

  /** Delivers to every local member of the room but `except`; returns the number of frames sent. */
  toRoom(room: string, out: Outbound, except?: Session): number {
    return deliverAll(this.byRoom.get(room), out, except);
  }

  /** Delivers to every local session of the user but `except`. */
  toUser(key: string, out: Outbound, except?: Session): number {
    return deliverAll(this.byUser.get(key), out, except);
  }

  /** Closes every local session of the user (a kick or a ban: leave notices go out at once). */
  closeUser(key: string, code: number, reason: string): void {
    for (const s of [...this.userSessions(key)]) {
      s.leaving = true;
      s.close(code, reason);
    }
  }
}

/** The per-recipient loop: no allocation, the frame is serialised once by Outbound. */
function deliverAll(set: Set<Session> | undefined, out: Outbound, except: Session | undefined): number {
  if (!set) return 0;
  let sent = 0;
  for (const s of set) {
    if (s !== except && s.deliver(out)) sent++;
  }
  return sent;
}

const EMPTY: ReadonlySet<Session> = new Set();

export { Outbound };
