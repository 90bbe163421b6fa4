import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AllowedOrigins,
  LOG_LEVELS,
  type LogLevel,
  MIN_SECRET_LENGTH,
  ProxyTrust,
  type RateLimit,
} from 'next-channels';
import { assertRedisTarget } from 'next-channels/redis';

/** The server's settings, read from the environment (every variable optional). */
export interface ServerConfig {
  /** Development mode (Next compiles on request, hot reload): only with `NODE_ENV=development`. */
  readonly dev: boolean;
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string | null;
  readonly allowedOrigins: AllowedOrigins;
  readonly store: StoreConfig;
  /** `null` (and no `redisCluster`): the in-memory channel layer and presence of one process. */
  readonly redisUrl: string | null;
  /** `REDIS_CLUSTER`: seeds of a Redis Cluster (`host:port`, or `redis[s]://` URLs with credentials), in place of `REDIS_URL`; `null`: none. */
  readonly redisCluster: readonly string[] | null;
  /** `REDIS_PREFIX` (default `channels`): the start of every Redis key and channel, so several sites can share one Redis. */
  readonly redisPrefix: string;
  /** With Redis: how long the people of a process that died stay in presence lists. */
  readonly presenceExpiryMs: number;
  readonly rateLimit: RateLimit | null;
  /** How long after sending it an author may edit a message (`EDIT_WINDOW_MS`, default 15 min; 0: never). */
  readonly editWindowMs: number;
  readonly maxConnectionsPerIp: number;
  /** The proxies whose `X-Forwarded-For` is believed: `TRUST_PROXY`. */
  readonly trustProxy: ProxyTrust;
  /** `null`: generated once and kept in `dataDir`. */
  readonly sessionSecret: string | null;
  /** `null`: the admin routes answer 404. */
  readonly adminToken: string | null;
  readonly logLevel: LogLevel;
  readonly dataDir: string;
  /** Session cookies get `Secure` when the public URL is HTTPS. */
  readonly secureCookies: boolean;
}

/** Where messages are kept: `DATABASE_URL`. */
export type StoreConfig = { readonly kind: 'sqlite'; readonly file: string } | { readonly kind: 'postgres'; readonly url: string };

/** A setting that cannot be used; its message is the one line printed at start-up. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const MIN_ADMIN_TOKEN_LENGTH = 16;

/** The process environment, or any map of variable names to values (tests). */
export type EnvironmentVariables = Readonly<Record<string, string | undefined>>;

/** Reads and checks every setting; throws `ConfigError` on the first bad one. */
export function loadConfig(env: EnvironmentVariables, projectRoot: string): ServerConfig {
  const port = integer(env, 'PORT', 3000, 0, 65_535);
  const publicUrl = optional(env, 'PUBLIC_URL');
  if (publicUrl !== null && !/^https?:\/\/[^/]+/i.test(publicUrl)) {
    throw new ConfigError(`PUBLIC_URL must be an http:// or https:// URL, got ${JSON.stringify(publicUrl)}`);
  }
  const redisUrl = optional(env, 'REDIS_URL');
  if (redisUrl !== null && !/^rediss?:\/\/[^/]/i.test(redisUrl)) {
    throw new ConfigError(`REDIS_URL must be redis://host:port (or rediss:// for TLS), got ${JSON.stringify(redisUrl)}`);
  }
  const redisCluster = clusterNodes(optional(env, 'REDIS_CLUSTER'));
  if (redisCluster !== null && redisUrl !== null) {
    throw new ConfigError('REDIS_URL and REDIS_CLUSTER are both set: give one (REDIS_URL for one Redis, REDIS_CLUSTER for the nodes of a Redis Cluster)');
  }
  const redisPrefix = optional(env, 'REDIS_PREFIX') ?? 'channels';
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(redisPrefix)) {
    throw new ConfigError(`REDIS_PREFIX must be 1 to 64 letters, digits and _ . : - (no braces), got ${JSON.stringify(redisPrefix)}`);
  }
  const dataDir = path.resolve(projectRoot, optional(env, 'DATA_DIR') ?? 'data');
  const sessionSecret = optional(env, 'SESSION_SECRET');
  if (sessionSecret !== null && sessionSecret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`SESSION_SECRET must be at least ${MIN_SECRET_LENGTH} characters (or unset, to generate one)`);
  }
  const adminToken = optional(env, 'ADMIN_TOKEN');
  if (adminToken !== null && adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigError(`ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  }
  const logLevel = optional(env, 'LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  }
  return {
    // Production unless development is asked for: a forgotten NODE_ENV must not serve Next's
    // development endpoints, compile pages on request or rewrite tsconfig.json.
    dev: env.NODE_ENV === 'development',
    port,
    host: optional(env, 'HOST') ?? '0.0.0.0',
    publicUrl,
    allowedOrigins: allowedOrigins(env, port, publicUrl),
    store: storeConfig(optional(env, 'DATABASE_URL'), dataDir, projectRoot),
    redisUrl,
    redisCluster,
    redisPrefix,
    presenceExpiryMs: integer(env, 'PRESENCE_EXPIRY_MS', 30_000, 100, 3_600_000),
    rateLimit: rateLimit(optional(env, 'RATE_LIMIT') ?? '20/10s'),
    editWindowMs: integer(env, 'EDIT_WINDOW_MS', 15 * 60_000, 0, 7 * 24 * 3_600_000),
    maxConnectionsPerIp: integer(env, 'MAX_CONNECTIONS_PER_IP', 50, 1, 1_000_000),
    trustProxy: proxyTrust(optional(env, 'TRUST_PROXY')),
    sessionSecret,
    adminToken,
    logLevel: logLevel as LogLevel,
    dataDir,
    secureCookies: publicUrl?.toLowerCase().startsWith('https://') ?? false,
  };
}

/**
 * The variables Next.js and React read for themselves, made to agree with `config`: `NODE_ENV`
 * names the mode (React picks its production build by it, Next its `.env` files), and Next's
 * telemetry is off unless `NEXT_TELEMETRY_DISABLED` says otherwise. server.ts sets them before
 * Next.js starts.
 */
export function frameworkEnvironment(config: Pick<ServerConfig, 'dev'>, env: EnvironmentVariables): Record<string, string> {
  return { NODE_ENV: config.dev ? 'development' : 'production', NEXT_TELEMETRY_DISABLED: env.NEXT_TELEMETRY_DISABLED ?? '1' };
}

/**
 * `RATE_LIMIT`: `<messages>/<window>` with the window in ms, s or m (`20/10s`), or `off`. Bursts
 * of up to half the window's messages are allowed.
 */
export function rateLimit(value: string): RateLimit | null {
  if (value.toLowerCase() === 'off') return null;
  const match = /^(\d+)\/(\d+)(ms|s|m)$/.exec(value.trim());
  const rate = Number(match?.[1]);
  const amount = Number(match?.[2]);
  if (!match || rate < 1 || amount < 1) {
    throw new ConfigError(`RATE_LIMIT must look like 20/10s (messages per window) or be off, got ${JSON.stringify(value)}`);
  }
  const perMs = amount * { ms: 1, s: 1_000, m: 60_000 }[match[3] as 'ms' | 's' | 'm'];
  return { rate, perMs, burst: Math.max(1, Math.ceil(rate / 2)) };
}

/**
 * `REDIS_CLUSTER`: a comma list of some nodes of a Redis Cluster, each `host:port` (or
 * `[v6]:port`), `redis://[user:password@]host:port`, or `rediss://...` for TLS, all alike.
 */
function clusterNodes(value: string | null): string[] | null {
  if (value === null) return null;
  const nodes = value.split(',').map((node) => node.trim());
  try {
    assertRedisTarget({ cluster: nodes });
  } catch (error) {
    throw new ConfigError(`REDIS_CLUSTER (a comma list of nodes of a Redis Cluster): ${error instanceof Error ? error.message : String(error)}`);
  }
  return nodes;
}

/**
 * `DATABASE_URL`: unset for the SQLite file `chat.db` in the data folder, `sqlite:<file>`
 * (relative to the project), or `postgres://...` for PostgreSQL.
 */
function storeConfig(url: string | null, dataDir: string, projectRoot: string): StoreConfig {
  if (url === null) return { kind: 'sqlite', file: path.join(dataDir, 'chat.db') };
  const sqlite = /^(?:sqlite|file):(?:\/\/)?(.+)$/i.exec(url);
  if (sqlite) return { kind: 'sqlite', file: path.resolve(projectRoot, sqlite[1]!) };
  if (/^postgres(ql)?:\/\/[^/]/i.test(url)) return { kind: 'postgres', url };
  throw new ConfigError(`DATABASE_URL must be postgres://..., sqlite:<file>, or unset (for data/chat.db), got ${JSON.stringify(url)}`);
}

/**
 * The session secret: the configured one, or one generated on first start and kept (readable by
 * this user only) in the data folder, so sessions survive restarts. A data folder made here is
 * this user's only (0700).
 */
export async function resolveSessionSecret(config: ServerConfig): Promise<string> {
  if (config.sessionSecret !== null) return config.sessionSecret;
  const file = path.join(config.dataDir, 'session-secret');
  try {
    const stored = (await readFile(file, 'utf8')).trim();
    if (stored.length >= MIN_SECRET_LENGTH) return stored;
    throw new ConfigError(`${file} holds a secret shorter than ${MIN_SECRET_LENGTH} characters: delete it to make a new one`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    // Another process made it first: use theirs.
    if (error.code !== 'EEXIST') throw error;
  });
  return (await readFile(file, 'utf8')).trim();
}

function allowedOrigins(env: EnvironmentVariables, port: number, publicUrl: string | null): AllowedOrigins {
  const list = optional(env, 'ALLOWED_ORIGINS');
  try {
    if (list === null) return AllowedOrigins.localDefaults(port, publicUrl ?? undefined);
    const entries = list
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    return new AllowedOrigins(publicUrl ? [...entries, publicUrl] : entries);
  } catch (error) {
    throw new ConfigError(`ALLOWED_ORIGINS: ${(error as Error).message}`);
  }
}

function optional(env: EnvironmentVariables, name: string): string | null {
  const value = env[name]?.trim();
  return value ? value : null;
}

function integer(env: EnvironmentVariables, name: string, fallback: number, min: number, max: number): number {
  const value = optional(env, name);
  if (value === null) return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return number;
}

/**
 * `TRUST_PROXY`: a comma list of proxy addresses, CIDRs and `loopback`, `linklocal`,
 * `uniquelocal`; unset or `off` trusts nobody. The old `on` believed the header from any peer.
 */
function proxyTrust(value: string | null): ProxyTrust {
  if (value !== null && ['1', 'true', 'yes', 'on'].includes(value.toLowerCase())) {
    throw new ConfigError(
      `TRUST_PROXY=${value} would believe X-Forwarded-For from anyone: list your proxies' addresses instead, e.g. TRUST_PROXY=127.0.0.1 for nginx on this machine, or TRUST_PROXY=10.0.0.0/8`,
    );
  }
  if (value === null || ['0', 'false', 'no', 'off'].includes(value.toLowerCase())) return ProxyTrust.none;
  try {
    return ProxyTrust.parse(value);
  } catch (error) {
    throw new ConfigError(`TRUST_PROXY: ${(error as Error).message}`);
  }
}
