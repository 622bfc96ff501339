/**
 * Text mode: lines of human text. `parseTextLine` turns a line into the same client
 * messages JSON mode uses (plus the few text-only actions); `formatText` turns a server
 * message into the line a text-mode user reads. No I/O.
 */
import type { ErrorCode } from './codes.js';
import type { Attachment, ChatMessage, ServerMessage } from './messages.js';
import { clientSchemas, hasUnstorable, type ClientMessage } from './schema.js';

export type TextAction =
  | { kind: 'message'; msg: ClientMessage }
  | { kind: 'help' }
  | { kind: 'quit' }
  /** `/topic` without text: show the current room's topic. */
  | { kind: 'topic' }
  /** `/switch ROOM`: talk in another of the rooms the user is in. */
  | { kind: 'switch'; room: string }
  | { kind: 'chat'; content: string }
  | { kind: 'error'; code: ErrorCode; detail: string };

export interface CommandHelp {
  usage: string;
  summary: string;
}

/** Every text-mode command, in the order `/help` lists them. */
/** The ref text mode puts on `/token`'s GetToken: its LoggedIn answer then shows the token. */
const TOKEN_REF = 'text:/token';

export const COMMANDS: CommandHelp[] = [
  { usage: '/help', summary: 'show this list' },
  { usage: '/name NAME', summary: 'set or change your name (also /nick)' },
  { usage: '/join ROOM', summary: 'join a room (created if missing) and talk there (#ROOM works too)' },
  { usage: '/create ROOM [--private]', summary: 'create a room; a private one is seen only by the people you invite' },
  { usage: '/leave [ROOM]', summary: 'leave a room for good (default: the current one)' },
  { usage: '/switch ROOM', summary: 'talk in another room you are in (without joining anything)' },
  { usage: '/rooms [AFTER]', summary: 'list rooms (a long list comes in pages: the rooms after AFTER)' },
  { usage: '/conversations', summary: 'your rooms and direct conversations, latest first, with unread counts (also /convs)' },
  { usage: '/users [ROOM]', summary: 'list who is online in a room (also /who)' },
  { usage: '/members [ROOM]', summary: 'list a room\'s members and their roles' },
  { usage: '/invite USER [ROOM]', summary: 'make someone a member of a room (private rooms: owner and moderators)' },
  { usage: '/remove USER [ROOM]', summary: 'take a member out of a room (owner and moderators)' },
  { usage: '/mod USER [ROOM], /unmod USER [ROOM]', summary: 'make a member a moderator, or not (the owner)' },
  { usage: '/pm USER TEXT', summary: 'send a direct message, delivered even when they are away (also /msg)' },
  { usage: '/dm USER [USER...]', summary: 'open a direct conversation with up to 9 people, then /switch to it' },
  { usage: '/me ACTION', summary: 'say what you are doing ("* ann waves")' },
  { usage: '/history [N]', summary: 'show the last N messages of the current room' },
  { usage: '/search TEXT', summary: 'search messages' },
  { usage: '/topic [TEXT]', summary: 'show or set the room topic' },
  { usage: '/register PASSWORD', summary: 'reserve your current name with a password (keeps your rooms and messages)' },
  { usage: '/token', summary: 'get a token that brings you back as yourself later (/login TOKEN)' },
  { usage: '/login NAME PASSWORD, /login TOKEN', summary: 'log in to a registered name, or come back with a token' },
  { usage: '/logout', summary: 'log out and revoke your token' },
  { usage: '/notify LEVEL [ROOM]', summary: 'what notifies you in a room: all, mentions or none (@NAME: your conversation with NAME)' },
  { usage: '/webhook create NAME, /webhook list, /webhook revoke ID', summary: 'incoming webhooks of the current room (its owner): a URL that posts as NAME' },
  { usage: '/kick USER, /ban USER, /unban USER', summary: 'moderation (administrators)' },
  { usage: '/bothook BOT URL, /bothook BOT off', summary: 'where a bot\'s outgoing webhook goes when it is mentioned or messaged (administrators)' },
  { usage: '/bot create NAME, /bot list, /bot revoke NAME', summary: 'bot accounts and their API tokens (administrators)' },
  { usage: '/quit', summary: 'leave the chat (also /exit)' },
];

export { COMMAND_NAMES } from './commands.js';

function missing(usage: string): TextAction {
  return { kind: 'error', code: 'MISSING_ARGUMENT', detail: `Usage: ${usage}` };
}

/** Splits off the first word of `rest`. */
function firstWord(rest: string): [string, string] {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(rest);
  return m ? [m[1]!, m[2]!] : ['', ''];
}

/**
 * Parses one text-mode line. `currentRoom` fills in commands that default to it.
 * A line that does not start with "/" (or starts with "//", an escaped slash) is chat.
 * The messages it builds pass the same schemas as JSON mode's (a NUL in any field is
 * BAD_MESSAGE in both modes).
 */
export function parseTextLine(line: string, currentRoom: string | null): TextAction {
  const action = parseLine(line, currentRoom);
  if (action.kind === 'chat' && hasUnstorable(action.content)) {
    return { kind: 'error', code: 'BAD_MESSAGE', detail: 'That line contains a NUL character or a lone surrogate.' };
  }
  if (action.kind !== 'message') return action;
  const result = clientSchemas[action.msg.type].safeParse(action.msg);
  if (result.success) return action;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `"${issue.path.join('.')}"` : 'the command';
  return { kind: 'error', code: 'BAD_MESSAGE', detail: `${where}: ${issue?.message ?? 'invalid'}.` };
}

function parseLine(line: string, currentRoom: string | null): TextAction {
  const trimmed = line.replace(/[\r\n]+$/, '');
  if (!trimmed.startsWith('/') || trimmed.startsWith('//')) {
    return { kind: 'chat', content: trimmed.startsWith('//') ? trimmed.slice(1) : trimmed };
  }
  const [head, restRaw] = firstWord(trimmed.slice(1));
  const cmd = head.toLowerCase();
  const rest = restRaw.trim();
  const room = currentRoom ?? 'general';
  switch (cmd) {
    case 'help':
    case '?':
      return { kind: 'help' };
    case 'quit':
    case 'exit':
      return { kind: 'quit' };
    case 'name':
    case 'nick':
      return rest ? { kind: 'message', msg: { type: 'SetUsername', username: rest } } : missing(`/${cmd} NAME`);
    case 'join':
      return rest ? { kind: 'message', msg: { type: 'JoinRoom', room: firstWord(rest)[0] } } : missing('/join ROOM');
    case 'switch':
      return rest ? { kind: 'switch', room: firstWord(rest)[0] } : missing('/switch ROOM');
    case 'create': {
      const words = rest.split(/\s+/).filter((w) => w !== '');
      const name = words.find((w) => !w.startsWith('--'));
      if (!name) return missing('/create ROOM [--private]');
      const flags = words.filter((w) => w.startsWith('--'));
      const unknown = flags.find((f) => f !== '--private' && f !== '--public');
      if (unknown) return { kind: 'error', code: 'BAD_MESSAGE', detail: `Unknown option ${unknown.slice(0, 32)}. Usage: /create ROOM [--private]` };
      return { kind: 'message', msg: { type: 'CreateRoom', room: name, ...(flags.includes('--private') ? { private: true } : {}) } };
    }
    case 'conversations':
    case 'convs':
      return { kind: 'message', msg: { type: 'ListConversations' } };
    case 'members':
      return { kind: 'message', msg: { type: 'ListMembers', room: rest ? firstWord(rest)[0] : room } };
    case 'invite':
    case 'remove':
    case 'mod':
    case 'unmod': {
      const [user, where] = firstWord(rest);
      if (!user) return missing(`/${cmd} USER [ROOM]`);
      const target = where ? firstWord(where)[0] : room;
      if (cmd === 'invite') return { kind: 'message', msg: { type: 'Invite', room: target, username: user } };
      if (cmd === 'remove') return { kind: 'message', msg: { type: 'RemoveMember', room: target, username: user } };
      return { kind: 'message', msg: { type: 'SetRole', room: target, username: user, role: cmd === 'mod' ? 'moderator' : 'member' } };
    }
    case 'dm': {
      const users = rest.split(/[\s,]+/).filter((w) => w !== '');
      return users.length > 0 ? { kind: 'message', msg: { type: 'OpenDirect', usernames: users.slice(0, 10) } } : missing('/dm USER [USER...]');
    }
    case 'me':
      return rest ? { kind: 'message', msg: { type: 'SendMessage', room, content: `/me ${rest}` } } : missing('/me ACTION');
    case 'token':
      // The ref marks the answer as the one /token asked for, so that its token is shown.
      return { kind: 'message', msg: { type: 'GetToken', ref: TOKEN_REF } };
    case 'leave':
    case 'part':
      return { kind: 'message', msg: { type: 'LeaveRoom', room: rest ? firstWord(rest)[0] : room } };
    case 'rooms':
    case 'list':
      // `/rooms NAME`: the rooms after NAME (the next page of a long list).
      return { kind: 'message', msg: rest ? { type: 'ListRooms', after: firstWord(rest)[0] } : { type: 'ListRooms' } };
    case 'users':
    case 'who':
    case 'names':
      return { kind: 'message', msg: { type: 'ListUsers', room: rest ? firstWord(rest)[0] : room } };
    case 'pm':
    case 'msg':
    case 'tell': {
      const [to, text] = firstWord(rest);
      return to && text.trim() ? { kind: 'message', msg: { type: 'PrivateMessage', to, content: text } } : missing(`/${cmd} USER TEXT`);
    }
    case 'history': {
      if (!rest) return { kind: 'message', msg: { type: 'History', room } };
      const n = Number(firstWord(rest)[0]);
      if (!Number.isInteger(n) || n < 1) return { kind: 'error', code: 'BAD_MESSAGE', detail: 'Usage: /history [N], where N is a positive whole number.' };
      return { kind: 'message', msg: { type: 'History', room, limit: Math.min(n, 100_000) } };
    }
    case 'search':
      return rest ? { kind: 'message', msg: { type: 'Search', query: rest.slice(0, 256) } } : missing('/search TEXT');
    case 'topic':
      return rest ? { kind: 'message', msg: { type: 'SetTopic', room, topic: rest } } : { kind: 'topic' };
    case 'register':
      return rest ? { kind: 'message', msg: { type: 'Register', username: '', password: rest } } : missing('/register PASSWORD');
    case 'login': {
      const [user, pass] = firstWord(rest);
      if (user && !pass) return { kind: 'message', msg: { type: 'Login', token: user } };
      return user && pass ? { kind: 'message', msg: { type: 'Login', username: user, password: pass } } : missing('/login NAME PASSWORD or /login TOKEN');
    }
    case 'logout':
      return { kind: 'message', msg: { type: 'Logout' } };
    case 'notify': {
      // `/notify LEVEL [ROOM]`: ROOM defaults to the current room; `@NAME` is a private conversation.
      const [level, target] = firstWord(rest);
      if (level !== 'all' && level !== 'mentions' && level !== 'none') return missing('/notify all|mentions|none [ROOM or @NAME]');
      return { kind: 'message', msg: { type: 'SetNotify', room: target ? firstWord(target)[0] : room, level } };
    }
    case 'webhooks':
      return { kind: 'message', msg: { type: 'ListWebhooks', room } };
    case 'bothook': {
      const [name, args] = firstWord(rest);
      const url = firstWord(args)[0];
      if (!name || !url) return missing('/bothook BOT URL or /bothook BOT off');
      return { kind: 'message', msg: { type: 'SetBotWebhook', name, url: url.toLowerCase() === 'off' ? null : url } };
    }
    case 'webhook': {
      const [sub, args] = firstWord(rest);
      const arg = firstWord(args)[0];
      switch (sub.toLowerCase()) {
        case 'create':
          return arg ? { kind: 'message', msg: { type: 'CreateWebhook', room, name: arg } } : missing('/webhook create NAME');
        case 'list':
        case '':
          return { kind: 'message', msg: { type: 'ListWebhooks', room } };
        case 'revoke':
        case 'delete':
          return arg ? { kind: 'message', msg: { type: 'RevokeWebhook', room, id: arg } } : missing('/webhook revoke ID');
        default:
          return { kind: 'error', code: 'BAD_MESSAGE', detail: 'Usage: /webhook create NAME, /webhook list, /webhook revoke ID (in the current room).' };
      }
    }
    case 'kick':
    case 'ban': {
      const [user, reason] = firstWord(rest);
      if (!user) return missing(`/${cmd} USER [REASON]`);
      const type = cmd === 'kick' ? 'Kick' : 'Ban';
      return { kind: 'message', msg: reason ? { type, username: user, reason } : { type, username: user } };
    }
    case 'unban':
      return rest ? { kind: 'message', msg: { type: 'Unban', username: firstWord(rest)[0] } } : missing('/unban USER');
    case 'bot': {
      const [sub, args] = firstWord(rest);
      const name = firstWord(args)[0];
      if (sub === 'list') return { kind: 'message', msg: { type: 'ListBots' } };
      if (sub === 'create' && name) return { kind: 'message', msg: { type: 'CreateBot', name } };
      if (sub === 'revoke' && name) return { kind: 'message', msg: { type: 'RevokeBot', name } };
      return missing('/bot create NAME, /bot list or /bot revoke NAME');
    }
    default:
      return { kind: 'error', code: 'UNKNOWN_COMMAND', detail: `Unknown command /${head.slice(0, 32)}. Type /help for the list of commands.` };
  }
}

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return ['Commands:', ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    'Any other line is a message to your current room.'].join('\n');
}

/** The line `/topic` shows. */
export function topicText(room: string | null, topic: string | undefined): string {
  return room ? `* Topic of ${room}: ${topic ? inlineText(topic) : '(none)'}` : '* You are not in a room.';
}

export function welcomeText(username: string | null): string {
  return username
    ? `Welcome back to Parley, ${username}! Type /help for commands.`
    : 'Welcome to Parley! Type your name to start (or /name NAME). Type /help for commands.';
}

function hhmm(iso: string): string {
  return iso.slice(11, 16);
}

/** What starts each continuation line of user text: no line the server writes starts with it. */
export const CONTINUATION = '    ';

/** Line breaks a terminal (or a reader) may honour: CR LF, LF, CR, VT, FF, NEL, LS, PS. */
const BREAK_RE = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/g;

/**
 * User text inside a server line: every line after the first starts with CONTINUATION, so
 * a message with newlines cannot show a line that looks like the server's
 * (`* mallory is now known as admin`, `[pm from boss] ...`, `Error: ...`).
 */
export function userText(text: string): string {
  return text.replace(BREAK_RE, `\n${CONTINUATION}`);
}

/** User text that must stay on its line (a query, a topic in a list): breaks become spaces. */
export function inlineText(text: string): string {
  return text.replace(BREAK_RE, ' ');
}

/** A size for people: bytes, KB, MB or GB (powers of 1024), one decimal below ten. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u += 1;
  }
  return u === 0 ? `${n} B` : `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[u]}`;
}

/** One `[file] NAME (SIZE) URL` line per attachment (the URL is a path on the server). */
function fileLines(list: Attachment[] | undefined): string {
  return (list ?? []).map((a) => `\n  [file] ${a.name} (${formatSize(a.size)}) ${a.url}`).join('');
}

function chatLine(m: ChatMessage, currentRoom: string | null, withTime: boolean): string {
  const tag = m.room === currentRoom ? '' : `[${m.room}] `;
  const time = withTime ? `[${hhmm(m.timestamp)}] ` : '';
  // A bot's messages say so: `[bot] ` before the name.
  const tagged = m.bot ? `${tag}[bot] ` : tag;
  if (m.deleted) return `${time}${tagged}${m.username}: (deleted)`;
  const reply = m.replyTo ? `(reply to ${m.replyTo.username}: ${m.replyTo.deleted ? '(deleted)' : inlineText(m.replyTo.excerpt)}) ` : '';
  if (isAction(m.content) && !reply) return `${time}${tagged}* ${m.username} ${userText(m.content.slice(4))}${m.editedAt ? ' (edited)' : ''}${fileLines(m.attachments)}`;
  return `${time}${tagged}${m.username}: ${reply}${userText(m.content)}${m.editedAt ? ' (edited)' : ''}${fileLines(m.attachments)}`;
}

/** Whether a room name is a direct conversation's id (the server names them `dm-` and 12 letters). */
export function isDirectId(room: string): boolean {
  return /^dm-[a-z0-9]{12}$/.test(room);
}

/** Whether a message is an action (`/me waves`): shown as "* ann waves". */
export function isAction(content: string): boolean {
  return content.startsWith('/me ') && content.length > 4;
}

/** A message's text as a line shows it: an action as "* NAME does", anything else as typed. */
function actionText(username: string, content: string): string {
  return isAction(content) ? `* ${username} ${userText(content.slice(4))}` : userText(content);
}

/**
 * The text a text-mode user sees for a server message, or null for messages text mode
 * does not show (typing, read receipts). `currentRoom` decides whether a line is tagged
 * with its room's name.
 */
export function formatText(msg: ServerMessage, currentRoom: string | null): string | null {
  switch (msg.type) {
    case 'Welcome':
      return welcomeText(msg.username);
    case 'Message':
      return chatLine(msg, currentRoom, false);
    case 'PrivateMessage':
      return `[pm from ${msg.bot ? '[bot] ' : ''}${msg.from}] ${actionText(msg.from, msg.content)}${fileLines(msg.attachments)}`;
    case 'SystemMessage':
      return `* ${msg.room && msg.room !== currentRoom ? `[${msg.room}] ` : ''}${userText(msg.content)}`;
    case 'UserJoined':
      return isDirectId(msg.room) ? `* ${msg.username} is online` : `* ${msg.username} joined ${msg.room}`;
    case 'UserLeft':
      return isDirectId(msg.room) ? `* ${msg.username} is away` : `* ${msg.username} left ${msg.room}`;
    case 'RoomList':
      return ['Rooms:', ...msg.rooms.map((r) =>
        `  ${r.joined ? (r.name === currentRoom ? '>' : '*') : ' '} ${r.name} (${r.members} online${r.unread ? `, ${r.unread} unread` : ''})${r.topic ? ` - ${inlineText(r.topic)}` : ''}`),
      ...(msg.next !== undefined ? [`  ... more rooms: /rooms ${msg.next}`] : [])].join('\n');
    case 'UserList': {
      const total = msg.total ?? msg.users.length;
      const more = total > msg.users.length ? ` and ${(total - msg.users.length).toLocaleString('en-US')} more` : '';
      return `${msg.room ? `Users in ${msg.room}` : 'Users online'} (${total}): ${msg.users.join(', ')}${more}`;
    }
    case 'History': {
      const lines = msg.messages.map((m) => chatLine(m, currentRoom === msg.room ? currentRoom : null, true));
      const head = msg.incomplete ? `--- older messages of ${msg.room} were pruned ---` : `--- history of ${msg.room} ---`;
      return msg.messages.length === 0 ? `* No messages in ${msg.room} yet.` : [head, ...lines, '--- end of history ---'].join('\n');
    }
    case 'PrivateHistory':
      return [`--- private messages with ${msg.with} ---`,
        ...msg.messages.map((m) => `[${hhmm(m.timestamp)}] ${m.bot ? '[bot] ' : ''}${m.from}: ${userText(m.content)}${fileLines(m.attachments)}`), '--- end ---'].join('\n');
    case 'SearchResults':
      return msg.messages.length === 0 ? `* No messages match "${inlineText(msg.query)}".`
        : [`--- ${msg.messages.length} results for "${inlineText(msg.query)}" ---`, ...msg.messages.map((m) => chatLine(m, null, true))].join('\n');
    case 'MessageEdited':
      return null;
    case 'MessageDeleted':
      return null;
    case 'Reaction':
    case 'Typing':
    case 'ReadReceipt':
      return null;
    case 'Topic':
      return `* ${msg.by} set the topic of ${msg.room}: ${inlineText(msg.topic)}`;
    case 'LoggedIn':
      if (msg.guest) return `* You are ${msg.username}. Your token: ${msg.token} (keep it: /login TOKEN brings you back as ${msg.username}).`;
      return msg.ref === TOKEN_REF
        ? `* Your token: ${msg.token} (keep it secret: /login TOKEN brings you back as ${msg.username}, and it is your token for the HTTP API).`
        : `* Logged in as ${msg.username}.`;
    case 'Conversations':
      return msg.conversations.length === 0 ? '* You are in no conversation. /join a room.' : ['Your conversations:', ...msg.conversations.map((c) =>
        `  ${c.kind === 'direct' ? `@${(c.with ?? []).join(', @') || 'yourself'} (${c.room})` : `#${c.room}${c.kind === 'private' ? ' (private)' : ''}`}` +
        `${c.unread ? ` - ${c.unread} unread` : ''}${c.mentions ? `, ${c.mentions} mentioning you` : ''}${c.role !== 'member' ? ` [${c.role}]` : ''}`)].join('\n');
    case 'ConversationAdded': {
      const c = msg.conversation;
      return c.kind === 'direct'
        ? `* Direct conversation with ${(c.with ?? []).join(', ') || 'yourself'}: /switch ${c.room} to talk there.`
        : `* You are a member of ${c.room}${c.kind === 'private' ? ' (private)' : ''}.`;
    }
    case 'ConversationRemoved':
      return `* You are no longer in ${msg.room}${msg.by ? ` (removed by ${msg.by})` : ''}.`;
    case 'RoomCreated':
      return null;
    case 'Bots':
      return msg.bots.length === 0 ? '* There are no bots. /bot create NAME makes one.'
        : ['Bots:', ...msg.bots.map((b) => `  [bot] ${b.username} (since ${b.createdAt.slice(0, 10)})${b.banned ? ' - banned' : ''}`)].join('\n');
    case 'Members':
      return `Members of ${msg.room} (${msg.total}): ${msg.members.map((m) => `${m.bot ? '[bot] ' : ''}${m.username}${m.role !== 'member' ? ` (${m.role})` : ''}${m.online ? '' : ' - away'}`).join(', ')}${msg.hasMore ? ', ...' : ''}`;
    case 'Webhooks':
      return msg.webhooks.length === 0 ? `* ${msg.room} has no webhooks. /webhook create NAME makes one.`
        : [`Webhooks of ${msg.room}:`, ...msg.webhooks.map((w) => `  ${w.id}  ${w.name}  (created ${w.createdAt.slice(0, 10)}${w.createdBy ? ` by ${w.createdBy}` : ''})`)].join('\n');
    case 'Ack':
      return formatAck(msg);
    case 'Error':
      return `Error: ${userText(msg.message)}`;
  }
}

function formatAck(msg: { for: string; [k: string]: unknown }): string | null {
  switch (msg.for) {
    case 'SetUsername':
      return `* You are now ${String(msg.username)}.`;
    case 'JoinRoom':
      return `* You are in ${String(msg.room)}. Messages now go to ${String(msg.room)}.`;
    case 'LeaveRoom':
      return msg.current ? `* You left ${String(msg.room)}. Messages now go to ${String(msg.current)}.` : `* You left ${String(msg.room)}. /join a room to talk.`;
    case 'PrivateMessage':
      return `[pm to ${String(msg.to)}] ${userText(String(msg.content))}`;
    case 'Register':
      return `* The name ${String(msg.username)} is now registered to you.`;
    case 'CreateRoom':
      return `* Created the ${String(msg.kind)} room ${String(msg.room)}. Messages now go to ${String(msg.room)}.${msg.kind === 'private' ? ' /invite people to it.' : ''}`;
    case 'Invite':
      return msg.already ? `* ${String(msg.username)} is already a member of ${String(msg.room)}.` : `* ${String(msg.username)} is now a member of ${String(msg.room)}.`;
    case 'RemoveMember':
      return `* ${String(msg.username)} is no longer a member of ${String(msg.room)}.`;
    case 'SetRole':
      return `* ${String(msg.username)} is now ${msg.role === 'moderator' ? 'a moderator' : 'a member'} of ${String(msg.room)}.`;
    case 'OpenDirect':
      return `* Direct conversation with ${(msg.with as string[]).join(', ') || 'yourself'}: /switch ${String(msg.room)} to talk there.`;
    case 'CreateWebhook':
      return `* Webhook ${String(msg.id)} of ${String(msg.room)} posts as ${String(msg.name)}. POST JSON {"text": "..."} to ${String(msg.url)}` +
        ' (keep this URL secret: it is shown only now; /webhook revoke ID stops it).';
    case 'RevokeWebhook':
      return `* Webhook ${String(msg.id)} of ${String(msg.room)} is revoked.`;
    case 'SetBotWebhook':
      return msg.url === null ? `* ${String(msg.name)} has no outgoing webhook now.`
        : `* ${String(msg.name)}'s outgoing webhook goes to ${String(msg.url)}. Its signing secret (shown only now): ${String(msg.secret)}`;
    case 'Logout':
      return '* Logged out.';
    case 'SetNotify':
      return `* Notifications for ${String(msg.room)}: ${String(msg.level)}.`;
    case 'Kick':
    case 'Ban':
    case 'Unban':
      return `* ${msg.for} ${String(msg.username)}: done.`;
    case 'CreateBot':
      return `* Created the bot ${String(msg.username)}. Its token (shown once; keep it secret): ${String(msg.token)}`;
    case 'RevokeBot':
      return `* Revoked the bot ${String(msg.username)}: its tokens no longer work.`;
    default:
      return null;
  }
}
