/**
 * The composer: a text area where Enter sends and Shift+Enter makes a new line, Up on an
 * empty composer edits the user's last message, and Escape cancels an edit or a reply. It
 * also shows who is typing, and reports the user's own typing so the controller can tell
 * the room. Files come in through the "Attach files" button, a paste, or a drop on the
 * conversation, and go with the next message (which may then have no text). Typing `@` and
 * the start of a name offers names to mention (view-mention-picker.ts).
 */
import { textCommandOf } from '../../protocol/commands.js';
import type { Attachment, ReplyRef } from '../../protocol/messages.js';
import { toast } from './toast.js';
import { byId, h, replaceChildren } from './dom.js';
import { icon } from './icons.js';
import type { NameSource } from './mention-complete.js';
import { MentionPicker } from './view-mention-picker.js';
import { UploadTray } from './uploads.js';

export interface ComposerActions {
  /** Sends a message; `attachments` resolves once the files still uploading are up. */
  send(text: string, extras: { attachments: Promise<Attachment[]>; replyTo: ReplyRef | null }): void;
  saveEdit(id: string, text: string): void;
  /** The user's last message in the open room, to edit with Up. */
  lastOwn(): { id: string; content: string } | null;
  typing(): void;
  stopTyping(): void;
  /** The box's text changed (kept per conversation, across reloads). */
  draft(text: string): void;
  /** The names `@` completion offers in the open conversation. */
  mentionNames(): NameSource;
}

const MAX_HEIGHT = 200;

let dropsGuarded = false;

/** A file dropped beside the conversation must not make the browser leave the chat to open it (once per page). */
function guardPageDrops(): void {
  if (dropsGuarded) return;
  dropsGuarded = true;
  for (const type of ['dragover', 'drop'] as const) {
    document.addEventListener(type, (ev) => {
      const inZone = (ev.target as Element | null)?.closest?.('.conversation');
      if (!inZone && [...(ev.dataTransfer?.types ?? [])].includes('Files')) ev.preventDefault();
    });
  }
}

export class Composer {
  private readonly form = byId<HTMLFormElement>('composer');
  private readonly input = byId<HTMLTextAreaElement>('composer-input');
  private readonly banner = byId('edit-banner');
  private readonly typingLine = byId('typing');
  private editing: string | null = null;
  private replying: ReplyRef | null = null;
  private readonly replyBanner = h('div', { class: 'reply-banner', attrs: { id: 'reply-banner' } });
  private readonly tray: UploadTray;
  private readonly picker: MentionPicker;
  private readonly fileInput = h('input', { class: 'visually-hidden', attrs: { type: 'file', multiple: true, id: 'attach-input', 'aria-label': 'Attach files' } });
  private readonly attach = h('label', { class: 'icon-btn attach-btn', attrs: { title: 'Attach files' } }, icon('paperclip'), this.fileInput);

  constructor(private readonly actions: ComposerActions, token: () => string | null, onError: (text: string) => void) {
    this.tray = new UploadTray(token, onError);
    this.picker = new MentionPicker(this.input, () => this.actions.mentionNames(), () => this.changed());
    this.form.append(this.picker.el);
    this.replyBanner.hidden = true;
    this.banner.before(this.replyBanner);
    this.form.before(this.tray.el);
    this.form.prepend(this.attach);
    this.fileInput.addEventListener('change', () => {
      if (this.fileInput.files) this.tray.add([...this.fileInput.files]);
      this.fileInput.value = '';
      this.input.focus();
    });
    this.input.addEventListener('paste', (ev) => {
      const files = [...(ev.clipboardData?.files ?? [])];
      if (files.length === 0) return;
      ev.preventDefault();
      // A guest is told that files need an account (the tray has no token to send them with).
      this.tray.add(files);
    });
    this.dropZone(this.form.closest('.conversation') ?? this.form);
    this.form.addEventListener('submit', (ev) => { ev.preventDefault(); this.submit(); });
    this.input.addEventListener('keydown', (ev) => this.onKey(ev));
    this.input.addEventListener('input', () => {
      this.changed();
      this.picker.update();
    });
  }

  /** The box's text changed (typed, or a name completed): its height, the draft, typing. */
  private changed(): void {
    this.grow();
    if (this.editing) return;
    this.actions.draft(this.input.value);
    if (this.input.value.trim() === '') this.actions.stopTyping();
    else this.actions.typing();
  }

  /** Sets the placeholder ("Message #general") and whether the composer is usable. */
  target(placeholder: string, enabled: boolean): void {
    // Called at every render: setting the same placeholder again still makes the browser lay
    // the page out again (the message list with it).
    if (this.input.placeholder !== placeholder) {
      this.input.placeholder = placeholder;
      this.input.setAttribute('aria-label', placeholder);
    }
    if (this.input.disabled !== !enabled) this.input.disabled = !enabled;
  }

  /** Puts a conversation's saved text in the box (another conversation opened, a refused message came back). */
  restore(text: string): void {
    if (this.editing) this.cancelEdit();
    this.picker.close();
    this.input.value = text;
    this.grow();
  }

  /** Whether files can be attached (only with an account: guests have no upload token). */
  allowFiles(allowed: boolean): void {
    if (this.fileInput.disabled === !allowed) return;
    this.fileInput.disabled = !allowed;
    this.attach.classList.toggle('disabled', !allowed);
    const label = allowed ? 'Attach files' : 'Sign in to share files';
    this.attach.title = label;
    this.fileInput.setAttribute('aria-label', allowed ? 'Attach files' : 'Attach files (sign in to share files)');
  }

  /** Shows "Replying to NAME" above the composer; the next message answers `to`. */
  startReply(to: ReplyRef): void {
    this.cancelEdit();
    this.replying = to;
    replaceChildren(this.replyBanner,
      h('span', { class: 'reply-label' }, 'Replying to ', h('strong', { text: to.username })),
      h('span', { class: 'reply-excerpt', text: to.excerpt }),
      h('span', { class: 'hint', text: 'Esc to cancel' }),
      h('button', { class: 'text-btn', attrs: { type: 'button', 'aria-label': 'Cancel reply' }, text: 'Cancel', on: { click: () => { this.cancelReply(); this.input.focus(); } } }));
    this.replyBanner.hidden = false;
    this.form.classList.add('replying');
    this.input.focus();
  }

  cancelReply(): void {
    if (!this.replying) return;
    this.replying = null;
    this.replyBanner.hidden = true;
    this.replyBanner.replaceChildren();
    this.form.classList.remove('replying');
  }

  private dropZone(zone: Element): void {
    let depth = 0;
    const hasFiles = (ev: DragEvent): boolean => [...(ev.dataTransfer?.types ?? [])].includes('Files');
    zone.addEventListener('dragenter', (ev) => {
      if (!hasFiles(ev as DragEvent)) return;
      depth++;
      zone.classList.add('dropping');
    });
    zone.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) zone.classList.remove('dropping');
    });
    zone.addEventListener('dragover', (ev) => {
      if (!hasFiles(ev as DragEvent)) return;
      ev.preventDefault();
      (ev as DragEvent).dataTransfer!.dropEffect = 'copy';
    });
    zone.addEventListener('drop', (ev) => {
      const files = [...((ev as DragEvent).dataTransfer?.files ?? [])];
      depth = 0;
      zone.classList.remove('dropping');
      if (files.length === 0) return;
      ev.preventDefault();
      this.tray.add(files);
    });
    guardPageDrops();
  }

  focus(): void {
    if (window.matchMedia('(hover: hover)').matches) this.input.focus();
  }

  showTyping(text: string): void {
    if (this.typingLine.textContent !== text) this.typingLine.textContent = text;
  }

  startEdit(id: string, content: string): void {
    this.cancelReply();
    this.picker.close();
    this.editing = id;
    this.input.value = content;
    this.grow();
    replaceChildren(this.banner, h('span', { text: 'Editing message' }), h('span', { class: 'hint', text: 'Enter to save · Esc to cancel' }),
      h('button', { class: 'text-btn', attrs: { type: 'button' }, text: 'Cancel', on: { click: () => this.cancelEdit() } }));
    this.banner.hidden = false;
    this.form.classList.add('editing');
    this.input.focus();
    this.input.setSelectionRange(content.length, content.length);
  }

  cancelEdit(): void {
    if (!this.editing) return;
    this.editing = null;
    this.picker.close();
    this.input.value = '';
    this.banner.hidden = true;
    this.form.classList.remove('editing');
    this.grow();
  }

  private onKey(ev: KeyboardEvent): void {
    if (ev.isComposing || this.picker.onKey(ev)) return;
    if (ev.key === 'Enter' && !ev.shiftKey) {
      ev.preventDefault();
      this.submit();
    } else if (ev.key === 'Escape' && this.editing) {
      ev.preventDefault();
      this.cancelEdit();
    } else if (ev.key === 'Escape' && this.replying) {
      ev.preventDefault();
      this.cancelReply();
    } else if (ev.key === 'ArrowUp' && !this.editing && this.input.value === '') {
      const last = this.actions.lastOwn();
      if (!last) return;
      ev.preventDefault();
      this.startEdit(last.id, last.content);
    }
  }

  private submit(): void {
    const text = this.input.value.replace(/\s+$/, '');
    if (this.editing) {
      if (text.trim() === '') return;
      const id = this.editing;
      this.cancelEdit();
      this.actions.saveEdit(id, text);
      return;
    }
    if (text.trim() === '' && this.tray.count() === 0) return;
    // A command of the terminal client or wscat (`/login ann secret`, `/bot create ci`) would be
    // posted for everyone to read: kept in the composer instead, with why.
    const command = textCommandOf(text);
    if (command !== null) {
      toast(`/${command} is a command of the terminal client and wscat; the browser does not run it, so it was not sent. To post it as a message, start it with a space.`);
      return;
    }
    const replyTo = this.replying;
    this.picker.close();
    this.input.value = '';
    this.actions.draft('');
    this.grow();
    this.actions.stopTyping();
    this.cancelReply();
    // The files go with this message even if they are still uploading; the tray is free for the next one.
    this.actions.send(text.trim() === '' ? '' : text, { attachments: this.tray.take(), replyTo });
  }

  private grow(): void {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_HEIGHT)}px`;
  }
}
