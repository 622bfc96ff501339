/** Sliding-window counters of attempts (logins, registrations, room creations) per key: an address, a name, or both. */

/** The default window: one minute. */
export const WINDOW_MS = 60_000;

/** Sliding-window counter of attempts per key (an address, or an address and a name), per minute. */
export class AttemptLimiter {
  private readonly attempts = new Map<string, number[]>();
  /** Size that triggers the next prune; doubles past the live set so pruning stays amortised O(1). */
  private pruneAt = 10_000;

  constructor(private readonly perWindow: number, private readonly windowMs = WINDOW_MS) {}

  /** Records an attempt; false when the key is over its limit. */
  allow(key: string, now: number): boolean {
    if (!this.permits(key, now)) return false;
    this.note(key, now);
    return true;
  }

  /** Whether an attempt now would be allowed; records nothing. */
  permits(key: string, now: number): boolean {
    const times = this.attempts.get(key);
    if (!times) return this.perWindow > 0;
    const recent = times.filter((t) => now - t < this.windowMs);
    this.attempts.set(key, recent);
    return recent.length < this.perWindow;
  }

  /** Attempts recorded for the key within the window. */
  count(key: string, now: number): number {
    let n = 0;
    for (const t of this.attempts.get(key) ?? []) if (now - t < this.windowMs) n++;
    return n;
  }

  /** Records an attempt, allowed or not. */
  note(key: string, now: number): void {
    const recent = this.attempts.get(key) ?? [];
    recent.push(now);
    this.attempts.set(key, recent);
    if (this.attempts.size > this.pruneAt) {
      this.prune(now);
      this.pruneAt = Math.max(10_000, this.attempts.size * 2);
    }
  }

  private prune(now: number): void {
    for (const [k, times] of this.attempts) if (times.every((t) => now - t >= this.windowMs)) this.attempts.delete(k);
  }
}
