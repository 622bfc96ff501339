/**
 * Opening a session for every mode of `parley client`: the identity from the flags (guest
 * name, password, token file) or the token kept from the last start, the connection, the
 * fallback from a stale token to the password (or, for a guest whose account ended, to the
 * name taken afresh), and every new token kept for the next start.
 */
import { normaliseRoom } from '../../protocol/names.js';
import { ParleyClient, type Identity } from '../core/client.js';
import { CliError, connectOrExplain, wsSocketFactory, type WsSockets } from './connect.js';
import { configDir, TokenKeeper } from './token-store.js';

/** The flags of `parley client`, as commander hands them over. */
export interface ClientFlags {
  name?: string;
  password?: boolean;
  tokenFile?: string;
  room?: string;
  send?: string;
  tail?: string;
  /** False with --no-bell (commander's negated flag). */
  bell?: boolean;
}

export interface SessionHooks {
  /** Rooms to be in after every (re)connect. */
  rooms: string[];
  /** A name when --name is missing (a prompt, or a generated guest name). */
  askName(): Promise<string>;
  /** The password, read without echo. */
  askPassword(): Promise<string>;
  /** Attaches listeners before the first connect, so that nothing is missed. */
  setup(client: ParleyClient): void;
  /** The socket factory (default: a new `wsSocketFactory()`). */
  sockets?: WsSockets;
  /**
   * Whether the token of a name from --name or the prompt is kept under the config
   * directory (the interactive client, and scripts given --name); `--token-file` is
   * used whatever this says.
   */
  keepTokens: boolean;
  /**
   * Whether to leave the rooms a new account is put in (`general`) that are not in
   * `rooms`: scripts stay out of rooms they did not ask for. A resumed account's rooms
   * are its own and are never left.
   */
  onlyRooms?: boolean;
  /** Tells the user something worth knowing that is not an error (a token refused, not kept). */
  note(text: string): void;
}

/** A room name from the command line, normalised; a CliError when it is not a valid name. */
export function roomFlag(raw: string): string {
  const room = normaliseRoom(raw);
  if (!room) throw new CliError(`bad room "${raw}": room names are 1 to 32 letters, digits, "_", "-" or "."`, 2);
  return room;
}

/**
 * Keeps a new account out of rooms the client did not ask for: the server puts a new
 * account in `general` (an Ack for JoinRoom that the client did not ask for). A login (a
 * resumed account) enters the account's own rooms, which stay.
 */
function leaveUnwantedRooms(client: ParleyClient): void {
  let loggedIn = false;
  client.on('status', function forgetLogin(ev) { if (ev.status !== 'online') loggedIn = false; });
  client.on('message', function leaveAutoJoined(m) {
    if (m.type === 'LoggedIn') loggedIn = true;
    if (loggedIn || m.type !== 'Ack' || m.for !== 'JoinRoom' || m.ref !== undefined) return;
    if (typeof m.room === 'string' && !client.rooms.includes(m.room)) client.fire({ type: 'LeaveRoom', room: m.room });
  });
}

/** Keeps every token the server gives (a guest's name, a login) where the next start finds it. */
function keepTokens(client: ParleyClient, keeper: TokenKeeper, hooks: SessionHooks): void {
  let failed = false;
  client.on('token', function keep(ev) {
    try {
      keeper.save(ev.username, ev.token);
    } catch (err) {
      if (!failed) hooks.note(`${(err as Error).message}; the next start cannot resume this account.`);
      failed = true;
    }
  });
}

/** Notes a kept token that the server refused (the guest account ended): the core takes the name afresh. */
function noteRefusedToken(client: ParleyClient, keeper: TokenKeeper, name: string, hooks: SessionHooks): () => void {
  return client.on('message', function onRefused(m) {
    if (m.type !== 'Error' || m.code !== 'TOKEN_INVALID') return;
    if (!keeper.explicit) keeper.forget(name);
    hooks.note(`The kept token for ${name} was refused (it expired, or that guest account has ended): taking the name ${name} afresh.`);
  });
}

/** Where the tokens of a session are kept: `--token-file`, else the config directory when `keep` says so. */
export function tokenKeeper(url: string, flags: ClientFlags, keep: boolean): TokenKeeper {
  return new TokenKeeper(url, flags.tokenFile, keep ? configDir() : null);
}

export async function openSession(url: string, flags: ClientFlags, hooks: SessionHooks): Promise<ParleyClient> {
  const sockets = hooks.sockets ?? wsSocketFactory();
  let name = flags.name;
  const keeper = tokenKeeper(url, flags, hooks.keepTokens);
  if (!flags.tokenFile && !flags.password && hooks.keepTokens) name ??= await hooks.askName();
  // With --password the password decides (a kept token is used only from --token-file, as
  // before): a password piped in must never be left over to be read as a chat line.
  const token = flags.password && !flags.tokenFile ? null : keeper.read(name);

  const attempt = async (identity: Identity): Promise<ParleyClient> => {
    const client = new ParleyClient({ url, createSocket: sockets.create, identity, rooms: hooks.rooms, renameOnEndedToken: true });
    if (hooks.onlyRooms) leaveUnwantedRooms(client);
    keepTokens(client, keeper, hooks);
    hooks.setup(client);
    const off = identity.token && identity.username ? noteRefusedToken(client, keeper, identity.username, hooks) : () => undefined;
    try {
      await connectOrExplain(client, url, sockets.lastError);
    } finally {
      off();
    }
    return client;
  };
  const withPassword = async (): Promise<ParleyClient> => {
    name ??= await hooks.askName();
    return attempt({ username: name, password: await hooks.askPassword() });
  };

  if (token) {
    // With --password a refused token asks for the password; without, a guest's name is taken afresh.
    try {
      return await attempt(name && !flags.password ? { token, username: name } : { token });
    } catch (err) {
      if (!flags.password || (err as { code?: string }).code !== 'TOKEN_INVALID') throw explainTokenError(err, keeper, name);
      return withPassword();
    }
  }
  if (flags.password) return withPassword();
  name ??= await hooks.askName();
  try {
    return await attempt({ username: name });
  } catch (err) {
    if ((err as { code?: string }).code === 'NAME_RESERVED') throw new CliError(`${(err as Error).message} (use --password)`);
    throw err;
  }
}

function explainTokenError(err: unknown, keeper: TokenKeeper, name: string | undefined): unknown {
  const code = (err as { code?: string }).code;
  if (code === 'NAME_RESERVED') return new CliError(`${(err as Error).message} (use --password)`);
  if (code !== 'TOKEN_INVALID') return err;
  return new CliError(`login refused: the token in ${keeper.fileFor(name)} is invalid or has expired (log in again with --password)`);
}
