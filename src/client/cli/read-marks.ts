/**
 * Read marks for what the terminal client has shown: a terminal prints every message of
 * every conversation as it comes, so what it printed counts as read, on every device of
 * the account. Marks are gathered and sent a moment later, one per room (MarkRead shares
 * the connection's rate limit with chat).
 */
import type { ClientMessage } from '../../protocol/schema.js';

/** How often gathered marks are sent. */
const MARK_READ_MS = 1_000;

export interface MarkSender {
  /** Whether marks can be sent now (they wait while the connection is down). */
  online(): boolean;
  /**
   * Sends a MarkRead; its errors are of no interest. `asRequest` is false on quit, when the
   * connection closes right after: the frame is only written.
   */
  send(msg: ClientMessage, asRequest: boolean): void;
}

export class ReadMarks {
  private readonly due = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly sender: MarkSender, private readonly delayMs = MARK_READ_MS) {}

  /** Marks `seq` of `room` read, soon (the caller passes only seqs further than any before). */
  add(room: string, seq: number): void {
    this.due.set(room, seq);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** Sends what is due; `last` (on quit): at once, without waiting for answers, and no later try. */
  flush(last = false): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.sender.online()) {
      if (this.due.size > 0 && !last) this.timer = setTimeout(() => this.flush(), this.delayMs);
      return;
    }
    for (const [room, seq] of this.due) this.sender.send({ type: 'MarkRead', room, seq }, !last);
    this.due.clear();
  }

  /** Drops what is due (the client is ending without a connection to send it on). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.due.clear();
  }
}
