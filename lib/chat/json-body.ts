/**
 * Request bodies read with a bound: the chat's HTTP routes carry a name or one message, so a body
 * is refused (413) as soon as it is known to be larger than its route's cap, before it is
 * buffered or parsed, and only `application/json` is parsed as JSON (415 otherwise).
 */

/** `POST /api/session` carries `{"name"}`: a name of 32 characters is at most ~200 bytes of JSON. */
export const SESSION_BODY_MAX_BYTES = 4 * 1024;

/**
 * `POST /api/rooms/<room>/announce` and `POST /api/users/<id>/notify` carry at most 2,000 (plus
 * 200) characters: 8.8 KB of UTF-8 at 4 bytes each, with room for JSON escapes.
 */
export const ADMIN_BODY_MAX_BYTES = 16 * 1024;

/**
 * The largest body any route of ours accepts: server.ts refuses a declared `Content-Length` over
 * it under `/api/` before Next.js sees the request.
 */
export const API_BODY_MAX_BYTES = Math.max(SESSION_BODY_MAX_BYTES, ADMIN_BODY_MAX_BYTES);

/** Why a body was refused, with the HTTP status and the error code its answer carries. */
export class BodyRefused extends Error {
  override name = 'BodyRefused';
  constructor(
    readonly status: 400 | 413 | 415,
    readonly code: 'bad_json' | 'too_large' | 'unsupported_media_type',
    message: string,
  ) {
    super(message);
  }
}

/** Whether a `Content-Type` header names JSON: `application/json`, with parameters or none. */
export function isJsonContentType(header: string | null | undefined): boolean {
  return /^application\/json\s*(;|$)/i.test((header ?? '').trim());
}

/**
 * Whether a declared `Content-Length` is over `maxBytes`. A malformed length counts as over:
 * Node's parser has already refused most, and nothing of ours needs one.
 */
export function declaresMoreThan(contentLength: string | null | undefined, maxBytes: number): boolean {
  if (contentLength === null || contentLength === undefined) return false;
  return !/^\d+$/.test(contentLength.trim()) || Number(contentLength) > maxBytes;
}

/**
 * Reads `request`'s body as JSON of at most `maxBytes`.
 *
 * @throws BodyRefused 415 when the content type is not JSON, 413 when the body is larger than
 * `maxBytes` (declared or counted: the stream is read chunk by chunk and left at the first byte
 * over), 400 when it is not UTF-8 JSON.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  if (!isJsonContentType(request.headers.get('content-type'))) {
    throw new BodyRefused(415, 'unsupported_media_type', 'the body must be application/json');
  }
  if (declaresMoreThan(request.headers.get('content-length'), maxBytes)) throw tooLarge(maxBytes);
  const bytes = await readAtMost(request, maxBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BodyRefused(400, 'bad_json', 'the body must be UTF-8 JSON');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyRefused(400, 'bad_json', 'the body must be JSON');
  }
}

async function readAtMost(request: Request, maxBytes: number): Promise<Uint8Array> {
  const reader = request.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      // Not cancel(): under Next that destroys the request, and with it the socket the 413 is to
      // go out on. Released, the rest waits unread (TCP holds the sender back) until the answer
      // is out; then server.ts throws a bounded amount of it away and closes (unread-body.ts).
      reader.releaseLock();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function tooLarge(maxBytes: number): BodyRefused {
  return new BodyRefused(413, 'too_large', `the body must be at most ${maxBytes} bytes`);
}
