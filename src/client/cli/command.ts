/**
 * `parley client [URL]`: the terminal client. Interactive by default; `--send TEXT` and
 * `--tail ROOM` are the modes for scripts. Every failure is one line on stderr and a
 * non-zero exit, never a stack trace.
 */
import type { Command } from 'commander';
import type { ClientFlags } from './session.js';

// The client's modules (ws, the client core, the terminal UI) load when `parley client`
// runs, not whenever the `parley` command starts.
let connect: typeof import('./connect.js') | undefined;

const PREFIX = 'parley client';

let exiting = false;

/** Writes out what is buffered on stdout, then exits; the first call decides the code. */
function exit(code: number): never {
  if (exiting) return undefined as never;
  exiting = true;
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
  // Exit even if the write callback never comes (stdout closed).
  setTimeout(() => process.exit(code), 500).unref();
  return undefined as never;
}

function fail(err: unknown): never {
  const code = connect && err instanceof connect.CliError ? err.exitCode : 1;
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`${PREFIX}: ${message}\n`);
  return exit(code);
}

function onStdoutError(err: NodeJS.ErrnoException): void {
  // A reader that went away (`parley client --tail general | head`) is a normal end.
  if (err.code === 'EPIPE') process.exit(0);
  fail(err);
}

export async function runClient(rawUrl: string | undefined, flags: ClientFlags): Promise<number> {
  const { CliError, normaliseUrl } = (connect ??= await import('./connect.js'));
  if (flags.send !== undefined && flags.tail !== undefined) throw new CliError('--send and --tail cannot be used together', 2);
  const url = normaliseUrl(rawUrl);
  if (flags.send !== undefined) return (await import('./script.js')).runSend(url, flags, flags.send);
  if (flags.tail !== undefined) return (await import('./script.js')).runTail(url, flags, flags.tail);
  return (await import('./interactive.js')).runInteractive(url, flags);
}

export function registerClientCommand(program: Command): void {
  program.command('client [url]')
    .description('chat in the terminal (default URL ws://localhost:8080); --send and --tail are for scripts')
    .option('--name <name>', 'your name (a guest may take any free name)')
    .option('--password', 'log in to a registered name: asks for the password (read from stdin when it is not a terminal)')
    .option('--token-file <file>', 'keep the login token in FILE (mode 0600) instead of the config directory, and log in with it')
    .option('--room <room>', 'the room to talk in, or to send to with --send (default: general)')
    .option('--send <text>', 'send one message to --room and exit once the server has confirmed it')
    .option('--tail <room>', 'print the messages of ROOM as JSON lines, one per line, until interrupted')
    .option('--no-bell', 'do not ring the terminal bell for a message that mentions you (also: PARLEY_NO_BELL=1)')
    .addHelpText('after', [
      '',
      'Examples:',
      '  parley client --name alice',
      '  parley client wss://chat.example.org --name alice --password --token-file ~/.parley-token',
      '  parley client --send "deploy finished" --room ops --name ci',
      '  parley client --tail general | jq -r .content',
      '',
      'The client keeps the token the server gives a name (a guest\'s too) in DIR/tokens, one file',
      'per server and name (mode 0600), where DIR is $PARLEY_CONFIG_DIR, else $XDG_CONFIG_HOME/parley,',
      'else ~/.config/parley: the next start with the same --name is the same account, with its',
      'rooms, conversations and ownership. With --password it asks for the password all the same.',
      'In the chat, /help lists the commands; Tab completes commands, rooms, conversations and names.',
      'With NO_COLOR set, or when stdout is not a terminal, output is plain lines.',
      'A message that mentions you starts with "@" and, on a terminal, rings the bell (not with --no-bell).',
    ].join('\n'))
    .action(async (url: string | undefined, flags: ClientFlags) => {
      process.stdout.on('error', onStdoutError);
      process.on('uncaughtException', fail);
      process.on('unhandledRejection', fail);
      try {
        exit(await runClient(url, flags));
      } catch (err) {
        fail(err);
      }
    });
}
