import type { AllowedOrigins } from 'next-channels';
import { BodyRefused } from './json-body';
import { isRefused } from './refused';

/**
 * What every chat route answers with: problems as `{"error", "detail"}`, answers about who a
 * browser is kept by no cache, and the checks every state-changing route makes first.
 */

/** The request header the chat's HTTP pipeline sets to the client's address (any sent by the client is replaced). */
export const CLIENT_ADDRESS_HEADER = 'x-chat-client-address';

export function problem(status: number, code: string, detail: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error: code, detail }, { status, headers });
}

/** Who a browser is, and its cookie, must not be kept by a shared cache nor the browser's. */
export function noStore(response: Response): Response {
  response.headers.set('cache-control', 'no-store');
  return response;
}

/** A refused body, a refused request or the store's outage as its answer; any other error goes on. */
export function refusal(error: unknown): Response {
  if (error instanceof BodyRefused) return problem(error.status, error.code, error.message);
  if (isRefused(error)) {
    return problem(error.status, error.code, error.message, error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) });
  }
  // The store's outage, thrown by the server's copy of the class (see `isRefused`): try again.
  if (error instanceof Error && error.name === 'StoreUnavailable') return problem(503, 'unavailable', 'the store is unavailable; try again', { 'retry-after': '1' });
  throw error;
}

/**
 * A state-changing request from a page of another site is refused (403) before anything else:
 * the Origin header must name an allowed origin. A browser always sends it on a POST or DELETE.
 * A request with an `Authorization` header carries its credential itself, nothing ambient that
 * another site could ride on (and a page of another site cannot set that header without the
 * CORS permission the chat never gives), so it needs no Origin: clients that are not browsers.
 */
export function crossSite(request: Request, allowedOrigins: AllowedOrigins): Response | null {
  if (request.headers.has('authorization')) return null;
  return allowedOrigins.allows(request.headers.get('origin') ?? undefined) ? null : problem(403, 'forbidden_origin', 'this origin may not do this');
}

/** The client's address as the pipeline found it (`unknown` outside the server, in tests that give none). */
export function clientAddress(request: Request): string {
  return request.headers.get(CLIENT_ADDRESS_HEADER) ?? 'unknown';
}

/** The fields of a JSON body that is an object; none for anything else (the route then refuses what is missing). */
export function bodyFields(body: unknown): Readonly<Record<string, unknown>> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}
