/**
 * Which browser pages may open a WebSocket, and which Host names the server answers to.
 *
 * With `--allowed-origins`, exactly the listed origins (or any with `*`). Without it, only the
 * server's own origin: the Origin must name the request's Host, and that Host must be one the
 * server is really reached by — a local name or address (`localhost`, `*.localhost`, loopback
 * addresses, the machine's interface addresses, its hostname) or one of `--public-hosts`.
 * Taking the Host alone would let any site in: after a DNS rebinding, a page at
 * `http://evil.example:8080` whose name now resolves to this server sends
 * `Host: evil.example:8080` and `Origin: http://evil.example:8080`, which match each other.
 */
import { hostname, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';

export interface OriginPolicy {
  /** Whether a browser page at `origin` may connect (no Origin: not a browser, allowed). */
  allowed(origin: string | undefined, host: string | undefined): boolean;
  /** Whether `host` (a Host header: name or address, optional port) is one this server answers to. */
  served(host: string | undefined): boolean;
}

/** How long the machine's interface addresses are remembered (interfaces come and go). */
const INTERFACES_MS = 60_000;

/** The host name of a Host header or URL host, lower-case, without port or IPv6 brackets. */
export function hostName(host: string): string | null {
  try {
    const name = new URL(`http://${host}`).hostname.toLowerCase();
    return name.startsWith('[') ? name.slice(1, -1) : name.replace(/\.$/, '');
  } catch {
    return null;
  }
}

/** A `--public-hosts` entry as a host name: `chat.example`, `chat.example:443` or `https://chat.example/`; null when it is none. */
export function publicName(entry: string): string | null {
  const text = entry.trim();
  if (text === '') return null;
  if (text.includes('://')) {
    try {
      return hostName(new URL(text).host);
    } catch {
      return null;
    }
  }
  return hostName(text);
}

/** Whether a host name or address is this machine's loopback (`localhost`, 127.0.0.0/8, ::1). */
export function isLoopback(name: string): boolean {
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '::1' || /^::ffff:127\./.test(name);
}

export function createOriginPolicy(options: { allowedOrigins: readonly string[]; publicHosts: readonly string[] }): OriginPolicy {
  const allowedOrigins = options.allowedOrigins.map((a) => a.replace(/\/+$/, '').toLowerCase());
  const anyOrigin = allowedOrigins.includes('*');
  const publicNames = new Set(options.publicHosts.map(publicName).filter((n): n is string => n !== null));
  let local: { names: Set<string>; at: number } | null = null;

  function localNames(): Set<string> {
    const now = Date.now();
    if (local && now - local.at < INTERFACES_MS) return local.names;
    const names = new Set<string>([hostname().toLowerCase()]);
    for (const list of Object.values(networkInterfaces())) {
      for (const i of list ?? []) names.add(i.address.toLowerCase().split('%')[0]!);
    }
    local = { names, at: now };
    return names;
  }

  function served(host: string | undefined): boolean {
    if (host === undefined) return false;
    const name = hostName(host);
    if (name === null || name === '') return false;
    return isLoopback(name) || publicNames.has(name) || localNames().has(name);
  }

  return {
    served,
    allowed(origin, host) {
      if (origin === undefined) return true;
      if (anyOrigin || allowedOrigins.includes(origin.toLowerCase())) return true;
      if (allowedOrigins.length > 0) return false;
      let originHost: string;
      try {
        originHost = new URL(origin).host.toLowerCase();
      } catch {
        return false;
      }
      return host !== undefined && originHost === host.toLowerCase() && served(host);
    },
  };
}
