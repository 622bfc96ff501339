/**
 * Opening a session for every mode of `parley client`: the identity from the flags (guest
 * name, password, token file), the connection, the fallback from a stale token to the
 * password, and the new token written back to the token file.
 */
import { normaliseRoom } from '../../protocol/names.js';
import { ParleyClient, type Identity } from '../core/client.js';
import { CliError, connectOrExplain, readTokenFile, writeTokenFile, wsSocketFactory, type WsSockets } from './connect.js';

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
}

/** A room name from the command line, normalised; a CliError when it is not a valid name. */
export function roomFlag(raw: string): string {
  const room = normaliseRoom(raw);
  if (!room) throw new CliError(`bad room "${raw}": room names are 1 to 32 letters, digits, "_", "-" or "."`, 2);
  return room;
}

/**
 * Keeps the client in the rooms it chose: a login or first name makes the server join
 * `general`, which a client that left it (or never wanted it) leaves again.
 */
function leaveUnwantedRooms(client: ParleyClient): void {
  client.on('message', function leaveAutoJoined(m) {
    if (m.type === 'Ack' && m.for === 'JoinRoom' && m.ref === undefined && typeof m.room === 'string' && !client.rooms.includes(m.room)) {
      client.fire({ type: 'LeaveRoom', room: m.room });
    }
  });
}

export async function openSession(url: string, flags: ClientFlags, hooks: SessionHooks): Promise<ParleyClient> {
  const sockets = hooks.sockets ?? wsSocketFactory();
  const token = flags.tokenFile ? readTokenFile(flags.tokenFile) : null;
  let name = flags.name;
  let password: string | undefined;

  const attempt = async (identity: Identity): Promise<ParleyClient> => {
    const client = new ParleyClient({ url, createSocket: sockets.create, identity, rooms: hooks.rooms });
    leaveUnwantedRooms(client);
    hooks.setup(client);
    await connectOrExplain(client, url, sockets.lastError);
    return client;
  };
  const withPassword = async (): Promise<ParleyClient> => {
    name ??= await hooks.askName();
    password = await hooks.askPassword();
    return attempt({ username: name, password });
  };

  let client: ParleyClient;
  if (token) {
    try {
      client = await attempt(name ? { token, username: name } : { token });
    } catch (err) {
      if (!flags.password || (err as { code?: string }).code !== 'TOKEN_INVALID') throw explainTokenError(err, flags);
      client = await withPassword();
    }
  } else if (flags.password) {
    client = await withPassword();
  } else {
    name ??= await hooks.askName();
    try {
      client = await attempt({ username: name });
    } catch (err) {
      if ((err as { code?: string }).code === 'NAME_RESERVED') throw new CliError(`${(err as Error).message} (use --password)`);
      throw err;
    }
  }
  if (password !== undefined && flags.tokenFile && client.token) writeTokenFile(flags.tokenFile, client.token);
  return client;
}

function explainTokenError(err: unknown, flags: ClientFlags): unknown {
  if ((err as { code?: string }).code !== 'TOKEN_INVALID') return err;
  return new CliError(`login refused: the token in ${flags.tokenFile} is invalid or has expired (log in again with --password)`);
}
