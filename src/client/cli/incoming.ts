/**
 * What the server sends, on the screen of the interactive client: room and direct messages
 * (each shown once, marked read, the bell rung for a mention), and the events that change
 * what the client knows (conversations, members, typing, edits) before they are printed.
 */
import type { ChatMessage, PrivateChatMessage, ServerMessage, ServerMessageOf } from '../../protocol/messages.js';
import { nameKey } from '../../protocol/names.js';
import { applyReaction } from '../../protocol/reactions.js';
import { OPENING_DIRECT, type ChatView } from './chat-view.js';
import { chatLine, formatServerMessage, mentionsMe, safe } from './format.js';

/** The terminal bell, rung for a message that mentions the user. */
const BEL = '\x07';

/** A room message (live, or from a resume page). */
export function showChat(view: ChatView, m: ChatMessage): void {
  // A direct message can come both live and in a resume page: it is shown once.
  if (view.recall.has(m.id)) return;
  view.remember(m);
  view.markShown(m.room, m.seq);
  view.knownUsers.add(m.username);
  view.typers.stop(m.room, m.username);
  view.print(chatLine(m, view.ctx));
  ring(view, m.mentions, m.username);
}

/** Any other server message; those that no handler takes are of no interest here. */
export function showServerMessage(view: ChatView, m: ServerMessage): void {
  // Own keys only: a frame's type is whatever the server wrote.
  if (!Object.hasOwn(HANDLERS, m.type)) return;
  (HANDLERS[m.type] as (view: ChatView, m: ServerMessage) => void)(view, m);
}

type Handler<T extends ServerMessage['type']> = (view: ChatView, m: ServerMessageOf<T>) => void;

const HANDLERS: { [T in ServerMessage['type']]?: Handler<T> } = {
  PrivateMessage: showPrivate,
  ConversationAdded: conversationAdded,
  ConversationRemoved: conversationRemoved,
  RoomCreated: (view, m) => { view.knownRooms.add(m.room); },
  Ack: serverJoined,
  UserJoined: userJoined,
  UserLeft: userLeft,
  Typing: typing,
  MessageEdited: messageEdited,
  MessageDeleted: messageDeleted,
  Reaction: reaction,
  SystemMessage: print,
  Topic: print,
  Error: serverError,
};

function print(view: ChatView, m: ServerMessage): void {
  view.print(formatServerMessage(m, view.ctx)!);
}

/** Rings the bell when a live message mentions the user (history and search never do). */
function ring(view: ChatView, mentions: string[] | undefined, author: string): void {
  if (view.bell && mentionsMe(mentions, author, view.client.username)) process.stdout.write(BEL);
}

function showPrivate(view: ChatView, m: ServerMessageOf<'PrivateMessage'>): void {
  view.knownUsers.add(m.from);
  view.knownUsers.add(m.to);
  if (m.room !== undefined && m.seq !== undefined) {
    showDirect(view, m, m.room, m.seq);
    return;
  }
  print(view, m);
  ring(view, m.mentions, m.from);
}

/**
 * A message of a two-member direct conversation (a PrivateMessage with its room and seq):
 * shown as a message of that conversation (`[@bob] bob: hi`), resumed with it after a
 * reconnect.
 */
function showDirect(view: ChatView, m: PrivateChatMessage, room: string, seq: number): void {
  const client = view.client;
  const me = client.username === null ? null : nameKey(client.username);
  view.book.direct(room, [nameKey(m.from) === me ? m.to : m.from], true);
  view.adopt(room);
  if (seq > (client.lastSeq.get(room) ?? 0)) client.lastSeq.set(room, seq);
  const chat: ChatMessage = {
    id: m.id, seq, room, username: m.username ?? m.from, content: m.content, timestamp: m.timestamp,
    ...(m.editedAt ? { editedAt: m.editedAt } : {}), ...(m.deleted ? { deleted: true } : {}), ...(m.reactions ? { reactions: m.reactions } : {}),
    ...(m.replyTo ? { replyTo: m.replyTo } : {}), ...(m.attachments ? { attachments: m.attachments } : {}), ...(m.mentions ? { mentions: m.mentions } : {}),
  };
  showChat(view, chat);
}

function conversationAdded(view: ChatView, m: ServerMessageOf<'ConversationAdded'>): void {
  const c = m.conversation;
  // A conversation this client joined, created or opened itself is announced by the answer.
  const own = view.client.rooms.includes(c.room) || view.asking.has(c.room) || (c.kind === 'direct' && view.asking.has(OPENING_DIRECT));
  view.learnConversation(c);
  if (!own) print(view, m);
}

function conversationRemoved(view: ChatView, m: ServerMessageOf<'ConversationRemoved'>): void {
  // Leaving a room with /leave here was announced by its answer (and forgotten already).
  if (!view.book.has(m.room) && !view.client.rooms.includes(m.room)) return;
  const wasCurrent = view.current === m.room;
  view.forgetConversation(m.room, false);
  print(view, m);
  if (wasCurrent) view.notice(view.current ? `Messages now go to ${view.label(view.current)}.` : '/join a room to talk.');
}

/** A room the server put this connection in (a new account's `general`). */
function serverJoined(view: ChatView, m: ServerMessageOf<'Ack'>): void {
  if (m.for !== 'JoinRoom' || m.ref !== undefined || typeof m.room !== 'string') return;
  view.adopt(m.room);
  // The server's current room, until the user picks one: its history is not tagged.
  view.current ??= m.room;
}

function userJoined(view: ChatView, m: ServerMessageOf<'UserJoined'>): void {
  view.memberSet(m.room).add(m.username);
  view.knownUsers.add(m.username);
  print(view, m);
}

function userLeft(view: ChatView, m: ServerMessageOf<'UserLeft'>): void {
  view.memberSet(m.room).delete(m.username);
  view.typers.stop(m.room, m.username);
  print(view, m);
}

function typing(view: ChatView, m: ServerMessageOf<'Typing'>): void {
  const me = view.client.username;
  if (me && nameKey(m.username) === nameKey(me)) return;
  if (m.active) view.typers.start(m.room, safe(m.username));
  else view.typers.stop(m.room, m.username);
}

function messageEdited(view: ChatView, m: ServerMessageOf<'MessageEdited'>): void {
  print(view, m);
  const before = view.recall.get(m.id);
  if (before) view.remember({ ...before, content: m.content, editedAt: m.editedAt });
}

function messageDeleted(view: ChatView, m: ServerMessageOf<'MessageDeleted'>): void {
  print(view, m);
  const before = view.recall.get(m.id);
  if (before) view.remember({ ...before, deleted: true });
}

function reaction(view: ChatView, m: ServerMessageOf<'Reaction'>): void {
  print(view, m);
  const before = view.recall.get(m.id);
  if (before) view.remember({ ...before, reactions: applyReaction(before.reactions, m, (a, b) => nameKey(a) === nameKey(b)) });
}

function serverError(view: ChatView, m: ServerMessageOf<'Error'>): void {
  // A reconnect whose token was refused: the core takes the name afresh (a new account).
  if (m.code === 'TOKEN_INVALID' && view.offline && !view.quitting && !view.toldTokenRefused) {
    view.toldTokenRefused = true;
    view.notice(`The server no longer knows this account (its token was refused): taking the name ${view.client.username ?? ''} afresh.`);
  }
  // Answers to our own requests are shown by whoever asked.
  if (m.ref === undefined) print(view, m);
}
