/**
 * Messages: SendMessage, PrivateMessage, History, PrivateHistory, Typing, EditMessage,
 * DeleteMessage, React, MarkRead, Search.
 */
import type { ChatMessage, ServerMessage } from '../../protocol/messages.js';
import { cleanContent, isBlank, nameKey, normaliseName } from '../../protocol/names.js';
import { reactionUsers } from '../../protocol/reactions.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import type { Chat } from './chat.js';
import { ChatError, StoreFailure, fail, stored } from './errors.js';
import { ownsRoom, requireNamed, roomName } from './handle-rooms.js';
import { Outbound, refOf, withFields } from './outbound.js';
import { NO_MENTIONS, afterPrivateMessage, afterRoomMessage, mayMention, resolveMentions, type ResolvedMentions } from './mentions.js';
import { fitPage } from './page-bytes.js';
import type { Session } from './session.js';

const DEFAULT_PAGE = 50;
const EMOJI_RE = /^[^\s\p{Cc}]{1,32}$/u;

/**
 * Cleans and bounds message content; throws EMPTY_CONTENT (nothing visible: only
 * whitespace and invisible characters such as U+3164 or U+2800) or CONTENT_TOO_LONG.
 */
export function checkContent(chat: Chat, raw: string): string {
  const content = cleanContent(raw).replace(/\s+$/, '');
  if (isBlank(content)) fail('EMPTY_CONTENT');
  const max = chat.config.maxContentLength;
  if (content.length > max) fail('CONTENT_TOO_LONG', `Messages are at most ${max} characters; that one has ${content.length}.`);
  return content;
}

/** An optional one-line text (a kick reason): cleaned, on one line; EMPTY_CONTENT when it shows nothing. */
export function checkLine(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  const line = cleanContent(raw).replace(/\s+/g, ' ').trim();
  if (isBlank(line)) fail('EMPTY_CONTENT');
  return line;
}

function memberRoom(s: Session, raw: string | undefined): string {
  const room = raw === undefined ? (s.current ?? fail('NOT_IN_ROOM', 'You are not in a room. Join one first.')) : roomName(raw);
  if (!s.rooms.has(room)) fail('NOT_IN_ROOM', `You are not in ${room}. Join it first.`);
  return room;
}

/** The wire form of a freshly stored message (no edit, deletion or reaction fields). */
function live(m: ChatMessage): ServerMessage {
  const wire: ServerMessage = { type: 'Message', id: m.id, seq: m.seq, room: m.room, username: m.username, content: m.content, timestamp: m.timestamp };
  if (m.mentions) wire.mentions = m.mentions;
  return wire;
}

export function sendMessage(chat: Chat, s: Session, msg: ClientMessageOf<'SendMessage'>): void | Promise<void> {
  requireNamed(s);
  const room = memberRoom(s, msg.room);
  const content = checkContent(chat, msg.content);
  if (!mayMention(content)) {
    appendRoomMessage(chat, s, msg, room, content, null);
    return;
  }
  // Mentions are looked up before the append; returning the promise holds back this
  // connection's next frames until the append is queued, so its messages keep their order.
  return resolveMentions(chat, s, room, content).then((mentions) => appendRoomMessage(chat, s, msg, room, content, mentions));
}

function appendRoomMessage(chat: Chat, s: Session, msg: ClientMessageOf<'SendMessage'>, room: string, content: string, mentions: ResolvedMentions | null): void {
  const username = s.username!;
  const listed = mentions && mentions.names.length > 0 ? { mentions: mentions.names } : {};
  // Not awaited: the connection's next frames go on while the store groups this append
  // with others into one commit. Appends commit in call order, so confirmations stay ordered.
  chat.deps.store.appendMessage({ id: chat.deps.newId(), room, username, content, timestamp: chat.iso(), nonce: msg.nonce ?? null, ...listed })
    .then(({ message, duplicate }) => {
      const wire = live(message);
      s.noteAuthored(message.id);
      // In JSON mode the sender's copy is its confirmation; it goes out with the room's
      // local delivery, so it waits, like theirs, for a lower seq still on its way.
      const echo = s.mode === 'json'
        ? (out: Outbound) => s.sendFrame(withFields(out.json(), { ref: msg.ref, nonce: msg.nonce || undefined }))
        : undefined;
      // A resend of a stored message (its first sender's node may have died before fanning
      // it out) goes to the room too: fan-out delivers it only where it was not delivered yet.
      chat.broadcast(room, wire, s, echo, duplicate);
      // Every message may notify accounts at level `all`; only one that mentions anyone counts.
      if (!duplicate && (mentions || chat.deps.pusher)) void afterRoomMessage(chat, s, message, mentions ?? NO_MENTIONS);
    }, (err: unknown) => {
      chat.replyError(s, new StoreFailure('appendMessage', err), msg.ref);
    });
}

export async function privateMessage(chat: Chat, s: Session, msg: ClientMessageOf<'PrivateMessage'>): Promise<void> {
  const { username, key } = requireNamed(s);
  const toName = normaliseName(msg.to) ?? fail('INVALID_NAME');
  const toKey = nameKey(toName);
  const to = (await chat.deps.presence.lookup(toKey)) ?? fail('NO_SUCH_USER', `${toName} is not online.`);
  const content = checkContent(chat, msg.content);
  const mentions = mayMention(content) ? (await resolveMentions(chat, s, null, content)).names : [];
  const { message, duplicate } = await stored('appendPrivate', chat.deps.store.appendPrivate({
    id: chat.deps.newId(), from: username, to, content, timestamp: chat.iso(), nonce: msg.nonce ?? null,
    ...(mentions.length > 0 ? { mentions } : {}),
  }));
  const out = new Outbound({ type: 'PrivateMessage', ...message });
  if (!duplicate) {
    chat.toUser(toKey, out, s);
    if (toKey !== key) chat.toUser(key, out, s);
  }
  if (s.mode === 'json') s.sendFrame(withFields(out.json(), { ref: msg.ref, nonce: msg.nonce || undefined }));
  else s.send({ type: 'Ack', for: 'PrivateMessage', to, content });
  if (!duplicate) void afterPrivateMessage(chat, message);
}

export async function history(chat: Chat, s: Session, msg: ClientMessageOf<'History'>): Promise<void> {
  const room = msg.room === undefined ? (s.current ?? fail('NOT_IN_ROOM')) : roomName(msg.room);
  await chat.requireRoom(room);
  const limit = Math.min(msg.limit ?? DEFAULT_PAGE, chat.config.historyLimit);
  const q = { room, limit, ...(msg.before !== undefined ? { before: msg.before } : {}), ...(msg.after !== undefined ? { after: msg.after } : {}) };
  const page = await stored('history', chat.deps.store.history(q));
  // A page after a seq keeps its oldest messages; a page before one (or the latest) its newest.
  const fitted = fitPage(page.messages, chat.config.historyPageBytes, msg.after !== undefined ? 'start' : 'end');
  s.send({
    type: 'History', room, messages: fitted.messages, hasMore: page.hasMore || fitted.trimmed, firstSeq: page.firstSeq,
    ...(page.incomplete ? { incomplete: true } : {}), ...refOf(msg),
  });
}

export async function privateHistory(chat: Chat, s: Session, msg: ClientMessageOf<'PrivateHistory'>): Promise<void> {
  const { username } = requireNamed(s);
  const other = normaliseName(msg.with) ?? fail('INVALID_NAME');
  const limit = Math.min(msg.limit ?? DEFAULT_PAGE, chat.config.historyLimit);
  const page = await stored('privateHistory', chat.deps.store.privateHistory(username, other, limit, msg.before));
  const fitted = fitPage(page.messages, chat.config.historyPageBytes, 'end');
  s.send({ type: 'PrivateHistory', with: other, messages: fitted.messages, hasMore: page.hasMore || fitted.trimmed, ...refOf(msg) });
}

export function typing(chat: Chat, s: Session, msg: ClientMessageOf<'Typing'>): void {
  const { username } = requireNamed(s);
  const room = memberRoom(s, msg.room);
  chat.broadcast(room, { type: 'Typing', room, username, active: msg.active }, s);
  if (msg.ref !== undefined) s.send({ type: 'Ack', for: 'Typing', ref: msg.ref });
}

async function ownMessage(chat: Chat, s: Session, id: string, allowModerator: boolean): Promise<ChatMessage> {
  const { key } = requireNamed(s);
  const m = await stored('getMessage', chat.deps.store.getMessage(id));
  if (!m || m.deleted) fail('NO_SUCH_MESSAGE');
  // An account owns its messages from any connection; a guest only those this connection sent.
  if (nameKey(m.username) === key && (s.account === key || s.wrote(m.id))) return m;
  if (allowModerator && (s.admin || ownsRoom(s, await chat.room(m.room)))) return m;
  throw new ChatError('FORBIDDEN', allowModerator ? 'You can only delete your own messages.' : 'You can only edit your own messages.');
}

export async function editMessage(chat: Chat, s: Session, msg: ClientMessageOf<'EditMessage'>): Promise<void> {
  const content = checkContent(chat, msg.content);
  const old = await ownMessage(chat, s, msg.id, false);
  // An edit re-reads the mentions (an empty list clears them) but counts and pushes none: an
  // edit must not notify again, and the mentions it adds show in the message.
  const mentions = mayMention(content) ? (await resolveMentions(chat, s, old.room, content)).names : [];
  const m = (await stored('editMessage', chat.deps.store.editMessage(msg.id, content, chat.iso(), mentions))) ?? fail('NO_SUCH_MESSAGE');
  s.send({ type: 'Ack', for: 'EditMessage', id: m.id, ...refOf(msg) });
  chat.broadcast(m.room, {
    type: 'MessageEdited', id: m.id, room: m.room, seq: m.seq, content: m.content, editedAt: m.editedAt ?? chat.iso(),
    ...(m.mentions ? { mentions: m.mentions } : {}),
  });
}

export async function deleteMessage(chat: Chat, s: Session, msg: ClientMessageOf<'DeleteMessage'>): Promise<void> {
  await ownMessage(chat, s, msg.id, true);
  const m = (await stored('deleteMessage', chat.deps.store.deleteMessage(msg.id))) ?? fail('NO_SUCH_MESSAGE');
  s.send({ type: 'Ack', for: 'DeleteMessage', id: m.id, ...refOf(msg) });
  chat.broadcast(m.room, { type: 'MessageDeleted', id: m.id, room: m.room, seq: m.seq });
}

export async function react(chat: Chat, s: Session, msg: ClientMessageOf<'React'>): Promise<void> {
  const { username } = requireNamed(s);
  const emoji = cleanContent(msg.emoji).normalize('NFC');
  if (isBlank(emoji)) fail('EMPTY_CONTENT', 'A reaction must show something.');
  if (!EMOJI_RE.test(emoji)) fail('BAD_MESSAGE', 'A reaction is one emoji (or a short word without spaces).');
  const existing = await stored('getMessage', chat.deps.store.getMessage(msg.id));
  if (!existing || existing.deleted) fail('NO_SUCH_MESSAGE');
  if (!s.rooms.has(existing.room)) fail('NOT_IN_ROOM', `Join ${existing.room} to react to its messages.`);
  const { maxReactionEmoji, maxReactionsPerUser } = chat.config;
  const bounds = { maxEmoji: maxReactionEmoji, maxPerUser: maxReactionsPerUser };
  const result = (await stored('toggleReaction', chat.deps.store.toggleReaction(msg.id, username, emoji, bounds))) ?? fail('NO_SUCH_MESSAGE');
  if (result.refused === 'emoji') {
    fail('TOO_MANY_REACTIONS', `A message can carry at most ${maxReactionEmoji} different reactions; react with one it already has.`);
  }
  if (result.refused === 'user') {
    fail('TOO_MANY_REACTIONS', `You can put at most ${maxReactionsPerUser} reactions on one message; take one back first.`);
  }
  const m = result.message;
  s.send({ type: 'Ack', for: 'React', id: m.id, added: result.added, ...refOf(msg) });
  // Only the change goes to the room: the whole map of a much-reacted message is large.
  const count = reactionUsers(m.reactions, emoji).length;
  chat.broadcast(m.room, { type: 'Reaction', id: m.id, room: m.room, seq: m.seq, emoji, username, added: result.added, count });
}

export async function markRead(chat: Chat, s: Session, msg: ClientMessageOf<'MarkRead'>): Promise<void> {
  const { username, key } = requireNamed(s);
  const room = roomName(msg.room);
  await stored('markRead', chat.deps.store.markRead(key, room, msg.seq));
  s.send({ type: 'Ack', for: 'MarkRead', room, seq: msg.seq, ...refOf(msg) });
  chat.toUser(key, { type: 'ReadReceipt', room, seq: msg.seq, username }, s);
}

export async function search(chat: Chat, s: Session, msg: ClientMessageOf<'Search'>): Promise<void> {
  const room = msg.room === undefined ? undefined : roomName(msg.room);
  const limit = Math.min(msg.limit ?? DEFAULT_PAGE, chat.config.historyLimit);
  const q = { query: msg.query, limit, ...(room ? { room } : {}), ...(msg.before !== undefined ? { before: msg.before } : {}) };
  const found = await stored('search', chat.deps.store.search(q));
  const fitted = fitPage(found.messages, chat.config.historyPageBytes, 'start');
  s.send({ type: 'SearchResults', query: msg.query, ...(room ? { room } : {}), messages: fitted.messages, hasMore: found.hasMore || fitted.trimmed, ...refOf(msg) });
}
