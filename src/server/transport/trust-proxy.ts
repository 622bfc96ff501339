/**
 * `--trust-proxy ADDRS`: which peers may tell the server who the client is. A connection
 * (a WebSocket upgrade or an HTTP request) from a trusted proxy is counted, limited, banned
 * and logged by the client address in `X-Forwarded-For`: the rightmost address in it that
 * is not itself a trusted proxy (each proxy appends the address it saw, so everything left
 * of the first untrusted hop was written by the client and proves nothing). A connection
 * from any other peer is taken by its socket address, and its `X-Forwarded-For` is ignored.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** Decides the client address of a request. */
export interface ClientAddressResolver {
  /** The client's address (not yet folded by addressKey). */
  clientAddress(req: IncomingMessage): string;
  /** Whether the peer is a trusted proxy. */
  trusts(address: string): boolean;
}

/** An IPv4-mapped IPv6 address as its IPv4 address; anything else unchanged. */
export function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/**
 * Parses `--trust-proxy` entries: addresses or CIDRs, IPv4 or IPv6 (`10.0.0.0/8`,
 * `127.0.0.1`, `::1`, `fd00::/8`). Throws a readable Error naming a bad entry.
 */
export function parseTrustProxy(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    const [addr = '', bits, extra] = entry.split('/');
    const address = unmapped(addr);
    const family = isIP(address);
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32) || (bits !== undefined && !/^\d+$/.test(bits))) {
      throw new Error(`--trust-proxy: "${entry}" is not an IP address or CIDR (e.g. 127.0.0.1, 10.0.0.0/8, ::1, fd00::/8)`);
    }
    list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** The header's addresses, left to right (several headers are joined by Node with ", "). */
function forwardedFor(req: IncomingMessage): string[] {
  const header = req.headers['x-forwarded-for'];
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(',') : header;
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export function createClientAddressResolver(entries: readonly string[]): ClientAddressResolver {
  const list = entries.length > 0 ? parseTrustProxy(entries) : null;
  const trusts = (address: string): boolean => {
    if (!list) return false;
    const a = unmapped(address);
    const family = isIP(a);
    return family !== 0 && list.check(a, family === 6 ? 'ipv6' : 'ipv4');
  };
  return {
    trusts,
    clientAddress(req) {
      const peer = unmapped(req.socket.remoteAddress ?? 'unknown');
      if (!list || !trusts(peer)) return peer;
      let client = peer;
      const hops = forwardedFor(req);
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = unmapped(hops[i]!);
        // A hop that is not an address: the client is unknown past the last trusted proxy.
        if (isIP(hop) === 0) break;
        client = hop;
        if (!trusts(hop)) break;
      }
      return client;
    },
  };
}
