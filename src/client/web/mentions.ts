/**
 * Mentions of the signed-in user, as the server reads them (docs/protocol.md, "Mentions and
 * notifications"): a message's `mentions` names the accounts it mentions, plus `@here` /
 * `@room` when those counted. The client only reads that list; it never parses `@` itself,
 * except to emphasise the user's own name inside a message that mentions them.
 */
import { sameName } from './format.js';

/** Whether a message with these `mentions` mentions `me` (by name, or through @here/@room). */
export function mentionsMe(mentions: readonly string[] | undefined, me: string): boolean {
  if (!mentions || me === '') return false;
  return mentions.some((n) => n === '@here' || n === '@room' || sameName(n, me));
}

/**
 * Wraps `@me` (and `@here` / `@room`) in the rendered text of a message in `<strong
 * class="mention-me">`, outside code. Text nodes only: the markup the renderer made stays.
 */
export function emphasiseMentions(box: HTMLElement, me: string): void {
  if (me === '') return;
  const escaped = me.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`@(?:${escaped}|here|room)(?![\\p{L}\\p{N}_-])`, 'giu');
  const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
  const nodes: Text[] = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!(n.parentElement?.closest('code, pre, a'))) nodes.push(n as Text);
  }
  for (const node of nodes) {
    const text = node.data;
    re.lastIndex = 0;
    if (!re.test(text)) continue;
    re.lastIndex = 0;
    const frag = document.createDocumentFragment();
    let at = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m.index > at) frag.append(text.slice(at, m.index));
      const strong = document.createElement('strong');
      strong.className = 'mention-me';
      strong.textContent = m[0];
      frag.append(strong);
      at = m.index + m[0].length;
    }
    if (at < text.length) frag.append(text.slice(at));
    node.replaceWith(frag);
  }
}
