/**
 * Desktop notifications, Web Push and the unread count on the tab (docs/protocol.md,
 * "Mentions and notifications"). Permission is asked only when the user presses "Turn on
 * notifications" in the sidebar, never on page load. While the tab is hidden, what
 * notifies (a mention, a private message, any message of a room at level `all`) shows a
 * Notification; a click focuses the window and opens the conversation. Registered accounts
 * also subscribe to Web Push through the service worker (`/sw.js`), so that they are told
 * while no tab is connected.
 */
import type { ClientMessage } from '../../protocol/messages.js';

export type Permission = 'default' | 'granted' | 'denied' | 'unsupported';

/**
 * Reading Notification.permission asks the browser process (about a millisecond in
 * Chromium), and the sidebar asks at every render: it is read once, then again when it may
 * have changed (the user answered askPermission, the Permissions API says it changed, or
 * the tab comes back to the front, perhaps from the browser's settings).
 */
let known: Permission | null = null;

/** Whether this page may show notifications. */
export function permission(): Permission {
  if (known === null) {
    known = readPermission();
    watchPermission();
  }
  return known;
}

function readPermission(): Permission {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

function watchPermission(): void {
  if (typeof Notification === 'undefined') return;
  const refresh = (): void => { known = readPermission(); };
  document.addEventListener('visibilitychange', refresh);
  navigator.permissions?.query({ name: 'notifications' }).then((status) => status.addEventListener('change', refresh), () => {});
}

/** Asks for permission (only from a user's gesture); what the user chose. */
export async function askPermission(): Promise<Permission> {
  if (typeof Notification === 'undefined') return 'unsupported';
  try {
    known = await Notification.requestPermission();
  } catch {
    known = readPermission();
  }
  return known;
}

/** Shows a notification when the tab is hidden and permission was granted; a click calls `open`. */
export function showNotification(title: string, body: string, tag: string, open: () => void): boolean {
  if (permission() !== 'granted' || document.visibilityState !== 'hidden') return false;
  try {
    const n = new Notification(title, { body, tag, icon: '/icon-192.png' });
    n.onclick = () => {
      window.focus();
      open();
      n.close();
    };
    return true;
  } catch {
    // Some browsers (Android Chrome) allow notifications only through a service worker.
    return false;
  }
}

/** base64url to bytes, for `applicationServerKey`. */
function fromBase64Url(text: string): ArrayBuffer {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  const raw = atob(b64);
  const bytes = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes.buffer;
}

/**
 * Registers the service worker and subscribes this browser to Web Push; sends the
 * subscription with `send`. Resolves to the endpoint, or null when the browser, the server
 * (no key) or the push service refused: push is a bonus, never an error shown to the user.
 */
export async function subscribePush(send: (msg: ClientMessage) => Promise<unknown>): Promise<string | null> {
  if (!('serviceWorker' in navigator) || typeof PushManager === 'undefined') return null;
  try {
    const registration = await navigator.serviceWorker.register('/sw.js');
    await navigator.serviceWorker.ready;
    const res = await fetch('/api/push/key');
    if (!res.ok) return null;
    const { key } = await res.json() as { key?: unknown };
    if (typeof key !== 'string' || key === '') return null;
    const sub = await registration.pushManager.getSubscription()
      ?? await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromBase64Url(key) });
    const json = sub.toJSON();
    await send({ type: 'PushSubscribe', subscription: json } as ClientMessage);
    return sub.endpoint;
  } catch {
    return null;
  }
}

/**
 * The tab's favicon, with the unread count drawn on it when there is one. It shows 1 to 9,
 * then "9+": each of those ten icons is drawn once (a canvas encoded to PNG, 2 ms), not at
 * every message.
 */
export class Favicon {
  private last: string | null = null;
  private readonly link: HTMLLinkElement | null = document.querySelector('link[rel="icon"]');
  private readonly original = this.link?.href ?? '/favicon.svg';
  private image: HTMLImageElement | null = null;
  /** The icons drawn so far, by label, once the original icon had loaded under them. */
  private readonly drawn = new Map<string, string>();

  show(count: number): void {
    const label = count <= 0 ? '' : count > 9 ? '9+' : String(count);
    if (label === this.last || !this.link) return;
    this.last = label;
    if (label === '') {
      this.link.type = 'image/svg+xml';
      this.link.href = this.original;
      return;
    }
    if (!this.image) {
      this.image = new Image();
      // Drawn again with the original icon under the count once it has loaded.
      this.image.onload = () => this.paint();
      this.image.src = this.original;
    }
    this.paint();
  }

  /** Puts the icon of the label shown now on the tab. */
  private paint(): void {
    const label = this.last;
    if (!label || !this.link) return;
    let url = this.drawn.get(label);
    if (url === undefined) {
      const canvas = document.createElement('canvas');
      canvas.width = canvas.height = 64;
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      const underneath = this.image?.complete === true && this.image.naturalWidth > 0;
      if (underneath) ctx.drawImage(this.image!, 0, 0, 64, 64);
      ctx.fillStyle = '#dc2626';
      ctx.beginPath();
      ctx.arc(42, 22, 22, 0, Math.PI * 2);
      ctx.fill();
      ctx.fillStyle = '#ffffff';
      ctx.font = 'bold 28px sans-serif';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(label, 42, 23);
      url = canvas.toDataURL('image/png');
      if (underneath) this.drawn.set(label, url);
    }
    this.link.type = 'image/png';
    this.link.href = url;
  }
}
