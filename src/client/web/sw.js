/**
 * Parley's service worker: shows Web Push notifications and opens the conversation on a
 * click. The payload (decrypted by the browser) is the server's JSON: `{room | with,
 * username, body, url, count?}` (docs/protocol.md, "Mentions and notifications").
 * Registered by the web client with `navigator.serviceWorker.register('/sw.js')`.
 */
/* eslint-env serviceworker */

self.addEventListener('install', () => {
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

/** Reads a push's JSON payload; anything else becomes a plain notice. */
function readPush(event) {
  try {
    const data = event.data ? event.data.json() : null;
    if (data && typeof data === 'object') return data;
  } catch {
    // not JSON: fall through
  }
  return { body: event.data ? event.data.text() : '' };
}

/** Only a path on this origin: a payload never sends the user elsewhere. */
function safeUrl(url) {
  try {
    const u = new URL(typeof url === 'string' ? url : '/', self.location.origin);
    return u.origin === self.location.origin ? u.href : self.location.origin + '/';
  } catch {
    return self.location.origin + '/';
  }
}

self.addEventListener('push', (event) => {
  const p = readPush(event);
  const where = p.room ? `#${p.room}` : p.with ? p.with : 'Parley';
  const who = typeof p.username === 'string' ? p.username : '';
  const title = p.room ? `${who} in ${where}` : who || where;
  const more = typeof p.count === 'number' && p.count > 1 ? ` (+${p.count - 1} more)` : '';
  event.waitUntil(self.registration.showNotification(title, {
    body: `${typeof p.body === 'string' ? p.body : ''}${more}`,
    icon: '/icon-192.png',
    badge: '/icon-192.png',
    // One notification per conversation: a newer push replaces the older one.
    tag: p.room ? `room:${p.room}` : p.with ? `with:${p.with}` : 'parley',
    renotify: true,
    data: { url: safeUrl(p.url) },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || self.location.origin + '/';
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const client of windows) {
      if (new URL(client.url).origin !== self.location.origin) continue;
      // An open Parley tab: go to the conversation there.
      await client.focus();
      if ('navigate' in client) await client.navigate(url).catch(() => undefined);
      return;
    }
    await self.clients.openWindow(url);
  })());
});
