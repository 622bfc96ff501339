/**
 * Which URLs the server will POST to: Web Push endpoints and outgoing webhooks
 * (integrations/outgoing.ts). Such a URL is user input: one the server would otherwise fetch
 * for anyone (SSRF). Endpoints must use an allowed scheme (push: `https:` only) with no
 * credentials, and must resolve only to public addresses unless private ones are allowed.
 * The address checked is the address connected to (`pinnedLookup`), so a name that resolves
 * to a public address when checked and a private one when connected (DNS rebinding) cannot
 * slip through.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Non-public IPv4 and IPv6 ranges (IANA special-purpose registries, RFC 6890 and later). */
const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NON_PUBLIC.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['2002::', 16],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) NON_PUBLIC.addSubnet(net, prefix, 'ipv6');

/** Whether `address` (an IP literal) is a public unicast address. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 6) {
    const lower = address.toLowerCase();
    // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) name an IPv4 address: judge that one.
    const mapped = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return isPublicAddress(mapped[1]!);
    if (/^::ffff:/.test(lower) || /^64:ff9b::/.test(lower)) return false;
    return !NON_PUBLIC.check(address, 'ipv6');
  }
  return !NON_PUBLIC.check(address, 'ipv4');
}

export class EndpointRefused extends Error {}

/** URL schemes an endpoint may use (default: `https:` only). */
export type Schemes = readonly ('https:' | 'http:')[];

const HTTPS_ONLY: Schemes = ['https:'];

/** The endpoint as a URL, or EndpointRefused with the reason. Does no I/O. */
export function parseEndpoint(raw: string, schemes: Schemes = HTTPS_ONLY): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EndpointRefused('the endpoint is not a URL');
  }
  if (!(schemes as readonly string[]).includes(url.protocol)) {
    throw new EndpointRefused(`the endpoint must be an ${schemes.map((x) => x.slice(0, -1)).join(': or ')}: URL`);
  }
  if (url.username !== '' || url.password !== '') throw new EndpointRefused('the endpoint must not carry credentials');
  return url;
}

/** Resolves a host name to every address it has (node:dns `lookup` with `all`). */
export type Resolver = (host: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

export interface ResolvedEndpoint {
  url: URL;
  /** The checked address to connect to. */
  address: string;
  family: 4 | 6;
}

/**
 * Resolves the endpoint's host and checks every address it resolves to (one non-public
 * address refuses the endpoint: a resolver could answer either). Rejects with EndpointRefused.
 */
export async function resolveEndpoint(raw: string, allowPrivate: boolean, resolver: Resolver = systemResolver, schemes: Schemes = HTTPS_ONLY): Promise<ResolvedEndpoint> {
  const url = parseEndpoint(raw, schemes);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  const addresses = literal !== 0
    ? [{ address: host, family: literal }]
    : await resolver(host).catch(() => {
      throw new EndpointRefused(`the endpoint's host ${host} does not resolve`);
    });
  if (addresses.length === 0) throw new EndpointRefused(`the endpoint's host ${host} does not resolve`);
  if (!allowPrivate) {
    for (const a of addresses) {
      if (!isPublicAddress(a.address)) throw new EndpointRefused(`the endpoint resolves to a non-public address (${a.address})`);
    }
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A `lookup` for http(s).request that answers the checked address whatever the name (see the file comment). */
export function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return function lookupPinned(_hostname, options, callback) {
    if (options.all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
}
