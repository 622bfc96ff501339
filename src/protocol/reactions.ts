/**
 * Reactions maps, shared by the server and both clients. A map is keyed by the emoji, which is
 * user input: any string, including `__proto__`, `constructor` or `toString`. So a map is
 * never read or written through a plain object's prototype chain: it is built with a null
 * prototype (where `__proto__` is an ordinary own key that JSON carries) and read with
 * own-property checks, whether it was built here or parsed from JSON.
 */
import type { Reactions } from './messages.js';

/** An empty reactions map with no prototype. */
export function emptyReactions(): Reactions {
  return Object.create(null) as Reactions;
}

/** The names that reacted with `emoji` (own keys only: never an inherited property). */
export function reactionUsers(reactions: Reactions | undefined, emoji: string): readonly string[] {
  if (!reactions || !Object.hasOwn(reactions, emoji)) return [];
  const users = reactions[emoji];
  return Array.isArray(users) ? users : [];
}

/** The emoji that have at least one reaction, in the map's order, with their names. */
export function reactionEntries(reactions: Reactions | undefined): [string, string[]][] {
  if (!reactions) return [];
  return Object.entries(reactions).filter((e): e is [string, string[]] => Array.isArray(e[1]) && e[1].length > 0);
}

/** One change to a message's reactions, as the `Reaction` broadcast carries it. */
export interface ReactionChange {
  emoji: string;
  username: string;
  added: boolean;
}

/**
 * A copy of `reactions` with one change applied (names compared with `same`). The copy has no
 * prototype, so applying a change for any emoji is safe; `reactions` is not modified.
 */
export function applyReaction(reactions: Reactions | undefined, change: ReactionChange, same: (a: string, b: string) => boolean = (a, b) => a === b): Reactions {
  const out = emptyReactions();
  for (const [emoji, users] of reactionEntries(reactions)) out[emoji] = [...users];
  const users = reactionUsers(out, change.emoji).filter((u) => !same(u, change.username));
  if (change.added) users.push(change.username);
  if (users.length > 0) out[change.emoji] = users;
  else delete out[change.emoji];
  return out;
}
