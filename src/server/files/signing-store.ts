/**
 * The Store as the chat domain sees it: reads that go to clients (`history`, `search`)
 * come back with their attachments' URLs signed, once per page, whoever
 * asked (the join history, History, Search, fan-out's gap filling). Everything else is the
 * Store itself.
 */
import type { Store } from '../ports.js';
import type { UrlSigner } from './urls.js';

export function withSignedFiles(store: Store, signer: UrlSigner): Store {
  const signed: Partial<Record<keyof Store, unknown>> = {
    history: async (...args: Parameters<Store['history']>) => {
      const page = await store.history(...args);
      return { ...page, messages: page.messages.map((m) => signer.signMessage(m)) };
    },
    search: async (...args: Parameters<Store['search']>) => {
      const found = await store.search(...args);
      return { ...found, messages: found.messages.map((m) => signer.signMessage(m)) };
    },
  };
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop) {
      if (prop in signed) return signed[prop as keyof Store];
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      // Bound once: the stores keep their state in #private fields, which a Proxy receiver cannot reach.
      let fn = bound.get(prop);
      if (fn === undefined) {
        fn = (value as (...a: unknown[]) => unknown).bind(target);
        bound.set(prop, fn);
      }
      return fn;
    },
  });
}
