/**
 * Starts a real Parley server on 127.0.0.1, port 0, with an in-memory store unless told
 * otherwise. Close it with `await server.close()` (or `await using`).
 */
import { testConfig, type Config } from '../../src/server/config.js';
import { startServer, type RunningServer, type StartOptions } from '../../src/server/server.js';

import { fastHasher } from './hasher.js';

export { fastHasher };

export type TestServer = RunningServer & AsyncDisposable;

export async function startTestServer(overrides: Partial<Config> = {}, options: StartOptions = {}): Promise<TestServer> {
  const server = await startServer(testConfig(overrides), { web: false, hasher: fastHasher, ...options });
  return Object.assign(server, { [Symbol.asyncDispose]: () => server.close() });
}
