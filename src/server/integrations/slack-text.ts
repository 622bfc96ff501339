/**
 * What an incoming webhook's JSON body says, as Parley content (no I/O).
 *
 * Parley's own form is `{"content": "..."}` (Markdown, as typed). Slack's incoming-webhook
 * form is `{"text": "..."}` in Slack's mrkdwn: `*bold*` becomes `**bold**`, `<https://x|label>` links become Markdown
 * links, `<https://x>` the bare URL, `<!here>`/`<!channel>` become `@here`/`@room`, `<@name>`
 * a mention, and `&amp;`, `&lt;`, `&gt;` their characters. Without `text`, Slack's
 * `attachments` give their `fallback` (else `pretext`, `title` and `text`), and `blocks` the
 * text of their `section`, `header` and `context` elements. Nothing is fetched: an image or
 * file URL in an attachment or block stays text at most. Other fields (`username`,
 * `icon_url`, `channel`) are ignored: a webhook posts under its own name, to its own room.
 */

/** Why a body cannot be posted. */
export class WebhookBodyError extends Error {}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/** Code (fenced or inline) and angle-bracket forms: left as they are by slackBold. */
const VERBATIM = /(```[\s\S]*?```|`[^`\n]*`|<[^<>]*>)/;
/** Slack's `*bold*`: a star at a word's start, a star at its end, no space just inside either. */
const SLACK_BOLD = /(^|[\s([{"'.,;:!?-])\*(?=\S)([^*\n]*?[^\s*])\*(?=$|[\s)\]}"'.,;:!?-])/g;

/**
 * Slack's `*bold*` as Markdown's `**bold**` (Markdown reads one star as italic); outside
 * code and `<…>` forms. `_italic_` means the same in both.
 */
function slackBold(text: string): string {
  return text.split(VERBATIM).map((part, i) => (i % 2 === 1 ? part : part.replace(SLACK_BOLD, '$1**$2**'))).join('');
}

/** Slack mrkdwn's bold, escapes and angle-bracket forms as Markdown. */
export function fromSlack(text: string): string {
  return slackBold(text)
    .replace(/<([^<>|\s]+)\|([^<>]+)>/g, (_, url: string, label: string) => (isLink(url) ? `[${label}](${url})` : label))
    .replace(/<!(here|channel|everyone)(?:\|[^<>]*)?>/g, (_, who: string) => (who === 'here' ? '@here' : '@room'))
    .replace(/<@([A-Za-z0-9_.-]{1,32})>/g, '@$1')
    .replace(/<((?:https?|mailto):[^<>\s]+)>/g, '$1')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function isLink(url: string): boolean {
  return /^(?:https?|mailto):/i.test(url);
}

/** The text of one Slack attachment: its fallback, else its pretext, title and text. */
function attachmentText(a: unknown): string | undefined {
  if (!isObject(a)) return undefined;
  const fallback = str(a.fallback);
  if (fallback) return fallback;
  const parts = [str(a.pretext), str(a.title), str(a.text)].filter((p): p is string => p !== undefined);
  return parts.length > 0 ? parts.join('\n') : undefined;
}

/** The text of one Slack block (section, header, context); other blocks show nothing. */
function blockText(b: unknown): string | undefined {
  if (!isObject(b)) return undefined;
  const own = isObject(b.text) ? str(b.text.text) : undefined;
  const fields = Array.isArray(b.fields) ? b.fields.map((f) => (isObject(f) ? str(f.text) : undefined)).filter((t): t is string => t !== undefined) : [];
  const elements = b.type === 'context' && Array.isArray(b.elements)
    ? b.elements.map((e) => (isObject(e) ? str(e.text) : undefined)).filter((t): t is string => t !== undefined) : [];
  const parts = [own, ...fields, ...elements].filter((p): p is string => p !== undefined);
  return parts.length > 0 ? parts.join('\n') : undefined;
}

const MAX_PARTS = 50;

/**
 * The content a body posts, and its nonce when it gives one. Throws WebhookBodyError when the
 * body is not an object or says nothing to post.
 */
export function contentOf(body: unknown): { content: string; nonce?: string } {
  if (!isObject(body)) throw new WebhookBodyError('The body must be a JSON object with "text" or "content".');
  const nonce = typeof body.nonce === 'string' && body.nonce !== '' ? { nonce: body.nonce } : {};
  if (typeof body.content === 'string') return { content: body.content, ...nonce };
  if (typeof body.text === 'string' && body.text.trim() !== '') return { content: fromSlack(body.text), ...nonce };
  const parts: string[] = [];
  if (Array.isArray(body.blocks)) for (const b of body.blocks.slice(0, MAX_PARTS)) parts.push(blockText(b) ?? '');
  if (!parts.some((p) => p !== '') && Array.isArray(body.attachments)) {
    for (const a of body.attachments.slice(0, MAX_PARTS)) parts.push(attachmentText(a) ?? '');
  }
  const text = parts.filter((p) => p !== '').join('\n');
  if (text === '') throw new WebhookBodyError('Nothing to post: give "text" (Slack) or "content" (Parley).');
  return { content: fromSlack(text), ...nonce };
}
