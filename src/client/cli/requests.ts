/**
 * The interactive client's commands that are requests (a JSON request each, as text mode's
 * commands are parsed): each is sent, and its answer both printed and learnt from (rooms
 * joined and left, conversations, members, history to reply to).
 */
import { normaliseRoom } from '../../protocol/names.js';
import type { ClientMessage, ClientMessageOf, ClientType } from '../../protocol/schema.js';
import { ACCOUNT_REQUESTS } from './account-requests.js';
import { OPENING_DIRECT, type Answer, type ChatView } from './chat-view.js';
import { ackText, formatServerMessage, safe } from './format.js';

/** A command, as a JSON request; its answer, or why it failed, is printed here. */
export async function perform(view: ChatView, msg: ClientMessage): Promise<void> {
  try {
    const handler = (REQUESTS[msg.type] ?? showAnswer) as (view: ChatView, msg: ClientMessage) => Promise<void> | void;
    await handler(view, msg);
  } catch (err) {
    view.error(view.failure(err));
  }
}

/** Sends one kind of command and shows what its answer did; it throws what the request throws. */
export type RequestHandler<T extends ClientType> = (view: ChatView, msg: ClientMessageOf<T>) => Promise<void> | void;

/** How some request types are sent and answered (those not listed: `showAnswer`). */
export type RequestTable = { [T in ClientType]?: RequestHandler<T> };

const REQUESTS: RequestTable = {
  ...ACCOUNT_REQUESTS,
  // `/me ACTION`: a message like any other, sent with a nonce.
  SendMessage: (view, msg) => view.sendChat(msg.content),
  PrivateMessage: sendPrivate,
  CreateRoom: createRoom,
  OpenDirect: openDirect,
  JoinRoom: joinRoom,
  LeaveRoom: leaveRoom,
  ListConversations: listConversations,
  ListRooms: listRooms,
  ListUsers: listUsers,
  History: history,
};

/** Any other request: its answer as text mode words it. */
async function showAnswer(view: ChatView, msg: ClientMessage): Promise<void> {
  const answer = await view.client.request(msg);
  const text = answer.type === 'Ack' ? ackText(answer, view.ctx) : formatServerMessage(answer, view.ctx);
  if (text) view.print(text);
}

/**
 * A request whose answer says what happened to a conversation (`what`: the room, or
 * OPENING_DIRECT), so that the ConversationAdded that may come first is not shown twice.
 */
async function ask(view: ChatView, msg: ClientMessage, what: string): Promise<Answer<'Ack'>> {
  view.asking.add(what);
  try {
    return await view.client.request(msg) as Answer<'Ack'>;
  } finally {
    view.asking.delete(what);
  }
}

function sendPrivate(view: ChatView, msg: ClientMessageOf<'PrivateMessage'>): void {
  // Not awaited, like a room message: the server's echo ([pm to …]) is printed as it
  // arrives, possibly after a reconnect.
  view.warnIfOffline();
  view.sendTracked(view.client.sendPrivate(msg.to, msg.content));
}

async function createRoom(view: ChatView, msg: ClientMessageOf<'CreateRoom'>): Promise<void> {
  const ack = await ask(view, msg, normaliseRoom(msg.room) ?? msg.room);
  const room = String(ack.room ?? msg.room);
  view.adopt(room);
  view.knownRooms.add(room);
  view.current = room;
  view.updatePrompt();
  view.print(ackText(ack, view.ctx)!);
}

async function openDirect(view: ChatView, msg: ClientMessageOf<'OpenDirect'>): Promise<void> {
  const ack = await ask(view, msg, OPENING_DIRECT);
  const room = String(ack.room);
  view.book.direct(room, Array.isArray(ack.with) ? ack.with.map(String) : []);
  view.adopt(room);
  view.print(ackText(ack, view.ctx)!);
}

async function joinRoom(view: ChatView, msg: ClientMessageOf<'JoinRoom'>): Promise<void> {
  const c = view.client;
  const ack = await ask(view, msg, normaliseRoom(msg.room) ?? msg.room);
  const room = String(ack.room ?? msg.room);
  if (!c.rooms.includes(room)) c.rooms.push(room);
  view.knownRooms.add(room);
  view.current = room;
  view.updatePrompt();
  const topic = typeof ack.topic === 'string' && ack.topic ? ` Topic: ${safe(ack.topic)}` : '';
  view.notice(`You are in ${room}. Messages now go to ${room}.${topic}`);
  const members = await c.request({ type: 'ListUsers', room }).catch(() => null) as Answer<'UserList'> | null;
  if (members) view.members.set(room, new Set(members.users));
}

async function leaveRoom(view: ChatView, msg: ClientMessageOf<'LeaveRoom'>): Promise<void> {
  const raw = msg.room ?? view.current ?? 'general';
  const room = normaliseRoom(raw) ?? raw;
  await view.client.leave(room);
  view.members.delete(room);
  view.typers.clear(room);
  view.book.forget(room);
  if (view.current === room) view.current = view.firstRoom();
  view.updatePrompt();
  view.notice(view.current ? `You left ${room}. Messages now go to ${view.label(view.current)}.` : `You left ${room}. /join a room to talk.`);
}

async function listConversations(view: ChatView, msg: ClientMessageOf<'ListConversations'>): Promise<void> {
  const list = await view.client.request(msg) as Answer<'Conversations'>;
  for (const conv of list.conversations) view.learnConversation(conv);
  // What this client has shown is not unread, whether or not its read mark has arrived.
  const seen = list.conversations.map((conv) => ({ ...conv, unread: view.book.unreadOf(conv) }));
  view.print(formatServerMessage({ ...list, conversations: seen }, view.ctx)!);
}

async function listRooms(view: ChatView, msg: ClientMessageOf<'ListRooms'>): Promise<void> {
  const list = await view.client.request(msg) as Answer<'RoomList'>;
  for (const r of list.rooms) view.knownRooms.add(r.name);
  view.print(formatServerMessage(list, view.ctx)!);
}

async function listUsers(view: ChatView, msg: ClientMessageOf<'ListUsers'>): Promise<void> {
  const list = await view.client.request(msg) as Answer<'UserList'>;
  if (list.room) view.members.set(list.room, new Set(list.users));
  else for (const u of list.users) view.knownUsers.add(u);
  view.print(formatServerMessage(list, view.ctx)!);
}

async function history(view: ChatView, msg: ClientMessageOf<'History'>): Promise<void> {
  const page = await view.client.request(msg) as Answer<'History'>;
  for (const m of page.messages) view.remember(m);
  view.print(formatServerMessage(page, view.ctx)!);
  // What /history showed is read (the unread summary told the user to look there).
  const newest = page.messages[page.messages.length - 1];
  if (newest) view.markShown(page.room, newest.seq);
}
