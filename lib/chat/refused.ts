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

/**
 * Whether `error` is a `Refused`, from this copy of the class or another: Next bundles route
 * handlers apart from server.ts, so the services the runtime holds throw the server's copy, which
 * `instanceof` in a route's copy does not recognise (the two-bundles rule).
 */
export function isRefused(error: unknown): error is Refused {
  if (error instanceof Refused) return true;
  if (!(error instanceof Error) || error.name !== 'Refused') return false;
  const { status, code } = error as Partial<Refused>;
  return typeof status === 'number' && typeof code === 'string';
}
