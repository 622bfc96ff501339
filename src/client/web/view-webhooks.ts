/**
 * The "Webhooks" dialog of a room, for its owner: create an incoming webhook (its URL, with
 * the secret, is shown once, with a Copy button), list the room's webhooks and revoke one.
 * A native modal `<dialog>`: the focus stays inside while it is open, Escape closes it and
 * the focus goes back to the button that opened it. Refusals are shown in the dialog.
 */
import type { WebhookSummary } from '../../protocol/messages.js';
import { byId, h, replaceChildren } from './dom.js';

/** How long a Revoke button waits for the press that confirms it. */
const CONFIRM_MS = 4_000;

export interface WebhookActions {
  list(room: string): Promise<WebhookSummary[]>;
  /** Resolves the new webhook's id, name and URL. */
  create(room: string, name: string): Promise<{ id: string; name: string; url: string }>;
  revoke(room: string, id: string): Promise<void>;
  /** Why a request failed, for the user. */
  failure(err: unknown): string;
}

/** A webhook URL as the server gave it, made whole against this page's origin when it is a path. */
function wholeUrl(url: string): string {
  try {
    return new URL(url, location.origin).href;
  } catch {
    return url;
  }
}

export class WebhooksDialog {
  readonly el: HTMLDialogElement;
  private readonly title = h('h2', { attrs: { id: 'webhooks-title' } });
  private readonly nameInput = h('input', {
    attrs: { id: 'webhook-name', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', maxlength: 32, placeholder: 'ci', 'aria-describedby': 'webhook-name-hint webhooks-error' },
  });
  private readonly createBtn = h('button', { class: 'primary', attrs: { type: 'submit' }, text: 'Create webhook' });
  private readonly error = h('p', { class: 'dialog-error', attrs: { id: 'webhooks-error', role: 'alert' } });
  // A text area, wrapped: the whole URL stays in sight to check it, at any width.
  private readonly urlInput = h('textarea', {
    attrs: { id: 'webhook-url', readonly: true, rows: 3, spellcheck: 'false', autocapitalize: 'off', 'aria-describedby': 'webhook-url-hint' },
  });
  private readonly copyBtn = h('button', { class: 'text-btn copy-btn', attrs: { type: 'button' }, text: 'Copy', on: { click: () => void this.copy() } });
  private copyTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly created = h('div', { class: 'dialog-field webhook-created', attrs: { hidden: true } },
    h('label', { attrs: { for: 'webhook-url' }, text: 'Its URL' }),
    h('div', { class: 'invite-row' }, this.urlInput,
      this.copyBtn),
    h('p', { class: 'dialog-hint', attrs: { id: 'webhook-url-hint' }, text: 'Shown only now: keep it secret. Anyone with it can post here. POST JSON {"text": "..."} to it.' }));
  private readonly list = h('ul', { class: 'webhook-list', attrs: { id: 'webhook-list', 'aria-labelledby': 'webhook-list-title' } });
  private readonly status = h('p', { class: 'sr-only', attrs: { role: 'status' } });
  private room = '';
  /** The webhook whose URL is shown: revoking it hides the URL, which no longer works. */
  private shownId: string | null = null;
  private opener: HTMLElement | null = null;

  constructor(private readonly actions: WebhookActions) {
    const form = h('form', { class: 'webhook-form', on: { submit: (ev) => { ev.preventDefault(); void this.create(); } } },
      h('div', { class: 'dialog-field' },
        h('label', { attrs: { for: 'webhook-name' }, text: 'Name it posts as' }),
        h('div', { class: 'invite-row' }, this.nameInput, this.createBtn),
        h('p', { class: 'dialog-hint', attrs: { id: 'webhook-name-hint' }, text: 'A bot name, like any account name: 1 to 32 letters, digits, "_", "-" or ".".' })));
    const body = h('div', { class: 'dialog-form' },
      this.title,
      h('p', { class: 'dialog-lead', attrs: { id: 'webhooks-lead' }, text: 'A webhook is a URL that posts to this room: for CI, alerts or scripts. Slack\'s incoming-webhook format works.' }),
      form, this.created, this.error,
      h('h3', { class: 'webhook-list-title', attrs: { id: 'webhook-list-title' }, text: 'Webhooks of this room' }),
      this.list, this.status,
      h('div', { class: 'dialog-actions' }, h('button', { class: 'secondary', attrs: { type: 'button' }, text: 'Close', on: { click: () => this.el.close() } })));
    this.el = h('dialog', { class: 'dialog webhooks-dialog', attrs: { id: 'webhooks-dialog', 'aria-labelledby': 'webhooks-title', 'aria-describedby': 'webhooks-lead' } }, body);
    this.el.addEventListener('close', () => { this.opener?.focus(); this.opener = null; });
    byId('chat').append(this.el);
  }

  /** Opens the dialog for a room and reads its webhooks. */
  show(room: string): void {
    this.room = room;
    this.opener = document.activeElement as HTMLElement | null;
    this.title.textContent = `Webhooks of #${room}`;
    this.nameInput.value = '';
    this.nameInput.removeAttribute('aria-invalid');
    this.urlInput.value = '';
    this.created.hidden = true;
    this.shownId = null;
    this.error.textContent = '';
    replaceChildren(this.list);
    this.el.showModal();
    this.nameInput.focus();
    void this.refresh();
  }

  private async refresh(): Promise<void> {
    try {
      this.render(await this.actions.list(this.room));
    } catch (err) {
      this.error.textContent = this.actions.failure(err);
    }
  }

  private render(hooks: WebhookSummary[]): void {
    if (hooks.length === 0) {
      replaceChildren(this.list, h('li', { class: 'webhook-empty', text: 'None yet.' }));
      return;
    }
    replaceChildren(this.list, ...hooks.map((w) => h('li', { class: 'webhook', attrs: { 'data-webhook': w.id } },
      h('span', { class: 'webhook-info' },
        h('span', { class: 'name', text: w.name }),
        h('span', { class: 'webhook-meta', text: `created ${w.createdAt.slice(0, 10)}${w.createdBy ? ` by ${w.createdBy}` : ''}` })),
      this.revokeButton(w))));
  }

  /**
   * Revoke asks first, as deleting a message or leaving a room does: the first press turns the
   * button into "Revoke for good?" for a few seconds (the focus stays on it), the second revokes.
   */
  private revokeButton(w: WebhookSummary): HTMLButtonElement {
    const label = `Revoke the webhook ${w.name}`;
    const btn = h('button', { class: 'text-btn danger', attrs: { type: 'button', 'aria-label': label }, text: 'Revoke' });
    let timer: ReturnType<typeof setTimeout> | undefined;
    btn.addEventListener('click', () => {
      if (btn.classList.contains('confirm-revoke')) {
        clearTimeout(timer);
        void this.revoke(w);
        return;
      }
      btn.classList.add('confirm-revoke');
      btn.textContent = 'Revoke for good?';
      btn.setAttribute('aria-label', `Revoke ${w.name} for good? Its URL stops working. Press again to revoke.`);
      this.status.textContent = `Press again to revoke ${w.name}: its URL stops working.`;
      timer = setTimeout(() => {
        btn.classList.remove('confirm-revoke');
        btn.textContent = 'Revoke';
        btn.setAttribute('aria-label', label);
      }, CONFIRM_MS);
    });
    return btn;
  }

  private async create(): Promise<void> {
    const name = this.nameInput.value.trim().replace(/^@/, '');
    if (name === '') return this.refuse('Type the name the webhook posts as.');
    this.createBtn.disabled = true;
    try {
      const hook = await this.actions.create(this.room, name);
      this.error.textContent = '';
      this.nameInput.value = '';
      this.nameInput.removeAttribute('aria-invalid');
      this.copyBtn.textContent = 'Copy';
      this.urlInput.value = wholeUrl(hook.url);
      this.shownId = hook.id;
      this.created.hidden = false;
      this.urlInput.focus();
      this.urlInput.select();
      await this.refresh();
    } catch (err) {
      this.refuse(this.actions.failure(err));
    } finally {
      this.createBtn.disabled = false;
    }
  }

  private refuse(why: string): void {
    this.error.textContent = why;
    this.nameInput.setAttribute('aria-invalid', 'true');
    this.nameInput.focus();
  }

  private async revoke(w: WebhookSummary): Promise<void> {
    try {
      await this.actions.revoke(this.room, w.id);
      if (w.id === this.shownId) {
        this.created.hidden = true;
        this.urlInput.value = '';
        this.shownId = null;
      }
      this.status.textContent = `The webhook ${w.name} is revoked.`;
      await this.refresh();
      this.nameInput.focus();
    } catch (err) {
      this.error.textContent = this.actions.failure(err);
    }
  }

  /**
   * Copies the URL: the Clipboard API where the page is a secure context, else the selection
   * (a page reached by a LAN address over plain HTTP has no navigator.clipboard). The button
   * says "Copied" for a moment; when both fail, the URL stays selected and the hint says so.
   */
  private async copy(): Promise<void> {
    let copied = false;
    try {
      await navigator.clipboard.writeText(this.urlInput.value);
      copied = true;
    } catch {
      // Copies the text area's selection, which needs the focus; the focus then comes back.
      this.urlInput.focus();
      this.urlInput.select();
      copied = document.execCommand('copy');
      if (copied) this.copyBtn.focus();
    }
    clearTimeout(this.copyTimer);
    this.copyBtn.textContent = copied ? 'Copied' : 'Copy';
    this.status.textContent = copied ? 'Copied.' : '';
    this.error.textContent = copied ? '' : 'The browser did not copy it: the URL is selected, copy it with the keyboard or the menu.';
    this.copyTimer = setTimeout(() => { this.copyBtn.textContent = 'Copy'; }, 2_000);
  }


}
