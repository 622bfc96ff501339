/**
 * A guest's departure (its account ending, or its time starting) is written after its name's
 * release in presence, a step later. A graceful shutdown closes the store right after closing
 * the connections: a departure still on its way then reached a closed store ("could not start
 * guest accounts' time", seen when a client left just before a SIGTERM). Shutdown now waits for
 * the departures it has.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nameKey } from '../../src/protocol/names.js';
import { MemoryPresence } from '../../src/server/bus/presence-memory.js';
import { FakeChat } from '../helpers/fake-chat.js';

/** Presence whose name releases wait until `open()`: a cluster's presence answers a step later too. */
class SlowReleases extends MemoryPresence {
  #gate: Promise<void>;
  #open!: () => void;
  constructor() {
    super();
    this.#gate = new Promise((resolve) => { this.#open = resolve; });
  }

  open(): void {
    this.#open();
  }

  override async releaseName(key: string, connId: string): Promise<void> {
    await this.#gate;
    await super.releaseName(key, connId);
  }
}

describe('a graceful shutdown writes the departures of the guests it closes', () => {
  it('resolves only once a text-mode guest\'s account has ended (its name released meanwhile)', async () => {
    const presence = new SlowReleases();
    const chat = await new FakeChat({ presenceGraceMs: 0 }, undefined, presence).start();
    await chat.textUser('ann');
    assert.notEqual(await chat.store.accountByName(nameKey('ann')), null, 'a connected guest has an account');
    let done = false;
    const shutdown = chat.chat.shutdown(1001, 'server shutting down').then(() => { done = true; });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(done, false, 'shutdown waits for the name release and the departure after it');
    presence.open();
    await shutdown;
    // What a server does next is close its store: the departure is written by now.
    assert.equal(await chat.store.accountByName(nameKey('ann')), null, 'the text-mode guest ended with its connection');
  });

  it('starts a JSON guest\'s time when the server closes it, not at its lease\'s renewal', async () => {
    const chat = await new FakeChat({ presenceGraceMs: 0, guestTtlSeconds: 7200 }).start();
    await chat.jsonUser('kim');
    chat.clock += 30 * 60_000;
    await chat.chat.shutdown(1001, 'server shutting down');
    const account = await chat.store.accountByName(nameKey('kim'));
    assert.equal(account?.expiresAt, new Date(chat.clock + 7200_000).toISOString(), 'its time counts from the shutdown');
  });
});
