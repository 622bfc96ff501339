/**
 * `@name` completion in the composer, as a WAI-ARIA combobox with a listbox popup: the text
 * area is the combobox (`aria-expanded`, `aria-controls`, `aria-activedescendant`), the
 * suggestions a listbox of options above it. The first suggestion is active at once, so
 * Enter or Tab completes what was typed; Up and Down move, Escape closes, a click accepts.
 * The focus never leaves the text area.
 */
import { h, replaceChildren } from './dom.js';
import { colourClass, initial } from './format.js';
import { fragmentEnd, mentionFragment, suggestions, type MentionFragment, type MentionOption, type NameSource } from './mention-complete.js';

const LIST_ID = 'mention-list';

export class MentionPicker {
  readonly el = h('ul', { class: 'mention-list', attrs: { id: LIST_ID, role: 'listbox', 'aria-label': 'People to mention' } });
  private options: MentionOption[] = [];
  private active = 0;
  private fragment: MentionFragment | null = null;

  /** `changed` runs after a completion edited the text (drafts, typing, height). */
  constructor(private readonly input: HTMLTextAreaElement, private readonly names: () => NameSource, private readonly changed: () => void) {
    this.el.hidden = true;
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', LIST_ID);
    input.setAttribute('aria-expanded', 'false');
    // A click on a suggestion must not take the focus (and the caret) from the text area.
    this.el.addEventListener('mousedown', (ev) => ev.preventDefault());
    input.addEventListener('blur', () => this.close());
    input.addEventListener('keyup', (ev) => { if (CARET_KEYS.has(ev.key)) this.update(); });
    input.addEventListener('click', () => this.update());
  }

  isOpen(): boolean {
    return !this.el.hidden;
  }

  /** Shows the suggestions for the `@` fragment before the caret, or closes when there is none. */
  update(): void {
    const caret = this.input.selectionStart;
    const fragment = caret === this.input.selectionEnd ? mentionFragment(this.input.value, caret) : null;
    const options = fragment ? suggestions(this.names(), fragment.query) : [];
    if (!fragment || options.length === 0) {
      this.close();
      return;
    }
    // The same choice stays active while the list is refined, when it is still offered.
    const kept = this.isOpen() ? options.findIndex((o) => o.value === this.options[this.active]?.value) : -1;
    this.fragment = fragment;
    this.options = options;
    this.active = Math.max(0, kept);
    replaceChildren(this.el, ...options.map((o, i) => this.option(o, i)));
    this.el.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
    this.select(this.active);
  }

  close(): void {
    if (!this.isOpen()) return;
    this.el.hidden = true;
    this.el.replaceChildren();
    this.options = [];
    this.fragment = null;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
  }

  /** Handles a key while the list is open; true when it was the picker's (the composer then ignores it). */
  onKey(ev: KeyboardEvent): boolean {
    if (!this.isOpen() || ev.altKey || ev.ctrlKey || ev.metaKey) return false;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      const step = ev.key === 'ArrowDown' ? 1 : -1;
      this.select((this.active + step + this.options.length) % this.options.length);
    } else if ((ev.key === 'Enter' && !ev.shiftKey) || (ev.key === 'Tab' && !ev.shiftKey)) {
      this.accept(this.active);
    } else if (ev.key === 'Escape') {
      this.close();
    } else {
      return false;
    }
    ev.preventDefault();
    return true;
  }

  private option(o: MentionOption, index: number): HTMLLIElement {
    return h('li', {
      class: `mention-option${o.special ? ' special' : ''}`,
      attrs: { id: `${LIST_ID}-${index}`, role: 'option', 'aria-selected': 'false', 'data-value': o.value },
      on: { click: () => this.accept(index) },
    },
    o.special
      ? h('span', { class: 'mention-avatar avatar small', attrs: { 'aria-hidden': 'true' }, text: '@' })
      : h('span', { class: `mention-avatar avatar small ${colourClass(o.value)}`, attrs: { 'aria-hidden': 'true' }, text: initial(o.value) }),
    h('span', { class: 'mention-name', text: `@${o.value}` }),
    o.detail ? h('span', { class: 'mention-detail', text: o.detail }) : null);
  }

  private select(index: number): void {
    this.el.children[this.active]?.setAttribute('aria-selected', 'false');
    this.el.children[this.active]?.classList.remove('active');
    this.active = index;
    const el = this.el.children[index];
    if (!el) return;
    el.setAttribute('aria-selected', 'true');
    el.classList.add('active');
    el.scrollIntoView({ block: 'nearest' });
    this.input.setAttribute('aria-activedescendant', el.id);
  }

  /** Replaces the fragment (and the rest of the word under the caret) with `@name ` and puts the caret after it. */
  private accept(index: number): void {
    const o = this.options[index];
    const fragment = this.fragment;
    if (!o || !fragment) return;
    const text = this.input.value;
    const end = fragmentEnd(text, this.input.selectionStart);
    const space = /^\s/.test(text.slice(end)) ? '' : ' ';
    this.input.setRangeText(`@${o.value}${space}`, fragment.start, end, 'end');
    // After an existing space the caret goes past it, ready for the next word.
    if (space === '') this.input.setSelectionRange(this.input.selectionStart + 1, this.input.selectionStart + 1);
    this.close();
    this.changed();
  }
}

/** Keys that move the caret along the line without typing: the fragment before it may change. */
const CARET_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'Home', 'End']);
