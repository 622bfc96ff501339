/**
 * An in-process bus. A node alone (the default) publishes to nobody; several nodes in one
 * process attach to one MemoryBroker and then behave as a cluster (used by tests). It runs
 * the same cross-node protocol as the Redis bus (ClusterBus): envelopes travel encoded, so
 * in-process clusters test the codec, own-envelope dropping and seq ordering too.
 */
import { ClusterBus, type ClusterBusOptions } from './bus-cluster.js';

export class MemoryBroker {
  readonly buses = new Set<MemoryBus>();

  /** Delivers to every attached bus (the sender drops its own), asynchronously and in order. */
  deliver(data: string): void {
    for (const bus of this.buses) queueMicrotask(() => bus.receive(data));
  }
}

export class MemoryBus extends ClusterBus {
  constructor(private readonly broker: MemoryBroker = new MemoryBroker(), options: ClusterBusOptions = {}) {
    super(options);
  }

  protected doPublish(data: string): void {
    if (this.broker.buses.size > 1) this.broker.deliver(data);
  }

  override shared(): boolean {
    return this.broker.buses.size > 1;
  }

  /** Called by the broker with an encoded envelope. */
  receive(data: string): void {
    this.onMessage(data);
  }

  healthy(): boolean {
    return true;
  }

  async start(): Promise<void> {
    this.broker.buses.add(this);
  }

  override async close(): Promise<void> {
    this.broker.buses.delete(this);
    await super.close();
  }
}
