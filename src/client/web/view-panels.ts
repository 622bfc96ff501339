/**
 * The conversation header (title, topic and its editor, panel toggles), the member list
 * with who is online, and the search panel.
 */
import type { ChatMessage, NotifyLevel } from '../../protocol/messages.js';
import { h, iconButton, replaceChildren } from './dom.js';
import { colourClass, fullDate, initial, sameName, timeOf } from './format.js';
import { linkify } from './linkify.js';
import type { AppState } from './state.js';

export interface HeaderActions {
  toggleSidebar(): void;
  togglePanel(panel: 'members' | 'search'): void;
  setTopic(room: string, topic: string): void;
  setNotify(room: string, level: NotifyLevel): void;
}

const NOTE_TEXT: Record<string, string> = { connecting: 'Connecting…', reconnecting: 'Reconnecting…', closed: 'Offline' };

export class Header {
  private readonly title = h('h1', { attrs: { id: 'conv-title' } });
  private readonly topic = h('div', { class: 'topic', attrs: { id: 'topic' } });
  /** The connection status on narrow screens, where the sidebar that shows it is hidden. */
  private readonly connNote = h('div', { class: 'conn-note', attrs: { id: 'conn-note', role: 'status' } });
  private editing: string | null = null;
  /** The room's notification level (registered accounts: SetNotify); built once, so it keeps the focus. */
  private readonly notify = h('select', {
    class: 'notify-level', attrs: { id: 'notify-level', title: 'Notifications' },
    on: { change: () => { if (this.notifyRoom) this.actions.setNotify(this.notifyRoom, this.notify.value as NotifyLevel); } },
  }, h('option', { attrs: { value: 'all' }, text: 'Notify: all' }), h('option', { attrs: { value: 'mentions' }, text: 'Notify: mentions' }),
  h('option', { attrs: { value: 'none' }, text: 'Notify: none' }));
  private notifyRoom: string | null = null;
  private readonly toggles = {
    sidebar: iconButton('Show rooms', 'menu', () => this.actions.toggleSidebar(), 'menu-btn'),
    search: iconButton('Search messages', 'search', () => this.actions.togglePanel('search'), 'search-btn'),
    members: iconButton('Members', 'users', () => this.actions.togglePanel('members'), 'members-btn'),
  };

  constructor(el: HTMLElement, private readonly actions: HeaderActions) {
    this.toggles.sidebar.setAttribute('aria-controls', 'sidebar');
    this.toggles.search.setAttribute('aria-controls', 'panel');
    this.toggles.members.setAttribute('aria-controls', 'panel');
    replaceChildren(el,
      this.toggles.sidebar,
      h('div', { class: 'title-block' }, this.title, this.topic),
      this.connNote,
      h('div', { class: 'header-actions' }, this.notify, this.toggles.search, this.toggles.members));
  }

  /** Tells assistive technology which of the drawer and the panels are open. */
  expanded(sidebar: boolean, panel: 'members' | 'search' | null): void {
    this.toggles.sidebar.setAttribute('aria-expanded', String(sidebar));
    this.toggles.search.setAttribute('aria-expanded', String(panel === 'search'));
    this.toggles.members.setAttribute('aria-expanded', String(panel === 'members'));
  }

  focusToggle(which: 'sidebar' | 'members' | 'search'): void {
    this.toggles[which].focus();
  }

  render(s: AppState): void {
    const note = s.status === 'online' ? '' : NOTE_TEXT[s.status] ?? s.status;
    if (this.connNote.textContent !== note) this.connNote.textContent = note;
    this.connNote.className = `conn-note ${s.status}`;
    const room = s.activeRoom();
    this.title.textContent = room ? `#${room.name}` : `@${s.view.kind === 'dm' ? s.view.peer : ''}`;
    this.notifyRoom = room && room.joined && s.registered ? room.name : null;
    this.notify.hidden = this.notifyRoom === null;
    if (room) {
      this.notify.setAttribute('aria-label', `Notifications in #${room.name}`);
      if (this.notify.value !== room.notify) this.notify.value = room.notify;
    }
    if (this.editing !== null && (!room || room.name !== this.editing)) this.editing = null;
    if (this.editing !== null) return;
    if (!room) {
      replaceChildren(this.topic, h('span', { class: 'topic-text muted', text: 'Private conversation' }));
      return;
    }
    replaceChildren(this.topic,
      h('span', { class: room.topic ? 'topic-text' : 'topic-text muted' }, ...(room.topic ? linkify(room.topic) : ['No topic yet'])),
      h('button', { class: 'text-btn topic-edit', attrs: { type: 'button' }, text: room.topic ? 'Edit topic' : 'Set topic', on: { click: () => this.editTopic(room.name, room.topic) } }));
  }

  private editTopic(room: string, current: string): void {
    this.editing = room;
    const input = h('input', { attrs: { value: current, maxlength: 256, 'aria-label': `Topic of #${room}`, placeholder: 'What is this room about?' } });
    const done = (save: boolean): void => {
      if (this.editing === null) return;
      this.editing = null;
      if (save && input.value.trim() !== current) this.actions.setTopic(room, input.value.trim());
      replaceChildren(this.topic, h('span', { class: 'topic-text', text: save ? input.value.trim() : current }));
    };
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') { ev.preventDefault(); done(true); }
      if (ev.key === 'Escape') { ev.preventDefault(); done(false); }
    });
    input.addEventListener('blur', () => done(true));
    replaceChildren(this.topic, input);
    input.focus();
    input.select();
  }
}

export class MembersPanel {
  constructor(private readonly el: HTMLElement, private readonly openDm: (peer: string) => void) {}

  render(s: AppState): void {
    const room = s.activeRoom();
    const names = room ? [...room.members].sort((a, b) => a.localeCompare(b)) : [s.username, s.view.kind === 'dm' ? s.view.peer : ''];
    replaceChildren(this.el,
      h('h2', { text: room ? `Members · ${names.length} online` : 'In this conversation' }),
      h('ul', { class: 'member-list', attrs: { id: 'member-list' } }, ...names.filter(Boolean).map((name) => {
        const me = sameName(name, s.username);
        return h('li', { attrs: { 'data-user': name } }, h('button', {
          class: 'member', attrs: { type: 'button', disabled: me },
          on: { click: () => this.openDm(name) },
        }, h('span', { class: `avatar small ${colourClass(name)}`, attrs: { 'aria-hidden': 'true' } }, initial(name), h('span', { class: 'presence' })),
        me ? null : h('span', { class: 'sr-only', text: 'Message ' }),
        h('span', { class: 'name', text: name }), me ? h('span', { class: 'you', text: '(you)' }) : null));
      })));
  }
}

export interface SearchActions {
  search(query: string, room: string | undefined): void;
  open(room: string): void;
}

export class SearchPanel {
  private readonly input = h('input', { attrs: { type: 'search', id: 'search-input', placeholder: 'Search messages', 'aria-label': 'Search messages', maxlength: 256 } });
  private readonly scope = h('input', { attrs: { type: 'checkbox', id: 'search-scope' } });
  private readonly results = h('div', { class: 'search-results', attrs: { id: 'search-results', 'aria-live': 'polite' } });

  constructor(el: HTMLElement, private readonly actions: SearchActions, private readonly activeRoom: () => string | undefined) {
    const form = h('form', { class: 'search-form', attrs: { role: 'search' } }, this.input,
      h('label', { class: 'scope' }, this.scope, ' Only this room'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const q = this.input.value.trim();
      if (q) this.actions.search(q, this.scope.checked ? this.activeRoom() : undefined);
    });
    replaceChildren(el, h('h2', { text: 'Search' }), form, this.results);
  }

  focus(): void {
    this.input.focus();
  }

  showResults(query: string, messages: ChatMessage[]): void {
    if (messages.length === 0) {
      replaceChildren(this.results, h('p', { class: 'muted', text: `Nothing matches “${query}”.` }));
      return;
    }
    replaceChildren(this.results, h('p', { class: 'muted', text: `${messages.length} result${messages.length === 1 ? '' : 's'} for “${query}”` }),
      h('ul', {}, ...messages.map((m) => h('li', {}, h('button', {
        class: 'result', attrs: { type: 'button' }, on: { click: () => this.actions.open(m.room) },
      }, h('div', { class: 'result-head' }, h('span', { class: 'author', text: m.username }), h('span', { class: 'where', text: ` in #${m.room}` }),
        h('time', { attrs: { datetime: m.timestamp, title: fullDate(m.timestamp) }, text: timeOf(m.timestamp) })),
      h('div', { class: 'result-text' }, m.content))))));
  }
}
