/**
 * The non-interactive modes of `parley client`, for scripts:
 * `--send TEXT --room ROOM` sends one message and exits 0 once the server confirmed it;
 * `--tail ROOM` prints the room's messages as JSON lines (one ChatMessage each) until
 * interrupted, including those missed while reconnecting, each exactly once.
 */
import type { ChatMessage } from '../../protocol/messages.js';
import type { ParleyClient } from '../core/client.js';
import { CliError, guestName, wsSocketFactory } from './connect.js';
import { LineQueue, promptHidden } from './input.js';
import { openSession, roomFlag, type ClientFlags } from './session.js';

/** How long --send waits for the server's confirmation. */
const SEND_TIMEOUT_MS = 15_000;

/** Reads the password: hidden on a terminal, otherwise the first line of stdin. */
async function scriptPassword(): Promise<string> {
  if (process.stdin.isTTY) return promptHidden('Password: ');
  const queue = new LineQueue(process.stdin);
  const line = await queue.next();
  queue.close();
  if (line === null) throw new CliError('--password: no password on stdin', 2);
  return line;
}

/** A note for the person running the script, on stderr (stdout is the script's). */
function scriptNote(text: string): void {
  process.stderr.write(`parley client: ${text}\n`);
}

/** Only the fields of a ChatMessage (the wire Message also carries type, ref and nonce). */
export function chatMessageOf(m: ChatMessage): ChatMessage {
  const out: ChatMessage = { id: m.id, seq: m.seq, room: m.room, username: m.username, content: m.content, timestamp: m.timestamp };
  if (m.editedAt) out.editedAt = m.editedAt;
  if (m.deleted) out.deleted = true;
  if (m.reactions && Object.keys(m.reactions).length > 0) out.reactions = m.reactions;
  if (m.attachments?.length) out.attachments = m.attachments;
  if (m.replyTo) out.replyTo = m.replyTo;
  return out;
}

export async function runSend(url: string, flags: ClientFlags, text: string): Promise<number> {
  const room = roomFlag(flags.room ?? 'general');
  if (text.trim() === '') throw new CliError('--send: the message is empty', 2);
  const client = await openSession(url, flags, {
    rooms: [room],
    askName: async () => guestName('send'),
    askPassword: scriptPassword,
    setup: () => undefined,
    keepTokens: flags.name !== undefined,
    onlyRooms: true,
    note: scriptNote,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      client.sendMessage(room, text),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new CliError(`no confirmation from ${url} within ${SEND_TIMEOUT_MS / 1000} s; the message may not have been stored`)), SEND_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot send: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
    client.close();
  }
  return 0;
}

/** Resolves with the exit code: 0 on SIGINT or SIGTERM, 1 when the server ends the session for good. */
export async function runTail(url: string, flags: ClientFlags, rawRoom: string): Promise<number> {
  const room = roomFlag(rawRoom);
  let client: ParleyClient | null = null;
  let stopping = false;
  const stop = (): void => { stopping = true; client?.close(); };
  const interrupted = new Promise<number>((resolve) => {
    const onSignal = (): void => { stop(); resolve(0); };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  let offline = false;
  let everReady = false;
  const sockets = wsSocketFactory();
  const ended = new Promise<number>((resolve, reject) => {
    openSession(url, flags, {
      rooms: [room],
      sockets,
      askName: async () => guestName('tail'),
      askPassword: scriptPassword,
      keepTokens: flags.name !== undefined,
      onlyRooms: true,
      note: scriptNote,
      setup(c) {
        c.on('chat', (m) => { if (m.room === room) process.stdout.write(`${JSON.stringify(chatMessageOf(m))}\n`); });
        c.on('gap', (g) => { if (g.room === room) process.stderr.write(`parley client: messages of ${room} from seq ${g.fromSeq} were pruned and cannot be fetched\n`); });
        c.on('status', (s) => {
          if (s.status === 'reconnecting' && !offline) {
            offline = true;
            const why = sockets.lastClose()?.reason.replace(/;?\s*retry-after=\d+/, '');
            process.stderr.write(`parley client: connection lost${why ? ` (${why})` : ''}; reconnecting…${s.detail ? ` (${s.detail})` : ''}\n`);
          }
        });
        c.on('ready', (r) => {
          everReady = true;
          if (r.resumed && offline) process.stderr.write('parley client: reconnected\n');
          offline = false;
        });
        c.on('closed', (ev) => {
          // A failure before the first ready is explained by openSession's rejection.
          if (stopping || !everReady) return;
          reject(new CliError(`disconnected from ${url}: ${ev.reason || `closed with code ${ev.code}`}`));
        });
      },
    }).then((c) => { client = c; if (stopping) c.close(); }, (err: unknown) => { if (!stopping) reject(err); else resolve(0); });
  });
  return Promise.race([interrupted, ended]);
}
