/**
 * Structured logs (pino) on stdout: JSON lines, or, when stdout is a terminal, pino-pretty's
 * readable lines (time, level, message, fields). pino-pretty loads only for a terminal.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export async function createLogger(level: string): Promise<Logger> {
  const options = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (!process.stdout.isTTY) return pino(options);
  const { default: pretty } = await import('pino-pretty');
  // Synchronous like pino's own stdout, so the last lines are not lost when the process exits.
  return pino(options, pretty({ sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}
