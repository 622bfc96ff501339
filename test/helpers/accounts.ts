/** JSON clients logged in to registered accounts (in `general`, join history consumed). */
import type { ServerMessage } from '../../src/protocol/messages.js';
import { TestClient } from './ws-client.js';

export const PASSWORD = 'a-long-password';

/** Registers the account and stays logged in. */
export async function registeredUser(url: string, name: string): Promise<TestClient<ServerMessage>> {
  return account(url, { type: 'Register', username: name, password: PASSWORD });
}

/** Logs in to an account registered before. */
export async function loggedInUser(url: string, name: string): Promise<TestClient<ServerMessage>> {
  return account(url, { type: 'Login', username: name, password: PASSWORD });
}

async function account(url: string, first: Record<string, unknown>): Promise<TestClient<ServerMessage>> {
  const c = await TestClient.json(url);
  await c.nextOfType('Welcome');
  c.send({ ...first, ref: 'account' });
  await c.nextOfType('LoggedIn', (m) => m.ref === 'account');
  await c.nextOfType('History', (m) => m.room === 'general');
  return c;
}

/** Closes the client and waits until it is gone. */
export async function leave(c: TestClient<ServerMessage>): Promise<void> {
  await c[Symbol.asyncDispose]();
}
