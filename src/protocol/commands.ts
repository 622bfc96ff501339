/**
 * The names of text mode's slash commands, on their own (no schema, no I/O) so that the web
 * client can tell a command typed into its composer from a message without bundling the
 * text-mode parser.
 */
export const COMMAND_NAMES = [
  'help', 'name', 'nick', 'join', 'create', 'leave', 'part', 'switch', 'rooms', 'conversations', 'convs', 'users', 'who', 'members',
  'invite', 'remove', 'mod', 'unmod', 'pm', 'msg', 'dm', 'me', 'history', 'search', 'topic', 'register', 'token', 'login', 'logout',
  'notify', 'webhook', 'webhooks', 'kick', 'ban', 'unban', 'bot', 'bothook', 'quit', 'exit',
] as const;

/**
 * The text-mode command a line starts with (`/login ann pw` → `login`), or null: a line that
 * does not start with one of them, or `/me`, which is a message (`* ann waves`).
 */
export function textCommandOf(line: string): string | null {
  const name = /^\/([a-z]+)(?=\s|$)/i.exec(line)?.[1]?.toLowerCase();
  return name !== undefined && name !== 'me' && (COMMAND_NAMES as readonly string[]).includes(name) ? name : null;
}
