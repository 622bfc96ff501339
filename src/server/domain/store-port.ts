/**
 * The store as the domain sees it: the configured Store, wrapped once. Every call is timed
 * in `/metrics` (`parley_store_seconds{operation}`, named after the method), and every
 * rejection becomes a StoreFailure naming the method, so a handler never wraps a store call
 * itself and the boundary can tell a failed store from a bug.
 */
import type { ChatMetrics } from './deps.js';
import { StoreFailure } from './errors.js';

type AnyFunction = (...args: unknown[]) => unknown;

/** `store` with every method timed and its failures wrapped (see the file comment). */
export function instrumentStore<S extends object>(store: S, metrics: Pick<ChatMetrics, 'storeLatency'>): S {
  // Keyed by the method itself, so a method replaced on the store (a test's fault) is wrapped afresh.
  const wrapped = new WeakMap<AnyFunction, AnyFunction>();
  return new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || prop === 'constructor') return value;
      let fn = wrapped.get(value as AnyFunction);
      if (!fn) wrapped.set(value as AnyFunction, (fn = timed(String(prop), (value as AnyFunction).bind(target), metrics)));
      return fn;
    },
  });
}

function timed(operation: string, call: AnyFunction, metrics: Pick<ChatMetrics, 'storeLatency'>): AnyFunction {
  return (...args) => {
    const started = performance.now();
    let result: unknown;
    try {
      result = call(...args);
    } catch (err) {
      return Promise.reject(new StoreFailure(operation, err));
    }
    if (!(result instanceof Promise)) return result;
    return result.then((value: unknown) => {
      metrics.storeLatency(operation, (performance.now() - started) / 1000);
      return value;
    }, (err: unknown) => {
      throw new StoreFailure(operation, err);
    });
  };
}
