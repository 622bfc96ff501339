/**
 * Messages: SendMessage, PrivateMessage, History, PrivateHistory, Typing, EditMessage,
 * DeleteMessage, React, MarkRead, Search.
 */
import type { Attachment, ChatMessage, ReplyRef, ServerMessage } from '../../protocol/messages.js';
import { cleanContent, nameKey, normaliseName } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import { attachmentOf } from '../files/urls.js';
import type { FileRecord } from '../ports.js';
import { excerptOf } from '../store/store-common.js';
import type { Chat } from './chat.js';
import { ChatError, StoreFailure, fail, stored } from './errors.js';
import { ownsRoom, requireNamed, roomName } from './handle-rooms.js';
import { Outbound, refOf, withFields } from './outbound.js';
import type { Session } from './session.js';

const DEFAULT_PAGE = 50;
const EMOJI_RE = /^[^\s\p{Cc}]{1,32}$/u;

/** Cleans and bounds message content; throws EMPTY_CONTENT or CONTENT_TOO_LONG. */
export function checkContent(chat: Chat, raw: string): string {
  const content = cleanContent(raw).replace(/\s+$/, '');
  if (content.trim().length === 0) fail('EMPTY_CONTENT');
  const max = chat.config.maxContentLength;
  if (content.length > max) fail('CONTENT_TOO_LONG', `Messages are at most ${max} characters; that one has ${content.length}.`);
  return content;
}

function memberRoom(s: Session, raw: string | undefined): string {
  const room = raw === undefined ? (s.current ?? fail('NOT_IN_ROOM', 'You are not in a room. Join one first.')) : roomName(raw);
  if (!s.rooms.has(room)) fail('NOT_IN_ROOM', `You are not in ${room}. Join it first.`);
  return room;
}

/** The wire form of a freshly stored message (no edit, deletion or reaction fields); `extras` already signed. */
function live(m: ChatMessage, extras?: Extras): ServerMessage {
  const wire: ServerMessage = { type: 'Message', id: m.id, seq: m.seq, room: m.room, username: m.username, content: m.content, timestamp: m.timestamp };
  if (extras?.attachments) wire.attachments = extras.attachments;
  if (extras?.replyTo) wire.replyTo = extras.replyTo;
  return wire;
}

/** What a message carries beyond its text, checked and ready for the wire. */
interface Extras {
  fileIds: string[];
  attachments?: Attachment[];
  replyTo?: ReplyRef;
}

/** Content that may be empty when the message carries files; otherwise as checkContent. */
function contentWith(chat: Chat, raw: string, files: number): string {
  if (files > 0 && cleanContent(raw).trim().length === 0) return '';
  return checkContent(chat, raw);
}

/** The files a message attaches: each uploaded by the sender's account, none twice. */
async function attachable(chat: Chat, s: Session, ids: readonly string[] | undefined): Promise<FileRecord[]> {
  if (!ids || ids.length === 0) return [];
  if (new Set(ids).size !== ids.length) fail('BAD_MESSAGE', 'The same file is attached twice.');
  const files = await Promise.all(ids.map((id) => stored('getFile', chat.deps.store.getFile(id))));
  return files.map((f, i) => {
    if (!f || s.account === null || f.owner !== s.account) fail('NO_SUCH_FILE', `No file ${ids[i]} of yours to attach. Upload it first.`);
    return f;
  });
}

/** Checks a message's attachments and reply target; the attachments come back signed (once, for every recipient). */
async function extrasOf(chat: Chat, s: Session, room: string | null, msg: { attachments?: string[]; replyTo?: string }): Promise<Extras> {
  const files = await attachable(chat, s, msg.attachments);
  const extras: Extras = { fileIds: files.map((f) => f.id) };
  if (files.length > 0) {
    const list = files.map((f) => attachmentOf({ ...f, thumb: f.thumbSha256 !== null }));
    extras.attachments = chat.deps.signer?.signAll(list) ?? list;
  }
  if (msg.replyTo !== undefined && room !== null) {
    const original = await stored('getMessage', chat.deps.store.getMessage(msg.replyTo));
    if (!original || original.deleted || original.room !== room) fail('NO_SUCH_MESSAGE', `There is no message ${msg.replyTo} in ${room} to reply to.`);
    extras.replyTo = { id: original.id, username: original.username, excerpt: excerptOf(original.content) };
  }
  return extras;
}

export function sendMessage(chat: Chat, s: Session, msg: ClientMessageOf<'SendMessage'>): void | Promise<void> {
  const { username } = requireNamed(s);
  const room = memberRoom(s, msg.room);
  if ((msg.attachments?.length ?? 0) === 0 && msg.replyTo === undefined) {
    appendRoomMessage(chat, s, msg, room, username, checkContent(chat, msg.content));
    return;
  }
  const content = contentWith(chat, msg.content, msg.attachments?.length ?? 0);
  // Files and reply targets are looked up first; the connection's later frames wait (the
  // handler's promise keeps it busy), so its messages still append in the order sent.
  return extrasOf(chat, s, room, msg).then((extras) => {
    appendRoomMessage(chat, s, msg, room, username, content, extras);
  });
}

function appendRoomMessage(chat: Chat, s: Session, msg: ClientMessageOf<'SendMessage'>, room: string, username: string, content: string, extras?: Extras): void {
  const rich = extras ? {
    ...(extras.fileIds.length > 0 ? { attachments: extras.fileIds } : {}),
    ...(extras.replyTo ? { replyTo: { id: extras.replyTo.id, username: extras.replyTo.username } } : {}),
  } : {};
  // Not awaited: the connection's next frames go on while the store groups this append
  // with others into one commit. Appends commit in call order, so confirmations stay ordered.
  chat.deps.store.appendMessage({ id: chat.deps.newId(), room, username, content, timestamp: chat.iso(), nonce: msg.nonce ?? null, ...rich })
    .then(({ message, duplicate }) => {
      const wire = live(message, extras);
      s.noteAuthored(message.id);
      // In JSON mode the sender's copy is its confirmation; it goes out with the room's
      // local delivery, so it waits, like theirs, for a lower seq still on its way.
      const echo = s.mode === 'json'
        ? (out: Outbound) => s.sendFrame(withFields(out.json(), { ref: msg.ref, nonce: msg.nonce || undefined }))
        : undefined;
      // A resend of a stored message (its first sender's node may have died before fanning
      // it out) goes to the room too: fan-out delivers it only where it was not delivered yet.
      chat.broadcast(room, wire, s, echo, duplicate);
    }, (err: unknown) => {
      chat.replyError(s, new StoreFailure('appendMessage', err), msg.ref);
    });
}

export async function privateMessage(chat: Chat, s: Session, msg: ClientMessageOf<'PrivateMessage'>): Promise<void> {
  const { username, key } = requireNamed(s);
  const toName = normaliseName(msg.to) ?? fail('INVALID_NAME');
  const toKey = nameKey(toName);
  const to = (await chat.deps.presence.lookup(toKey)) ?? fail('NO_SUCH_USER', `${toName} is not online.`);
  const content = contentWith(chat, msg.content, msg.attachments?.length ?? 0);
  const extras = await extrasOf(chat, s, null, msg);
  const { message, duplicate } = await stored('appendPrivate', chat.deps.store.appendPrivate({
    id: chat.deps.newId(), from: username, to, content, timestamp: chat.iso(), nonce: msg.nonce ?? null,
    ...(extras.fileIds.length > 0 ? { attachments: extras.fileIds } : {}),
  }));
  const out = new Outbound({ type: 'PrivateMessage', ...message, ...(extras.attachments ? { attachments: extras.attachments } : {}) });
  if (!duplicate) {
    chat.toUser(toKey, out, s);
    if (toKey !== key) chat.toUser(key, out, s);
  }
  if (s.mode === 'json') s.sendFrame(withFields(out.json(), { ref: msg.ref, nonce: msg.nonce || undefined }));
  else s.send({ type: 'Ack', for: 'PrivateMessage', to, content });
}

export async function history(chat: Chat, s: Session, msg: ClientMessageOf<'History'>): Promise<void> {
  const room = msg.room === undefined ? (s.current ?? fail('NOT_IN_ROOM')) : roomName(msg.room);
  await chat.requireRoom(room);
  const limit = Math.min(msg.limit ?? DEFAULT_PAGE, chat.config.historyLimit);
  const q = { room, limit, ...(msg.before !== undefined ? { before: msg.before } : {}), ...(msg.after !== undefined ? { after: msg.after } : {}) };
  const page = await stored('history', chat.deps.store.history(q));
  s.send({ type: 'History', room, messages: page.messages, hasMore: page.hasMore, firstSeq: page.firstSeq, ...(page.incomplete ? { incomplete: true } : {}), ...refOf(msg) });
}

export async function privateHistory(chat: Chat, s: Session, msg: ClientMessageOf<'PrivateHistory'>): Promise<void> {
  const { username } = requireNamed(s);
  const other = normaliseName(msg.with) ?? fail('INVALID_NAME');
  const limit = Math.min(msg.limit ?? DEFAULT_PAGE, chat.config.historyLimit);
  const page = await stored('privateHistory', chat.deps.store.privateHistory(username, other, limit, msg.before));
  s.send({ type: 'PrivateHistory', with: other, messages: page.messages, hasMore: page.hasMore, ...refOf(msg) });
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
  await ownMessage(chat, s, msg.id, false);
  const m = (await stored('editMessage', chat.deps.store.editMessage(msg.id, content, chat.iso()))) ?? fail('NO_SUCH_MESSAGE');
  s.send({ type: 'Ack', for: 'EditMessage', id: m.id, ...refOf(msg) });
  chat.broadcast(m.room, { type: 'MessageEdited', id: m.id, room: m.room, seq: m.seq, content: m.content, editedAt: m.editedAt ?? chat.iso() });
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
  if (!EMOJI_RE.test(emoji)) fail('BAD_MESSAGE', 'A reaction is one emoji (or a short word without spaces).');
  const existing = await stored('getMessage', chat.deps.store.getMessage(msg.id));
  if (!existing || existing.deleted) fail('NO_SUCH_MESSAGE');
  if (!s.rooms.has(existing.room)) fail('NOT_IN_ROOM', `Join ${existing.room} to react to its messages.`);
  const result = (await stored('toggleReaction', chat.deps.store.toggleReaction(msg.id, username, emoji))) ?? fail('NO_SUCH_MESSAGE');
  const m = result.message;
  s.send({ type: 'Ack', for: 'React', id: m.id, added: result.added, ...refOf(msg) });
  chat.broadcast(m.room, { type: 'Reaction', id: m.id, room: m.room, seq: m.seq, emoji, username, added: result.added, reactions: m.reactions ?? {} });
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
  s.send({ type: 'SearchResults', query: msg.query, ...(room ? { room } : {}), messages: found.messages, hasMore: found.hasMore, ...refOf(msg) });
}
