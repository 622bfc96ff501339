/**
 * `parley serve`: every option of config.ts as a flag with its environment variable and
 * default; SIGTERM and SIGINT shut down gracefully (clients closed with 1001, store flushed,
 * exit 0 within 10 s). The server's modules load when the command runs, not when the
 * `parley` command starts (main.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { WEB_DIR } from '../paths.js';
import { DEFAULTS, OPTIONS, parseValue, validateConfig, type Config, type OptionSpec } from './config.js';
import { listeningLines } from './listening.js';

const SHUTDOWN_DEADLINE_MS = 9_000;

export function registerServeCommand(program: Command): void {
  const serve = program.command('serve').description('start the chat server (HTTP and WebSocket on one port)');
  const read = addConfigOptions(serve);
  serve.action(async () => {
    let config: Config;
    try {
      config = read();
      validateConfig(config);
    } catch (err) {
      fatal((err as Error).message);
    }
    if (config.workers > 1) {
      const { runWorkers } = await import('./workers.js');
      runWorkers(config);
      return;
    }
    await serveOne(config);
  });
}

/**
 * Adds every option of config.ts to `command` as a flag with its environment variable and
 * default; returns a function that reads the parsed values back as a Config. Commander names
 * an option's value after its flag (`--heartbeat` is `heartbeat`), which is not always the
 * Config key (`heartbeatMs`), so each value is read back by the name Commander gave it.
 */
export function addConfigOptions(command: Command): () => Config {
  const added: Array<[OptionSpec, Option]> = [];
  for (const spec of OPTIONS) {
    const option = new Option(spec.flag, spec.description).env(spec.env);
    const fallback = DEFAULTS[spec.key];
    if (fallback !== null && !(Array.isArray(fallback) && fallback.length === 0)) option.default(fallback);
    option.argParser((raw: string, previous: unknown) => {
      let value;
      try {
        value = parseValue(spec, raw);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
      return spec.kind === 'list' && Array.isArray(previous) && previous !== fallback ? [...previous, ...(value as string[])] : value;
    });
    command.addOption(option);
    added.push([spec, option]);
  }
  return () => {
    const values = command.opts();
    const config: Record<string, unknown> = { ...DEFAULTS };
    for (const [spec, option] of added) {
      const value = values[option.attributeName()];
      if (value !== undefined) config[spec.key] = value;
    }
    return config as unknown as Config;
  };
}

export async function serveOne(config: Config): Promise<void> {
  // Built at install (npm's prepare) or by `npm run build`; a checkout that has not built it
  // still serves chat, and says so.
  const webDir = existsSync(join(WEB_DIR, 'index.html')) ? WEB_DIR : undefined;
  let server;
  try {
    const { startServer } = await import('./server.js');
    server = await startServer(config, { webDir });
  } catch (err) {
    fatal(`cannot start: ${(err as Error).message}`);
  }
  const running = server;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    running.log.info({ signal }, 'shutting down');
    setTimeout(() => {
      running.log.warn({}, 'shutdown took too long; exiting');
      process.exit(0);
    }, SHUTDOWN_DEADLINE_MS).unref();
    running.close().then(() => process.exit(0), (err: unknown) => {
      running.log.error({ err }, 'error during shutdown');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (!process.env.PARLEY_QUIET) {
    const lines = listeningLines({ httpUrl: running.httpUrl, url: running.url, port: running.port, host: config.host, store: running.store.kind });
    if (!webDir) lines.push(`The web client is not built (npm run build): serving WebSocket, /healthz and /metrics only`);
    process.stderr.write(lines.map((line) => `${line}\n`).join(''));
  }
}

function fatal(message: string): never {
  process.stderr.write(`parley: ${message}\n`);
  process.exit(1);
}
