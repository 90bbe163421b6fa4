import type { Application } from '../application';
import { DenyConnection } from '../errors';

const MAX_REMEMBERED_ORIGINS = 256;

/**
 * The origins a browser page may open sockets from. `*` lets every Origin in, and also a missing
 * one (non-browser clients); otherwise a missing or `null` Origin is refused.
 */
export class AllowedOrigins {
  readonly #origins: ReadonlySet<string>;
  readonly #any: boolean;
  /** Origin headers as sent → the verdict: a site's clients send a handful of them, parsed once. */
  readonly #verdicts = new Map<string, boolean>();

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

  /**
   * The defaults: with a public URL, its origin alone; without one, this machine on `port` by
   * name and by address. A public site does not take pages from localhost: any program on a
   * visitor's machine can serve one there.
   */
  static localDefaults(port: number, publicUrl?: string): AllowedOrigins {
    if (publicUrl) return new AllowedOrigins([publicUrl]);
    return new AllowedOrigins([`http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`]);
  }

  /** Whether a handshake with this Origin header (`undefined` when it has none) may go on. */
  allows(origin: string | undefined): boolean {
    if (this.#any) return true;
    if (origin === undefined || origin === 'null') return false;
    let verdict = this.#verdicts.get(origin);
    if (verdict === undefined) {
      verdict = this.#check(origin);
      // Bounded: a client can send any text, and the parse is cheap enough to redo.
      if (this.#verdicts.size >= MAX_REMEMBERED_ORIGINS) this.#verdicts.clear();
      this.#verdicts.set(origin, verdict);
    }
    return verdict;
  }

  #check(origin: string): boolean {
    try {
      return this.#origins.has(normaliseOrigin(origin));
    } catch {
      return false;
    }
  }

  /** The origins, normalised (`*` first when given), so a configuration dump can show them. */
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
