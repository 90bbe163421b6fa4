import pg from 'pg';

/** What a connection to PostgreSQL needs to notice a silent partition in seconds. */
export interface PostgresTimeouts {
  /** How long to wait for a connection before failing a call (default 2 s). */
  readonly connectTimeoutMs?: number;
  /** A query with no answer this long fails, and its connection is dropped (default 5 s). */
  readonly queryTimeoutMs?: number;
}

/** The `pg` settings of the store's connections: timeouts, and TCP keepalive from the first idle second. */
export function connectionConfig(url: string, timeouts: PostgresTimeouts, max: number): pg.PoolConfig {
  return {
    connectionString: url,
    max,
    connectionTimeoutMillis: timeouts.connectTimeoutMs ?? 2_000,
    query_timeout: timeouts.queryTimeoutMs ?? 5_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 1_000,
  };
}

/**
 * Whether an error says PostgreSQL could not be reached (or stopped answering), rather than that
 * it refused the query: no SQLSTATE at all (a timeout, a reset, a refused connection), or the
 * classes of a connection lost (08) or a server going away (57P01-57P03).
 */
export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof pg.DatabaseError)) return true;
  const code = error.code ?? '';
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
}
