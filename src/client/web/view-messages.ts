/**
 * The message list: day separators, messages grouped by author, reactions, and the
 * per-message actions (react, edit, delete). It re-renders the whole list of the open
 * conversation from state (keyed by message id, so nothing shows twice) and keeps the
 * reader's place: at the bottom it follows new messages; older ones prepended above
 * leave the view where it was.
 */
import type { Attachment, Reactions, ReplyRef } from '../../protocol/messages.js';
import { reactionEntries } from '../../protocol/reactions.js';
import { botBadge, h, iconButton, reconcile, type Part, type Shown } from './dom.js';
import { closeInTime, colourClass, dayKey, dayLabel, fullDate, initial, sameName, timeOf } from './format.js';
import { emphasiseMentions } from './mentions.js';
import { attachmentList, Lightbox, markdownContent, replyQuote } from './view-rich.js';

/** The emoji a user can react with. */
export const REACTION_PALETTE = ['👍', '❤️', '😂', '🎉', '😮', '😢', '👀', '🚀'];

const CONFIRM_MS = 4_000;

export interface Entry {
  id: string;
  author: string;
  content: string;
  timestamp: string;
  seq?: number;
  editedAt?: string | null;
  deleted?: boolean;
  reactions?: Reactions;
  /** Whether react/edit/delete are offered (room messages). */
  actions: boolean;
  /** Sent but not yet confirmed by the server. */
  pending?: boolean;
  attachments?: Attachment[];
  replyTo?: ReplyRef;
  /** The message mentions the signed-in user (by name, @here or @room). */
  mentioned?: boolean;
  /** A `/me ACTION` message, shown as "* author ACTION". */
  action?: boolean;
  /** Written by a bot account: a "bot" badge beside the name. */
  bot?: boolean;
}

export type Item =
  | { kind: 'msg'; entry: Entry }
  | { kind: 'notice'; key: string; text: string; timestamp: string }
  | { kind: 'gap'; text: string };

export interface ListContent {
  /** Changes when the open conversation changes: the list then jumps to the bottom. */
  viewKey: string;
  items: Item[];
  me: string;
  /** Top-of-list state: loading older messages, more to load, or the beginning. */
  top: 'loading' | 'more' | 'start';
  startText: string;
}

export interface ListActions {
  react(id: string, emoji: string): void;
  edit(id: string): void;
  remove(id: string): void;
  nearTop(): void;
  /** Starts a reply to this message in the composer. */
  reply(id: string): void;
  /** Shows the message with this id (a reply's original), loading older history if needed. */
  jump(id: string): void;
}

/** How long a message jumped to stays highlighted. */
const FLASH_MS = 2_000;

export class MessageList {
  private viewKey = '';
  private nodes: Shown = new Map();
  private last: ListContent | null = null;
  private paletteFor: string | null = null;
  private confirmFor: string | null = null;
  /** Where the focus goes after the next render: a selector inside a message (by id). */
  private focusNext: { id: string; selector: string } | null = null;
  private readonly lightbox = new Lightbox();
  /**
   * The list's parts, one block inside the scrolling element (a flex column that keeps a short
   * list at the bottom). Laid out as a column flexbox themselves, every part was laid out again
   * at each change: 5-10 ms a layout with 300 messages shown, two or three layouts a message.
   */
  private readonly rows: HTMLElement;

  constructor(private readonly el: HTMLElement, private readonly actions: ListActions) {
    this.rows = el.appendChild(h('div', { class: 'rows' }));
    el.addEventListener('scroll', () => {
      if (el.scrollTop < 120) this.actions.nearTop();
    }, { passive: true });
    this.keepBottomOnResize();
    document.addEventListener('click', (ev) => {
      const target = ev.target as Element | null;
      if (this.paletteFor === null || target?.closest?.('.toolbar-wrap')) return;
      this.paletteFor = null;
      this.rerender();
    });
    el.addEventListener('keydown', (ev) => this.onKey(ev));
    // A message reached with the keyboard shows its actions until the focus leaves it. A
    // class, not :focus-within, so the toolbar stays while the focus moves into it.
    el.addEventListener('focusin', (ev) => {
      const target = ev.target as HTMLElement;
      const msg = target.closest('.msg');
      if (msg && target.matches(':focus-visible')) msg.classList.add('focused');
    });
    el.addEventListener('focusout', (ev) => {
      const msg = (ev.target as HTMLElement).closest('.msg');
      const next = ev.relatedTarget as Node | null;
      if (msg && !(next && msg.contains(next))) msg.classList.remove('focused');
    });
  }

  /**
   * The list is one stop in the Tab order; inside it ↑ ↓ Home End move between messages,
   * Tab reaches the focused message's actions, ← → move in the reaction palette, and
   * Escape closes the palette or the delete confirmation, giving the focus back.
   */
  private onKey(ev: KeyboardEvent): void {
    const target = ev.target as HTMLElement;
    if (ev.key === 'Escape' && (this.paletteFor !== null || this.confirmFor !== null)) {
      ev.preventDefault();
      const id = (this.paletteFor ?? this.confirmFor)!;
      this.focusNext = { id, selector: this.paletteFor !== null ? '.react-btn' : '.delete-btn' };
      this.paletteFor = this.confirmFor = null;
      this.rerender();
      return;
    }
    if (target.closest('.palette') && ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown'].includes(ev.key)) {
      ev.preventDefault();
      const buttons = [...target.closest('.palette')!.querySelectorAll<HTMLElement>('button')];
      const step = ev.key === 'ArrowLeft' ? -1 : ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowUp' ? -4 : 4;
      const next = buttons.indexOf(target) + step;
      buttons[(next + buttons.length) % buttons.length]?.focus();
      return;
    }
    if (target !== this.el && !target.matches('.msg')) return;
    const msgs = [...this.rows.querySelectorAll<HTMLElement>(':scope > .msg')];
    if (msgs.length === 0) return;
    const at = msgs.indexOf(target);
    let to: HTMLElement | undefined;
    if (ev.key === 'Home') to = msgs[0];
    else if (ev.key === 'End') to = msgs[msgs.length - 1];
    else if (ev.key === 'ArrowUp') to = at === -1 ? msgs[msgs.length - 1] : msgs[Math.max(0, at - 1)];
    else if (ev.key === 'ArrowDown') to = at === -1 ? msgs[msgs.length - 1] : msgs[Math.min(msgs.length - 1, at + 1)];
    if (!to) return;
    ev.preventDefault();
    to.focus();
  }

  render(content: ListContent): void {
    this.last = content;
    const el = this.el;
    const switched = content.viewKey !== this.viewKey;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
    const fromBottom = el.scrollHeight - el.scrollTop;
    if (switched) {
      this.paletteFor = this.confirmFor = null;
      this.nodes.clear();
      this.rows.replaceChildren();
    }
    const focus = this.focusMemo();
    this.reconcile([this.topLine(content), ...this.build(content)]);
    this.viewKey = content.viewKey;
    if (switched || atBottom) el.scrollTop = el.scrollHeight;
    else el.scrollTop = el.scrollHeight - fromBottom;
    this.placePalette();
    this.restoreFocus(focus);
    this.fillIfShort();
  }

  /**
   * A page too short to scroll can never fire a scroll event: fetch more now. Only a list
   * that is laid out: one hidden (no height yet) would look short after every page and
   * fetch the whole history, page after page; it is asked again when its size changes.
   */
  private fillIfShort(): void {
    const el = this.el;
    if (this.last?.top === 'more' && el.clientHeight > 0 && el.scrollHeight <= el.clientHeight) queueMicrotask(() => this.actions.nearTop());
  }

  /** An open reaction palette that would be cut off below the list opens upwards. */
  private placePalette(): void {
    const palette = this.el.querySelector<HTMLElement>('.palette');
    if (!palette) return;
    palette.classList.remove('up');
    const room = this.el.getBoundingClientRect();
    const box = palette.getBoundingClientRect();
    if (box.bottom > room.bottom && box.top - box.height - 72 >= room.top) palette.classList.add('up');
  }

  /** Where the focus is inside the list: the part's element, and the element itself. */
  private focusMemo(): { part: HTMLElement; active: HTMLElement } | null {
    const active = document.activeElement as HTMLElement | null;
    if (!active || active === this.el || !this.el.contains(active)) return null;
    let part: HTMLElement = active;
    while (part.parentElement !== this.rows) {
      if (part.parentElement === this.el) return null;
      part = part.parentElement!;
    }
    return { part, active };
  }

  /**
   * A message re-rendered while it held the focus (a reaction came in, the palette
   * opened) is a new element: the focus moves to the same control in it, or to the
   * message, so that a keyboard user never falls back to the top of the page.
   */
  private restoreFocus(memo: { part: HTMLElement; active: HTMLElement } | null): void {
    const wanted = this.focusNext;
    this.focusNext = null;
    if (wanted) {
      const msg = this.rows.querySelector<HTMLElement>(`:scope > .msg[data-id="${CSS.escape(wanted.id)}"]`);
      if (msg) { focusIn(msg, msg.querySelector<HTMLElement>(wanted.selector)); return; }
    }
    if (!memo || memo.active.isConnected) return;
    const id = memo.part.getAttribute('data-id');
    const part = id === null ? null : this.rows.querySelector<HTMLElement>(`:scope > .msg[data-id="${CSS.escape(id)}"]`);
    if (!part) { this.el.focus({ preventScroll: true }); return; }
    const label = memo.active.getAttribute('aria-label');
    const controls = [...part.querySelectorAll<HTMLElement>('button')];
    const same = controls.find((b) => b.className === memo.active.className && b.getAttribute('aria-label') === label)
      ?? controls.find((b) => b.className === memo.active.className);
    focusIn(part, same ?? null);
  }

  /**
   * A reader at the bottom stays there when the list gets shorter (a reply banner or a row
   * of file chips above the composer); a list shown at last, or taller, fetches more when
   * it cannot scroll yet.
   */
  private keepBottomOnResize(): void {
    const el = this.el;
    el.addEventListener('scroll', () => { this.pinned = el.scrollHeight - el.scrollTop - el.clientHeight < 48; }, { passive: true });
    if (typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (this.pinned) el.scrollTop = el.scrollHeight;
      this.fillIfShort();
    });
    observer.observe(el);
  }

  /** Whether the reader is at the newest messages (as of the last scroll), following what comes. */
  private pinned = true;

  following(): boolean {
    return this.pinned;
  }

  /** Scrolls to the newest message (after the user sends one). */
  toBottom(): void {
    this.el.scrollTop = this.el.scrollHeight;
  }

  /**
   * Scrolls the message with this id into view, focuses it and highlights it briefly;
   * false when it is not in the list.
   */
  highlight(id: string): boolean {
    const el = this.el.querySelector<HTMLElement>(`.msg[data-id="${CSS.escape(id)}"]`);
    if (!el) return false;
    el.scrollIntoView({ block: 'center' });
    el.classList.remove('flash');
    void el.offsetWidth;
    el.classList.add('flash');
    el.focus({ preventScroll: true });
    setTimeout(() => el.classList.remove('flash'), FLASH_MS);
    return true;
  }

  private rerender(): void {
    if (this.last) this.render(this.last);
  }

  /** Puts the parts in the list (reconcile: unchanged messages stay the same nodes). */
  private reconcile(parts: Part[]): void {
    this.nodes = reconcile(this.rows, this.nodes, parts);
  }

  private topLine(c: ListContent): Part {
    return {
      key: 'top', sig: `${c.top}|${c.startText}`,
      make: () => {
        if (c.top === 'loading') return h('div', { class: 'list-top loading', attrs: { role: 'status' }, text: 'Loading older messages…' });
        if (c.top === 'more') return h('div', { class: 'list-top', text: 'Scroll up for older messages' });
        return h('div', { class: 'list-top start' }, h('strong', { text: c.startText }));
      },
    };
  }

  private build(c: ListContent): Part[] {
    const out: Part[] = [];
    let day = '';
    let prev: Entry | null = null;
    for (const item of c.items) {
      const ts = item.kind === 'gap' ? null : item.kind === 'msg' ? item.entry.timestamp : item.timestamp;
      if (ts && dayKey(ts) !== day) {
        day = dayKey(ts);
        prev = null;
        const label = dayLabel(ts);
        out.push({ key: `day:${day}`, sig: label, make: () => h('div', { class: 'day', attrs: { role: 'separator', 'aria-label': label } }, h('span', { text: label })) });
      }
      if (item.kind === 'msg') {
        const e = item.entry;
        const grouped = prev !== null && sameName(prev.author, e.author) && closeInTime(prev.timestamp, e.timestamp) && !prev.deleted;
        const sig = JSON.stringify([e, grouped, c.me, this.paletteFor === e.id, this.confirmFor === e.id]);
        out.push({ key: `msg:${e.id}`, sig, make: () => this.message(e, grouped, c.me) });
        prev = e;
      } else {
        const cls = item.kind === 'gap' ? 'notice gap' : 'notice';
        out.push({ key: item.kind === 'gap' ? 'gap' : `notice:${item.key}`, sig: item.text, make: () => h('div', { class: cls, attrs: { role: 'note' }, text: item.text }) });
        prev = null;
      }
    }
    return out;
  }

  private content(e: Entry, me: string): HTMLElement {
    const edited = e.editedAt ? h('span', { class: 'edited', attrs: { title: `Edited ${fullDate(e.editedAt)}` }, text: ' (edited)' }) : null;
    const box = markdownContent(e.action ? e.content.slice(4) : e.content, edited);
    if (e.action) {
      box.classList.add('action');
      const who = h('span', { class: 'action-who', text: `* ${e.author} ` });
      const first = box.firstElementChild;
      if (first?.tagName === 'P') first.prepend(who);
      else box.prepend(who);
    }
    if (e.mentioned) emphasiseMentions(box, me);
    return box;
  }

  /**
   * A grouped message shows no header, but a screen reader moving from message to message
   * still hears whose it is (and that a bot wrote it).
   */
  private srAuthor(e: Entry): HTMLElement {
    return h('span', { class: 'sr-only msg-sr-author', text: `${e.author}${e.bot ? ' (bot)' : ''}: ` });
  }

  private message(e: Entry, grouped: boolean, me: string): HTMLElement {
    const own = sameName(e.author, me);
    const cls = ['msg', grouped ? 'grouped' : '', own ? 'own' : '', e.deleted ? 'deleted' : '', e.pending ? 'pending' : '', e.mentioned && !e.deleted ? 'mentioned' : ''].filter(Boolean).join(' ');
    const gutter = grouped
      ? h('time', { class: 'hover-time', attrs: { datetime: e.timestamp, title: fullDate(e.timestamp) }, text: timeOf(e.timestamp) })
      : h('div', { class: `avatar ${colourClass(e.author)}`, attrs: { 'aria-hidden': 'true' }, text: initial(e.author) });
    const header = grouped ? null : h('div', { class: 'msg-head' },
      h('span', { class: 'author', text: e.author }),
      e.bot ? botBadge() : null,
      h('time', { attrs: { datetime: e.timestamp, title: fullDate(e.timestamp) }, text: timeOf(e.timestamp) }),
      e.pending ? h('span', { class: 'sending', text: 'Sending…' }) : null);
    // Not colour alone: a visible "@" marker, read as "mentions you".
    const marker = e.mentioned && !e.deleted
      ? h('span', { class: 'mention-tag', attrs: { title: 'Mentions you' } }, h('span', { attrs: { 'aria-hidden': 'true' }, text: '@' }), h('span', { class: 'sr-only', text: 'Mentions you' }))
      : null;
    const body = e.deleted
      ? h('div', { class: 'text' }, h('span', { class: 'content', text: 'This message was deleted.' }))
      : h('div', { class: 'text' },
        e.replyTo ? replyQuote(e.replyTo, (id) => this.actions.jump(id)) : null,
        e.content.trim() !== '' || !e.attachments?.length
          ? this.content(e, me)
          : null,
        e.attachments?.length ? attachmentList(e.attachments, (f, opener) => this.lightbox.open(f, opener)) : null);
    return h('article', { class: cls, attrs: { 'data-id': e.pending ? undefined : e.id, 'data-seq': e.seq, 'data-author': e.author, 'aria-busy': e.pending, tabindex: -1 } },
      h('div', { class: 'gutter' }, gutter),
      h('div', { class: 'msg-body' }, marker, header ?? this.srAuthor(e), body, this.reactions(e, me)),
      e.actions && !e.deleted ? this.toolbar(e, own) : null);
  }

  private reactions(e: Entry, me: string): HTMLElement | null {
    const entries = reactionEntries(e.reactions);
    if (entries.length === 0 || e.deleted) return null;
    return h('div', { class: 'reactions' }, ...entries.map(([emoji, users]) => {
      const mine = users.some((u) => sameName(u, me));
      return h('button', {
        class: mine ? 'reaction mine' : 'reaction',
        attrs: { type: 'button', 'aria-pressed': String(mine), 'aria-label': `${emoji} ${users.length}: ${users.join(', ')}`, title: users.join(', ') },
        on: { click: () => this.actions.react(e.id, emoji) },
      }, h('span', { class: 'emoji', text: emoji }), h('span', { class: 'count', text: String(users.length) }));
    }));
  }

  private toolbar(e: Entry, own: boolean): HTMLElement {
    const open = this.paletteFor === e.id;
    const react = iconButton('Add reaction', 'smile', () => {
      this.paletteFor = open ? null : e.id;
      this.focusNext = { id: e.id, selector: open ? '.react-btn' : '.palette button' };
      this.rerender();
    }, 'react-btn');
    react.setAttribute('aria-expanded', String(open));
    react.setAttribute('aria-haspopup', 'true');
    const bar = h('div', { class: 'toolbar', attrs: { role: 'group', 'aria-label': 'Message actions' } }, react,
      iconButton('Reply', 'reply', () => this.actions.reply(e.id), 'reply-btn'));
    if (own) {
      bar.append(iconButton('Edit message', 'edit', () => this.actions.edit(e.id), 'edit-btn'));
      bar.append(this.confirmFor === e.id
        ? h('button', { class: 'confirm-delete', attrs: { type: 'button' }, text: 'Delete?', on: { click: () => { this.confirmFor = null; this.actions.remove(e.id); } } })
        : iconButton('Delete message', 'trash', () => this.askDelete(e.id), 'delete-btn'));
    }
    if (this.paletteFor === e.id || this.confirmFor === e.id) bar.classList.add('open');
    return h('div', { class: 'toolbar-wrap' }, bar, this.paletteFor === e.id ? this.palette(e.id) : null);
  }

  /** The delete button turns into a "Delete?" confirmation for a few seconds. */
  private askDelete(id: string): void {
    this.confirmFor = id;
    this.focusNext = { id, selector: '.confirm-delete' };
    this.rerender();
    setTimeout(() => {
      if (this.confirmFor !== id) return;
      this.confirmFor = null;
      if (document.activeElement?.matches('.confirm-delete')) this.focusNext = { id, selector: '.delete-btn' };
      this.rerender();
    }, CONFIRM_MS);
  }

  private palette(id: string): HTMLElement {
    return h('div', { class: 'palette', attrs: { role: 'group', 'aria-label': 'Pick a reaction' } }, ...REACTION_PALETTE.map((emoji) =>
      h('button', {
        attrs: { type: 'button', 'aria-label': `React with ${emoji}` },
        text: emoji,
        on: { click: () => { this.paletteFor = null; this.focusNext = { id, selector: '.react-btn' }; this.actions.react(id, emoji); this.rerender(); } },
      })));
  }
}

/**
 * Focuses a control of a message, or the message. The message takes the focus first: its
 * toolbar shows only while the focus is within it, and a hidden button cannot be focused.
 */
function focusIn(msg: HTMLElement, control: HTMLElement | null): void {
  msg.focus({ preventScroll: true });
  if (control) msg.classList.add('focused');
  control?.focus({ preventScroll: true });
}
