/**
 * Tab completion for the interactive client: command names after "/", room names after
 * the commands that take a room, user names after the commands that take a user and for
 * the last word of a chat line, levels after /notify, and `@name` (a mention) after any "@".
 */
import { COMMAND_NAMES } from '../../protocol/text.js';

export interface CompletionSource {
  rooms(): Iterable<string>;
  users(): Iterable<string>;
}

/** Commands of the terminal client itself (not text-mode commands of the server). */
const CLIENT_COMMANDS = ['upload', 'reply', 'notify'];

const NOTIFY_LEVELS = ['all', 'mentions', 'none'];

const ROOM_COMMANDS = new Set(['join', 'leave', 'part', 'switch', 'users', 'who', 'names']);
const USER_COMMANDS = new Set(['pm', 'msg', 'tell', 'kick', 'ban', 'unban', 'login']);

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
      if (USER_COMMANDS.has(cmd)) return [matching(source.users(), word).map((u) => `${u} `), word];
      if (cmd === 'notify') return [matching(NOTIFY_LEVELS, word).map((l) => `${l} `), word];
    }
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
