/**
 * The lines `parley serve` prints once it listens: the first keeps its shape (scripts and
 * tests read the port from it); on every interface, the addresses others can join at.
 */
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, it } from 'node:test';
import { listeningLines, shareableHosts } from '../../src/server/listening.js';

const v4 = (address: string, internal = false): NetworkInterfaceInfo =>
  ({ address, family: 'IPv4', internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null });
const v6 = (address: string, internal = false): NetworkInterfaceInfo =>
  ({ address, family: 'IPv6', internal, netmask: 'ffff:ffff:ffff:ffff::', mac: '00:00:00:00:00:00', cidr: null, scopeid: 0 });

const INTERFACES = {
  lo: [v4('127.0.0.1', true), v6('::1', true)],
  eth0: [v4('192.168.1.23'), v6('2001:db8::23'), v6('fe80::1')],
  wlan0: [v4('10.0.0.5')],
};
const AT = { httpUrl: 'http://127.0.0.1:8080', url: 'ws://127.0.0.1:8080', port: 8080, store: 'sqlite' };

describe('listening lines', () => {
  it('keeps the first line that scripts read the port from', () => {
    const [first] = listeningLines({ ...AT, host: '127.0.0.1' }, INTERFACES);
    assert.equal(first, 'Parley is listening on http://127.0.0.1:8080 (WebSocket ws://127.0.0.1:8080); store: sqlite');
    assert.match(first!, /listening on https?:\/\/[^:]+:(\d+)/);
  });

  it('lists every non-internal IPv4 address for a browser and for parley client on 0.0.0.0', () => {
    const lines = listeningLines({ ...AT, host: '0.0.0.0' }, INTERFACES);
    assert.equal(lines.length, 4);
    assert.equal(lines[1], 'Others can join at:');
    assert.match(lines[2]!, /http:\/\/192\.168\.1\.23:8080 .*parley client ws:\/\/192\.168\.1\.23:8080$/);
    assert.match(lines[3]!, /http:\/\/10\.0\.0\.5:8080 .*parley client ws:\/\/10\.0\.0\.5:8080$/);
  });

  it('adds global IPv6 addresses in brackets on ::, not loopback or link-local ones', () => {
    assert.deepEqual(shareableHosts('::', INTERFACES), ['192.168.1.23', '[2001:db8::23]', '10.0.0.5']);
  });

  it('lists nothing more for one given address, or with no network', () => {
    assert.deepEqual(listeningLines({ ...AT, host: '192.168.1.23' }, INTERFACES).length, 1);
    assert.deepEqual(listeningLines({ ...AT, host: '0.0.0.0' }, { lo: INTERFACES.lo }).length, 1);
  });

  it('uses https and wss when the server has a certificate', () => {
    const lines = listeningLines({ ...AT, httpUrl: 'https://127.0.0.1:8443', url: 'wss://127.0.0.1:8443', port: 8443, host: '0.0.0.0' }, INTERFACES);
    assert.match(lines[2]!, /^ {2}https:\/\/192\.168\.1\.23:8443 .*wss:\/\/192\.168\.1\.23:8443$/);
  });
});
