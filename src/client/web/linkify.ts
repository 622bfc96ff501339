/**
 * Turns message text into DOM nodes: text nodes for the words and `<a>` elements for
 * http(s) URLs. Nothing here parses HTML; a URL becomes a link only when `URL` parses it
 * with an http or https scheme.
 */
import { h } from './dom.js';

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;
const TRAILING = /[.,;:!?'")\]}]+$/;

/** The nodes for one message's text, with safe links. */
export function linkify(text: string): Node[] {
  const out: Node[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const start = match.index ?? 0;
    const raw = trimUrl(match[0]);
    const link = safeLink(raw);
    if (!link) continue;
    if (start > last) out.push(document.createTextNode(text.slice(last, start)));
    out.push(link);
    last = start + raw.length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

/** Drops trailing punctuation, keeping a closing parenthesis that has its opening one. */
function trimUrl(raw: string): string {
  let url = raw.replace(TRAILING, '');
  const opens = (url.match(/\(/g) ?? []).length;
  const rest = raw.slice(url.length);
  if (rest.startsWith(')') && opens > (url.match(/\)/g) ?? []).length) url += ')';
  return url;
}

function safeLink(raw: string): HTMLAnchorElement | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return h('a', { text: raw, attrs: { href: url.href, rel: 'noopener noreferrer', target: '_blank' } });
}
