/**
 * The lines `parley serve` prints on stderr once it listens: where it listens (tests and
 * scripts read the port from the first line, so its shape stays put), then, when it listens
 * on every interface (0.0.0.0 or ::), the addresses other machines can reach it at: every
 * non-internal interface address, for a browser and for `parley client`.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

export interface Listening {
  /** `http://127.0.0.1:PORT` (or https). */
  httpUrl: string;
  /** `ws://127.0.0.1:PORT` (or wss). */
  url: string;
  port: number;
  /** The configured listen address. */
  host: string;
  store: string;
}

export function listeningLines(at: Listening, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string[] {
  const lines = [`Parley is listening on ${at.httpUrl} (WebSocket ${at.url}); store: ${at.store}`];
  const hosts = shareableHosts(at.host, interfaces);
  if (hosts.length === 0) return lines;
  const http = at.httpUrl.startsWith('https:') ? 'https' : 'http';
  const ws = at.url.startsWith('wss:') ? 'wss' : 'ws';
  lines.push('Others can join at:');
  for (const host of hosts) lines.push(`  ${http}://${host}:${at.port}  (browser)   parley client ${ws}://${host}:${at.port}`);
  return lines;
}

/**
 * The interface addresses a listen address answers on, as URL hosts: IPv4 ones for 0.0.0.0,
 * IPv4 and IPv6 for :: (dual stack), none for one given address. Loopback is left out (the
 * first line has it), and so are IPv6 link-local addresses, which need a zone to be reached.
 */
export function shareableHosts(listen: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  if (listen !== '0.0.0.0' && listen !== '::') return [];
  const hosts = new Set<string>();
  for (const addresses of Object.values(interfaces)) {
    for (const a of addresses ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4') hosts.add(a.address);
      else if (listen === '::' && !/^fe[89ab]/i.test(a.address)) hosts.add(`[${a.address}]`);
    }
  }
  return [...hosts];
}
