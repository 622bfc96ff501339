/**
 * What the interactive terminal client prints for each server message: one or a few
 * lines, with local HH:MM timestamps, coloured names and the room tag when a line is not
 * about the current room. Pure functions over a small view of the client's state.
 */
import { cleanContent } from '../../protocol/names.js';
import { helpText, inlineText, isAction } from '../../protocol/text.js';
import type { Attachment, ChatMessage, ConversationSummary, PrivateChatMessage, Reactions, ReplyRef, RoomSummary, ServerMessage } from '../../protocol/messages.js';
import { nameKey } from '../../protocol/names.js';
import { reactionEntries } from '../../protocol/reactions.js';
import { absoluteFileUrl, formatSize } from './files.js';
import type { Style } from './style.js';

export interface FormatContext {
  style: Style;
  /** The room messages go to, or null when the user is in no room. */
  current: string | null;
  /** The user's own name (to tell a private message sent from one received). */
  me: string | null;
  /** A message seen earlier, to say whose message an edit, deletion or reaction is about. */
  recall(id: string): ChatMessage | undefined;
  /** The server's http(s) origin, to print file URLs whole (they come relative). */
  origin?: string;
  /** How a conversation is named on screen: `@bob` for a direct one (its id means nothing to people), else the room. */
  label?(room: string): string;
}

/** `@bob`, `@bob, @cy`: a direct conversation named by its other members. */
export function directLabel(others: readonly string[]): string {
  return others.length === 0 ? '@yourself' : others.map((n) => `@${safe(n)}`).join(', ');
}

function labelOf(ctx: FormatContext, room: string): string {
  return ctx.label?.(room) ?? room;
}

/**
 * Text from the network, made safe for a terminal: no escapes (ESC is a control character),
 * no bidi overrides; zero-width joiners stay so emoji sequences keep their shape.
 */
export function safe(text: string): string {
  return cleanContent(text);
}

/** HH:MM in local time. */
export function hhmm(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso.slice(11, 16);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** Line breaks a terminal may honour: CR LF, LF, CR, VT, FF, NEL, LS, PS. */
const BREAK_RE = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/g;

/**
 * Continuation lines of a multi-line text are indented under its first line, so a message
 * with newlines cannot show a line that looks like one of the client's own (a notice, a
 * private message, an error, another message).
 */
export function indentContinuation(text: string, width: number): string {
  return text.replace(BREAK_RE, `\n${' '.repeat(width)}`);
}

function reactionsText(reactions: Reactions | undefined): string {
  const parts = reactionEntries(reactions).map(([emoji, users]) => `${safe(emoji)} ${users.length}`);
  return parts.length ? ` [${parts.join(', ')}]` : '';
}

/** `[room] ` before a line of another room than the current one; `[@bob] ` (magenta) for a direct conversation. */
function roomTag(ctx: FormatContext, room: string): string {
  if (room === ctx.current) return '';
  const label = labelOf(ctx, room);
  return `${label.startsWith('@') ? ctx.style.magenta(`[${label}]`) : ctx.style.dim(`[${label}]`)} `;
}

/** The room tag inside a notice, which is dim already. */
function noticeTag(ctx: FormatContext, room: string): string {
  return room === ctx.current ? '' : `[${labelOf(ctx, room)}] `;
}

/**
 * One room message: `12:04 [room] alice: hello (edited) [👍 2]`, after a `↪ bob: excerpt`
 * line when it is a reply, and with a `[file] NAME (SIZE) URL` line per attachment. An
 * action (`/me waves`) reads `12:04 * alice waves`.
 */
/** What marks a bot's name, in messages and member lists. */
export const BOT_TAG = '[bot]';

export function chatLine(m: ChatMessage, ctx: FormatContext): string {
  const { style } = ctx;
  const mark = !m.deleted && mentionsMe(m.mentions, m.username, ctx.me) ? `${style.inverse(MENTION_MARK)} ` : '';
  const head = `${mark}${style.dim(hhmm(m.timestamp))} ${roomTag(ctx, m.room)}`;
  const who = `${m.bot ? `${style.dim(BOT_TAG)} ` : ''}${style.name(safe(m.username))}`;
  if (m.deleted) return `${head}${who}: ${style.dim('(deleted)')}`;
  const indent = mark.length > 0 ? MENTION_MARK.length + 1 + hhmm(m.timestamp).length + 1 : hhmm(m.timestamp).length + 1;
  const edited = m.editedAt ? ` ${style.dim('(edited)')}` : '';
  const action = isAction(m.content) && !m.replyTo;
  const content = indentContinuation(safe(action ? m.content.slice(4) : m.content), indent);
  const words = `${mark ? style.bold(content) : content}${edited}${reactionsText(m.reactions)}`;
  const text = `${head}${action ? `* ${who} ` : `${who}: `}${withFiles(words, m.attachments, ctx, indent)}`;
  return m.replyTo ? `${replyLine(m.replyTo, ctx, indent)}\n${text}` : text;
}

/** The text, then one line per file; a message of files only starts with its first file. */
function withFiles(text: string, files: Attachment[] | undefined, ctx: FormatContext, indent: number): string {
  const lines = fileLines(files, ctx, indent);
  if (lines.length === 0) return text;
  if (text === '') return [lines[0]!.trimStart(), ...lines.slice(1)].join('\n');
  return [text, ...lines].join('\n');
}

/** What starts a line that mentions the user (inverse when colours are on; its text bold). */
export const MENTION_MARK = '@';

/**
 * Whether a message's `mentions` (account names, `@here`, `@room`) include the user
 * (`me`, case-insensitively). The user's own messages never do: nobody is told of
 * what they wrote themselves.
 */
export function mentionsMe(mentions: readonly string[] | undefined, author: string, me: string | null): boolean {
  if (!mentions || mentions.length === 0 || me === null || nameKey(author) === nameKey(me)) return false;
  const mine = nameKey(me);
  return mentions.some((name) => name === '@here' || name === '@room' || nameKey(name) === mine);
}

/** `      ↪ bob: the start of bob's message`, above a reply. */
export function replyLine(reply: ReplyRef, ctx: FormatContext, indent: number): string {
  const excerpt = reply.deleted ? '(deleted message)' : safe(reply.excerpt).replace(/\s+/g, ' ');
  return `${' '.repeat(indent)}${ctx.style.dim(`↪ ${safe(reply.username)}: ${excerpt}`)}`;
}

/** `      [file] report.pdf (240 KB) http://host/files/...`, one per attachment. */
export function fileLines(files: Attachment[] | undefined, ctx: FormatContext, indent: number): string[] {
  return (files ?? []).map((f) => {
    const url = ctx.origin ? absoluteFileUrl(ctx.origin, f.url) : f.url;
    return `${' '.repeat(indent)}[file] ${safe(f.name)} (${formatSize(f.size)}) ${url ? safe(url) : '(no link)'}`;
  });
}

/** A private message, marked `[pm from x]` or `[pm to y]`. */
export function privateLine(m: PrivateChatMessage, ctx: FormatContext): string {
  const { style } = ctx;
  const sent = ctx.me !== null && nameKey(m.from) === nameKey(ctx.me) && nameKey(m.to) !== nameKey(ctx.me);
  const tag = sent ? `[pm to ${style.name(safe(m.to))}]` : `[pm from ${m.bot ? `${BOT_TAG} ` : ''}${style.name(safe(m.from))}]`;
  const mark = mentionsMe(m.mentions, m.from, ctx.me) ? `${style.inverse(MENTION_MARK)} ` : '';
  const indent = 6 + (mark ? MENTION_MARK.length + 1 : 0);
  return `${mark}${style.dim(hhmm(m.timestamp))} ${style.magenta(tag)} ${withFiles(indentContinuation(safe(m.content), indent), m.attachments, ctx, indent)}`;
}

function notice(ctx: FormatContext, text: string): string {
  return ctx.style.dim(`* ${indentContinuation(text, 4)}`);
}

/** A short quote of a message, for notices about it. */
function quote(m: ChatMessage | undefined): string {
  if (!m || m.deleted) return '';
  const text = safe(m.content).replace(/\s+/g, ' ');
  return ` "${text.length > 40 ? `${text.slice(0, 39)}…` : text}"`;
}

function whose(ctx: FormatContext, id: string): string {
  const m = ctx.recall(id);
  return m ? `${ctx.style.name(safe(m.username))}'s message` : 'a message';
}

export function roomListText(rooms: RoomSummary[], ctx: FormatContext): string {
  return ['Rooms:', ...rooms.map((r) => {
    const mark = r.joined ? (r.name === ctx.current ? '>' : '*') : ' ';
    const unread = r.unread ? `, ${r.unread} unread` : '';
    const mentions = r.mentions ? `, ${r.mentions} mention${r.mentions === 1 ? '' : 's'}` : '';
    const level = r.notify && r.notify !== 'mentions' ? `, notify ${r.notify}` : '';
    return `  ${mark} ${r.name} (${r.members} online${unread}${mentions}${level})${r.topic ? ` - ${inlineText(safe(r.topic))}` : ''}`;
  })].join('\n');
}

function historyText(id: string, messages: ChatMessage[], incomplete: boolean | undefined, ctx: FormatContext): string {
  const room = labelOf(ctx, id);
  if (messages.length === 0) return notice(ctx, `No messages in ${room} yet.`);
  const head = incomplete ? `--- older messages of ${room} were pruned ---` : `--- history of ${room} ---`;
  return [ctx.style.dim(head), ...messages.map((m) => chatLine(m, ctx)), ctx.style.dim('--- end of history ---')].join('\n');
}

/** Help: the text-mode commands (which include /switch and /quit) and the client's extras. */
export function clientHelpText(): string {
  return [
    // The client's own /notify (below) also shows the level: the text-mode line is left out.
    helpText().split('\n').filter((line) => !line.startsWith('  /notify ')).join('\n'),
    'In this client also:',
    '  /switch @NAME        talk in your direct conversation with NAME (@NAME,@OTHER: a group one)',
    '  /upload PATH [TEXT]  send a file (with an optional text) to the current conversation; "quote" a path with spaces',
    '  /reply N TEXT        reply to the Nth newest message of the current room (1 = the newest)',
    '  /reply               list the newest messages of the current room with their numbers',
    '  /notify [LEVEL] [ROOM]  show or set what notifies you in a room (default: the current one; @NAME for',
    '                       a direct conversation): all, mentions or none',
    `A message that mentions you (@yourname, @here, @room) starts with "${MENTION_MARK}" and rings the terminal bell`,
    '(on a terminal; not with --no-bell or PARLEY_NO_BELL set).',
    'Tab completes commands, rooms, conversations and names; up and down recall earlier lines.',
  ].join('\n');
}

/**
 * The lines shown for a server message that is not a room message (those come through
 * `chatLine`), or null for messages the client does not print (typing, acks, receipts).
 */
export function formatServerMessage(msg: ServerMessage, ctx: FormatContext): string | null {
  const { style } = ctx;
  switch (msg.type) {
    case 'PrivateMessage':
      return privateLine(msg, ctx);
    case 'SystemMessage':
      return notice(ctx, `${msg.room ? noticeTag(ctx, msg.room) : ''}${safe(msg.content)}`);
    case 'UserJoined':
      return notice(ctx, `${style.name(safe(msg.username))} joined ${msg.room}`);
    case 'UserLeft':
      return notice(ctx, `${style.name(safe(msg.username))} left ${msg.room}`);
    case 'MessageEdited': {
      const before = ctx.recall(msg.id);
      if (!before) return notice(ctx, `a message in ${msg.room} was edited: ${safe(msg.content)}`);
      return chatLine({ ...before, content: msg.content, editedAt: msg.editedAt, timestamp: before.timestamp }, ctx);
    }
    case 'MessageDeleted':
      return notice(ctx, `${noticeTag(ctx, msg.room)}${whose(ctx, msg.id)}${quote(ctx.recall(msg.id))} was deleted`);
    case 'Reaction': {
      const verb = msg.added ? `reacted ${safe(msg.emoji)} to` : `took back ${safe(msg.emoji)} from`;
      return notice(ctx, `${noticeTag(ctx, msg.room)}${style.name(safe(msg.username))} ${verb} ${whose(ctx, msg.id)}${quote(ctx.recall(msg.id))}`);
    }
    case 'Topic':
      return notice(ctx, `${style.name(safe(msg.by))} set the topic of ${msg.room}: ${inlineText(safe(msg.topic))}`);
    case 'RoomList':
      return roomListText(msg.rooms, ctx) + (msg.next !== undefined ? `\n${style.dim(`  ... more rooms: /rooms ${safe(msg.next)}`)}` : '');
    case 'UserList':
      return `${msg.room ? `Users in ${labelOf(ctx, msg.room)}` : 'Users online'} (${msg.users.length}): ${msg.users.map((u) => style.name(safe(u))).join(', ')}`;
    case 'History':
      return historyText(msg.room, msg.messages, msg.incomplete, ctx);
    case 'SearchResults':
      return msg.messages.length === 0 ? notice(ctx, `No messages match "${inlineText(safe(msg.query))}".`)
        : [style.dim(`--- ${msg.messages.length} results for "${inlineText(safe(msg.query))}" ---`), ...msg.messages.map((m) => chatLine(m, { ...ctx, current: null }))].join('\n');
    case 'PrivateHistory':
      return [style.dim(`--- private messages with ${safe(msg.with)} ---`), ...msg.messages.map((m) => privateLine(m, ctx)), style.dim('--- end ---')].join('\n');
    case 'LoggedIn':
      return notice(ctx, `Logged in as ${style.name(msg.username)}.`);
    case 'Error':
      return errorLine(ctx, msg.message);
    case 'Conversations':
      return conversationsText(msg.conversations, ctx);
    case 'ConversationAdded': {
      const c = msg.conversation;
      return notice(ctx, c.kind === 'direct'
        ? `Direct conversation with ${directLabel(c.with ?? [])}: /switch ${switchTarget(c)} to talk there.`
        : `You are a member of ${c.room}${c.kind === 'private' ? ' (private)' : ''}: /switch ${c.room} to talk there.`);
    }
    case 'ConversationRemoved':
      return notice(ctx, `You are no longer in ${msg.room}${msg.by ? ` (removed by ${safe(msg.by)})` : ''}.`);
    case 'Bots':
      return msg.bots.length === 0 ? notice(ctx, 'There are no bots. /bot create NAME makes one.')
        : ['Bots:', ...msg.bots.map((b) => `  ${style.dim(BOT_TAG)} ${style.name(safe(b.username))} (since ${b.createdAt.slice(0, 10)})${b.banned ? style.dim(' - banned') : ''}`)].join('\n');
    case 'Members':
      return `Members of ${labelOf(ctx, msg.room)} (${msg.total}): ${msg.members.map((m) => `${m.bot ? `${style.dim(BOT_TAG)} ` : ''}${style.name(safe(m.username))}${m.role !== 'member' ? ` (${m.role})` : ''}${m.online ? '' : style.dim(' - away')}`).join(', ')}`;
    case 'Webhooks':
      return msg.webhooks.length === 0 ? notice(ctx, `${labelOf(ctx, msg.room)} has no webhooks. /webhook create NAME makes one.`)
        : [`Webhooks of ${labelOf(ctx, msg.room)} (/webhook revoke ID stops one):`,
          ...msg.webhooks.map((w) => `  ${safe(w.id)}  ${style.name(safe(w.name))}${style.dim(` created ${w.createdAt.slice(0, 10)}${w.createdBy ? ` by ${safe(w.createdBy)}` : ''}`)}`)].join('\n');
    case 'RoomCreated':
    case 'Welcome':
    case 'Message':
    case 'Typing':
    case 'ReadReceipt':
    case 'Ack':
      return null;
  }
}

/** What `/switch` takes to reach a conversation: `@bob`, `@bob,@cy`, or the room. */
export function switchTarget(c: Pick<ConversationSummary, 'room' | 'kind' | 'with'>): string {
  return c.kind === 'direct' && c.with && c.with.length > 0 ? c.with.map((n) => `@${safe(n)}`).join(',') : c.room;
}

/** `/conversations`: the account's rooms and direct conversations, latest first, with unread counts. */
export function conversationsText(list: readonly ConversationSummary[], ctx: FormatContext): string {
  if (list.length === 0) return notice(ctx, 'You are in no conversation. /join a room.');
  return [ctx.style.dim('Your conversations (/switch to one):'), ...list.map((c) => {
    const mark = c.room === ctx.current ? '>' : ' ';
    const name = c.kind === 'direct' ? directLabel(c.with ?? []) : `${c.room}${c.kind === 'private' ? ' (private)' : ''}`;
    const unread = c.unread ? ` - ${c.unread} unread` : '';
    const mentions = c.mentions ? `, ${c.mentions} mentioning you` : '';
    return `  ${mark} ${name}${unread}${mentions}${c.role !== 'member' ? ` [${c.role}]` : ''}${c.topic ? ` - ${inlineText(safe(c.topic))}` : ''}`;
  })].join('\n');
}

/**
 * The line after a (re)connect that says where unread messages wait, or null when none do:
 * `* Unread: staff 3, @bob 1 (1 mention). /switch there and /history to read them.`
 */
export function unreadSummary(list: readonly { c: ConversationSummary; unread: number }[], ctx: FormatContext): string | null {
  const waiting = list.filter((x) => x.unread > 0);
  if (waiting.length === 0) return null;
  const parts = waiting.map(({ c, unread }) => `${c.kind === 'direct' ? directLabel(c.with ?? []) : c.room} ${unread}${c.mentions ? ` (${c.mentions} mention${c.mentions === 1 ? '' : 's'})` : ''}`);
  return notice(ctx, `Unread: ${parts.join(', ')}. /switch there and /history to read them.`);
}

/** The one red line an error gets. */
export function errorLine(ctx: { style: Style }, text: string): string {
  return ctx.style.red(`! ${inlineText(safe(text).replace(/\s*\n\s*/g, ' '))}`);
}

/** The text for an Ack the user asked for (moderation, conversations), or null. */
export function ackText(msg: { for: string; [k: string]: unknown }, ctx: FormatContext): string | null {
  switch (msg.for) {
    case 'Kick':
    case 'Ban':
    case 'Unban':
      return notice(ctx, `${msg.for} ${safe(String(msg.username))}: done.`);
    case 'CreateRoom':
      return notice(ctx, `Created the ${String(msg.kind)} room ${String(msg.room)}. Messages now go to ${String(msg.room)}.${msg.kind === 'private' ? ' /invite people to it.' : ''}`);
    case 'Invite':
      return notice(ctx, msg.already ? `${safe(String(msg.username))} is already a member of ${String(msg.room)}.` : `${safe(String(msg.username))} is now a member of ${String(msg.room)}.`);
    case 'RemoveMember':
      return notice(ctx, `${safe(String(msg.username))} is no longer a member of ${String(msg.room)}.`);
    case 'SetRole':
      return notice(ctx, `${safe(String(msg.username))} is now ${msg.role === 'moderator' ? 'a moderator' : 'a member'} of ${String(msg.room)}.`);
    case 'OpenDirect': {
      const others = Array.isArray(msg.with) ? msg.with.map(String) : [];
      return notice(ctx, `Direct conversation with ${directLabel(others)}: /switch ${switchTarget({ room: String(msg.room), kind: 'direct', with: others })} to talk there.`);
    }
    case 'SetNotify':
      return notice(ctx, `Notifications for ${labelOf(ctx, String(msg.room))}: ${String(msg.level)}.`);
    case 'CreateWebhook':
      return notice(ctx, `Webhook ${safe(String(msg.id))} of ${String(msg.room)} posts as ${safe(String(msg.name))}. POST JSON {"text": "..."} to\n` +
        `${webhookUrl(String(msg.url), ctx.origin)}\nKeep this URL secret: it is shown only now (/webhook revoke ${safe(String(msg.id))} stops it).`);
    case 'RevokeWebhook':
      return notice(ctx, `Webhook ${safe(String(msg.id))} of ${String(msg.room)} is revoked.`);
    case 'SetBotWebhook':
      return notice(ctx, msg.url === null ? `${safe(String(msg.name))} has no outgoing webhook now.`
        : `${safe(String(msg.name))}'s outgoing webhook goes to ${safe(String(msg.url))}.\nIts signing secret, shown only now: ${safe(String(msg.secret))}`);
    default:
      return null;
  }
}

/** A webhook's URL as the server gave it, made absolute against the server's origin when it is a path. */
export function webhookUrl(url: string, origin: string | undefined): string {
  if (!url.startsWith('/') || !origin) return safe(url);
  try {
    return safe(new URL(url, origin).href);
  } catch {
    return safe(url);
  }
}
