/**
 * Every option of config.ts reaches the Config under its own key, from its flag and from its
 * environment variable. Commander names a value after the flag (`--heartbeat` is
 * `heartbeat`), which is not always the key (`heartbeatMs`): such options were once ignored.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { DEFAULTS, OPTIONS, type Config, type OptionSpec } from '../../src/server/config.js';
import { addConfigOptions } from '../../src/server/serve-command.js';

/** A value unlike the default, as text for the command line, and as the Config holds it. */
function sample(spec: OptionSpec): { raw: string; value: unknown } {
  switch (spec.kind) {
    case 'int': {
      const n = (DEFAULTS[spec.key] as number) + 7;
      return { raw: String(n), value: n };
    }
    case 'list':
      return { raw: 'one,two', value: ['one', 'two'] };
    case 'bool':
      return { raw: DEFAULTS[spec.key] ? 'no' : 'yes', value: !DEFAULTS[spec.key] };
    case 'nullable':
    case 'string':
      return { raw: `${spec.key}-sample`, value: `${spec.key}-sample` };
  }
}

/** Runs `fn` with the environment variables set (undefined: unset), then puts them back. */
function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.keys(vars).map((name) => [name, process.env[name]] as const);
  const put = (name: string, value: string | undefined): void => {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  try {
    for (const [name, value] of Object.entries(vars)) put(name, value);
    return fn();
  } finally {
    for (const [name, value] of saved) put(name, value);
  }
}

function parse(argv: string[]): Config {
  const command = new Command('serve').exitOverride();
  const read = addConfigOptions(command);
  command.parse(argv, { from: 'user' });
  return read();
}

describe('parley serve options', () => {
  it('takes every flag into the Config key it names', () => {
    const argv = OPTIONS.flatMap((spec) => [spec.flag.split(' ')[0]!, sample(spec).raw]);
    const config = parse(argv);
    for (const spec of OPTIONS) assert.deepEqual(config[spec.key], sample(spec).value, spec.flag);
  });

  it('takes every environment variable into the Config key it names', () => {
    const config = withEnv(Object.fromEntries(OPTIONS.map((spec) => [spec.env, sample(spec).raw])), () => parse([]));
    for (const spec of OPTIONS) assert.deepEqual(config[spec.key], sample(spec).value, spec.env);
  });

  it('keeps the defaults when nothing is given', () => {
    assert.deepEqual(withEnv(Object.fromEntries(OPTIONS.map((spec) => [spec.env, undefined])), () => parse([])), DEFAULTS);
  });
});
