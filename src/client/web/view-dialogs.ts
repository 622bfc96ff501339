/**
 * The chat screen's dialogs: "New message" (a direct conversation with one person or a
 * group, any account, online or not), "New room" (public or private) and "Keep your name"
 * (a guest registers its account with a password, keeping everything it has). Native modal
 * `<dialog>` elements: the focus stays inside while one is open, Escape closes it and the
 * focus goes back to the button that opened it. A refusal is shown in the dialog.
 */
import { byId, h } from './dom.js';

/** Submits the form's values; resolves with why it was refused, or null when done. */
type Submit = () => Promise<string | null>;

let dialogs = 0;

class FormDialog {
  readonly el: HTMLDialogElement;
  private readonly error: HTMLElement;
  private readonly submitBtn: HTMLButtonElement;
  private opener: HTMLElement | null = null;

  constructor(title: string, lead: string, fields: HTMLElement[], submitLabel: string, private readonly submit: Submit) {
    const id = `dialog-${++dialogs}`;
    this.error = h('p', { class: 'dialog-error', attrs: { id: `${id}-error`, role: 'alert' } });
    this.submitBtn = h('button', { class: 'primary', attrs: { type: 'submit' }, text: submitLabel });
    const form = h('form', { class: 'dialog-form', attrs: { method: 'dialog' }, on: { submit: (ev) => { ev.preventDefault(); void this.run(); } } },
      h('h2', { attrs: { id: `${id}-title` }, text: title }),
      h('p', { class: 'dialog-lead', attrs: { id: `${id}-lead` }, text: lead }),
      ...fields, this.error,
      h('div', { class: 'dialog-actions' },
        h('button', { class: 'secondary', attrs: { type: 'button' }, text: 'Cancel', on: { click: () => this.el.close() } }),
        this.submitBtn));
    this.el = h('dialog', { class: 'dialog', attrs: { 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-lead` } }, form);
    // The error line describes the fields too, so a screen reader reads why on returning to one.
    for (const input of this.el.querySelectorAll('input:not([type="checkbox"])')) {
      input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby') ?? ''} ${this.error.id}`.trim());
    }
    this.el.addEventListener('close', () => { this.opener?.focus(); this.opener = null; });
    byId('chat').append(this.el);
  }

  show(): void {
    this.opener = document.activeElement as HTMLElement | null;
    for (const input of this.el.querySelectorAll('input')) {
      if (input.type === 'checkbox') input.checked = false;
      else input.value = '';
      input.removeAttribute('aria-invalid');
    }
    this.error.textContent = '';
    this.busy(false);
    this.el.showModal();
    this.el.querySelector('input')?.focus();
  }

  private busy(on: boolean): void {
    this.submitBtn.disabled = on;
    this.el.setAttribute('aria-busy', String(on));
  }

  private async run(): Promise<void> {
    this.busy(true);
    const refused = await this.submit();
    this.busy(false);
    if (refused === null) {
      // The conversation opened takes the focus, not the button that opened the dialog.
      this.opener = null;
      this.el.close();
      return;
    }
    this.error.textContent = refused;
    const field = this.el.querySelector<HTMLInputElement>('input:not([type="checkbox"])');
    field?.setAttribute('aria-invalid', 'true');
    field?.focus();
  }
}

/** A labelled text field whose description is the dialog's error line. */
function field(id: string, label: string, hint: string, attrs: Record<string, string | number>): { box: HTMLElement; input: HTMLInputElement } {
  const input = h('input', { attrs: { id, autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', 'aria-describedby': `${id}-hint`, ...attrs } });
  const box = h('div', { class: 'dialog-field' },
    h('label', { attrs: { for: id }, text: label }), input, h('p', { class: 'dialog-hint', attrs: { id: `${id}-hint` }, text: hint }));
  return { box, input };
}

/** The names typed in a "To" field: separated by commas or spaces, an "@" before a name allowed. */
function namesIn(text: string): string[] {
  const names = text.split(/[\s,;]+/).map((n) => n.replace(/^@/, '')).filter((n) => n !== '');
  return [...new Map(names.map((n) => [n.toLowerCase(), n])).values()];
}

export class NewMessageDialog {
  private readonly dialog: FormDialog;

  constructor(open: (names: string[]) => Promise<string | null>) {
    const to = field('new-message-to', 'To', 'One name, or up to 9 separated by commas for a group. People who are away get your messages when they come back.', { maxlength: 400, placeholder: 'ann, bob' });
    this.dialog = new FormDialog('New message', 'Start a conversation with anyone who has an account here.', [to.box], 'Start conversation', async () => {
      const names = namesIn(to.input.value);
      if (names.length === 0) return 'Type the name of the person to write to.';
      if (names.length > 9) return 'A conversation holds at most 10 people, you included.';
      return open(names);
    });
  }

  show(): void {
    this.dialog.show();
  }
}

export class RegisterDialog {
  private readonly dialog: FormDialog;

  constructor(register: (password: string) => Promise<string | null>) {
    const password = field('register-password', 'Password', '8 to 256 characters. Your rooms, conversations and messages stay yours.', {
      type: 'password', autocomplete: 'new-password', maxlength: 256,
    });
    this.dialog = new FormDialog('Keep your name', 'A guest name ends a day after you leave. With a password it is yours: log in with it from anywhere.', [password.box], 'Keep my name', async () => {
      const value = password.input.value;
      if (value.length < 8) return 'A password has at least 8 characters.';
      return register(value);
    });
  }

  show(): void {
    this.dialog.show();
  }
}

export class NewRoomDialog {
  private readonly dialog: FormDialog;

  constructor(create: (room: string, isPrivate: boolean) => Promise<string | null>) {
    const name = field('new-room-name', 'Room name', '1 to 32 letters, digits, "_", "-" or ".", without spaces.', { maxlength: 32, placeholder: 'design' });
    const privateBox = h('input', { attrs: { type: 'checkbox', id: 'new-room-private', 'aria-describedby': 'new-room-private-hint' } });
    const privacy = h('div', { class: 'dialog-check' },
      privateBox, h('label', { attrs: { for: 'new-room-private' }, text: 'Private' }),
      h('p', { class: 'dialog-hint', attrs: { id: 'new-room-private-hint' }, text: 'Only people you invite can find it, read it or join it.' }));
    this.dialog = new FormDialog('New room', 'A room for a topic or a team. You will be its owner.', [name.box, privacy], 'Create room', async () => {
      const room = name.input.value.trim().replace(/^#/, '');
      if (room === '') return 'Type a name for the room.';
      return create(room, privateBox.checked);
    });
  }

  show(): void {
    this.dialog.show();
  }
}
