/**
 * What the chat domain needs from the outside world, as small interfaces. The server wires
 * real ones (main.ts); tests wire memory ones and a clock they control.
 */
import type { Attachment } from '../../protocol/messages.js';
import type { Config } from '../config.js';
import type { BotNotifier, Bus, Presence, Pusher, Store } from '../ports.js';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

/** The part of a pino logger the domain uses. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Counters the domain feeds; `/metrics` exposes them. */
export interface ChatMetrics {
  messageIn(): void;
  /** Frames delivered to connections for one message. */
  delivered(n: number): void;
  error(code: string): void;
  rateLimited(): void;
  storeLatency(operation: string, seconds: number): void;
}

export interface ChatDeps {
  config: Config;
  store: Store;
  presence: Presence;
  bus: Bus;
  hasher: PasswordHasher;
  log: Logger;
  metrics?: ChatMetrics;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Unique message ids. */
  newId: () => string;
  /** Signs attachment URLs of messages sent live (server/files/urls.ts); without it they go unsigned. */
  signer?: { signAll(list: readonly Attachment[] | undefined): Attachment[] | undefined };
  /** How long a room Message from another node waits for a missing lower seq (default 250 ms). */
  gapMs?: number;
  /** Sends Web Push notifications; without it nothing is pushed. */
  pusher?: Pusher;
  /** Bots' outgoing webhooks; without it no bot is called. */
  botNotifier?: BotNotifier;
}

export const noMetrics: ChatMetrics = {
  messageIn() {},
  delivered() {},
  error() {},
  rateLimited() {},
  storeLatency() {},
};

export const silentLog: Logger = { info() {}, warn() {}, error() {}, debug() {} };
