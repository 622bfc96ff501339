/**
 * The interactive client's commands about who the user is (/nick, /token, /register,
 * /login, /logout): each a request whose answer changes the account the client speaks for,
 * and the token kept for the next start follows it.
 */
import { nameKey } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import type { Answer, ChatView } from './chat-view.js';
import type { RequestTable } from './requests.js';

export const ACCOUNT_REQUESTS: RequestTable = { SetUsername: rename, GetToken: showToken, Register: register, Login: login, Logout: logout };

async function rename(view: ChatView, msg: ClientMessageOf<'SetUsername'>): Promise<void> {
  const c = view.client;
  const ack = await c.request(msg) as Answer<'Ack'>;
  const before = c.username;
  c.username = String(ack.username ?? msg.username);
  keepTokenAcrossRename(view, before, c.username);
  view.notice(`You are now ${view.style.name(c.username)}.`);
}

async function showToken(view: ChatView, msg: ClientMessageOf<'GetToken'>): Promise<void> {
  const answer = await view.client.request(msg) as Answer<'LoggedIn'>;
  acceptToken(view, answer);
  const file = view.keeper.fileFor(answer.username);
  view.notice(`Your token: ${answer.token}${file ? ` (kept in ${file}: starting this client again with --name ${answer.username} resumes you)` : ''}. Elsewhere, /login TOKEN brings you back as ${answer.username}.`);
}

async function register(view: ChatView, msg: ClientMessageOf<'Register'>): Promise<void> {
  const c = view.client;
  if (!c.username) throw new Error('Set a name first.');
  const answer = await c.request({ type: 'Register', username: c.username, password: msg.password }) as Answer<'LoggedIn'>;
  acceptToken(view, answer);
  view.notice(`The name ${view.style.name(answer.username)} is now registered to you.`);
}

async function login(view: ChatView, msg: ClientMessageOf<'Login'>): Promise<void> {
  const answer = await view.client.request(msg) as Answer<'LoggedIn'>;
  acceptToken(view, answer);
  view.notice(`Logged in as ${view.style.name(answer.username)}.`);
  // Another account: its own rooms and conversations.
  const unread = await view.loadConversations();
  if (unread) view.print(unread);
}

async function logout(view: ChatView, msg: ClientMessageOf<'Logout'>): Promise<void> {
  await view.client.request(msg);
  view.keeper.forget(view.client.username ?? undefined);
  view.notice('Logged out.');
  // The server then closes the connection with 4004, which ends the client.
}

/** Takes the account and token of a login, and keeps the token for the next start. */
function acceptToken(view: ChatView, answer: Answer<'LoggedIn'>): void {
  const c = view.client;
  c.username = answer.username;
  c.token = answer.token;
  c.guest = answer.guest === true;
  try {
    view.keeper.save(answer.username, answer.token);
  } catch (err) {
    view.error(`${(err as Error).message}; the next start cannot resume this account.`);
  }
}

/** A guest that took another name keeps its account: its token moves to the file of the new name. */
function keepTokenAcrossRename(view: ChatView, before: string | null, after: string): void {
  const token = view.client.token;
  if (!token || before === null || nameKey(before) === nameKey(after) || view.keeper.explicit) return;
  try {
    view.keeper.save(after, token);
    view.keeper.forget(before);
  } catch (err) {
    view.error(`${(err as Error).message}; the next start cannot resume this account.`);
  }
}
