/**
 * The sidebar: connection status, the account's rooms with unread and mention counts (and
 * leave), public rooms to join, a field to join or create a room, "New room" (public or
 * private), the account's direct conversations with who is in them and whether they are
 * online, "New message", and the signed-in user.
 */
import { botBadge, h, iconButton, reconcile, replaceChildren, type Part, type Shown } from './dom.js';
import { icon } from './icons.js';
import { colourClass, compareNames, initial } from './format.js';
import { permission } from './notify.js';
import type { AppState, RoomState } from './state.js';

export interface SidebarActions {
  openRoom(room: string): void;
  joinRoom(room: string): void;
  leaveRoom(room: string): void;
  newMessage(): void;
  newRoom(): void;
  logout(): void;
  /** A guest keeps its name: registers its account with a password. */
  register(): void;
  enableNotifications(): void;
}

/** How long a "Leave?" confirmation waits. */
const CONFIRM_MS = 4_000;

const STATUS_TEXT: Record<string, string> = {
  connecting: 'Connecting…', online: 'Online', reconnecting: 'Reconnecting…', closed: 'Offline',
};

export class Sidebar {
  private readonly statusBox = h('div', { class: 'status-box' });
  /*
   * The three lists keep an element per conversation, built again only when what it shows
   * changes: an account in hundreds of conversations would otherwise build, compare and lay
   * out every item at each message.
   */
  private readonly roomList = new KeyedList(h('ul', { class: 'room-list' }));
  private readonly directory = new KeyedList(h('ul', { class: 'room-list directory' }));
  private readonly dmList = new KeyedList(h('ul', { class: 'room-list dm-list' }));
  private readonly noDms = h('p', { class: 'side-empty', text: 'No conversations yet. Use + or pick a member to message them.' });
  private readonly rooms = h('div', {}, this.roomList.el);
  private readonly more = h('div');
  private readonly moreSection = this.section('More rooms', this.directory.el, null);
  private readonly dms = h('div');
  private readonly meBox = h('div', { class: 'me' });
  private readonly notifyBox = h('div', { class: 'notify-box' });

  /** The private room whose leave button asks "Leave?" (leaving one is for good: only an invitation brings you back). */
  private confirmLeave: string | null = null;
  private last: AppState | null = null;
  /** Whether a guest's "Log out" asks "for good?" now. */
  private confirmLogout = false;

  constructor(el: HTMLElement, private readonly actions: SidebarActions) {
    // Built once, so that a re-render never wipes what the user is typing in the forms.
    replaceChildren(el,
      h('div', { class: 'brand' },
        h('img', { attrs: { src: '/favicon.svg', alt: '', width: 28, height: 28 } }),
        h('span', { class: 'brand-name', text: 'Parley' }),
        this.statusBox),
      h('nav', { class: 'side-scroll', attrs: { 'aria-label': 'Conversations' } },
        this.section('Rooms', this.rooms, iconButton('New room', 'plus', () => this.actions.newRoom(), 'new-room-btn')),
        this.joinForm(), this.more,
        this.section('Direct messages', this.dms, iconButton('New message', 'plus', () => this.actions.newMessage(), 'new-message-btn'))),
      this.notifyBox,
      this.meBox);
  }

  render(s: AppState): void {
    this.last = s;
    swap(this.statusBox, [this.status(s)]);
    this.roomList.update(this.roomParts(s));
    this.directory.update(this.directoryParts(s));
    showOnly(this.more, s.directory.length > 0 ? this.moreSection : null);
    this.dmList.update(this.dmParts(s));
    showOnly(this.dms, this.dmList.el.childElementCount > 0 ? this.dmList.el : this.noDms);
    this.me(s);
  }

  private status(s: AppState): HTMLElement {
    const text = STATUS_TEXT[s.status] ?? s.status;
    return h('div', { class: `status ${s.status}`, attrs: { id: 'conn-status', role: 'status', 'data-status': s.status, title: s.statusDetail || text } },
      h('span', { class: 'dot', attrs: { 'aria-hidden': 'true' } }),
      h('span', { class: 'status-text', text: s.status === 'reconnecting' && s.statusDetail ? `Reconnecting…` : text }));
  }

  private section(title: string, body: HTMLElement, action: HTMLElement | null): HTMLElement {
    return h('section', { class: 'side-section' }, h('div', { class: 'side-head' }, h('h2', { text: title }), action), body);
  }

  private roomParts(s: AppState): Part[] {
    const rooms = s.joinedRooms().filter((r) => r.kind !== 'direct').sort((a, b) => compareNames(a.name, b.name));
    return rooms.map((r) => {
      const active = s.view.room === r.name;
      const unread = active ? 0 : r.unread();
      const mentions = active ? 0 : r.mentions;
      const confirming = this.confirmLeave === r.name;
      return {
        key: r.name, sig: `${active ? 1 : 0}|${unread}|${mentions}|${r.kind}|${confirming ? 1 : 0}`,
        make: () => h('li', { class: `room-item${active ? ' active' : ''}${unread > 0 ? ' has-unread' : ''}${mentions > 0 ? ' has-mention' : ''}`, attrs: { 'data-room': r.name } },
          h('button', {
            class: 'room-link',
            attrs: { type: 'button', 'aria-current': active ? 'page' : undefined },
            on: { click: () => this.actions.openRoom(r.name) },
          }, roomGlyph(r), h('span', { class: 'name', text: r.name }),
          r.kind === 'private' ? h('span', { class: 'sr-only', text: ', private' }) : null,
          ...mentionBadge(mentions), ...unreadBadge(unread)),
          this.leaveButton(r)),
      };
    });
  }

  private leaveButton(r: RoomState): HTMLElement {
    if (r.kind !== 'private') return iconButton(`Leave #${r.name}`, 'close', () => this.actions.leaveRoom(r.name), 'leave-btn');
    if (this.confirmLeave !== r.name) return iconButton(`Leave #${r.name}`, 'close', () => this.askLeave(r.name), 'leave-btn');
    return h('button', {
      class: 'leave-btn leave-confirm', attrs: { type: 'button', 'aria-label': `Leave? #${r.name} is private: only an invitation brings you back`, title: 'Only an invitation brings you back' },
      text: 'Leave?', on: { click: () => { this.confirmLeave = null; this.actions.leaveRoom(r.name); } },
    });
  }

  /** The first press on a private room's leave button asks again, for a few seconds. */
  private askLeave(room: string): void {
    this.confirmLeave = room;
    this.rerender();
    setTimeout(() => {
      if (this.confirmLeave !== room) return;
      this.confirmLeave = null;
      this.rerender();
    }, CONFIRM_MS);
  }

  private rerender(): void {
    if (this.last) this.render(this.last);
  }

  private directoryParts(s: AppState): Part[] {
    return s.directory.map((r) => ({
      key: r.name, sig: `${r.members}|${r.topic}`,
      make: () => h('li', { class: 'room-item', attrs: { 'data-join': r.name } }, h('button', {
        class: 'room-link',
        attrs: { type: 'button', title: r.topic || `Join #${r.name}` },
        on: { click: () => this.actions.joinRoom(r.name) },
      }, h('span', { class: 'sr-only', text: `Join #${r.name}${r.members > 0 ? `, ${r.members} online` : ''}` }),
      h('span', { class: 'hash', attrs: { 'aria-hidden': 'true' }, text: '+' }),
      h('span', { class: 'name', attrs: { 'aria-hidden': 'true' }, text: r.name }),
      r.members > 0 ? h('span', { class: 'count', attrs: { 'aria-hidden': 'true' }, text: `${r.members} online` }) : null)),
    }));
  }

  private joinForm(): HTMLElement {
    const input = h('input', { attrs: { id: 'join-room', name: 'room', placeholder: 'Join or create a room', autocomplete: 'off', maxlength: 32, 'aria-label': 'Room to join or create' } });
    return h('form', {
      class: 'side-form',
      on: { submit: (ev) => { ev.preventDefault(); const v = input.value.trim().replace(/^#/, ''); if (v) { input.value = ''; this.actions.joinRoom(v); } } },
    }, input);
  }

  private dmParts(s: AppState): Part[] {
    const direct = s.joinedRooms().filter((r) => r.kind === 'direct').sort((a, b) => (a.lastActivity === b.lastActivity ? compareNames(a.label(), b.label()) : a.lastActivity < b.lastActivity ? 1 : -1));
    return direct.map((r) => {
      const active = s.view.room === r.name;
      const unread = active ? 0 : r.unread();
      const mentions = active ? 0 : r.mentions;
      const online = r.peersOnline();
      const label = r.label();
      const peer = r.with.length === 1 ? r.with[0]! : label;
      return {
        key: r.name, sig: JSON.stringify([active, unread, mentions, online, peer, label, r.with.length, r.bots]),
        make: () => h('li', { class: `room-item${active ? ' active' : ''}${unread ? ' has-unread' : ''}`, attrs: { 'data-room': r.name, 'data-peer': peer } },
          h('button', {
            class: 'room-link',
            attrs: { type: 'button', 'aria-current': active ? 'page' : undefined },
            on: { click: () => this.actions.openRoom(r.name) },
          }, h('span', { class: `mini-avatar ${colourClass(peer)}`, attrs: { 'aria-hidden': 'true' } }, r.with.length > 1 ? String(r.with.length) : initial(peer),
            h('span', { class: `presence-dot${online ? ' online' : ''}` })),
          h('span', { class: 'name', text: label }),
          r.bots.length > 0 ? botBadge(r.with.length > 1 ? `${r.bots.join(', ')} ${r.bots.length === 1 ? 'is a bot' : 'are bots'}` : undefined) : null,
          h('span', { class: 'sr-only', text: online ? ', online' : r.with.length > 1 ? ', nobody online' : ', offline' }),
          ...mentionBadge(mentions), ...unreadBadge(unread))),
      };
    });
  }

  private me(s: AppState): void {
    // Asked only when the user chooses to: never on page load.
    swap(this.notifyBox, permission() === 'default'
      ? [h('button', { class: 'text-btn notify-btn', attrs: { type: 'button', id: 'enable-notifications', title: 'Get a desktop notification when you are mentioned' }, text: 'Turn on notifications', on: { click: () => this.actions.enableNotifications() } })]
      : []);
    swap(this.meBox, [
      h('span', { class: `avatar small ${colourClass(s.username)}`, attrs: { 'aria-hidden': 'true' }, text: initial(s.username) }),
      h('div', { class: 'me-text' }, h('span', { class: 'me-name', attrs: { id: 'me-name' }, text: s.username }),
        s.registered
          ? h('span', { class: 'me-kind', text: 'Signed in' })
          : h('span', { class: 'me-kind' }, 'Guest · ',
            h('button', { class: 'keep-name', attrs: { type: 'button', id: 'keep-name', title: 'Register this name with a password' }, text: 'keep name', on: { click: () => this.actions.register() } }))),
      this.logoutButton(s.registered)]);
  }

  /**
   * Log out. A guest is asked once more: its account ends with it (its name, rooms and
   * conversations), and no password brings it back.
   */
  private logoutButton(registered: boolean): HTMLElement {
    if (registered || this.confirmLogout) {
      return h('button', {
        class: `text-btn${registered ? '' : ' confirm-logout'}`,
        attrs: { type: 'button', id: 'logout', title: registered ? 'Log out of this browser' : 'Your guest name, rooms and conversations end with it' },
        text: registered ? 'Log out' : 'Log out for good?', on: { click: () => this.actions.logout() },
      });
    }
    return h('button', {
      class: 'text-btn', attrs: { type: 'button', id: 'logout', title: 'Log out: a guest account ends with it' }, text: 'Log out',
      on: {
        click: () => {
          this.confirmLogout = true;
          this.rerender();
          setTimeout(() => { this.confirmLogout = false; this.rerender(); }, CONFIRM_MS);
        },
      },
    });
  }
}

/** What each part of the sidebar shows now, as markup, so that an unchanged part is left alone. */
const shown = new WeakMap<Element, string>();

/**
 * Puts `children` in `box` unless they show exactly what is there: an unchanged part keeps
 * its elements (the focus stays, and a click between press and release is not lost). A
 * changed part gives the focus to the same control in its new elements.
 */
function swap(box: HTMLElement, children: HTMLElement[]): void {
  const html = children.map((c) => c.outerHTML).join('');
  if (shown.get(box) === html) return;
  shown.set(box, html);
  const active = document.activeElement;
  const again = active instanceof HTMLElement && box.contains(active) ? selectorOf(active) : null;
  replaceChildren(box, ...children);
  if (again) box.querySelector<HTMLElement>(again)?.focus();
}

/** A selector for a sidebar control: its id, or its first class. */
function selectorOf(el: HTMLElement): string | null {
  return el.id ? `#${CSS.escape(el.id)}` : el.classList[0] ? `.${CSS.escape(el.classList[0])}` : null;
}

/**
 * A list of the sidebar's, an element per key (reconcile). An item built again while the focus
 * was in it gives the focus to the same control in its new element.
 */
class KeyedList {
  private shown: Shown = new Map();
  constructor(readonly el: HTMLElement) {}

  update(parts: readonly Part[]): void {
    const active = document.activeElement;
    let focused: { key: string; again: string | null } | null = null;
    if (active instanceof HTMLElement && this.el.contains(active)) {
      for (const [key, { el }] of this.shown) if (el.contains(active)) focused = { key, again: el === active ? null : selectorOf(active) };
    }
    this.shown = reconcile(this.el, this.shown, parts);
    if (!focused || active!.isConnected) return;
    const item = this.shown.get(focused.key)?.el;
    const target = item && focused.again ? item.querySelector<HTMLElement>(focused.again) : item;
    target?.focus();
  }
}

/** Shows `child` alone in `box` (nothing for null), unless it is shown already. */
function showOnly(box: HTMLElement, child: HTMLElement | null): void {
  if (child ? box.childElementCount === 1 && box.firstElementChild === child : box.childElementCount === 0) return;
  replaceChildren(box, child);
}

/** `#` before a public room's name, a lock before a private one's. */
function roomGlyph(r: RoomState): HTMLElement {
  return r.kind === 'private'
    ? h('span', { class: 'hash lock', attrs: { 'aria-hidden': 'true', title: 'Private room' } }, icon('lock', 14))
    : h('span', { class: 'hash', attrs: { 'aria-hidden': 'true' }, text: '#' });
}

/** Unread mentions of the user in a room: an "@" badge, and ", 2 mentions" for a screen reader. */
function mentionBadge(mentions: number): HTMLElement[] {
  if (mentions <= 0) return [];
  return [h('span', { class: 'badge mention-badge', attrs: { 'aria-hidden': 'true' }, text: `@${mentions > 9 ? '9+' : mentions}` }),
    h('span', { class: 'sr-only', text: `, ${mentions} ${mentions === 1 ? 'mention' : 'mentions'}` })];
}

/**
 * The unread count of a room or conversation: a badge for the eye and ", 3 unread" for a
 * screen reader, so the button's name stays its visible text (WCAG 2.5.3, label in name).
 */
function unreadBadge(unread: number): HTMLElement[] {
  if (unread <= 0) return [];
  return [h('span', { class: 'badge', attrs: { 'aria-hidden': 'true' }, text: unread > 99 ? '99+' : String(unread) }),
    h('span', { class: 'sr-only', text: `, ${unread} unread` })];
}
