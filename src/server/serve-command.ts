/**
 * `parley serve`: every option of config.ts as a flag with its environment variable and
 * default. The server's modules load when the command runs, not when the `parley` command
 * starts (main.ts): serve-one.ts runs one server process, workers.ts supervises several.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULTS, OPTIONS, parseValue, validateConfig, type Config, type OptionSpec } from './config.js';

export function registerServeCommand(program: Command): void {
  const serve = program.command('serve').description('start the chat server (HTTP and WebSocket on one port)');
  const read = addConfigOptions(serve);
  serve.action(async () => {
    let config: Config;
    try {
      config = read();
      validateConfig(config);
      const { checkStartup } = await import('./startup-checks.js');
      await checkStartup(config);
    } catch (err) {
      fatal((err as Error).message);
    }
    if (config.workers > 1) {
      const { runWorkers } = await import('./workers.js');
      runWorkers(config);
      return;
    }
    const { serveOne } = await import('./serve-one.js');
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

function fatal(message: string): never {
  process.stderr.write(`parley: ${message}\n`);
  process.exit(1);
}
