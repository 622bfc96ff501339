/**
 * The composer: a text area where Enter sends and Shift+Enter makes a new line, Up on an
 * empty composer edits the user's last message, and Escape cancels an edit. It also shows
 * who is typing, and reports the user's own typing so the controller can tell the room.
 */
import { byId, h, replaceChildren } from './dom.js';

export interface ComposerActions {
  send(text: string): void;
  saveEdit(id: string, text: string): void;
  /** The user's last message in the open room, to edit with Up. */
  lastOwn(): { id: string; content: string } | null;
  typing(): void;
  stopTyping(): void;
}

const MAX_HEIGHT = 200;

export class Composer {
  private readonly form = byId<HTMLFormElement>('composer');
  private readonly input = byId<HTMLTextAreaElement>('composer-input');
  private readonly banner = byId('edit-banner');
  private readonly typingLine = byId('typing');
  private editing: string | null = null;

  constructor(private readonly actions: ComposerActions) {
    this.form.addEventListener('submit', (ev) => { ev.preventDefault(); this.submit(); });
    this.input.addEventListener('keydown', (ev) => this.onKey(ev));
    this.input.addEventListener('input', () => {
      this.grow();
      if (this.editing) return;
      if (this.input.value.trim() === '') this.actions.stopTyping();
      else this.actions.typing();
    });
  }

  /** Sets the placeholder ("Message #general") and whether the composer is usable. */
  target(placeholder: string, enabled: boolean): void {
    this.input.placeholder = placeholder;
    this.input.setAttribute('aria-label', placeholder);
    this.input.disabled = !enabled;
  }

  focus(): void {
    if (window.matchMedia('(hover: hover)').matches) this.input.focus();
  }

  showTyping(text: string): void {
    if (this.typingLine.textContent !== text) this.typingLine.textContent = text;
  }

  startEdit(id: string, content: string): void {
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
    this.input.value = '';
    this.banner.hidden = true;
    this.form.classList.remove('editing');
    this.grow();
  }

  private onKey(ev: KeyboardEvent): void {
    if (ev.isComposing) return;
    if (ev.key === 'Enter' && !ev.shiftKey) {
      ev.preventDefault();
      this.submit();
    } else if (ev.key === 'Escape' && this.editing) {
      ev.preventDefault();
      this.cancelEdit();
    } else if (ev.key === 'ArrowUp' && !this.editing && this.input.value === '') {
      const last = this.actions.lastOwn();
      if (!last) return;
      ev.preventDefault();
      this.startEdit(last.id, last.content);
    }
  }

  private submit(): void {
    const text = this.input.value.replace(/\s+$/, '');
    if (text.trim() === '') return;
    if (this.editing) {
      const id = this.editing;
      this.cancelEdit();
      this.actions.saveEdit(id, text);
    } else {
      this.input.value = '';
      this.grow();
      this.actions.stopTyping();
      this.actions.send(text);
    }
  }

  private grow(): void {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_HEIGHT)}px`;
  }
}
