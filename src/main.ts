/** The `parley` command: `parley serve` and `parley client`. */
import { Command } from 'commander';
import { registerClientCommand } from './client/cli/command.js';
import { registerBackupCommands } from './server/backup-command.js';
import { VERSION } from './server/domain/chat.js';
import { registerServeCommand } from './server/serve-command.js';

const program = new Command('parley')
  .description('Parley: a real-time chat server and its terminal client')
  .version(VERSION);
registerServeCommand(program);
registerClientCommand(program);
registerBackupCommands(program);
await program.parseAsync(process.argv);
