/**
 * The web client's entry point: signs in again with a saved token, or shows the sign-in
 * screen; then runs the chat screen until the session ends.
 */
import type { Identity } from '../core/client.js';
import { ChatApp } from './app.js';
import { saved } from './storage.js';
import { LoginView, type LoginChoice } from './view-login.js';

let login: LoginView;
let pristineChat: Node | null = null;

/** A fresh copy of the chat screen's skeleton, so no listener of a finished session remains. */
function resetChatScreen(): void {
  const current = document.getElementById('chat')!;
  pristineChat ??= current.cloneNode(true);
  current.replaceWith(pristineChat.cloneNode(true));
}

async function run(identity: Identity, registerPassword?: string): Promise<void> {
  resetChatScreen();
  const app = new ChatApp({
    identity,
    ...(registerPassword !== undefined ? { registerPassword } : {}),
    onSignedOut: (reason) => login.show(saved.name(), reason),
  });
  try {
    await app.start();
    login.hide();
  } catch (err) {
    const raw = (err as Error).message;
    const message = /^closed \(\d+\)$/.test(raw) ? 'Could not reach the chat server. Check your connection and try again.' : raw;
    // Only a refused token is forgotten; a server that is down may accept it later.
    if (identity.token && /token/i.test(raw)) saved.setToken(null);
    login.show(identity.username ?? saved.name(), message);
  }
}

function choose(choice: LoginChoice): void {
  saved.setName(choice.username);
  if (choice.register) void run({ username: choice.username }, choice.password);
  else if (choice.password) void run({ username: choice.username, password: choice.password });
  else void run({ username: choice.username });
}

function boot(): void {
  login = new LoginView(choose);
  const token = saved.token();
  if (token) void run({ token, username: saved.name() });
  else login.show(saved.name());
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
