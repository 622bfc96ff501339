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
    if (s.account) this.unbindUser(s);
  }

  /** Routes the account's frames to the session (by account id, never by name). */
  bindUser(s: Session): void {
    if (!s.account) return;
    let set = this.byUser.get(s.account);
    if (!set) this.byUser.set(s.account, (set = new Set()));
    set.add(s);
  }

  unbindUser(s: Session): void {
    if (!s.account) return;
    const set = this.byUser.get(s.account);
    if (!set) return;
    set.delete(s);
    if (set.size === 0) this.byUser.delete(s.account);
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

  /** This process's sessions of an account. */
  userSessions(account: string): ReadonlySet<Session> {
    return this.byUser.get(account) ?? EMPTY;
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

  /** Delivers to every local session of the account but `except`. */
  toUser(account: string, out: Outbound, except?: Session): number {
    return deliverAll(this.byUser.get(account), out, except);
  }

  /** Delivers to every local session that has a name. */
  toAll(out: Outbound): number {
    let sent = 0;
    for (const set of this.byUser.values()) sent += deliverAll(set, out, undefined);
    return sent;
  }

  /** Closes every local session of the user (a kick or a ban: leave notices go out at once). */
  closeUser(account: string, code: number, reason: string): void {
    for (const s of [...this.userSessions(account)]) {
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
