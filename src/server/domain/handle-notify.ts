/**
 * Notifications: SetNotify, PushSubscribe, PushUnsubscribe. Registered accounts only (a
 * guest's name can pass to someone else, so nothing is kept for it).
 */
import { nameKey } from '../../protocol/names.js';
import type { NotifyLevel } from '../../protocol/messages.js';
import { EndpointRefused, resolveEndpoint } from '../push/endpoint-guard.js';
import { defaultLevel, levelsChanged } from './mentions.js';
import { normaliseName } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import type { HandlerContext } from './context.js';
import { fail } from './errors.js';
import { roomName } from './guards.js';
import { refOf } from './outbound.js';
import type { Session } from './session.js';

/** Push subscriptions one account may hold (browsers and devices). */
export const MAX_SUBSCRIPTIONS = 10;

function requireAccount(s: Session, what: string): string {
  return s.account ?? fail('FORBIDDEN', `Only registered accounts can ${what}: /register or /login first.`);
}

export async function setNotify(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'SetNotify'>): Promise<void> {
  const account = requireAccount(s, 'set notifications');
  let shown: string;
  let conversation: string;
  if (msg.room.startsWith('@')) {
    shown = normaliseName(msg.room.slice(1)) ?? fail('INVALID_NAME');
    conversation = `@${nameKey(shown)}`;
    shown = `@${shown}`;
  } else {
    shown = conversation = roomName(msg.room);
    await ctx.requireRoom(conversation);
  }
  const level: NotifyLevel = msg.level;
  await ctx.store.setNotify(account, conversation, level === defaultLevel(conversation) ? null : level);
  levelsChanged(ctx, conversation);
  s.send({ type: 'Ack', for: 'SetNotify', room: shown, level, ...refOf(msg) });
}

export async function pushSubscribe(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'PushSubscribe'>): Promise<void> {
  const account = requireAccount(s, 'receive push notifications');
  const { endpoint, keys } = msg.subscription;
  const p256dh = Buffer.from(keys.p256dh, 'base64url');
  const auth = Buffer.from(keys.auth, 'base64url');
  if (p256dh.length !== 65 || p256dh[0] !== 4 || p256dh.toString('base64url') !== keys.p256dh.replace(/=+$/, '')) {
    fail('BAD_PUSH_SUBSCRIPTION', 'keys.p256dh must be an uncompressed P-256 public key (65 bytes, base64url).');
  }
  if (auth.length !== 16) fail('BAD_PUSH_SUBSCRIPTION', 'keys.auth must be 16 bytes, base64url.');
  try {
    await resolveEndpoint(endpoint, ctx.config.pushAllowPrivate);
  } catch (err) {
    if (err instanceof EndpointRefused) fail('BAD_PUSH_SUBSCRIPTION', `That push endpoint cannot be used: ${err.message}.`);
    throw err;
  }
  const sub = { endpoint, p256dh: keys.p256dh, auth: keys.auth };
  const added = await ctx.store.addPushSubscription(account, sub, MAX_SUBSCRIPTIONS);
  if (!added) fail('TOO_MANY_SUBSCRIPTIONS', `An account holds at most ${MAX_SUBSCRIPTIONS} push subscriptions; remove one first (PushUnsubscribe).`);
  s.send({ type: 'Ack', for: 'PushSubscribe', endpoint, ...refOf(msg) });
}

export async function pushUnsubscribe(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'PushUnsubscribe'>): Promise<void> {
  const account = requireAccount(s, 'receive push notifications');
  const removed = await ctx.store.removePushSubscription(msg.endpoint, account);
  s.send({ type: 'Ack', for: 'PushUnsubscribe', endpoint: msg.endpoint, removed, ...refOf(msg) });
}
