/** Builds what the message list shows for the open conversation from the state. */
import type { ChatMessage } from '../../protocol/messages.js';
import { emptyReactions } from '../../protocol/reactions.js';
import { sameName } from './format.js';
import { mentionsMe } from './mentions.js';
import type { AppState, PendingMessage, RoomState } from './state.js';
import type { Entry, Item, ListContent } from './view-messages.js';

const GAP_TEXT = 'Some messages from while you were away were removed by the server’s retention policy and can’t be shown.';

export function buildListContent(s: AppState): ListContent {
  if (s.username === '') return { viewKey: 'connecting', items: [], me: '', top: 'start', startText: 'Connecting…' };
  const r = s.room(s.view.room);
  return {
    viewKey: `room:${r.name}`,
    items: r.joined ? [...roomItems(r, s.username), ...pendingItems(r.pending, s.username)] : [{ kind: 'notice', key: 'left', text: `You are not in ${r.label()}. Join a room from the sidebar.`, timestamp: new Date().toISOString() }],
    me: s.username,
    top: r.loadingOlder ? 'loading' : r.joined && r.hasOlder() ? 'more' : 'start',
    startText: startText(r),
  };
}

function roomItems(r: RoomState, me: string): Item[] {
  const items: Item[] = [];
  const notices = [...r.notices].sort((a, b) => a.afterSeq - b.afterSeq);
  let n = 0;
  let gapShown = r.gapFrom === undefined;
  for (const m of r.sorted()) {
    while (n < notices.length && notices[n]!.afterSeq < m.seq) items.push({ kind: 'notice', ...notices[n++]! });
    if (!gapShown && m.seq >= r.gapFrom!) {
      items.push({ kind: 'gap', text: GAP_TEXT });
      gapShown = true;
    }
    items.push({ kind: 'msg', entry: roomEntry(m, me) });
  }
  while (n < notices.length) items.push({ kind: 'notice', ...notices[n++]! });
  if (!gapShown) items.push({ kind: 'gap', text: GAP_TEXT });
  return items;
}

/** Messages still on their way, shown after everything confirmed. */
function pendingItems(pending: PendingMessage[], me: string): Item[] {
  return pending.map((p) => ({
    kind: 'msg', entry: {
      id: `pending:${p.key}`, author: me, content: p.content, timestamp: p.timestamp, actions: false, pending: true,
      ...(p.attachments?.length ? { attachments: p.attachments } : {}), ...(p.replyTo ? { replyTo: p.replyTo } : {}),
    },
  }));
}

/** A `/me waves` message: shown as an action, "* ann waves". */
function isAction(content: string): boolean {
  return content.startsWith('/me ') && content.trim().length > 3;
}

function roomEntry(m: ChatMessage, me: string): Entry {
  return {
    ...(mentionsMe(m.mentions, me) && !sameName(m.username, me) ? { mentioned: true } : {}),
    ...(isAction(m.content) ? { action: true } : {}),
    ...(m.bot ? { bot: true } : {}),
    id: m.id, author: m.username, content: m.content, timestamp: m.timestamp, seq: m.seq,
    editedAt: m.editedAt ?? null, deleted: m.deleted ?? false, reactions: m.reactions ?? emptyReactions(), actions: true,
    ...(m.attachments?.length ? { attachments: m.attachments } : {}), ...(m.replyTo ? { replyTo: m.replyTo } : {}),
  };
}

/** The line above a conversation's first message. */
function startText(r: RoomState): string {
  if (r.kind !== 'direct') return `This is the very beginning of ${r.kind === 'private' ? 'the private room ' : ''}#${r.name}.`;
  if (r.with.length === 0) return 'This is the beginning of your notes to yourself.';
  return `This is the beginning of your conversation with ${r.with.join(', ')}.`;
}
