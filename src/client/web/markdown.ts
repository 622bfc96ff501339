/**
 * Message text rendered as Markdown, safely. markdown-it runs with raw HTML off (every `<`
 * the user typed comes out escaped), its output is parsed in an inert <template> (nothing
 * loads, nothing runs) and then passed through an allow-list of tags and attributes before
 * it reaches the page: only http:, https: and mailto: links survive, every link opens in a
 * new tab with `rel="noopener noreferrer nofollow"`, Markdown images become plain links
 * (nothing is fetched from a URL someone typed), and no `style` attribute remains (the
 * page's CSP allows no inline style). Code is highlighted by highlight.js into classes that
 * styles.css colours for the light and dark themes.
 */
import MarkdownIt from 'markdown-it';
import { full as emoji } from 'markdown-it-emoji';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

const LANGUAGES = { bash, cpp, css, diff, go, java, javascript, json, python, rust, sql, typescript, xml, yaml };
for (const [name, lang] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, lang);

/** The link schemes a message may point to. */
const SAFE_SCHEMES = new Set(['http:', 'https:', 'mailto:']);
const LINK_REL = 'noopener noreferrer nofollow';

/** Tags markdown-it produces that may reach the page, with the attributes each may keep. */
const ALLOWED: Record<string, readonly string[]> = {
  P: [], BR: [], STRONG: [], EM: [], S: [], CODE: ['class'], PRE: [], SPAN: ['class'], BLOCKQUOTE: [],
  UL: [], OL: ['start'], LI: [], H1: [], H2: [], H3: [], H4: [], H5: [], H6: [], HR: [],
  TABLE: [], THEAD: [], TBODY: [], TR: [], TH: ['class'], TD: ['class'], A: ['href', 'rel', 'target'],
};

/** Whether a URL (as markdown-it normalised it) is one a message may link to. */
export function safeHref(url: string): boolean {
  try {
    return SAFE_SCHEMES.has(new URL(url).protocol);
  } catch {
    return false;
  }
}

function highlight(code: string, lang: string): string {
  const name = lang.trim().toLowerCase();
  try {
    if (name && hljs.getLanguage(name)) return hljs.highlight(code, { language: name, ignoreIllegals: true }).value;
    if (!name && code.length <= 10_000) return hljs.highlightAuto(code).value;
  } catch {
    // Highlighting is decoration: markdown-it escapes the plain code instead.
  }
  return '';
}

function createRenderer(): MarkdownIt {
  const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: true, highlight });
  md.use(emoji, { shortcuts: {} });
  md.validateLink = safeHref;
  md.linkify.set({ fuzzyEmail: true });
  // Table alignment comes as a style attribute, which the CSP refuses: a class instead.
  md.core.ruler.push('align_classes', (state) => {
    for (const token of state.tokens) {
      const align = /text-align:(left|center|right)/.exec(token.attrGet('style') ?? '')?.[1];
      if (token.attrGet('style') === null) continue;
      token.attrs = (token.attrs ?? []).filter(([name]) => name !== 'style');
      if (align) token.attrJoin('class', `align-${align}`);
    }
  });
  const esc = md.utils.escapeHtml;
  md.renderer.rules.link_open = (tokens, idx, options, _env, self) => {
    const token = tokens[idx]!;
    token.attrSet('rel', LINK_REL);
    token.attrSet('target', '_blank');
    return self.renderToken(tokens, idx, options);
  };
  // An image written in a message is a link to it: the page never fetches a typed URL.
  md.renderer.rules.image = (tokens, idx, options, env, self) => {
    const token = tokens[idx]!;
    const src = token.attrGet('src') ?? '';
    const alt = self.renderInlineAsText(token.children ?? [], options, env) || src;
    return `<a href="${esc(src)}" rel="${LINK_REL}" target="_blank">${esc(alt)}</a>`;
  };
  return md;
}

let renderer: MarkdownIt | null = null;

/** The HTML markdown-it makes of a message (escaped; not yet filtered: use `renderMarkdown`). */
export function markdownHtml(source: string): string {
  renderer ??= createRenderer();
  return renderer.render(source);
}

/** A message's Markdown as DOM nodes, ready to append. */
export function renderMarkdown(source: string): Node[] {
  const template = document.createElement('template');
  template.innerHTML = markdownHtml(source);
  const root = template.content;
  clean(root);
  // Code and tables scroll sideways in their own box: keyboard users can scroll it when focused.
  for (const box of root.querySelectorAll('pre, table')) box.setAttribute('tabindex', '0');
  // markdown-it ends blocks with newlines: outside <pre> they are only noise in textContent.
  for (const node of [...root.childNodes]) if (node.nodeType === Node.TEXT_NODE && node.textContent?.trim() === '') node.remove();
  return [...root.childNodes];
}

/** Removes every element and attribute not on the allow-list (children of a removed element stay, as text and allowed tags). */
function clean(parent: Node): void {
  for (const node of [...parent.childNodes]) {
    if (node.nodeType === Node.TEXT_NODE) continue;
    if (node.nodeType !== Node.ELEMENT_NODE) {
      node.remove();
      continue;
    }
    const el = node as Element;
    const allowed = ALLOWED[el.tagName];
    if (!allowed) {
      el.replaceWith(document.createTextNode(el.textContent ?? ''));
      continue;
    }
    for (const attr of [...el.attributes]) {
      const keep = allowed.includes(attr.name) && (attr.name !== 'class' || /^[\w\s-]*$/.test(attr.value));
      if (!keep) el.removeAttribute(attr.name);
    }
    if (el.tagName === 'A') {
      const href = el.getAttribute('href') ?? '';
      if (!safeHref(href)) el.removeAttribute('href');
      el.setAttribute('rel', LINK_REL);
      el.setAttribute('target', '_blank');
    }
    clean(el);
  }
}
