#!/usr/bin/env node
/**
 * The `parley` command: `parley serve`, `parley client`, and `parley backup`, `restore` and `export`. Registering a subcommand adds
 * only its flags and help; the modules that do its work load when it runs (dynamic imports
 * in its action), so `parley --version` or `parley client` load none of the server.
 */
import { Command } from 'commander';
import { registerClientCommand } from './client/cli/command.js';
import { VERSION } from './paths.js';
import { registerBackupCommands } from './server/backup-command.js';
import { registerServeCommand } from './server/serve-command.js';

const program = new Command('parley')
  .description('Parley: a real-time chat server and its terminal client')
  .version(VERSION);
registerServeCommand(program);
registerClientCommand(program);
registerBackupCommands(program);
await program.parseAsync(process.argv);
