import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Registry } from 'prom-client';
import type { ChannelLayer } from 'next-channels';
import type { MessageStore } from './store/types';

export interface OpsDependencies {
  readonly store: MessageStore;
  readonly layer: ChannelLayer;
  readonly registry: Registry;
  /** How long a dependency may take to answer a readiness check (default 2 s). */
  readonly checkTimeoutMs?: number;
  /** The site's public URL: its host may read `/readyz` and `/metrics` beside this machine's. */
  readonly publicUrl?: string | null;
}

/**
 * The operator's endpoints, answered by server.ts before Next.js sees the request:
 * - `/healthz`: the process is up (200);
 * - `/readyz`: the store and the channel layer answer (200), or which does not and why (503);
 * - `/metrics`: Prometheus text format.
 * `/readyz` and `/metrics` say more than "ok": they answer 404 unless the Host header names this
 * machine (see `isOperatorHost`), so that a page of another site cannot read them through DNS
 * rebinding. Returns false for every other path.
 */
export function handleOpsRequest(req: IncomingMessage, res: ServerResponse, deps: OpsDependencies): boolean {
  const path = (req.url ?? '/').split('?')[0];
  if ((path === '/readyz' || path === '/metrics') && !isOperatorHost(req.headers.host, deps.publicUrl ?? null)) {
    reply(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    return true;
  }
  switch (path) {
    case '/healthz':
      reply(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      return true;
    case '/readyz':
      void readiness(deps).then(({ ready, checks }) =>
        reply(res, ready ? 200 : 503, 'application/json', `${JSON.stringify({ status: ready ? 'ready' : 'unavailable', ...checks })}\n`),
      );
      return true;
    case '/metrics':
      deps.registry.metrics().then(
        (text) => reply(res, 200, deps.registry.contentType, text),
        () => reply(res, 500, 'text/plain; charset=utf-8', 'metrics unavailable\n'),
      );
      return true;
    default:
      return false;
  }
}

/**
 * Whether a Host header names this machine rather than some site: an IP address, `localhost`, or
 * the public URL's host (any port). A page that rebinds its own name to this machine's address
 * still sends its own name, and is refused.
 */
export function isOperatorHost(host: string | undefined, publicUrl: string | null): boolean {
  if (host === undefined) return false;
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::\d*)?$/.exec(host.trim());
  if (!match) return false;
  if (match[1] !== undefined) return isIP(match[1]) === 6;
  const name = match[2]!.toLowerCase().replace(/\.$/, '');
  if (isIP(name) === 4 || name === 'localhost') return true;
  return publicUrl !== null && name === publicHostname(publicUrl);
}

function publicHostname(publicUrl: string): string | null {
  try {
    return new URL(publicUrl).hostname.toLowerCase();
  } catch {
    return null;
  }
}

async function readiness(deps: OpsDependencies): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const timeoutMs = deps.checkTimeoutMs ?? 2_000;
  const [store, layer] = await Promise.all([check(() => deps.store.ping(), timeoutMs), check(() => deps.layer.ping(), timeoutMs)]);
  return { ready: store === 'ok' && layer === 'ok', checks: { store, layer } };
}

async function check(ping: () => Promise<void>, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}

function reply(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body);
}
