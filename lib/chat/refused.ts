/**
 * A request the chat refuses, as its HTTP routes answer it: status, a stable code for programs
 * and a sentence for people. Thrown by the account and room services, turned into a response by
 * the routes.
 */
export class Refused extends Error {
  override name = 'Refused';
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 429 | 503,
    readonly code: string,
    detail: string,
    /** For 429 and 503: seconds until trying again makes sense. */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail);
  }
}
