import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOperatorHost } from './ops-routes';

describe('isOperatorHost', () => {
  it('takes an IP address, localhost, or the public URL host, on any port', () => {
    for (const host of ['127.0.0.1', '127.0.0.1:3000', '10.1.2.3:9100', '[::1]:3000', '[fe80::1]', 'localhost', 'LocalHost:3000', 'localhost.']) {
      assert.equal(isOperatorHost(host, null), true, host);
    }
    for (const host of ['chat.example.com', 'CHAT.example.com:443', 'chat.example.com:3000']) {
      assert.equal(isOperatorHost(host, 'https://chat.example.com'), true, host);
    }
  });

  it('refuses any other name: what a page sends after rebinding its own name to this machine', () => {
    for (const host of ['evil.example:3000', 'chat.example.com', 'sub.localhost', 'localhost.evil.example', '127.0.0.1.evil.example', '0x7f.1', '[::1', '[evil]', '1.2.3.4:80:80', '', '   ']) {
      assert.equal(isOperatorHost(host, null), false, host);
    }
    assert.equal(isOperatorHost('chat.example.com.evil.example', 'https://chat.example.com'), false);
    assert.equal(isOperatorHost(undefined, 'https://chat.example.com'), false);
  });
});
