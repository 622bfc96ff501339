/**
 * What a line typed in the interactive client does: a message to the current room, one of
 * text mode's commands (sent as a request, see requests.ts), or a command that only this
 * client has, because it needs what the client knows (/switch, /reply N, /upload PATH,
 * /notify, /topic).
 */
import type { ChatMessage, NotifyLevel } from '../../protocol/messages.js';
import { normaliseRoom } from '../../protocol/names.js';
import { parseTextLine } from '../../protocol/text.js';
import type { Answer, ChatView } from './chat-view.js';
import { httpOrigin, parseUploadArgs, uploadFile } from './files.js';
import { clientHelpText, hhmm, safe } from './format.js';
import { perform } from './requests.js';

/** How many of the newest messages `/reply` lists. */
const REPLY_LIST = 9;
const NOTIFY_LEVELS: readonly string[] = ['all', 'mentions', 'none'] satisfies NotifyLevel[];

type LocalCommand = (view: ChatView, args: string) => void | Promise<void>;

/** The commands this client answers itself, by name (a Map: a typed word is never an Object key). */
const LOCAL_COMMANDS = new Map<string, LocalCommand>([
  ['switch', (view, args) => switchRoom(view, args.trim())],
  ['reply', reply],
  ['upload', upload],
  ['notify', notify],
]);

/** Does what a typed line asks; `quit` ends the client (for /quit). */
export async function handleLine(view: ChatView, raw: string, quit: () => Promise<void>): Promise<void> {
  if (view.quitting) return;
  const line = raw.replace(/\r$/, '');
  if (line.trim() === '') return;
  const command = /^\/(\S+)\s*(.*)$/s.exec(line);
  const local = command ? LOCAL_COMMANDS.get(command[1]!.toLowerCase()) : undefined;
  if (local) {
    await local(view, command![2]!);
    return;
  }
  const action = parseTextLine(line, view.current);
  switch (action.kind) {
    case 'chat':
      view.sendChat(action.content);
      return;
    case 'help':
      view.print(clientHelpText());
      return;
    case 'quit':
      await quit();
      return;
    case 'topic':
      await showTopic(view);
      return;
    case 'error':
      view.error(action.detail);
      return;
    case 'message':
      await perform(view, action.msg);
  }
}

async function showTopic(view: ChatView): Promise<void> {
  const current = view.current;
  if (!current) {
    view.notice('You are not in a room.');
    return;
  }
  const list = (await view.client.request({ type: 'ListConversations' }) as Answer<'Conversations'>).conversations;
  const topic = list.find((c) => c.room === current)?.topic ?? (await view.client.listRooms()).find((r) => r.name === current)?.topic;
  view.notice(`Topic of ${view.label(current)}: ${safe(topic ?? '') || '(none)'}`);
}

/**
 * `/switch ROOM`: talk in another of the account's conversations, as in text mode: a room
 * it is in, or a direct conversation (`@bob`). It never joins anything.
 */
function switchRoom(view: ChatView, arg: string): void {
  const rooms = view.client.rooms;
  if (!arg) {
    const all = [...rooms.filter((r) => !view.book.isDirect(r)), ...rooms.filter((r) => view.book.isDirect(r)).map((r) => view.label(r))];
    view.notice(`You are in ${all.join(', ') || 'no room'}. /switch ROOM (or @NAME) to talk in another one.`);
    return;
  }
  const word = arg.split(/\s+/)[0]!;
  const room = view.book.named(word, rooms);
  if (!room) {
    const name = word.replace(/^[#@]/, '');
    view.error(word.startsWith('@')
      ? `You have no conversation with ${safe(name)}. /pm ${safe(name)} TEXT or /dm ${safe(name)} starts one.`
      : `You are not in ${safe(normaliseRoom(word) ?? name)}. /join ${safe(normaliseRoom(word) ?? name)} first.`);
    return;
  }
  view.current = room;
  view.updatePrompt();
  view.notice(`Messages now go to ${view.label(room)}.`);
}

/** `/reply N TEXT` answers the Nth newest message of the current room; `/reply` lists them. */
function reply(view: ChatView, args: string): void {
  const room = view.current;
  if (!room) {
    view.error('You are not in a room. /join ROOM to talk.');
    return;
  }
  const match = /^\s*(\d+)(?:\s+([\s\S]*))?$/.exec(args);
  const newest = newestOf(view, room);
  if (args.trim() === '') {
    listReplyTargets(view, room, newest);
    return;
  }
  const text = match?.[2]?.trim() ?? '';
  if (!match || text === '') {
    view.error('Usage: /reply N TEXT (N = 1 for the newest message of this room; /reply lists them)');
    return;
  }
  const target = newest[Number(match[1]) - 1];
  if (!target) {
    view.error(`There is no message ${match[1]} in ${room}: /reply lists the ones you can answer.`);
    return;
  }
  view.warnIfOffline();
  view.sendTracked(view.client.sendMessage(room, text, { replyTo: target.id }));
}

/** A room's messages, newest first, as `/reply N` counts them (deleted ones do not count). */
function newestOf(view: ChatView, room: string): ChatMessage[] {
  return [...view.recall.values()].filter((m) => m.room === room && !m.deleted).sort((a, b) => b.seq - a.seq);
}

/** `/reply` alone: the newest messages of the room, numbered as `/reply N` takes them. */
function listReplyTargets(view: ChatView, room: string, newest: ChatMessage[]): void {
  if (newest.length === 0) {
    view.notice(`No messages in ${room} to reply to yet.`);
    return;
  }
  const { style } = view;
  view.print([style.dim(`--- newest messages of ${room}: /reply N TEXT answers one ---`),
    ...newest.slice(0, REPLY_LIST).map((m, i) => `${String(i + 1).padStart(2)}  ${hhmm(m.timestamp)} ${style.name(safe(m.username))}: ${safe(m.content).replace(/\s+/g, ' ').slice(0, 60)}`)].join('\n'));
}

/** `/upload PATH [TEXT]`: uploads the file, then sends it to the current room with the text. */
async function upload(view: ChatView, args: string): Promise<void> {
  const room = view.current;
  const parsed = parseUploadArgs(args);
  if (!parsed) {
    view.error('Usage: /upload PATH [TEXT] ("quote" a path with spaces)');
    return;
  }
  if (!room) {
    view.error('You are not in a room. /join ROOM to talk.');
    return;
  }
  const token = view.client.token;
  if (!token || view.client.guest) {
    view.error('Sharing files needs an account with a password: /register PASSWORD keeps your name (or start the client with --password).');
    return;
  }
  view.notice(`Uploading ${safe(parsed.path)}…`);
  try {
    const file = await uploadFile(httpOrigin(view.url), token, parsed.path);
    view.sendTracked(view.client.sendMessage(room, parsed.text, { attachments: [file.id] }));
  } catch (err) {
    view.error((err as Error).message);
  }
}

/**
 * `/notify [LEVEL] [ROOM]`: with a level, sets it (SetNotify) for ROOM (default: the
 * current room; `@NAME` for a private conversation); without, shows the room's level and
 * unread mentions from the room list.
 */
async function notify(view: ChatView, args: string): Promise<void> {
  const words = args.trim().split(/\s+/).filter((w) => w !== '');
  const level = words[0] !== undefined && NOTIFY_LEVELS.includes(words[0].toLowerCase()) ? words.shift()!.toLowerCase() as NotifyLevel : null;
  if (words.length > 1) {
    view.error('Usage: /notify [all|mentions|none] [ROOM or @NAME]');
    return;
  }
  const raw = words[0];
  const room = raw === undefined ? view.current : raw.startsWith('@') ? view.book.named(raw, view.client.rooms) ?? raw : normaliseRoom(raw);
  if (!room) {
    view.error(raw === undefined ? 'You are not in a room: /notify [LEVEL] ROOM.' : `Bad room "${safe(raw)}". Usage: /notify [all|mentions|none] [ROOM or @NAME]`);
    return;
  }
  try {
    if (level) await setNotify(view, room, level);
    else await showNotify(view, room);
  } catch (err) {
    view.error(view.failure(err));
  }
}

async function setNotify(view: ChatView, room: string, level: NotifyLevel): Promise<void> {
  const ack = await view.client.request({ type: 'SetNotify', room, level }) as Answer<'Ack'>;
  view.notice(`Notifications for ${safe(view.label(String(ack.room ?? room)))}: ${safe(String(ack.level ?? level))}.`);
}

async function showNotify(view: ChatView, room: string): Promise<void> {
  if (room.startsWith('@')) {
    view.error(`You have no conversation with ${safe(room.slice(1))}.`);
    return;
  }
  // The account's own conversations first (direct ones too), then the public rooms.
  const list = (await view.client.request({ type: 'ListConversations' }) as Answer<'Conversations'>).conversations;
  const summary = list.find((c) => c.room === room) ?? (await view.client.listRooms()).find((r) => r.name === room);
  if (!summary) {
    view.error(`No room ${safe(room)}.`);
    return;
  }
  const mentions = summary.mentions ? ` (${summary.mentions} unread mention${summary.mentions === 1 ? '' : 's'})` : '';
  view.notice(`Notifications for ${view.label(room)}: ${summary.notify}${mentions}. /notify all|mentions|none changes it.`);
}
