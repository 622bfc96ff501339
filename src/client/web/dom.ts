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

/** The visible "bot" badge beside a bot's name, in messages, search results and member lists (its text is what screen readers read too). */
export function botBadge(): HTMLElement {
  return h('span', { class: 'bot-badge', attrs: { title: 'This account is a bot' }, text: 'bot' });
}
