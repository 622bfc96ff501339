/**
 * src/server/transport/address-key.ts: the key the per-address limits (--max-connections-per-ip,
 * --connect-rate-per-ip) count connections by.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey } from '../../src/server/transport/address-key.js';

describe('address key', () => {
  it('counts an IPv6 client by its /64 network and an IPv4-mapped one by its IPv4 address', () => {
    assert.equal(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    assert.equal(addressKey('2001:0db8:0001:0002:0000:0000:0000:0001'), addressKey('2001:db8:1:2::99'));
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
    assert.notEqual(addressKey('192.0.2.1'), addressKey('192.0.2.2'));
  });
});
