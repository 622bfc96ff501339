/**
 * The conversation header (title, topic and its editor, panel toggles), the member list
 * with roles and who is online (and, for whoever may, invite, remove and make moderator),
 * and the search panel.
 */
import type { ChatMessage, MemberSummary, NotifyLevel } from '../../protocol/messages.js';
import { botBadge, h, iconButton, reconcile, replaceChildren, setAttribute, setHidden, setText, type Shown } from './dom.js';
import { colourClass, compareNames, fullDate, initial, sameName, timeOf } from './format.js';
import { linkify } from './linkify.js';
import type { AppState, RoomState } from './state.js';

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
    setAttribute(this.toggles.sidebar, 'aria-expanded', String(sidebar));
    setAttribute(this.toggles.search, 'aria-expanded', String(panel === 'search'));
    setAttribute(this.toggles.members, 'aria-expanded', String(panel === 'members'));
  }

  focusToggle(which: 'sidebar' | 'members' | 'search'): void {
    this.toggles[which].focus();
  }

  render(s: AppState): void {
    const note = s.status === 'online' ? '' : NOTE_TEXT[s.status] ?? s.status;
    setText(this.connNote, note);
    setAttribute(this.connNote, 'class', `conn-note ${s.status}`);
    const room = s.activeRoom();
    setText(this.title, room.kind === 'direct' ? room.with.map((n) => `@${n}`).join(', ') || '@you' : `#${room.name}`);
    this.notifyRoom = room.joined && s.registered ? room.name : null;
    setHidden(this.notify, this.notifyRoom === null);
    setAttribute(this.notify, 'aria-label', `Notifications in ${room.label()}`);
    if (this.notify.value !== room.notify) this.notify.value = room.notify;
    if (this.editing !== null && room.name !== this.editing) this.editing = null;
    if (this.editing !== null) return;
    // Rebuilt only when it changes: a button replaced between a press and its release loses the click.
    const shown = JSON.stringify([room.name, room.kind, room.kind === 'direct' ? directNote(room) : room.topic]);
    if (shown === this.topicShown) return;
    this.topicShown = shown;
    if (room.kind === 'direct') {
      replaceChildren(this.topic, h('span', { class: 'topic-text muted', text: directNote(room) }));
      return;
    }
    replaceChildren(this.topic,
      room.kind === 'private' ? h('span', { class: 'kind-tag', text: 'Private' }) : null,
      h('span', { class: room.topic ? 'topic-text' : 'topic-text muted' }, ...(room.topic ? linkify(room.topic) : ['No topic yet'])),
      h('button', { class: 'text-btn topic-edit', attrs: { type: 'button' }, text: room.topic ? 'Edit topic' : 'Set topic', on: { click: () => this.editTopic(room.name, room.topic) } }));
  }

  /** What the topic line shows now (room, kind, text), so that an unchanged line is left alone. */
  private topicShown = '';

  private editTopic(room: string, current: string): void {
    this.editing = room;
    this.topicShown = '';
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

/** "ann is online", "ann is away: messages wait for them", "2 of 3 online". */
function directNote(r: RoomState): string {
  if (r.with.length === 0) return 'Notes to yourself';
  if (r.with.length > 1) {
    const online = r.roster ? r.roster.filter((m) => m.online && r.with.some((w) => sameName(w, m.username))).length : null;
    return online === null ? `Group conversation with ${r.with.length} people` : `Group conversation · ${online} of ${r.with.length} online`;
  }
  return r.peersOnline() ? `Direct conversation · ${r.with[0]} is online` : `Direct conversation · ${r.with[0]} is away and will see your messages later`;
}

export interface MembersActions {
  message(peer: string): void;
  invite(room: string, username: string): void;
  remove(room: string, username: string): void;
  setRole(room: string, username: string, role: 'moderator' | 'member'): void;
  /** Opens the room's Webhooks dialog (its owner, or an administrator). */
  webhooks(room: string): void;
}

const ROLE_TEXT: Record<string, string> = { owner: 'owner', moderator: 'moderator' };
const ROLE_RANK: Record<string, number> = { owner: 0, moderator: 1, member: 2 };

export class MembersPanel {
  private readonly heading = h('h2');
  private readonly list = h('ul', { class: 'member-list', attrs: { id: 'member-list' } });
  private readonly inviteInput = h('input', { attrs: { id: 'invite-name', autocomplete: 'off', maxlength: 32, placeholder: 'Name', 'aria-describedby': 'invite-hint' } });
  private readonly inviteForm: HTMLFormElement;
  private inviteRoom: string | null = null;
  private readonly webhooksBtn: HTMLButtonElement;
  private webhooksRoom: string | null = null;

  constructor(el: HTMLElement, private readonly actions: MembersActions) {
    // Built once, so that a re-render never wipes a name being typed.
    this.inviteForm = h('form', {
      class: 'invite-form', attrs: { id: 'invite-form' },
      on: {
        submit: (ev) => {
          ev.preventDefault();
          const name = this.inviteInput.value.trim().replace(/^@/, '');
          if (name && this.inviteRoom) { this.inviteInput.value = ''; this.actions.invite(this.inviteRoom, name); }
        },
      },
    }, h('label', { attrs: { for: 'invite-name' }, text: 'Invite someone' }),
    h('div', { class: 'invite-row' }, this.inviteInput, h('button', { class: 'text-btn', attrs: { type: 'submit' }, text: 'Invite' })),
    h('p', { class: 'invite-hint', attrs: { id: 'invite-hint' }, text: 'Any account, online or not.' }));
    this.webhooksBtn = h('button', {
      class: 'text-btn webhooks-btn', attrs: { type: 'button', 'aria-haspopup': 'dialog' }, text: 'Webhooks…',
      on: { click: () => { if (this.webhooksRoom) this.actions.webhooks(this.webhooksRoom); } },
    });
    replaceChildren(el, this.heading, this.inviteForm, h('div', { class: 'panel-tools' }, this.webhooksBtn), this.list);
  }

  render(s: AppState): void {
    const room = s.activeRoom();
    const { roster, online } = this.rosterOf(room, s.username);
    setText(this.heading, room.kind === 'direct' ? 'In this conversation' : `Members · ${online} online`);
    this.inviteRoom = room.joined && (room.kind === 'public' || room.moderates()) ? room.name : null;
    setHidden(this.inviteForm, this.inviteRoom === null);
    setAttribute(this.inviteInput, 'aria-label', `Invite someone to #${room.name}`);
    // Its owner, or an administrator (who manages every room's webhooks).
    this.webhooksRoom = room.kind !== 'direct' && ((room.joined && room.role === 'owner') || s.admin) ? room.name : null;
    setHidden(this.webhooksBtn, this.webhooksRoom === null);
    setAttribute(this.webhooksBtn, 'aria-label', `Webhooks of #${room.name}`);
    // A member's item is built again only when it changes, so that a click on its button is
    // never lost to a re-render, and a roster of hundreds costs nothing at a message.
    const context = JSON.stringify([room.name, room.kind, room.role, s.admin, s.username]);
    if (roster === this.shownRoster && context === this.shownContext) return;
    this.shownRoster = roster;
    this.shownContext = context;
    this.shown = reconcile(this.list, this.shown, roster.map((m) => ({
      key: m.username, sig: `${context}|${m.role}|${m.online ? 1 : 0}|${m.bot ? 1 : 0}`,
      make: () => this.member(room, m, s.username, s.admin),
    })));
  }

  private shown: Shown = new Map();
  private shownRoster: MemberSummary[] | null = null;
  private shownContext = '';
  private memo: { room: RoomState; roster: MemberSummary[] | null; members: string[]; with: string[]; me: string; result: { roster: MemberSummary[]; online: number } } | null = null;

  /** rosterOf, and how many of it are online, again only when the room's roster or members changed (they are replaced, never changed in place). */
  private rosterOf(room: RoomState, me: string): { roster: MemberSummary[]; online: number } {
    const m = this.memo;
    if (m && m.room === room && m.roster === room.roster && m.members === room.members && m.with === room.with && m.me === me) return m.result;
    const roster = rosterOf(room, me);
    const result = { roster, online: roster.filter((x) => x.online).length };
    this.memo = { room, roster: room.roster, members: room.members, with: room.with, me, result };
    return result;
  }

  private member(room: RoomState, m: MemberSummary, me: string, admin: boolean): HTMLElement {
    const mine = sameName(m.username, me);
    const role = room.kind === 'direct' ? undefined : ROLE_TEXT[m.role];
    return h('li', { attrs: { 'data-user': m.username, 'data-role': m.role } }, h('button', {
      class: `member${m.online ? ' online' : ''}`, attrs: { type: 'button', disabled: mine },
      on: { click: () => this.actions.message(m.username) },
    }, h('span', { class: `avatar small ${colourClass(m.username)}`, attrs: { 'aria-hidden': 'true' } }, initial(m.username), h('span', { class: 'presence' })),
    mine ? null : h('span', { class: 'sr-only', text: 'Message ' }),
    h('span', { class: 'name', text: m.username }),
    m.bot ? botBadge() : null,
    role ? h('span', { class: 'role', text: role }) : null,
    mine ? h('span', { class: 'you', text: '(you)' }) : null,
    h('span', { class: 'sr-only', text: m.online ? ', online' : ', offline' })),
    mine ? null : this.manage(room, m, admin));
  }

  /**
   * What the user may do to a member: the owner makes and unmakes moderators (a bot is never
   * made one: the server refuses it); owner and moderators remove members. An administrator
   * counts as every room's owner, as on the server.
   */
  private manage(room: RoomState, m: MemberSummary, admin: boolean): HTMLElement | null {
    const owner = room.role === 'owner' || admin;
    if (!(owner || room.moderates()) || m.role === 'owner' || room.kind === 'direct') return null;
    const canRemove = owner || m.role === 'member';
    const buttons = [
      owner && !(m.bot && m.role !== 'moderator') ? h('button', {
        class: 'text-btn', attrs: { type: 'button', 'aria-label': `${m.role === 'moderator' ? 'Make member' : 'Make moderator'}: ${m.username}` },
        text: m.role === 'moderator' ? 'Make member' : 'Make moderator',
        on: { click: () => this.actions.setRole(room.name, m.username, m.role === 'moderator' ? 'member' : 'moderator') },
      }) : null,
      canRemove ? h('button', {
        class: 'text-btn danger', attrs: { type: 'button', 'aria-label': `Remove ${m.username} from #${room.name}` },
        text: 'Remove', on: { click: () => this.actions.remove(room.name, m.username) },
      }) : null,
    ].filter((b): b is HTMLButtonElement => b !== null);
    return buttons.length > 0 ? h('div', { class: 'member-actions', attrs: { role: 'group', 'aria-label': `Manage ${m.username}` } }, ...buttons) : null;
  }
}

/**
 * The members to show: the roster (online first, then by name) once read; until then the
 * names known online, and in a direct conversation its people.
 */
function rosterOf(room: RoomState, me: string): MemberSummary[] {
  if (room.roster) return withOnline(room.roster, room.kind === 'direct' ? [] : room.members).sort((a, b) => Number(b.online) - Number(a.online) || ROLE_RANK[a.role] - ROLE_RANK[b.role] || compareNames(a.username, b.username));
  const names = room.kind === 'direct' ? [me, ...room.with] : room.members;
  return [...names].sort(compareNames).map((username) => ({ username, role: 'member', online: room.kind !== 'direct' || sameName(username, me) }));
}

/** The roster with everyone known online in it (a big room's roster is one page of its members). */
function withOnline(roster: MemberSummary[], online: string[]): MemberSummary[] {
  const listed = new Set(roster.map((m) => m.username.toLowerCase()));
  const missing = online.filter((n) => !listed.has(n.toLowerCase())).map((username): MemberSummary => ({ username, role: 'member', online: true }));
  return [...roster, ...missing];
}

export interface SearchActions {
  search(query: string, room: string | undefined): void;
  open(room: string): void;
  /** How a result's room is named: `#room`, or a direct conversation's people. */
  label(room: string): string;
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
      }, h('div', { class: 'result-head' }, h('span', { class: 'author', text: m.username }), m.bot ? botBadge() : null, h('span', { class: 'where', text: ` in ${this.actions.label(m.room)}` }),
        h('time', { attrs: { datetime: m.timestamp, title: fullDate(m.timestamp) }, text: timeOf(m.timestamp) })),
      h('div', { class: 'result-text' }, m.content))))));
  }
}
