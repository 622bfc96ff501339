/**
 * Who is typing, per room, from the server's Typing events. A notice lasts until the user
 * stops, sends a message or leaves, and at most `showMs` without news, so that a lost
 * `active: false` cannot leave it on screen.
 */
import { nameKey } from '../../protocol/names.js';

interface Typer {
  name: string;
  timer: ReturnType<typeof setTimeout>;
}

export class TypingBoard {
  private readonly rooms = new Map<string, Map<string, Typer>>();

  /** `onChange(room)` runs whenever the typers of a room change. */
  constructor(private readonly onChange: (room: string) => void, private readonly showMs = 8_000) {}

  start(room: string, username: string): void {
    let typers = this.rooms.get(room);
    if (!typers) this.rooms.set(room, (typers = new Map()));
    const key = nameKey(username);
    const old = typers.get(key);
    if (old) clearTimeout(old.timer);
    const timer = setTimeout(() => this.stop(room, username), this.showMs);
    timer.unref();
    typers.set(key, { name: username, timer });
    if (!old) this.onChange(room);
  }

  stop(room: string, username: string): void {
    const typers = this.rooms.get(room);
    const key = nameKey(username);
    const entry = typers?.get(key);
    if (!typers || !entry) return;
    clearTimeout(entry.timer);
    typers.delete(key);
    this.onChange(room);
  }

  /** Forgets a room (left) or, without an argument, every room. */
  clear(room?: string): void {
    for (const [name, typers] of this.rooms) {
      if (room !== undefined && name !== room) continue;
      for (const t of typers.values()) clearTimeout(t.timer);
      this.rooms.delete(name);
    }
  }

  names(room: string): string[] {
    return [...(this.rooms.get(room)?.values() ?? [])].map((t) => t.name);
  }
}

/** The status shown in the prompt: `bob is typing…`, or '' when nobody is. */
export function typingStatus(names: string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length <= 3) return `${names.join(', ')} are typing…`;
  return 'several people are typing…';
}
