/**
 * The web client's entry point: resumes the saved account with its token (a guest's too: a
 * reload or a second tab is the same account), or shows the sign-in screen; then runs the
 * chat screen until the session ends. A token the server refuses (a guest account that
 * ended, a registered sign-in that expired) brings the sign-in screen back with a note.
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
    onSignedOut: (reason) => login.show(saved.name(), refusedToken(reason, identity) ?? reason),
  });
  try {
    await app.start();
    login.hide();
  } catch (err) {
    const raw = (err as Error).message;
    const message = /^closed \(\d+\)$/.test(raw) ? 'Could not reach the chat server. Check your connection and try again.' : raw;
    login.show(identity.username ?? saved.name(), refusedToken(raw, identity) ?? message);
  }
}

/**
 * When the server refused the saved token: forgets the account (only then: a server that is
 * down may accept it later) and says what happened in words the user can act on.
 */
function refusedToken(reason: string, identity: Identity): string | null {
  if (!identity.token || !/token/i.test(reason)) return null;
  const guest = saved.guest();
  saved.forget();
  return guest
    ? 'Your guest session has ended, and with it that name’s rooms and conversations. Pick a name to start again.'
    : 'Your sign-in has expired. Sign in again with your password.';
}

function choose(choice: LoginChoice): void {
  saved.setName(choice.username);
  if (choice.register) void run({ username: choice.username }, choice.password);
  else if (choice.password) void run({ username: choice.username, password: choice.password });
  else void run({ username: choice.username });
}

function boot(): void {
  saved.adoptUnsent();
  login = new LoginView(choose);
  const token = saved.token();
  if (token) void run({ token, username: saved.name() });
  else login.show(saved.name());
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
