/**
 * The user's own typing notices: Typing{active:true} while a message is being typed in the
 * current room (repeated at most every few seconds, so that a long message does not flood
 * the room), and Typing{active:false} once it is sent, abandoned or the client quits.
 */
import type { ChatView } from './chat-view.js';

/** Our own Typing{active:true} is repeated at most this often, and ended after this long idle. */
const TYPING_SEND_MS = 4_000;

export class OwnTyping {
  private sentAt = 0;
  private idle: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly view: ChatView) {}

  /** A key was pressed; `line` is what the input holds now (commands are not typing). */
  keypress(line: string): void {
    const { view } = this;
    if (!view.current || view.offline) return;
    if (line.length === 0 || line.startsWith('/')) return;
    const now = Date.now();
    if (now - this.sentAt >= TYPING_SEND_MS) {
      this.sentAt = now;
      view.client.fire({ type: 'Typing', room: view.current, active: true });
    }
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.stop(), TYPING_SEND_MS + 1_000);
    this.idle.unref();
  }

  stop(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    if (this.sentAt === 0 || !this.view.current) return;
    this.sentAt = 0;
    this.view.client.fire({ type: 'Typing', room: this.view.current, active: false });
  }
}
