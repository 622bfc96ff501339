/**
 * The chat screen's controller: owns the client core connection and the state, turns the
 * core's events into state changes, the user's actions into requests, and renders the
 * views after each change (at most once per task).
 */
import { ParleyClient, type ClientError, type Identity, type SocketLike } from '../core/client.js';
import type { Attachment, ChatMessage, NotifyLevel, ReplyRef, ServerMessage, ServerMessageOf } from '../../protocol/messages.js';
import { emptyReactions } from '../../protocol/reactions.js';
import { applyMessage, applyRoomList } from './apply.js';
import { byId } from './dom.js';
import { sameName, typingText } from './format.js';
import { nameSource } from './mention-complete.js';
import { mentionsMe } from './mentions.js';
import { askPermission, Favicon, permission, showNotification, subscribePush } from './notify.js';
import { saved } from './storage.js';
import { AppState, type PendingMessage, type RoomState, type View } from './state.js';
import { toast } from './toast.js';
import { Composer } from './view-composer.js';
import { MessageList } from './view-messages.js';
import { buildListContent } from './list-content.js';
import { Header, MembersPanel, SearchPanel } from './view-panels.js';
import { Sidebar } from './view-sidebar.js';
import { NewMessageDialog, NewRoomDialog, RegisterDialog } from './view-dialogs.js';
import { WebhooksDialog } from './view-webhooks.js';

export interface AppOptions {
  identity: Identity;
  /** Create an account for identity.username with this password once connected. */
  registerPassword?: string;
  /** Called when the session ends (logout, invalid token, ban): show the sign-in screen. */
  onSignedOut(reason: string): void;
}

const TYPING_EVERY_MS = 3_000;
const TYPING_IDLE_MS = 5_000;
const MARK_READ_DELAY_MS = 800;
const PAGE = 50;
/** Messages a room not in view holds at most, past TRIM_STEP more (two pages: what opening it shows, and more). */
const AWAY_KEEP = 2 * PAGE;
/** Messages the open room holds while its reader follows the newest. */
const VIEW_KEEP = 6 * PAGE;
const TRIM_STEP = 2 * PAGE;
/** How long a roster waits before it is re-read, so that a burst of changes is one request. */
const ROSTER_DELAY_MS = 300;
/** How many pages of older history a jump to a reply's original may load. */
const JUMP_PAGES = 20;
/** How much of a message a reply banner quotes. */
const EXCERPT_CHARS = 120;

/** The start of a message on one line, for the reply banner (the server makes the stored excerpt). */
function excerptOf(content: string, files: Attachment[] | undefined): string {
  const text = content.replace(/\s+/g, ' ').trim();
  if (text === '') return files?.length ? files.map((f) => f.name).join(', ') : '';
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS - 1)}…` : text;
}

/** Why a request failed, for the user: the server's words, or that the page is offline. */
function failureText(err: ClientError): string {
  return err.code === 'DISCONNECTED' || err.code === 'CLOSED' ? 'You are offline. Try again once reconnected.' : err.message;
}

/** The WebSocket URL of the server that served this page. */
export function socketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/`;
}

export class ChatApp {
  readonly state = new AppState();
  readonly client: ParleyClient;
  private readonly root = byId('chat');
  private readonly sidebar: Sidebar;
  private readonly header: Header;
  private readonly list: MessageList;
  private readonly composer: Composer;
  private readonly members: MembersPanel;
  private readonly search: SearchPanel;
  private renderQueued = false;
  private pendingCount = 0;
  private signingOut = false;
  private typingSentAt = 0;
  /** Counts room-list loads, so that an older one finishing late does not overwrite a newer one. */
  private roomsLoad = 0;
  private typingRoom: string | null = null;
  private typingIdle: ReturnType<typeof setTimeout> | undefined;
  private readonly readTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Messages whose reactions are being re-read (rereadMessage). */
  private readonly rereading = new Set<string>();
  private readonly ticker: ReturnType<typeof setInterval>;
  /** Set once the session is ready: messages replayed while connecting notify nothing. */
  private ready = false;
  /** This browser's Web Push endpoint, once subscribed. */
  private pushEndpoint: string | null = null;
  private readonly favicon = new Favicon();
  /** Whether the account is a guest's (from the token the server gave it). */
  private guest = true;
  private readonly newMessage: NewMessageDialog;
  private readonly newRoom: NewRoomDialog;
  private readonly registration: RegisterDialog;
  private readonly webhooks: WebhooksDialog;
  /** The conversation list being read again (refreshConversations), if it is. */
  private conversationsLoad: Promise<void> | null = null;
  /** Rosters to re-read soon (a member came, went, was invited or removed). */
  private readonly rosterTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly onHash = (): void => { if (this.ready) this.openFromHash(); };

  constructor(private readonly opts: AppOptions) {
    this.client = new ParleyClient({
      url: socketUrl(),
      createSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike,
      identity: opts.identity,
      rooms: [],
      memberships: true,
    });
    this.newMessage = new NewMessageDialog((names) => this.openDirect(names));
    this.newRoom = new NewRoomDialog((room, isPrivate) => this.createRoom(room, isPrivate));
    this.registration = new RegisterDialog((password) => this.register(password));
    this.webhooks = new WebhooksDialog({
      list: async (room) => (await this.client.request({ type: 'ListWebhooks', room }) as ServerMessageOf<'Webhooks'>).webhooks,
      create: async (room, name) => {
        const ack = await this.client.request({ type: 'CreateWebhook', room, name }) as ServerMessageOf<'Ack'>;
        return { id: String(ack.id), name: String(ack.name), url: String(ack.url) };
      },
      revoke: async (room, id) => { await this.client.request({ type: 'RevokeWebhook', room, id }); },
      failure: (err) => failureText(err as ClientError),
    });
    this.sidebar = new Sidebar(byId('sidebar'), {
      openRoom: (r) => this.open({ kind: 'room', room: r }), joinRoom: (r) => void this.joinRoom(r),
      leaveRoom: (r) => void this.leaveRoom(r), newMessage: () => this.newMessage.show(), newRoom: () => this.newRoom.show(),
      logout: () => void this.logout(), register: () => this.registration.show(), enableNotifications: () => void this.enableNotifications(),
    });
    this.header = new Header(byId('header'), {
      toggleSidebar: () => this.toggleSidebar(!this.root.classList.contains('sidebar-open')),
      togglePanel: (p) => this.togglePanel(p),
      setTopic: (room, topic) => this.call({ type: 'SetTopic', room, topic }),
      setNotify: (room, level) => this.setNotify(room, level),
    });
    this.list = new MessageList(byId('messages'), {
      react: (id, emoji) => this.call({ type: 'React', id, emoji }),
      edit: (id) => this.editMessage(id),
      remove: (id) => this.call({ type: 'DeleteMessage', id }),
      nearTop: () => void this.loadOlder(),
      reply: (id) => this.startReply(id),
      jump: (id) => void this.jumpTo(id),
    });
    this.composer = new Composer({
      send: (text, extras) => this.send(text, extras), saveEdit: (id, content) => this.call({ type: 'EditMessage', id, content }),
      lastOwn: () => this.lastOwn(), typing: () => this.typing(), stopTyping: () => this.stopTyping(),
      draft: (text) => saved.setDraft(this.state.view.room, text), mentionNames: () => nameSource(this.state),
    }, () => (this.guest ? null : this.client.token), (text) => toast(text));
    this.members = new MembersPanel(byId('members'), {
      message: (p) => void this.openDirect([p]),
      invite: (room, name) => this.manage({ type: 'Invite', room, username: name }),
      remove: (room, name) => this.manage({ type: 'RemoveMember', room, username: name }),
      setRole: (room, name, role) => this.manage({ type: 'SetRole', room, username: name, role }),
      webhooks: (room) => this.webhooks.show(room),
    });
    this.search = new SearchPanel(byId('search'), {
      search: (query, room) => void this.runSearch(query, room),
      open: (room) => { if (this.state.rooms.get(room)?.joined) this.open({ kind: 'room', room }); else void this.joinRoom(room); },
      label: (room) => this.state.rooms.get(room)?.label() ?? `#${room}`,
    }, () => this.state.view.room);
    byId('scrim').addEventListener('click', () => this.toggleSidebar(false));
    this.root.classList.add(window.matchMedia('(min-width: 1100px)').matches ? 'panel-members' : 'panel-none');
    this.header.expanded(false, this.openPanel());
    document.addEventListener('keydown', (ev) => this.onEscape(ev));
    this.listen();
    this.ticker = setInterval(() => this.renderTyping(), 1_000);
    window.addEventListener('hashchange', this.onHash);
    document.addEventListener('visibilitychange', () => {
      const room = this.state.activeRoom();
      if (room && !this.signingOut && document.visibilityState === 'visible') { this.markRead(room.name); this.queueRender(); }
    });
  }

  /** Connects (and registers, when asked); rejects with the reason the server gave. */
  async start(): Promise<void> {
    this.root.hidden = false;
    this.queueRender();
    try {
      await this.client.connect();
      if (this.opts.registerPassword !== undefined) {
        const answer = await this.client.request({ type: 'Register', username: this.client.username ?? '', password: this.opts.registerPassword });
        if (answer.type === 'LoggedIn') {
          this.client.token = answer.token;
          this.client.admin = answer.admin === true;
          this.guest = false;
          saved.setToken(answer.token);
          saved.setGuest(false);
        }
      }
    } catch (err) {
      this.dispose();
      throw err;
    }
    this.onReady(false);
  }

  private listen(): void {
    const c = this.client;
    c.on('status', ({ status, detail }) => { this.state.status = status; this.state.statusDetail = detail ?? ''; this.queueRender(); });
    c.on('token', ({ token, username, guest }) => {
      this.guest = guest;
      saved.setToken(token);
      saved.setName(username);
      saved.setGuest(guest);
    });
    c.on('chat', (m) => {
      const r = this.state.room(m.room);
      // A message of a conversation the list does not have yet (it was just opened with us): ask for the list.
      if (!r.joined && this.ready) this.refreshConversations();
      if (m.timestamp > r.lastActivity) r.lastActivity = m.timestamp;
      r.typing.delete(m.username);
      const fresh = r.add(m);
      if (fresh) this.bound(r);
      // Before the session is ready the view is not chosen yet: history sent on login marks nothing read.
      if (fresh && this.ready && this.state.isViewing({ kind: 'room', room: m.room })) this.markRead(m.room);
      if (fresh && this.ready && !sameName(m.username, this.state.username)) this.onIncoming(m);
      this.queueRender();
    });
    c.on('message', (msg) => {
      if (msg.type === 'Error' && msg.ref === undefined) toast(msg.message);
      const removed = msg.type === 'ConversationRemoved' && this.state.rooms.get(msg.room)?.joined === true;
      if (applyMessage(this.state, msg)) this.queueRender();
      if (removed) this.onRemoved(msg as ServerMessageOf<'ConversationRemoved'>);
      this.followRosters(msg);
      if (msg.type === 'Reaction' && this.state.room(msg.room).reactionsStale(msg.id, msg.emoji, msg.count)) void this.rereadMessage(msg.room, msg.id, msg.seq);
    });
    c.on('gap', ({ room, fromSeq }) => { this.state.room(room).gapFrom = fromSeq; this.queueRender(); });
    c.on('ready', ({ resumed }) => { if (resumed) this.onReady(true); });
    c.on('closed', ({ reason }) => { if (!this.signingOut && this.state.username) this.end(reason || 'The connection closed.'); });
  }

  private onReady(resumed: boolean): void {
    const s = this.state;
    s.username = this.client.username ?? '';
    s.registered = !this.guest;
    s.admin = this.client.admin;
    saved.setName(s.username);
    if (this.client.token !== null) saved.setToken(this.client.token);
    for (const room of this.client.rooms) s.room(room).joined = true;
    if (!resumed) s.view = { kind: 'room', room: this.firstRoom() };
    this.loadRooms();
    this.refreshMembers();
    const room = s.activeRoom();
    if (room.joined && !room.loaded) void this.loadRecent(room.name);
    this.markRead(room.name);
    // After a reconnect the box holds what the user typed meanwhile: only a page load restores it.
    if (!resumed) this.composer.restore(saved.draft(room.name));
    this.ready = true;
    if (!resumed) this.openFromHash();
    if (!resumed && permission() === 'granted') void this.startPush();
    this.queueRender();
    this.composer.focus();
  }

  // ---- notifications --------------------------------------------------------------------

  /**
   * A room message from someone else: counts a mention of the user while the room is not
   * being read, and notifies when the room's level asks for it and the tab is hidden.
   */
  private onIncoming(m: ChatMessage): void {
    const r = this.state.room(m.room);
    const mentioned = mentionsMe(m.mentions, this.state.username);
    const reading = this.state.isViewing({ kind: 'room', room: m.room }) && document.visibilityState !== 'hidden';
    if (mentioned && !reading) r.mentions++;
    if (r.notify === 'all' || (r.notify === 'mentions' && mentioned)) {
      const title = r.kind === 'direct' ? m.username : `${m.username} in ${r.label()}`;
      showNotification(title, excerptOf(m.content, m.attachments), `room:${m.room}`, () => this.openRoomNamed(m.room));
    }
  }

  /** Where a page opens: the conversation read last (saved), else `general`, else the first one. */
  private firstRoom(): string {
    const rooms = this.client.rooms;
    const last = saved.view();
    if (last !== null && rooms.includes(last)) return last;
    return rooms.includes('general') ? 'general' : rooms[0] ?? 'general';
  }

  /** Asked from the sidebar's button: permission, then Web Push for an account. */
  private async enableNotifications(): Promise<void> {
    const answer = await askPermission();
    this.queueRender();
    if (answer === 'granted') {
      toast('Notifications are on.', 'info');
      await this.startPush();
    } else if (answer === 'denied') {
      toast('Notifications are blocked for this site in the browser settings.', 'info');
    }
  }

  /** Subscribes to Web Push (accounts only: guests cannot); failures stay quiet. */
  private async startPush(): Promise<void> {
    if (!this.state.registered || this.pushEndpoint !== null) return;
    this.pushEndpoint = await subscribePush((msg) => this.client.request(msg));
  }

  private setNotify(room: string, level: NotifyLevel): void {
    const r = this.state.room(room);
    const before = r.notify;
    r.notify = level;
    this.queueRender();
    this.client.request({ type: 'SetNotify', room, level }).catch((err: ClientError) => {
      r.notify = before;
      toast(err.message);
      this.queueRender();
    });
  }

  /** The page was opened as `/#room=NAME` or `/#with=NAME` (a push notification's link). */
  private openFromHash(): void {
    const hash = new URLSearchParams(location.hash.slice(1));
    const room = hash.get('room');
    const peer = hash.get('with');
    if (room || peer) history.replaceState(null, '', location.pathname + location.search);
    if (room) this.openRoomNamed(room.replace(/^#/, ''));
    else if (peer) void this.openDirect([peer]);
  }

  private openRoomNamed(room: string): void {
    const name = room.toLowerCase();
    if (this.state.rooms.get(name)?.joined) this.open({ kind: 'room', room: name });
    else if (!name.startsWith('dm-')) void this.joinRoom(room);
  }

  /**
   * Sends a request; a refusal is shown as a toast. Background requests (`quiet`) say
   * nothing when the connection is down: the status indicator already does.
   */
  private call(msg: Parameters<ParleyClient['request']>[0], quiet = false): void {
    this.client.request(msg).catch((err: ClientError) => {
      const offline = err.code === 'DISCONNECTED' || err.code === 'CLOSED';
      if (!(quiet && offline)) toast(offline ? 'You are offline. Try again once reconnected.' : err.message);
      this.queueRender();
    });
  }

  /** The room list, every page of it, applied once it is whole; quiet, like call(..., true), when offline. */
  private loadRooms(): void {
    const load = ++this.roomsLoad;
    this.client.listRooms().then((rooms) => {
      if (load !== this.roomsLoad) return;
      applyRoomList(this.state, rooms);
      // The room being read has no unread mentions, whatever the server counted before MarkRead.
      const open = this.state.activeRoom();
      if (open && document.visibilityState !== 'hidden') open.mentions = 0;
      this.queueRender();
    }, (err: ClientError) => {
      if (err.code !== 'DISCONNECTED' && err.code !== 'CLOSED') toast(err.message);
    });
  }

  // ---- navigation -----------------------------------------------------------------------

  private open(view: View): void {
    this.stopTyping();
    this.composer.cancelEdit();
    this.composer.cancelReply();
    if (!this.state.isViewing(view)) this.composer.restore(saved.draft(view.room));
    this.state.view = view;
    saved.setView(view.room);
    if (this.root.classList.contains('sidebar-open')) this.toggleSidebar(false);
    // On narrow screens the panels cover the conversation: opening one closes them.
    if (!window.matchMedia('(min-width: 1100px)').matches && this.root.classList.contains('panel-open')) this.closePanels();
    const r = this.state.room(view.room);
    if (r.joined && !r.loaded) void this.loadRecent(view.room);
    this.markRead(view.room);
    this.refreshMembers();
    this.queueRender();
    this.composer.focus();
  }

  private closePanels(): void {
    this.root.classList.remove('panel-open', 'panel-members', 'panel-search');
    this.root.classList.add('panel-none');
    this.header.expanded(this.root.classList.contains('sidebar-open'), null);
  }

  private openPanel(): 'members' | 'search' | null {
    const cls = this.root.classList;
    return cls.contains('panel-members') ? 'members' : cls.contains('panel-search') ? 'search' : null;
  }

  /** Opens or closes the sidebar drawer (narrow screens); an opened drawer takes the focus. */
  private toggleSidebar(open: boolean): void {
    this.root.classList.toggle('sidebar-open', open);
    // The drawer is modal: what it covers takes neither the focus nor clicks.
    const covered = open && !window.matchMedia('(min-width: 761px)').matches;
    for (const el of [this.root.querySelector('main'), byId('panel')]) if (el) el.inert = covered;
    this.header.expanded(open, this.openPanel());
    if (open) byId('sidebar').querySelector<HTMLElement>('.room-item.active .room-link, .room-link, input')?.focus();
  }

  /** Escape closes the drawer, or the panel it was pressed in, and returns to its button. */
  private onEscape(ev: KeyboardEvent): void {
    if (ev.key !== 'Escape' || ev.defaultPrevented || document.querySelector('dialog[open]')) return;
    const narrow = !window.matchMedia('(min-width: 1100px)').matches;
    const panel = this.openPanel();
    if (this.root.classList.contains('sidebar-open')) {
      this.toggleSidebar(false);
      this.header.focusToggle('sidebar');
    } else if (panel && (narrow || (ev.target as Element | null)?.closest?.('#panel'))) {
      this.closePanels();
      this.header.focusToggle(panel);
    } else {
      return;
    }
    ev.preventDefault();
  }

  private togglePanel(panel: 'members' | 'search'): void {
    const cls = this.root.classList;
    const showing = cls.contains(`panel-${panel}`);
    cls.remove('panel-members', 'panel-search', 'panel-none');
    cls.add(showing ? 'panel-none' : `panel-${panel}`);
    cls.toggle('panel-open', !showing);
    byId('members').hidden = panel !== 'members';
    byId('search').hidden = panel !== 'search';
    this.header.expanded(cls.contains('sidebar-open'), this.openPanel());
    if (!showing && panel === 'search') this.search.focus();
  }

  private async joinRoom(name: string): Promise<void> {
    const wanted = name.toLowerCase();
    // A room joined afresh gets its recent history again from the core.
    if (!this.state.rooms.get(wanted)?.joined) this.client.lastSeq.delete(wanted);
    try {
      const room = await this.client.join(name);
      this.state.room(room).joined = true;
      this.state.directory = this.state.directory.filter((d) => d.name !== room);
      this.open({ kind: 'room', room });
    } catch (err) {
      toast((err as Error).message);
    }
  }

  /** Creates a room (a private one: only people invited see it); the error, if refused, for the dialog. */
  /**
   * The guest's account becomes a registered one under its name (the server keeps its rooms,
   * conversations and messages); the new token is kept. The error, if refused, for the dialog.
   */
  private async register(password: string): Promise<string | null> {
    try {
      const answer = await this.client.request({ type: 'Register', username: this.state.username, password });
      if (answer.type !== 'LoggedIn') return 'The server did not register the name. Try again.';
      this.client.token = answer.token;
      this.client.guest = false;
      this.guest = false;
      this.client.admin = answer.admin === true;
      this.state.admin = this.client.admin;
      saved.setToken(answer.token);
      saved.setGuest(false);
      this.state.registered = true;
      this.composer.allowFiles(true);
      this.queueRender();
      toast(`The name ${answer.username} is yours now.`, 'info');
      return null;
    } catch (err) {
      return failureText(err as ClientError);
    }
  }

  private async createRoom(name: string, isPrivate: boolean): Promise<string | null> {
    try {
      const ack = await this.client.request({ type: 'CreateRoom', room: name, ...(isPrivate ? { private: true } : {}) });
      const room = String((ack as { room?: unknown }).room ?? name);
      if (!this.client.rooms.includes(room)) this.client.rooms.push(room);
      const r = this.state.room(room);
      r.joined = true;
      r.kind = isPrivate ? 'private' : 'public';
      r.role = 'owner';
      this.open({ kind: 'room', room });
      return null;
    } catch (err) {
      return failureText(err as ClientError);
    }
  }

  /**
   * Opens the direct conversation with these people (any account, online or not), made by
   * the server when there is none yet; the error, if refused, for the dialog.
   */
  private async openDirect(names: string[]): Promise<string | null> {
    const others = names.filter((n) => !sameName(n, this.state.username));
    const known = others.length === 1 ? this.state.directWith(others[0]!) : undefined;
    if (known) {
      this.open({ kind: 'room', room: known.name });
      return null;
    }
    try {
      const ack = await this.client.request({ type: 'OpenDirect', usernames: others.length > 0 ? others : names });
      const room = String((ack as { room?: unknown }).room);
      if (!this.client.rooms.includes(room)) this.client.rooms.push(room);
      const r = this.state.room(room);
      if (!r.joined) {
        r.joined = true;
        r.kind = 'direct';
        const peers = (ack as { with?: unknown }).with;
        r.with = Array.isArray(peers) ? peers.map(String) : others;
        r.lastActivity = new Date().toISOString();
      }
      this.open({ kind: 'room', room });
      return null;
    } catch (err) {
      return failureText(err as ClientError);
    }
  }

  private async leaveRoom(room: string): Promise<void> {
    try {
      await this.client.leave(room);
    } catch (err) {
      toast((err as Error).message);
      return;
    }
    if (this.state.rooms.get(room)?.joined) this.onRemoved({ type: 'ConversationRemoved', room });
    this.state.rooms.delete(room);
    this.client.lastSeq.delete(room);
    this.loadRooms();
    this.queueRender();
  }

  /** The account left a room, or was removed from it: another conversation opens in its place. */
  private onRemoved(msg: ServerMessageOf<'ConversationRemoved'>): void {
    if (msg.by) toast(`${msg.by} removed you from #${msg.room}.`, 'info');
    saved.setDraft(msg.room, '');
    if (this.state.isViewing({ kind: 'room', room: msg.room })) {
      const next = this.state.joinedRooms().find((r) => r.name !== msg.room);
      this.open({ kind: 'room', room: next?.name ?? 'general' });
    }
    this.loadRooms();
  }

  /** Invite, remove, make moderator: the room's notice and roster say it is done; a toast says why not. */
  private manage(msg: Parameters<ParleyClient['request']>[0]): void {
    const room = (msg as { room: string }).room;
    this.client.request(msg).then(() => this.refreshRoster(room), (err: ClientError) => toast(failureText(err)));
  }

  private refreshMembers(): void {
    const room = this.state.activeRoom();
    if (!room.joined) return;
    // Members with roles (at most a page of them), and who is online (a big room's online
    // members may be past the page of members).
    this.call({ type: 'ListMembers', room: room.name }, true);
    if (room.kind !== 'direct') this.call({ type: 'ListUsers', room: room.name }, true);
  }

  /** The account's conversation list again (one request at a time). */
  private refreshConversations(): void {
    if (this.conversationsLoad) return;
    this.conversationsLoad = this.client.request({ type: 'ListConversations' }).then(() => undefined, () => undefined)
      .finally(() => { this.conversationsLoad = null; });
  }

  /** Re-reads a roster soon (several changes together are one request). */
  private refreshRoster(room: string): void {
    if (this.rosterTimers.has(room)) return;
    this.rosterTimers.set(room, setTimeout(() => {
      this.rosterTimers.delete(room);
      if (this.state.rooms.get(room)?.joined) this.call({ type: 'ListMembers', room }, true);
    }, ROSTER_DELAY_MS));
  }

  /**
   * Keeps the open room's roster and the presence of direct conversations' people current:
   * the server announces arrivals and departures in rooms, never in direct conversations, so
   * someone coming or going in a room re-reads the conversations they are in with us.
   */
  private followRosters(msg: ServerMessage): void {
    if (msg.type === 'SystemMessage' && msg.room !== undefined && this.state.isViewing({ kind: 'room', room: msg.room })) this.refreshRoster(msg.room);
    if (msg.type !== 'UserJoined' && msg.type !== 'UserLeft') return;
    if (this.state.isViewing({ kind: 'room', room: msg.room })) this.refreshRoster(msg.room);
    for (const r of this.state.joinedRooms()) {
      if (r.kind === 'direct' && r.with.some((n) => sameName(n, msg.username))) this.refreshRoster(r.name);
    }
  }

  // ---- history --------------------------------------------------------------------------

  /**
   * Keeps what a room holds to a few pages as messages come (RoomState.trim): a room not in
   * view AWAY_KEEP, the open one VIEW_KEEP while its reader follows the newest (one reading
   * older messages keeps all they loaded). Trimmed TRIM_STEP past the bound, not at every message.
   */
  private bound(r: RoomState): void {
    const viewing = this.state.isViewing({ kind: 'room', room: r.name });
    if (viewing && !this.list.following()) return;
    const keep = viewing ? VIEW_KEEP : AWAY_KEEP;
    if (r.messages.size > keep + TRIM_STEP) r.trim(keep);
  }

  private olderLoad: Promise<void> | null = null;

  /** Loads the page of history before what the open conversation shows (one load at a time). */
  private loadOlder(): Promise<void> {
    this.olderLoad ??= this.loadOlderPage().finally(() => { this.olderLoad = null; });
    return this.olderLoad;
  }

  private async loadOlderPage(): Promise<void> {
    const room = this.state.activeRoom();
    const before = room.oldestSeq();
    if (!room.joined || room.loadingOlder || before === undefined || !room.hasOlder()) return;
    room.loadingOlder = true;
    this.queueRender();
    try {
      const page = await this.client.request({ type: 'History', room: room.name, before, limit: PAGE }) as ServerMessageOf<'History'>;
      for (const m of page.messages) room.add(m);
      room.hasMore = page.hasMore;
      if (!page.hasMore) room.firstSeq = room.oldestSeq();
    } catch (err) {
      toast((err as Error).message);
    } finally {
      room.loadingOlder = false;
      this.queueRender();
    }
  }

  /**
   * Fetches a room's recent messages the first time it is opened (the server enters the
   * account's rooms at login and sends history for one of them only), and lets the core go
   * on from there.
   */
  private async loadRecent(room: string): Promise<void> {
    const r = this.state.room(room);
    r.loaded = true;
    let page: ServerMessageOf<'History'>;
    try {
      page = await this.client.request({ type: 'History', room, limit: PAGE }) as ServerMessageOf<'History'>;
    } catch {
      r.loaded = false;
      return;
    }
    for (const m of page.messages) r.add(m);
    r.hasMore = page.hasMore;
    if (page.firstSeq !== undefined) r.firstSeq = page.firstSeq;
    const last = page.messages[page.messages.length - 1]?.seq;
    if (last !== undefined && (this.client.lastSeq.get(room) ?? 0) < last) this.client.lastSeq.set(room, last);
    this.queueRender();
  }

  /**
   * Re-reads one message's reactions after a `Reaction` (which carries only the change and
   * the emoji's new count) showed that the copy here missed a change. One read at a time per message.
   */
  private async rereadMessage(room: string, id: string, seq: number): Promise<void> {
    if (this.rereading.has(id)) return;
    this.rereading.add(id);
    try {
      const page = await this.client.request({ type: 'History', room, after: seq - 1, limit: 1 }) as ServerMessageOf<'History'>;
      const m = page.messages[0];
      if (m && m.id === id && this.state.room(room).setReactions(id, m.reactions ?? emptyReactions())) this.queueRender();
    } catch {
      // Offline or refused: the next change to this message tries again.
    } finally {
      this.rereading.delete(id);
    }
  }

  // ---- sending --------------------------------------------------------------------------

  /**
   * Sends through the core, which re-sends with the same nonce after a reconnect until the
   * server confirms; meanwhile the message shows as "Sending…".
   */
  private send(text: string, extras: { attachments: Promise<Attachment[]>; replyTo: ReplyRef | null }): void {
    const v = this.state.view;
    const target = this.state.room(v.room);
    const replyTo = extras.replyTo;
    const pending: PendingMessage = {
      key: String(++this.pendingCount), content: text, timestamp: new Date().toISOString(), ...(replyTo ? { replyTo } : {}),
    };
    target.pending.push(pending);
    const sent = extras.attachments.then((files): Promise<unknown> | null => {
      if (files.length > 0) {
        pending.attachments = files;
        this.queueRender();
      } else if (text === '') {
        return null;
      }
      const ids = files.map((f) => f.id);
      return this.client.sendMessage(v.room, text, { attachments: ids, ...(replyTo ? { replyTo: replyTo.id } : {}) });
    });
    // Kept until the server has it: a reload or a refusal gives the text back to the box.
    const unsent = saved.addUnsent(v.room, text);
    sent.then(() => saved.removeUnsent(unsent), (err: Error) => {
      saved.removeUnsent(unsent);
      this.giveBack(v.room, text);
      toast(`Not sent: ${err.message}`);
    }).finally(() => {
      target.pending.splice(target.pending.indexOf(pending), 1);
      this.queueRender();
    });
    this.queueRender();
    queueMicrotask(() => this.list.toBottom());
  }

  /** A message the server refused goes back to its conversation's box, so the text is never lost. */
  private giveBack(room: string, text: string): void {
    if (text === '') return;
    const draft = saved.draft(room);
    const merged = draft === '' ? text : `${text}\n${draft}`;
    saved.setDraft(room, merged);
    if (this.state.isViewing({ kind: 'room', room })) this.composer.restore(merged);
  }

  /** Starts a reply to a message of the open room. */
  private startReply(id: string): void {
    const m = this.state.activeRoom()?.messages.get(id);
    if (!m || m.deleted) return;
    this.composer.startReply({ id: m.id, username: m.username, excerpt: excerptOf(m.content, m.attachments) });
  }

  /**
   * Shows a reply's original: loads older pages of the room until it is there (at most
   * JUMP_PAGES pages), then scrolls to it and highlights it.
   */
  private async jumpTo(id: string): Promise<void> {
    const room = this.state.activeRoom();
    for (let page = 0; page < JUMP_PAGES && !room.messages.has(id) && room.hasOlder(); page++) {
      await this.loadOlder();
      if (!this.state.isViewing({ kind: 'room', room: room.name })) return;
    }
    this.render();
    if (!this.list.highlight(id)) toast('The original message is no longer in the history.', 'info');
  }

  private editMessage(id: string): void {
    const m = this.state.activeRoom()?.messages.get(id);
    if (m && !m.deleted) this.composer.startEdit(id, m.content);
  }

  private lastOwn(): { id: string; content: string } | null {
    const room = this.state.activeRoom();
    const mine = room.sorted().reverse().find((m) => !m.deleted && sameName(m.username, this.state.username));
    return mine ? { id: mine.id, content: mine.content } : null;
  }

  private typing(): void {
    const room = this.state.activeRoom();
    if (!room.joined) return;
    const now = Date.now();
    if (this.typingRoom !== room.name || now - this.typingSentAt >= TYPING_EVERY_MS) {
      this.client.fire({ type: 'Typing', room: room.name, active: true });
      this.typingSentAt = now;
      this.typingRoom = room.name;
    }
    clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  private stopTyping(): void {
    clearTimeout(this.typingIdle);
    if (this.typingRoom === null) return;
    if (this.client.rooms.includes(this.typingRoom)) this.client.fire({ type: 'Typing', room: this.typingRoom, active: false });
    this.typingRoom = null;
    this.typingSentAt = 0;
  }

  /** Marks the room read up to its newest message, when the page is in view. */
  private markRead(room: string): void {
    if (document.visibilityState === 'hidden') return;
    const r = this.state.room(room);
    r.readSeq = Math.max(r.readSeq ?? 0, r.lastSeq);
    r.mentions = 0;
    if (this.readTimers.has(room) || r.lastSeq === 0) return;
    this.readTimers.set(room, setTimeout(() => {
      this.readTimers.delete(room);
      if (this.client.rooms.includes(room)) this.client.fire({ type: 'MarkRead', room, seq: this.state.room(room).lastSeq });
    }, MARK_READ_DELAY_MS));
  }

  private async runSearch(query: string, room: string | undefined): Promise<void> {
    try {
      const res = await this.client.request({ type: 'Search', query, ...(room ? { room } : {}) }) as ServerMessageOf<'SearchResults'>;
      this.search.showResults(query, res.messages);
    } catch (err) {
      toast((err as Error).message);
    }
  }

  // ---- session end ----------------------------------------------------------------------

  private async logout(): Promise<void> {
    this.signingOut = true;
    if (this.pushEndpoint !== null) await this.client.request({ type: 'PushUnsubscribe', endpoint: this.pushEndpoint }).catch(() => undefined);
    // The token is revoked (a guest's account then ends with this connection).
    await this.client.request({ type: 'Logout' }).catch(() => undefined);
    saved.forget();
    this.end('');
  }

  /** Ends the session after it was ready: back to the sign-in screen. */
  private end(reason: string): void {
    this.dispose();
    this.opts.onSignedOut(reason);
  }

  /** Stops the connection and every timer of this session. */
  private dispose(): void {
    this.signingOut = true;
    clearInterval(this.ticker);
    window.removeEventListener('hashchange', this.onHash);
    this.favicon.show(0);
    clearTimeout(this.typingIdle);
    for (const t of this.readTimers.values()) clearTimeout(t);
    for (const t of this.rosterTimers.values()) clearTimeout(t);
    this.client.close();
    this.root.hidden = true;
  }

  // ---- rendering ------------------------------------------------------------------------

  queueRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    queueMicrotask(() => { this.renderQueued = false; this.render(); });
  }

  private render(): void {
    const s = this.state;
    // The message list first: it reads its scroll position before and after it changes, and
    // read while nothing else has changed yet, the layout is still the last frame's. After
    // the other views' changes, each read laid out the whole list again (7 ms each, twice a
    // message, in a room showing 300 messages).
    this.list.render(buildListContent(s));
    this.sidebar.render(s);
    this.header.render(s);
    this.members.render(s);
    const room = s.activeRoom();
    this.composer.target(room.joined ? `Message ${room.label()}` : 'Join a room to chat', room.joined);
    this.composer.allowFiles(s.registered);
    this.renderTyping();
    document.title = this.title();
  }

  private renderTyping(): void {
    this.composer.showTyping(typingText(this.state.typingIn(this.state.view.room)));
  }

  private title(): string {
    const s = this.state;
    let unread = 0;
    for (const r of s.joinedRooms()) if (!s.isViewing({ kind: 'room', room: r.name })) unread += r.unread();
    this.favicon.show(unread);
    const where = s.activeRoom().label();
    return `${unread > 0 ? `(${unread}) ` : ''}${where} · Parley`;
  }
}
