/** Short-lived notices at the bottom of the screen (errors from the server, mostly). */
import { byId, h } from './dom.js';

const SHOW_MS = 5_000;
const MAX_TOASTS = 4;

export function toast(text: string, kind: 'error' | 'info' = 'error'): void {
  const box = byId('toasts');
  const el = h('div', { class: `toast ${kind}`, attrs: { role: kind === 'error' ? 'alert' : 'status' }, text });
  box.append(el);
  while (box.childElementCount > MAX_TOASTS) box.firstElementChild?.remove();
  setTimeout(() => {
    el.classList.add('leaving');
    setTimeout(() => el.remove(), 300);
  }, SHOW_MS);
}
