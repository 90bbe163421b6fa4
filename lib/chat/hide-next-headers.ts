import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Drops Next.js's `x-nextjs-*` headers (cache state, prerendering, stale times: nothing a visitor
 * needs, and a fingerprint) from `res` as its head is written. Responses to Next's own client
 * router (`RSC` or `Next-Action` requests) keep them: the router reads some of them.
 */
export function hideNextHeaders(req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.rsc !== undefined || req.headers['next-action'] !== undefined) return;
  const writeHead = res.writeHead;
  // Every way to send a head (writeHead, a first write or end) goes through writeHead.
  res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
    for (const name of this.getHeaderNames()) if (name.startsWith('x-nextjs-')) this.removeHeader(name);
    const last = args[args.length - 1];
    if (typeof last === 'object' && last !== null && !Array.isArray(last)) {
      args[args.length - 1] = Object.fromEntries(Object.entries(last).filter(([name]) => !name.toLowerCase().startsWith('x-nextjs-')));
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
}
