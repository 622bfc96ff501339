/**
 * Starts a real Parley server on 127.0.0.1, port 0, with an in-memory store unless told
 * otherwise. Close it with `await server.close()` (or `await using`). `{ web: true }` serves
 * the web client, built from the sources into dist/web first when missing or stale.
 */
import { ensureWebBuild, WEB_OUT } from '../../src/client/web/build.js';
import { testConfig, type Config } from '../../src/server/config.js';
import { startServer, type RunningServer, type StartOptions } from '../../src/server/server.js';

import { fastHasher } from './hasher.js';

export { fastHasher };

export type TestServer = RunningServer & AsyncDisposable;

export interface TestStartOptions extends StartOptions {
  /** Serve the web client from dist/web (default false). */
  web?: boolean;
}

export async function startTestServer(overrides: Partial<Config> = {}, options: TestStartOptions = {}): Promise<TestServer> {
  const { web = false, ...start } = options;
  if (web) await ensureWebBuild();
  const server = await startServer(testConfig(overrides), { hasher: fastHasher, ...(web ? { webDir: WEB_OUT } : {}), ...start });
  return Object.assign(server, { [Symbol.asyncDispose]: () => server.close() });
}
