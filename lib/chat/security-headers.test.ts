import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { contentSecurityPolicy, SecurityHeaders, type SecurityHeadersOptions } from './security-headers';

const directives = (policy: string): Map<string, string> =>
  new Map(policy.split('; ').map((directive) => [directive.split(' ')[0]!, directive.slice(directive.indexOf(' ') + 1)]));

/**
 * Serves one request through `SecurityHeaders.apply`, returning the response headers and the
 * request's policy as the handler (Next.js) saw it.
 */
async function serve(options: SecurityHeadersOptions, headers: Record<string, string> = {}): Promise<{ response: Headers; seen: IncomingHttpHeaders }> {
  const security = new SecurityHeaders(options);
  let seen: IncomingHttpHeaders = {};
  const server = createServer((req, res) => {
    security.apply(req, res);
    seen = { ...req.headers };
    res.end('page');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { headers });
    await response.text();
    return { response: response.headers, seen };
  } finally {
    server.close();
  }
}

describe('contentSecurityPolicy', () => {
  it('in production: scripts and styles by nonce only, no eval, sockets to this host, no framing', () => {
    const policy = directives(contentSecurityPolicy({ nonce: 'abc123==', dev: false, host: 'chat.example.com:3000', https: false }));
    assert.equal(policy.get('script-src'), "'self' 'nonce-abc123==' 'strict-dynamic'");
    assert.equal(policy.get('style-src'), "'self' 'nonce-abc123=='");
    assert.equal(policy.get('connect-src'), "'self' ws://chat.example.com:3000 wss://chat.example.com:3000");
    assert.equal(policy.get('frame-ancestors'), "'none'");
    assert.equal(policy.get('object-src'), "'none'");
    assert.equal(policy.get('default-src'), "'self'");
    assert.equal(policy.has('upgrade-insecure-requests'), false);
    assert.doesNotMatch([...policy.values()].join(' '), /unsafe/);
  });

  it("in development: eval for React's dev tools and inline styles for Next's", () => {
    const policy = directives(contentSecurityPolicy({ nonce: 'n', dev: true, host: 'localhost:3000', https: false }));
    assert.equal(policy.get('script-src'), "'self' 'nonce-n' 'strict-dynamic' 'unsafe-eval'");
    assert.equal(policy.get('style-src'), "'self' 'unsafe-inline'");
  });

  it('upgrades insecure requests behind an https public URL', () => {
    assert.equal(directives(contentSecurityPolicy({ nonce: 'n', dev: false, host: 'chat.example.com', https: true })).has('upgrade-insecure-requests'), true);
  });

  it('names no socket host for a Host header that could smuggle in a directive', () => {
    for (const host of ["evil.example; script-src 'unsafe-inline'", 'a b', 'a,b', "a'", '', undefined]) {
      const policy = contentSecurityPolicy({ nonce: 'n', dev: false, host, https: false });
      assert.equal(directives(policy).get('connect-src'), "'self'", String(host));
      assert.equal(policy.split(';').length, 10, String(host));
    }
    for (const host of ['127.0.0.1:3000', '[::1]:3000', 'localhost']) {
      assert.match(directives(contentSecurityPolicy({ nonce: 'n', dev: false, host, https: false })).get('connect-src')!, / ws:\/\//, host);
    }
  });
});

describe('SecurityHeaders', () => {
  it('sets the headers, and hands Next the same policy with a fresh nonce per request, whatever the client sent', async () => {
    const sent = { 'content-security-policy': "script-src 'nonce-chosen-by-client'", 'content-security-policy-report-only': "script-src 'nonce-x'" };
    const first = await serve({ dev: false, publicUrl: null }, sent);
    const second = await serve({ dev: false, publicUrl: null });
    const policy = first.response.get('content-security-policy')!;
    assert.equal(first.seen['content-security-policy'], policy);
    assert.equal(first.seen['content-security-policy-report-only'], undefined);
    assert.doesNotMatch(policy, /chosen-by-client/);
    const nonce = (headers: Headers) => /'nonce-([^']+)'/.exec(headers.get('content-security-policy')!)?.[1];
    assert.match(nonce(first.response)!, /^[A-Za-z0-9+/]{22}==$/);
    assert.notEqual(nonce(first.response), nonce(second.response));
    assert.equal(first.response.get('x-frame-options'), 'DENY');
    assert.equal(first.response.get('x-content-type-options'), 'nosniff');
    assert.equal(first.response.get('referrer-policy'), 'same-origin');
    assert.equal(first.response.get('strict-transport-security'), null);
  });

  it('adds HSTS when the public URL is https, and only then', async () => {
    assert.equal((await serve({ dev: false, publicUrl: 'https://chat.example.com' })).response.get('strict-transport-security'), 'max-age=31536000');
    assert.equal((await serve({ dev: false, publicUrl: 'http://chat.example.com' })).response.get('strict-transport-security'), null);
  });
});
