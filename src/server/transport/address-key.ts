/**
 * The key under which per-address limits (admission, login attempts) count a client. An
 * IPv4 address counts alone (an IPv4-mapped IPv6 address as its IPv4 address); an IPv6
 * address counts by its /64 network, since one subscriber is usually given a whole /64 and
 * could otherwise open connections from 2^64 addresses.
 */
import { isIPv6 } from 'node:net';

export function addressKey(address: string): string {
  // The common case, a plain IPv4 address, without a regular expression.
  if (!address.includes(':')) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  // A trailing dotted quad is two groups.
  const plain = address.toLowerCase().split('%')[0]!.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`);
  const [head = '', tail] = plain.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
