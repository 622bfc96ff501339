/**
 * Outgoing webhooks of bot accounts: when a message mentions a bot in a room the bot is a
 * member of, or is written in a direct conversation with a bot, the bot's URL gets
 * `{type, room, bot: {name}, message}` (signed: outgoing.ts), and a 2xx answer
 * `{"text"|"content"}` is posted as the bot in the same room (Chat.request, the path of any
 * message). The domain tells this service once per message, after the message went out
 * (mentions.ts decided who was mentioned; nothing here runs per recipient), on the node that
 * handled it, so a cluster delivers once. Nothing here blocks the chat: lookups and
 * deliveries run later, deliveries in OutgoingWebhooks' bounded queue.
 */
import type { ChatMessage, ServerMessage } from '../../protocol/messages.js';
import type { ClientMessage } from '../../protocol/schema.js';
import type { Logger } from '../domain/deps.js';
import type { Account, BotEvent, BotNotifier, Store } from '../ports.js';
import type { PostAnswer } from './incoming.js';
import type { OutgoingWebhooks, Reply } from './outgoing.js';
import { WebhookBodyError, contentOf } from './slack-text.js';

export interface BotHookDeps {
  store: Pick<Store, 'botHooks' | 'getAccount' | 'roleIn'>;
  sender: Pick<OutgoingWebhooks, 'send'>;
  /** Runs a client message as an account (Chat.request): how a bot's answer is posted. */
  request(account: Account, msg: ClientMessage, options: { address?: string }): Promise<PostAnswer>;
  log: Logger;
}

/** What a bot's URL receives about a message (the fields a client gets, no more). */
function messageOf(m: ChatMessage): Record<string, unknown> {
  return {
    id: m.id, seq: m.seq, room: m.room, username: m.username, content: m.content, timestamp: m.timestamp,
    ...(m.mentions && m.mentions.length > 0 ? { mentions: m.mentions } : {}),
  };
}

export class BotHooks implements BotNotifier {
  constructor(private readonly d: BotHookDeps) {}

  notify(event: BotEvent): void {
    if (event.bots.length === 0) return;
    void this.#deliver(event).catch((err: unknown) => this.d.log.error({ err, room: event.message.room }, 'outgoing webhook lookup failed'));
  }

  async #deliver(e: BotEvent): Promise<void> {
    const hooks = await this.d.store.botHooks([...new Set(e.bots)]);
    for (const hook of hooks.values()) {
      const [bot, role] = await Promise.all([this.d.store.getAccount(hook.account), this.d.store.roleIn(e.message.room, hook.account)]);
      // A bot hears only rooms it is a member of; a revoked bot nothing.
      if (!bot || bot.key === null || bot.banned || role === null) continue;
      const body = JSON.stringify({ type: e.kind, room: e.message.room, bot: { name: bot.username }, message: messageOf(e.message) });
      this.d.sender.send({ url: hook.url, secret: hook.secret, body, onReply: (reply) => { void this.#answer(bot, e.message.room, reply); } });
    }
  }

  /** Posts the receiver's answer as the bot, when it has something to say. */
  async #answer(bot: Account, room: string, reply: Reply): Promise<void> {
    if (reply.json === null) return;
    let post: { content: string; nonce?: string };
    try {
      post = contentOf(reply.json);
    } catch (err) {
      if (!(err instanceof WebhookBodyError)) throw err;
      return;
    }
    const answer = await this.d.request(bot, { type: 'SendMessage', room, content: post.content, ...(post.nonce ? { nonce: post.nonce.slice(0, 128) } : {}) }, { address: 'webhook' });
    const r: ServerMessage = answer.reply;
    if (r.type === 'Error') this.d.log.warn({ bot: bot.id, room, code: r.code }, 'a bot\'s webhook answer could not be posted');
  }
}
