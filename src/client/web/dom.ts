/**
 * A tiny, safe element builder. Strings become text nodes, never markup: the web client
 * renders every piece of user text through this or `textContent`, and never `innerHTML`.
 */
import { icon, type IconName } from './icons.js';

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  text?: string;
  /** Attributes set with setAttribute; `style` and `on*` are refused (CSP and safety). */
  attrs?: Record<string, string | number | boolean | undefined>;
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };
}

/** Creates an element with props and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text !== undefined) el.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) setAttr(el, name, value);
  for (const [type, fn] of Object.entries(props.on ?? {})) el.addEventListener(type, fn as EventListener);
  append(el, ...children);
  return el;
}

function setAttr(el: Element, name: string, value: string | number | boolean | undefined): void {
  const lower = name.toLowerCase();
  if (lower === 'style' || lower.startsWith('on')) throw new Error(`refusing to set attribute ${name}`);
  if (value === undefined || value === false) return;
  el.setAttribute(name, value === true ? '' : String(value));
}

/** Appends children, turning strings and numbers into text nodes. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces every child of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** The element with this id, or an error naming it (the page's skeleton is fixed). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

/** An icon button with an accessible label (the label is also its tooltip). */
export function iconButton(label: string, glyph: IconName, onClick: (ev: MouseEvent) => void, cls = ''): HTMLButtonElement {
  return h('button', {
    class: `icon-btn ${cls}`.trim(),
    attrs: { type: 'button', 'aria-label': label, title: label },
    on: { click: onClick },
  }, icon(glyph));
}

/**
 * The visible "bot" badge beside a bot's name, in messages, search results, member lists and
 * the sidebar's direct conversations (its text is what screen readers read too); `title`
 * says which member is one where the badge stands beside several names.
 */
export function botBadge(title = 'This account is a bot'): HTMLElement {
  return h('span', { class: 'bot-badge', attrs: { title }, text: 'bot' });
}

/** One element of a keyed list: its key, a signature of what it shows, and how to build it. */
export interface Part {
  key: string;
  sig: string;
  make(): HTMLElement;
}

/** The elements of a keyed list as last shown, by key. */
export type Shown = Map<string, { sig: string; el: HTMLElement }>;

/**
 * Puts the parts in `box` in order, reusing the element of every part whose signature has not
 * changed: unchanged parts stay the same nodes (screen readers announce only what is new, the
 * focus inside them stays, and the browser lays out only what changed). A key given twice gets
 * "#2", "#3", … Returns what is shown now, for the next call.
 */
export function reconcile(box: HTMLElement, shown: Shown, parts: readonly Part[]): Shown {
  const next: Shown = new Map();
  const els: HTMLElement[] = new Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    let key = part.key;
    for (let n = 2; next.has(key); n++) key = `${part.key}#${n}`;
    const old = shown.get(key);
    const el = old && old.sig === part.sig ? old.el : part.make();
    next.set(key, { sig: part.sig, el });
    els[i] = el;
  }
  const keep = new Set(els);
  for (const child of [...box.children]) if (!keep.has(child as HTMLElement)) child.remove();
  let cursor: Element | null = box.firstElementChild;
  for (const el of els) {
    if (el === cursor) cursor = el.nextElementSibling;
    else box.insertBefore(el, cursor);
  }
  return next;
}

/*
 * Writes that leave an element alone when it already shows the value. A view renders at every
 * message; setting the same text or attribute again still invalidates the element, and the
 * browser then lays out and paints its part of the page again (a members panel of 500 names:
 * 20 ms a message).
 */

/** Sets an element's text, unless it is that text already. */
export function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** Sets an attribute, unless it has that value already. */
export function setAttribute(el: HTMLElement, name: string, value: string): void {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/** Shows or hides an element, unless it is so already. */
export function setHidden(el: HTMLElement, hidden: boolean): void {
  if (el.hidden !== hidden) el.hidden = hidden;
}
