import type { Application } from '../application';
import { DenyConnection } from '../errors';

/**
 * The origins a browser page may open sockets from. `*` lets every Origin in, and also a missing
 * one (non-browser clients); otherwise a missing or `null` Origin is refused.
 */
export class AllowedOrigins {
  readonly #origins: ReadonlySet<string>;
  readonly #any: boolean;

  /** @throws Error naming the entry that is not an origin (`scheme://host[:port]`). */
  constructor(origins: Iterable<string>) {
    const normalised = new Set<string>();
    let any = false;
    for (const entry of origins) {
      if (entry === '*') any = true;
      else normalised.add(normaliseOrigin(entry));
    }
    this.#origins = normalised;
    this.#any = any;
  }

  /** The defaults: this machine on `port` by name and by address, plus the public URL's origin. */
  static localDefaults(port: number, publicUrl?: string): AllowedOrigins {
    const origins = [`http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`];
    if (publicUrl) origins.push(publicUrl);
    return new AllowedOrigins(origins);
  }

  allows(origin: string | undefined): boolean {
    if (this.#any) return true;
    if (origin === undefined || origin === 'null') return false;
    let candidate: string;
    try {
      candidate = normaliseOrigin(origin);
    } catch {
      return false;
    }
    return this.#origins.has(candidate);
  }

  toJSON(): string[] {
    return this.#any ? ['*', ...this.#origins] : [...this.#origins];
  }
}

/**
 * Refuses (HTTP 403 before the handshake) a connection whose Origin header is not allowed. The
 * Host header is deliberately not consulted: under DNS rebinding a hostile page's requests carry
 * a Host that matches its own Origin.
 */
export function originValidator(inner: Application, allowed: AllowedOrigins): Application {
  return (scope, connection, env) => {
    const origin = scope.headers.origin;
    if (!allowed.allows(origin)) {
      return Promise.reject(new DenyConnection(`origin ${origin === undefined ? '(missing)' : JSON.stringify(origin)} is not allowed`));
    }
    return inner(scope, connection, env);
  };
}

function normaliseOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`not an origin: ${JSON.stringify(value)} (expected scheme://host[:port])`);
  }
  if (url.origin === 'null' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new Error(`not an origin: ${JSON.stringify(value)} (expected scheme://host[:port])`);
  }
  return url.origin;
}
