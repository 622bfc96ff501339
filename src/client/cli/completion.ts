/**
 * Tab completion for the interactive client: command names after "/", room names after
 * the commands that take a room, the account's conversations (`@bob` for a direct one)
 * after /switch, user names after the commands that take a user (and every name of /dm)
 * and for the last word of a chat line, a room after the user of /invite, /remove, /mod
 * and /unmod, levels after /notify, and `@name` (a mention) after any "@".
 */
import { COMMAND_NAMES } from '../../protocol/text.js';

export interface CompletionSource {
  /** Rooms to join or look at: every room known. */
  rooms(): Iterable<string>;
  users(): Iterable<string>;
  /** What /switch takes: the rooms the account is in and its direct conversations (`@bob`). */
  conversations(): Iterable<string>;
}

/** Commands of the terminal client itself (not text-mode commands of the server). */
const CLIENT_COMMANDS = ['upload', 'reply', 'notify'];

const NOTIFY_LEVELS = ['all', 'mentions', 'none'];

const ROOM_COMMANDS = new Set(['join', 'leave', 'part', 'users', 'who', 'names', 'members']);
const USER_COMMANDS = new Set(['pm', 'msg', 'tell', 'kick', 'ban', 'unban', 'login', 'dm', 'invite', 'remove', 'mod', 'unmod']);
/** Commands whose second word is a room: `/invite USER ROOM`. */
const USER_ROOM_COMMANDS = new Set(['invite', 'remove', 'mod', 'unmod']);

function matching(candidates: Iterable<string>, prefix: string): string[] {
  const lower = prefix.toLowerCase();
  const seen = new Set<string>();
  for (const c of candidates) if (c.toLowerCase().startsWith(lower)) seen.add(c);
  return [...seen].sort((a, b) => a.localeCompare(b));
}

/** A readline completer: `[candidates, the text they replace]`. */
export function createCompleter(source: CompletionSource): (line: string) => [string[], string] {
  return function complete(line: string): [string[], string] {
    const command = /^\/(\S*)$/.exec(line);
    if (command) {
      const hits = matching([...COMMAND_NAMES, ...CLIENT_COMMANDS], command[1]!).map((c) => `/${c} `);
      return [hits, line];
    }
    const argument = /^\/(\S+)\s+(\S*)$/.exec(line);
    if (argument) {
      const cmd = argument[1]!.toLowerCase();
      const word = argument[2]!;
      if (ROOM_COMMANDS.has(cmd)) return [matching(source.rooms(), word).map((r) => `${r} `), word];
      if (cmd === 'switch') return [matching(source.conversations(), word).map((r) => `${r} `), word];
      if (USER_COMMANDS.has(cmd)) return [matching(source.users(), word).map((u) => `${u} `), word];
      if (cmd === 'notify') return [matching(NOTIFY_LEVELS, word).map((l) => `${l} `), word];
    }
    const second = /^\/(\S+)\s+\S+\s+(\S*)$/.exec(line);
    if (second && USER_ROOM_COMMANDS.has(second[1]!.toLowerCase())) return [matching(source.rooms(), second[2]!).map((r) => `${r} `), second[2]!];
    const more = /^\/dm\s+.*\s(\S*)$/i.exec(line);
    if (more) return [matching(source.users(), more[1]!).map((u) => `${u} `), more[1]!];
    if (line.startsWith('/')) {
      // A mention inside a command's text (`/pm bob look @an`, `/notify all @bo`).
      const mention = /(?:^|\s)(@\S*)$/.exec(line);
      if (mention) return [matching(source.users(), mention[1]!.slice(1)).map((u) => `@${u} `), mention[1]!];
      return [[], argument ? argument[2]! : line];
    }
    const word = /(\S*)$/.exec(line)![1]!;
    if (word === '') return [[], word];
    const atStart = word.length === line.length;
    return [matching(source.users(), word.replace(/^@/, '')).map((u) => (word.startsWith('@') ? `@${u}` : u) + (atStart ? ': ' : ' ')), word];
  };
}
