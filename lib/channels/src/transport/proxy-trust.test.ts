import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { normaliseAddress, ProxyTrust } from './proxy-trust';

function request(peer: string | undefined, forwardedFor?: string | string[]): { socket: { remoteAddress?: string }; headers: IncomingHttpHeaders } {
  return { socket: peer === undefined ? {} : { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } };
}

describe('ProxyTrust', () => {
  it('trusts addresses, CIDRs and keywords, IPv4 and IPv6', () => {
    const trust = ProxyTrust.parse('192.0.2.7, 10.0.0.0/8, fd00::/8, 2001:db8::1, loopback');
    for (const address of ['192.0.2.7', '10.1.2.3', 'fd12::1', '2001:db8::1', '127.0.0.1', '127.9.9.9', '::1']) {
      assert.ok(trust.trusts(address), address);
    }
    for (const address of ['192.0.2.8', '11.0.0.1', 'fe80::1', '2001:db8::2', '203.0.113.1', 'unknown', '']) {
      assert.ok(!trust.trusts(address), address);
    }
    assert.deepEqual(trust.toJSON(), ['192.0.2.7', '10.0.0.0/8', 'fd00::/8', '2001:db8::1', 'loopback']);
  });

  it("knows Express's keywords: loopback, linklocal, uniquelocal", () => {
    const trust = ProxyTrust.parse('linklocal,uniquelocal');
    for (const address of ['169.254.1.1', 'fe80::abcd', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', 'fc00::1', 'fdff::1']) {
      assert.ok(trust.trusts(address), address);
    }
    for (const address of ['127.0.0.1', '::1', '172.32.0.1', '8.8.8.8']) assert.ok(!trust.trusts(address), address);
  });

  it('matches IPv4-mapped IPv6 peers against IPv4 entries', () => {
    const trust = ProxyTrust.parse('127.0.0.1');
    assert.ok(trust.trusts('::ffff:127.0.0.1'));
    assert.ok(trust.trusts('::ffff:7f00:1'));
    assert.equal(normaliseAddress('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(normaliseAddress('::FFFF:7f00:1'), '127.0.0.1');
    assert.equal(normaliseAddress('2001:DB8::1'), '2001:db8::1');
  });

  it('trusts nobody when off or empty, and refuses on and true with what to write instead', () => {
    for (const value of ['', 'off', 'OFF', 'false', ' , ']) assert.ok(ProxyTrust.parse(value).trustsNobody, value);
    for (const value of ['on', 'true', 'TRUE']) {
      assert.throws(() => ProxyTrust.parse(value), /would believe X-Forwarded-For from any peer: list the proxies instead \(an address, a CIDR/);
    }
  });

  it('refuses entries that are not an address, a CIDR or a keyword', () => {
    for (const value of ['proxy.internal', '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/x', 'private', '1.2.3.4:80']) {
      assert.throws(
        () => ProxyTrust.parse(value),
        (error: unknown) => error instanceof TypeError && error.message.startsWith(`not a proxy address: ${JSON.stringify(value)} (expected an address, a CIDR`),
        value,
      );
    }
  });

  describe('clientAddress', () => {
    const trust = ProxyTrust.parse('127.0.0.1, 10.0.0.0/8');

    it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
      assert.equal(trust.clientAddress(request('198.51.100.9', '203.0.113.1')), '198.51.100.9');
      assert.equal(ProxyTrust.none.clientAddress(request('127.0.0.1', '203.0.113.1')), '127.0.0.1');
    });

    it('takes the rightmost entry that is not a trusted proxy, from a trusted peer', () => {
      assert.equal(trust.clientAddress(request('127.0.0.1', '203.0.113.1')), '203.0.113.1');
      // The client wrote the left entry itself; the proxy appended the right one.
      assert.equal(trust.clientAddress(request('127.0.0.1', '198.51.100.9, 203.0.113.1')), '203.0.113.1');
      // Two proxies: the balancer on the LAN, then nginx here.
      assert.equal(trust.clientAddress(request('127.0.0.1', '198.51.100.9, 203.0.113.1, 10.0.0.5')), '203.0.113.1');
      assert.equal(trust.clientAddress(request('::ffff:127.0.0.1', '203.0.113.1,10.0.0.5')), '203.0.113.1');
      // Several headers arrive joined, or as a list.
      assert.equal(trust.clientAddress(request('127.0.0.1', ['198.51.100.9', '203.0.113.1'])), '203.0.113.1');
    });

    it('stops at the last hop it can believe', () => {
      assert.equal(trust.clientAddress(request('127.0.0.1')), '127.0.0.1');
      assert.equal(trust.clientAddress(request('127.0.0.1', '')), '127.0.0.1');
      assert.equal(trust.clientAddress(request('127.0.0.1', '10.0.0.5, 127.0.0.1')), '10.0.0.5');
      assert.equal(trust.clientAddress(request('127.0.0.1', ', ,203.0.113.1 , ,')), '203.0.113.1');
      // Text that is no address is never a client address: the hop that wrote it is.
      assert.equal(trust.clientAddress(request('127.0.0.1', 'anything, 10.0.0.5')), '10.0.0.5');
      assert.equal(trust.clientAddress(request('127.0.0.1', '203.0.113.1:4711')), '127.0.0.1');
      assert.equal(trust.clientAddress(request(undefined, '203.0.113.1')), 'unknown');
    });

    it('gives IPv4-mapped addresses as IPv4, from the socket and the header', () => {
      assert.equal(ProxyTrust.none.clientAddress(request('::ffff:198.51.100.9')), '198.51.100.9');
      assert.equal(trust.clientAddress(request('127.0.0.1', '::ffff:203.0.113.1')), '203.0.113.1');
    });

    it('walks a long header from the right without reading past the client', () => {
      const forged = Array.from({ length: 2_000 }, (_, n) => `198.51.${n >> 8}.${n & 255}`).join(', ');
      assert.equal(trust.clientAddress(request('127.0.0.1', `${forged}, 203.0.113.1`)), '203.0.113.1');
    });
  });
});
