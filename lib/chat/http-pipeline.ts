import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, SessionCookies } from 'next-channels';
import type { ServerConfig } from './config';
import { hideNextHeaders } from './hide-next-headers';
import { CLIENT_ADDRESS_HEADER } from './http-answers';
import { newGuest } from './identity';
import { handleOpsRequest, type OpsDependencies } from './ops-routes';
import { screenRequest } from './request-screen';
import { SecurityHeaders } from './security-headers';
import { discardUnreadBody } from './unread-body';

export interface ChatRequestOptions {
  readonly config: Pick<ServerConfig, 'dev' | 'publicUrl' | 'trustProxy'>;
  readonly sessions: SessionCookies;
  readonly logger: Logger;
  readonly ops: OpsDependencies;
}

/**
 * What the chat does with an HTTP request before Next sees it (the adapter's `onRequest`): the
 * operator routes, the request screen (bad paths, oversized bodies), the security headers, and a
 * session for pages. Resolves `true` when it answered the request itself.
 */
export function chatRequestHandler(options: ChatRequestOptions): (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean> {
  const { config, sessions, logger, ops } = options;
  const securityHeaders = new SecurityHeaders({ dev: config.dev, publicUrl: config.publicUrl });
  return (req, res) => {
    discardUnreadBody(req, res);
    if (handleOpsRequest(req, res, ops)) return true;
    if (screenRequest(req, res, logger)) return true;
    if (!config.dev) hideNextHeaders(req, res);
    securityHeaders.apply(req, res);
    // Pages get a session; Next's assets and the API routes (which answer 401 without one) do not.
    const url = req.url ?? '/';
    // The routes' rate limits count per client address, which only the socket (and a trusted proxy) can tell.
    if (url.startsWith('/api/')) req.headers[CLIENT_ADDRESS_HEADER] = config.trustProxy.clientAddress(req);
    if (url.startsWith('/_next/') || url.startsWith('/api/')) return false;
    return sessions.ensure(req, res, newGuest).then(() => false);
  };
}
