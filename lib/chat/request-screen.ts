import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'next-channels';
import { API_BODY_MAX_BYTES, declaresMoreThan } from './json-body';

const MAX_LOGGED_PATH_CHARS = 200;

/**
 * Answers, before Next.js sees them, the requests no page or route of ours can serve:
 * - a path whose percent-encoding does not decode (`/chat/%ff/`): 400, and one line in the log
 *   (Next.js answers 500 and logs nothing);
 * - a body declared (`Content-Length`) larger than any `/api/` route accepts: 413 at once,
 *   before any of it is read (what follows is thrown away, a bounded amount: unread-body.ts).
 *   Bodies of unknown length are counted by the routes themselves (json-body.ts).
 * Returns whether it answered.
 */
export function screenRequest(req: IncomingMessage, res: ServerResponse, logger: Logger): boolean {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  if (!decodes(path)) {
    logger.info('refused a request whose path does not decode', { method: req.method, path: path.slice(0, MAX_LOGGED_PATH_CHARS) });
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('malformed percent-encoding in the path\n');
    return true;
  }
  if (path.startsWith('/api/') && declaresMoreThan(req.headers['content-length'], API_BODY_MAX_BYTES)) {
    const body = JSON.stringify({ error: 'too_large', detail: `request bodies under /api/ must be at most ${API_BODY_MAX_BYTES} bytes` });
    res.writeHead(413, { 'content-type': 'application/json' }).end(body);
    return true;
  }
  return false;
}

function decodes(path: string): boolean {
  if (!path.includes('%')) return true;
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}
