/**
 * Colours for the terminal client. Every user name gets one of a few ANSI colours from a
 * hash of its case-folded form, so a name keeps its colour across sessions and case
 * variants. With colours off (stdout not a terminal, or NO_COLOR set) every function
 * returns its text unchanged.
 */
import { nameKey } from '../../protocol/names.js';

export interface Style {
  readonly enabled: boolean;
  /** A user name in its own colour. */
  name(name: string): string;
  red(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
  magenta(text: string): string;
  /** Swapped foreground and background (the mark of a line that mentions the user). */
  inverse(text: string): string;
}

/** Red and its bright form are kept for errors; black and white vanish on some themes. */
const NAME_COLOURS = [32, 33, 34, 35, 36, 92, 93, 94, 95, 96] as const;

/** FNV-1a over the name's fold key: stable across runs and platforms. */
export function nameColour(name: string): number {
  let h = 0x811c9dc5;
  for (const ch of nameKey(name)) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return NAME_COLOURS[h % NAME_COLOURS.length]!;
}

function sgr(open: number, close: number): (text: string) => string {
  return (text) => `\x1b[${open}m${text}\x1b[${close}m`;
}

export function createStyle(enabled: boolean): Style {
  if (!enabled) {
    const plain = (text: string): string => text;
    return { enabled, name: plain, red: plain, dim: plain, bold: plain, magenta: plain, inverse: plain };
  }
  return {
    enabled,
    name: (name) => `\x1b[${nameColour(name)}m${name}\x1b[39m`,
    red: sgr(31, 39),
    dim: sgr(2, 22),
    bold: sgr(1, 22),
    magenta: sgr(35, 39),
    inverse: sgr(7, 27),
  };
}

/** Whether the terminal client may colour its output: stdout is a terminal and NO_COLOR is unset or empty. */
export function coloursWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
}

// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*[A-Za-z]/g;

/** The text without ANSI escapes (to measure what a line occupies on screen). */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_RE, '');
}
