import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the headers depend on, from the configuration. */
export interface SecurityHeadersOptions {
  /** Development: React's dev tools need `'unsafe-eval'`, and Next's dev styles come without a nonce. */
  readonly dev: boolean;
  /** The site's public origin; https turns on HSTS. */
  readonly publicUrl: string | null;
}

/** What the policy of one response depends on. */
export interface PolicyInputs {
  readonly nonce: string;
  readonly dev: boolean;
  /** The request's Host header, for the page's own WebSocket; ignored unless it is a plain host[:port]. */
  readonly host: string | undefined;
  readonly https: boolean;
}

/** One year: browsers keep to https for that long after they last saw the header. */
const HSTS = 'max-age=31536000';
// A name, an IPv4 address or a bracketed IPv6 address, and a port: nothing that could end the
// directive (`;`, `,`, spaces) and smuggle another in.
const PLAIN_HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/** The Content-Security-Policy of one response. */
export function contentSecurityPolicy({ nonce, dev, host, https }: PolicyInputs): string {
  // 'self' covers ws: and wss: of the page's own host in CSP Level 3; older browsers need them named.
  const sockets = host !== undefined && PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ''}`,
    dev ? "style-src 'self' 'unsafe-inline'" : `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${sockets}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(https ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}

/**
 * The browser security headers of every response Next.js sends, set by server.ts before Next
 * sees the request:
 * - a Content-Security-Policy with a fresh nonce per request. Next.js reads the nonce from the
 *   request's `content-security-policy` header and puts it on the scripts it renders (pages must
 *   be rendered per request: app/layout.tsx is dynamic). Scripts run only with the nonce (and what
 *   they load, `'strict-dynamic'`); no `'unsafe-eval'` but in development, where React's dev
 *   tools need it; sockets only to this host; no framing (`frame-ancestors 'none'`);
 * - `X-Frame-Options: DENY` for browsers without `frame-ancestors`, `X-Content-Type-Options:
 *   nosniff`, `Referrer-Policy: same-origin`;
 * - with an https public URL, `Strict-Transport-Security` and `upgrade-insecure-requests`.
 */
export class SecurityHeaders {
  readonly #dev: boolean;
  readonly #https: boolean;

  constructor(options: SecurityHeadersOptions) {
    this.#dev = options.dev;
    this.#https = options.publicUrl?.toLowerCase().startsWith('https://') ?? false;
  }

  /**
   * Puts a policy with a fresh nonce on the request (where Next.js reads the nonce; whatever the
   * client sent there is replaced) and the headers on the response.
   */
  apply(req: IncomingMessage, res: ServerResponse): void {
    const policy = contentSecurityPolicy({ nonce: randomBytes(16).toString('base64'), dev: this.#dev, host: req.headers.host, https: this.#https });
    req.headers['content-security-policy'] = policy;
    delete req.headers['content-security-policy-report-only'];
    res.setHeader('content-security-policy', policy);
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'same-origin');
    if (this.#https) res.setHeader('strict-transport-security', HSTS);
  }
}
