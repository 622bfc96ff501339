/**
 * Files on their way into a message: each is uploaded as soon as it is picked, pasted or
 * dropped (`POST /api/files`, multipart, with the login token), and shown as a chip with
 * its name, size, a progress bar and a remove button. The composer sends the ids of the
 * finished ones with the message.
 */
import type { Attachment } from '../../protocol/messages.js';
import { h, iconButton } from './dom.js';
import { formatSize } from './view-rich.js';

/** At most this many files go with one message (the server's limit too). */
export const MAX_FILES = 10;

export class UploadError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface UploadHandle {
  promise: Promise<Attachment>;
  abort(): void;
}

/** Uploads one file with XMLHttpRequest, reporting progress from 0 to 1. */
export function uploadFile(file: File, token: string, onProgress: (fraction: number) => void): UploadHandle {
  const xhr = new XMLHttpRequest();
  const promise = new Promise<Attachment>((resolve, reject) => {
    xhr.open('POST', '/api/files');
    xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.responseType = 'text';
    xhr.upload.addEventListener('progress', (ev) => { if (ev.lengthComputable && ev.total > 0) onProgress(ev.loaded / ev.total); });
    xhr.addEventListener('load', () => {
      const body = parseJson(xhr.responseText);
      if (xhr.status === 201 && isAttachment(body)) resolve(body);
      else reject(new UploadError(xhr.status, errorText(xhr.status, body)));
    });
    xhr.addEventListener('error', () => reject(new UploadError(0, 'The upload failed: the connection dropped.')));
    xhr.addEventListener('abort', () => reject(new UploadError(0, 'The upload was cancelled.')));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function isAttachment(v: unknown): v is Attachment {
  const a = v as Partial<Attachment> | null;
  return !!a && typeof a.id === 'string' && typeof a.name === 'string' && typeof a.size === 'number' && typeof a.type === 'string' && typeof a.url === 'string';
}

function errorText(status: number, body: unknown): string {
  const message = (body as { message?: unknown } | null)?.message;
  if (typeof message === 'string' && message) return message;
  if (status === 401) return 'Sign in to share files.';
  if (status === 413) return 'The file is too large.';
  if (status === 429) return 'Too many uploads: wait a moment and try again.';
  return `The upload failed (HTTP ${status}).`;
}

interface Item {
  key: number;
  file: File;
  progress: number;
  done: Attachment | null;
  error: string | null;
  handle: UploadHandle | null;
  el: HTMLElement;
}

/** The row of chips above the composer, one per file. */
export class UploadTray {
  readonly el = h('ul', { class: 'upload-tray', attrs: { 'aria-label': 'Files to send', id: 'upload-tray' } });
  private items: Item[] = [];
  private next = 1;

  constructor(private readonly token: () => string | null, private readonly onError: (text: string) => void) {
    this.el.hidden = true;
  }

  /** Starts uploading these files; files past the limit are refused with a message. */
  add(files: Iterable<File>): void {
    const token = this.token();
    if (!token) {
      this.onError('Sign in to share files.');
      return;
    }
    for (const file of files) {
      if (this.items.length >= MAX_FILES) {
        this.onError(`At most ${MAX_FILES} files go with one message.`);
        break;
      }
      const item: Item = { key: this.next++, file, progress: 0, done: null, error: null, handle: null, el: h('li') };
      this.items.push(item);
      item.handle = uploadFile(file, token, (p) => { item.progress = p; this.paint(item); });
      item.handle.promise.then((a) => { item.done = a; }, (err: Error) => { item.error = err.message; })
        .finally(() => { item.handle = null; this.paint(item); });
      this.paint(item);
      this.el.append(item.el);
    }
    this.el.hidden = this.items.length === 0;
  }

  /** Whether a file is still uploading. */
  busy(): boolean {
    return this.items.some((i) => i.handle !== null);
  }

  count(): number {
    return this.items.length;
  }

  /**
   * Takes the files out of the tray for a message being sent: the chips go, the uploads
   * still running go on, and the promise resolves with every file that made it (a file
   * that fails now is reported).
   */
  take(): Promise<Attachment[]> {
    const items = this.items;
    this.items = [];
    this.el.replaceChildren();
    this.el.hidden = true;
    return Promise.all(items.map((i) => {
      if (i.done || !i.handle) return i.done;
      return i.handle.promise.catch((err: Error) => {
        this.onError(`${i.file.name}: ${err.message}`);
        return null;
      });
    })).then((files) => files.filter((f): f is Attachment => f !== null));
  }

  /** Forgets every chip; uploads still running are cancelled. */
  clear(): void {
    for (const item of this.items) item.handle?.abort();
    this.items = [];
    this.el.replaceChildren();
    this.el.hidden = true;
  }

  private remove(item: Item): void {
    item.handle?.abort();
    this.items = this.items.filter((i) => i !== item);
    item.el.remove();
    this.el.hidden = this.items.length === 0;
  }

  private paint(item: Item): void {
    const { file } = item;
    const state = item.error ? 'failed' : item.done ? 'done' : 'uploading';
    const status = item.error
      ? h('span', { class: 'chip-error', attrs: { role: 'alert' }, text: item.error })
      : item.done ? null
      : h('progress', { attrs: { max: 100, value: Math.round(item.progress * 100), 'aria-label': `Uploading ${file.name}` } });
    item.el.className = `upload-chip ${state}`;
    item.el.setAttribute('data-name', file.name);
    item.el.replaceChildren(
      h('span', { class: 'chip-text' }, h('span', { class: 'chip-name', text: file.name, attrs: { title: file.name } }), h('span', { class: 'chip-size', text: formatSize(file.size) }), status),
      iconButton(`Remove ${file.name}`, 'close', () => this.remove(item), 'chip-remove'));
  }
}
