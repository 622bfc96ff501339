/**
 * `parley backup FILE`, `parley restore FILE` and `parley export ROOM`: each takes the
 * server's `--db` / `DATABASE_URL`. The work lives in backup.ts and export-room.ts, loaded
 * only when one of these commands runs. A refusal is one line on stderr and exit code 1.
 */
import { Command, Option } from 'commander';
import { DEFAULTS, OPTIONS } from './config.js';

export function registerBackupCommands(program: Command): void {
  program.command('backup')
    .description('write a consistent copy of the SQLite database, also while the server runs')
    .argument('<file>', 'the copy to write (replaced if it exists)')
    .addOption(dbOption())
    .action((file: string, opts: { db: string }) => run(async () => {
      const { backupDatabase } = await import('./backup.js');
      const r = await backupDatabase(opts.db, file);
      process.stdout.write(`backed up ${r.rooms} rooms and ${r.messages} messages to ${r.file} (${r.bytes} bytes)\n`);
    }));

  program.command('restore')
    .description('put a backup in place of the SQLite database (the server must be stopped)')
    .argument('<file>', 'a file written by parley backup')
    .addOption(dbOption())
    .action((file: string, opts: { db: string }) => run(async () => {
      const { restoreDatabase } = await import('./backup.js');
      const r = await restoreDatabase(opts.db, file);
      const aside = r.aside ? `; the replaced database is at ${r.aside}` : '';
      process.stdout.write(`restored ${r.rooms} rooms and ${r.messages} messages into ${r.file}${aside}\n`);
    }));

  program.command('export')
    .description("write a room's messages, oldest first, as JSON or Markdown")
    .argument('<room>', 'the room (with or without #)')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'markdown']).default('json'))
    .option('--out <file>', 'write to this file instead of standard output')
    .addOption(dbOption())
    .action((room: string, opts: { db: string; format: 'json' | 'markdown'; out?: string }) => run(async () => {
      const { exportRoom } = await import('./export-room.js');
      const count = await exportRoom({ db: opts.db, room, format: opts.format, out: opts.out ?? null });
      if (opts.out) process.stderr.write(`exported ${count} messages of #${room.replace(/^#/, '')} to ${opts.out}\n`);
    }));
}

/** The server's own `--db` option: same flag, environment variable and default. */
function dbOption(): Option {
  const spec = OPTIONS.find((o) => o.key === 'db')!;
  return new Option(spec.flag, `the server's database: ${spec.description}`).env(spec.env).default(DEFAULTS.db);
}

async function run(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    process.stderr.write(`parley: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(1);
  }
}
