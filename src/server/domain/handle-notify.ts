/**
 * Notifications: SetNotify, PushSubscribe, PushUnsubscribe, for every account (a guest's
 * settings end with the guest account).
 */
import { nameKey } from '../../protocol/names.js';
import type { NotifyLevel } from '../../protocol/messages.js';
import { EndpointRefused, resolveEndpoint } from '../push/endpoint-guard.js';
import { groupKey } from '../store/store-common.js';
import { levelsChanged } from './mentions.js';
import { defaultLevelOf, readableRoom } from './membership.js';
import { normaliseName } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import type { HandlerContext } from './context.js';
import { fail } from './errors.js';
import { roomName } from './guards.js';
import { refOf } from './outbound.js';
import type { Session } from './session.js';

/** Push subscriptions one account may hold (browsers and devices). */
export const MAX_SUBSCRIPTIONS = 10;

function requireAccount(s: Session): string {
  return s.account ?? fail('NOT_NAMED');
}

/**
 * Web Push makes the server POST to an address the client gave: only for registered accounts
 * (a guest account costs nothing, so limits per account would not hold for guests).
 */
function requireRegistered(s: Session): string {
  const account = requireAccount(s);
  if (s.guest) fail('FORBIDDEN', 'Only registered accounts can receive push notifications: /register first.');
  return account;
}

/** Sets the account's level in a room or direct conversation (`@name`: the one with that account). */
export async function setNotify(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'SetNotify'>): Promise<void> {
  const account = requireAccount(s);
  let shown: string;
  let conversation: string;
  if (msg.room.startsWith('@')) {
    const name = normaliseName(msg.room.slice(1)) ?? fail('INVALID_NAME');
    const other = await ctx.store.accountByName(nameKey(name));
    const room = other ? await ctx.store.directRoom(groupKey([account, other.id])) : null;
    conversation = room ?? fail('NO_SUCH_ROOM', `You have no conversation with ${name} yet.`);
    shown = `@${other!.username}`;
  } else {
    shown = conversation = roomName(msg.room);
  }
  const record = await readableRoom(ctx, s, conversation);
  const level: NotifyLevel = msg.level;
  await ctx.store.setNotify(account, conversation, level === defaultLevelOf(record.kind ?? 'public') ? null : level);
  levelsChanged(ctx, conversation);
  s.send({ type: 'Ack', for: 'SetNotify', room: shown, level, ...refOf(msg) });
}

export async function pushSubscribe(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'PushSubscribe'>): Promise<void> {
  const account = requireRegistered(s);
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
  const account = requireAccount(s);
  const removed = await ctx.store.removePushSubscription(msg.endpoint, account);
  s.send({ type: 'Ack', for: 'PushUnsubscribe', endpoint: msg.endpoint, removed, ...refOf(msg) });
}
