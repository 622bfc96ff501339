/**
 * Config directories for spawned terminal clients: each client gets one of its own (unless
 * a test shares one on purpose, to resume an account), so that no test reads or writes the
 * tokens of the person running the tests, and no test resumes another's account.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** A new empty config directory, removed by `removeCliConfigDirs`. */
export function cliConfigDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-cli-config-'));
  made.push(dir);
  return dir;
}

/** Removes every directory `cliConfigDir` made. */
export function removeCliConfigDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
