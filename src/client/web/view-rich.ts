/**
 * The rich parts of a message: its Markdown text, the quote of the message it replies to,
 * and its attachments (images inline with a lightbox, other files as a card with a
 * download link). File URLs come from the server and are used only when they point back
 * to this page's origin.
 */
import type { Attachment, ReplyRef } from '../../protocol/messages.js';
import { h, iconButton } from './dom.js';
import { renderMarkdown } from './markdown.js';

/** The largest an inline image is drawn, in CSS pixels. */
const MAX_W = 360;
const MAX_H = 280;

/** "512 B", "12.3 KB", "4.5 MB". */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** A file URL from the server, absolute, when it is on this page's origin; otherwise null. */
export function sameOriginUrl(raw: string | undefined): string | null {
  if (!raw) return null;
  try {
    const url = new URL(raw, location.href);
    return url.origin === location.origin ? url.href : null;
  } catch {
    return null;
  }
}

/** The message text as Markdown; the "(edited)" mark goes at the end of its last paragraph. */
export function markdownContent(source: string, edited: HTMLElement | null): HTMLElement {
  const box = h('div', { class: 'content md' }, ...renderMarkdown(source));
  if (edited) {
    const last = box.lastElementChild;
    if (last && last.tagName === 'P') last.append(edited);
    else box.append(edited);
  }
  return box;
}

/** "Replying to" quote above a reply: author and excerpt; a click goes to the original. */
export function replyQuote(reply: ReplyRef, jump: (id: string) => void): HTMLElement {
  const gone = reply.deleted === true;
  const excerpt = gone ? 'deleted message' : reply.excerpt || 'a message';
  return h('button', {
    class: gone ? 'reply-quote gone' : 'reply-quote',
    attrs: { type: 'button', 'data-reply-to': reply.id, title: 'Go to the original message' },
    on: { click: () => jump(reply.id) },
  }, h('span', { class: 'reply-author', text: reply.username }), ' ', h('span', { class: 'reply-excerpt', text: excerpt }));
}

/** The attachments of a message: images first, as a gallery, then the other files. */
export function attachmentList(files: Attachment[], openImage: (file: Attachment, opener: HTMLElement) => void): HTMLElement | null {
  const items = files.map((f) => (isImage(f) ? imageTile(f, openImage) : fileCard(f))).filter((el): el is HTMLElement => el !== null);
  if (items.length === 0) return null;
  return h('div', { class: 'attachments' }, ...items);
}

function isImage(f: Attachment): boolean {
  return /^image\/(png|jpeg|gif|webp|avif|bmp)$/i.test(f.type) && sameOriginUrl(f.url) !== null;
}

/** The drawn size of an image, within the inline box, keeping its shape. */
export function fitSize(width: number | undefined, height: number | undefined): { width: number; height: number } | null {
  if (!width || !height || width <= 0 || height <= 0) return null;
  const scale = Math.min(1, MAX_W / width, MAX_H / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

function imageTile(f: Attachment, openImage: (file: Attachment, opener: HTMLElement) => void): HTMLElement {
  const src = sameOriginUrl(f.thumbnailUrl) ?? sameOriginUrl(f.url)!;
  const size = fitSize(f.width, f.height);
  const img = h('img', { attrs: { src, alt: f.name, loading: 'lazy', decoding: 'async', ...(size ?? {}) } });
  const button: HTMLButtonElement = h('button', {
    class: 'att-image', attrs: { type: 'button', 'aria-label': `Open image ${f.name}`, title: `${f.name} (${formatSize(f.size)})`, 'data-file': f.id },
    on: { click: () => openImage(f, button) },
  }, img);
  return button;
}

function fileCard(f: Attachment): HTMLElement | null {
  const href = sameOriginUrl(f.url);
  const kind = fileKind(f);
  return h('div', { class: 'att-file', attrs: { 'data-file': f.id } },
    h('span', { class: 'att-icon', attrs: { 'aria-hidden': 'true' }, text: kind.slice(0, 4) }),
    h('span', { class: 'att-text' },
      href ? h('a', { class: 'att-name', attrs: { href, download: f.name, rel: 'noopener' }, text: f.name }) : h('span', { class: 'att-name', text: f.name }),
      h('span', { class: 'att-meta', text: `${kind} · ${formatSize(f.size)}` })));
}

/** A short name for a file's type: "PDF", "ZIP", "TEXT", or the extension. */
function fileKind(f: Attachment): string {
  const ext = /\.([a-z0-9]{1,8})$/i.exec(f.name)?.[1];
  if (ext) return ext.toUpperCase();
  const sub = f.type.split('/')[1] ?? f.type;
  return (sub.split(/[;+.-]/)[0] || 'FILE').toUpperCase();
}

/**
 * A full-size view of an image over the page: Escape, the close button or a click outside
 * the picture closes it, and focus goes back to the thumbnail that opened it.
 */
export class Lightbox {
  private el: HTMLElement | null = null;
  private opener: HTMLElement | null = null;
  private readonly onKey = (ev: KeyboardEvent): void => {
    if (ev.key === 'Escape') { ev.preventDefault(); this.close(); }
    if (ev.key === 'Tab' && this.el) this.trapFocus(ev);
  };

  get isOpen(): boolean {
    return this.el !== null;
  }

  open(f: Attachment, opener: HTMLElement): void {
    this.close();
    const src = sameOriginUrl(f.url);
    if (!src) return;
    this.opener = opener;
    const size = fitSize(f.width, f.height);
    const close = iconButton('Close image', 'close', () => this.close(), 'lightbox-close');
    const figure = h('figure', { class: 'lightbox-figure' },
      h('img', { attrs: { src, alt: f.name, ...(size ? { width: f.width, height: f.height } : {}) } }),
      h('figcaption', {}, h('span', { text: `${f.name} · ${formatSize(f.size)}` }), ' ',
        h('a', { attrs: { href: src, download: f.name, rel: 'noopener' }, text: 'Download' })));
    const box = h('div', { class: 'lightbox', attrs: { role: 'dialog', 'aria-modal': 'true', 'aria-label': f.name, id: 'lightbox' } }, close, figure);
    box.addEventListener('click', (ev) => { if (ev.target === box) this.close(); });
    document.body.append(box);
    document.addEventListener('keydown', this.onKey, true);
    this.el = box;
    close.focus();
  }

  close(): void {
    if (!this.el) return;
    document.removeEventListener('keydown', this.onKey, true);
    this.el.remove();
    this.el = null;
    const opener = this.opener;
    this.opener = null;
    // The list may have redrawn the message meanwhile: then its new thumbnail takes the focus.
    const id = opener?.getAttribute('data-file');
    const target = opener?.isConnected ? opener : id ? document.querySelector<HTMLElement>(`.att-image[data-file="${CSS.escape(id)}"]`) : null;
    target?.focus();
  }

  private trapFocus(ev: KeyboardEvent): void {
    const focusable = [...this.el!.querySelectorAll<HTMLElement>('button, a[href]')];
    if (focusable.length === 0) return;
    const first = focusable[0]!;
    const last = focusable[focusable.length - 1]!;
    if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
    else if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
  }
}
