/**
 * What the terminal client knows of the account's conversations: the summaries the server
 * gave (ListConversations, ConversationAdded), who the direct ones are with (their `dm-…`
 * ids mean nothing to people, so they are shown and switched to as `@bob`), and how far
 * each has been shown (so that an unread count says what was not seen here).
 */
import type { ConversationSummary } from '../../protocol/messages.js';
import { nameKey, normaliseRoom } from '../../protocol/names.js';
import { directLabel, switchTarget } from './format.js';

export class ConversationBook {
  private readonly summaries = new Map<string, ConversationSummary>();
  /** The other members of each direct conversation, by room id. */
  private readonly directs = new Map<string, string[]>();
  /** The highest seq shown per room. */
  private readonly shown = new Map<string, number>();

  /** Takes the server's whole list; returns the rooms known before that it no longer has (lost while away). */
  replace(list: readonly ConversationSummary[]): string[] {
    const before = new Set(this.summaries.keys());
    this.summaries.clear();
    for (const c of list) {
      this.learn(c);
      before.delete(c.room);
    }
    return [...before];
  }

  learn(c: ConversationSummary): void {
    this.summaries.set(c.room, c);
    if (c.kind === 'direct') this.directs.set(c.room, c.with ?? []);
  }

  forget(room: string): void {
    this.summaries.delete(room);
  }

  has(room: string): boolean {
    return this.summaries.has(room);
  }

  /** Records who a direct conversation is with (from an OpenDirect answer, or its first message when `onlyIfNew`). */
  direct(room: string, others: readonly string[], onlyIfNew = false): void {
    if (onlyIfNew && this.directs.has(room)) return;
    this.directs.set(room, [...others]);
  }

  isDirect(room: string): boolean {
    return this.directs.has(room);
  }

  /** How a room is shown: `@bob` (or `@bob, @cy`) for a direct conversation, else its name. */
  label(room: string): string {
    const others = this.directs.get(room);
    return others ? directLabel(others) : room;
  }

  /** What `/switch` takes to reach the room: `@bob`, `@bob,@cy`, or the room's name. */
  target(room: string): string {
    const others = this.directs.get(room);
    return others ? switchTarget({ room, kind: 'direct', with: others }) : room;
  }

  /**
   * The room among `rooms` (those the account is in) that a `/switch` word names: `@bob`
   * (the direct conversation with bob), `@bob,@cy` (a group one, in any order and case), a
   * direct conversation's id, or a room (`#room` too). Null when there is none.
   */
  named(word: string, rooms: readonly string[]): string | null {
    if (word.startsWith('@')) {
      const wanted = keysOf(word.split(','));
      for (const room of rooms) {
        const others = this.directs.get(room);
        if (others && keysOf(others) === wanted) return room;
      }
      return null;
    }
    const room = this.directs.has(word) ? word : normaliseRoom(word);
    return room && rooms.includes(room) ? room : null;
  }

  /** Records that a message was shown; false when one at least as far on was shown already. */
  markShown(room: string, seq: number): boolean {
    if (seq <= (this.shown.get(room) ?? 0)) return false;
    this.shown.set(room, seq);
    return true;
  }

  /** A conversation's unread messages, less those shown here (whose read marks may still be on their way). */
  unreadOf(c: ConversationSummary): number {
    const shown = this.shown.get(c.room);
    return shown === undefined ? c.unread : Math.max(0, Math.min(c.unread, c.lastSeq - shown));
  }
}

/** Names as one comparable key: `@Bob, cy` and `cy,@bob` are the same people. */
function keysOf(names: readonly string[]): string {
  return names.map((n) => nameKey(n.trim().replace(/^@/, ''))).filter((k) => k !== '').sort().join(' ');
}
