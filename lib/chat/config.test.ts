import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, type EnvironmentVariables, frameworkEnvironment, loadConfig, rateLimit, resolveSessionSecret } from './config';

const ROOT = '/srv/app';

describe('loadConfig', () => {
  it('runs on the embedded defaults with an empty environment', () => {
    const config = loadConfig({}, ROOT);
    assert.equal(config.port, 3000);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.dev, false);
    assert.deepEqual(config.rateLimit, { rate: 20, perMs: 10_000, burst: 10 });
    assert.equal(config.maxConnectionsPerIp, 50);
    assert.ok(config.trustProxy.trustsNobody);
    assert.ok(loadConfig({ TRUST_PROXY: 'off' }, ROOT).trustProxy.trustsNobody);
    assert.equal(config.adminToken, null);
    assert.equal(config.sessionSecret, null);
    assert.equal(config.dataDir, '/srv/app/data');
    assert.deepEqual(config.store, { kind: 'sqlite', file: '/srv/app/data/chat.db' });
    assert.deepEqual(config.allowedOrigins.toJSON(), ['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000']);
  });

  it('runs development only when NODE_ENV asks for it', () => {
    for (const [value, dev] of [[undefined, false], ['production', false], ['test', false], ['', false], ['development', true]] as const) {
      assert.equal(loadConfig({ NODE_ENV: value }, ROOT).dev, dev, String(value));
    }
  });

  it("sets Next's and React's NODE_ENV to the mode, and turns telemetry off unless asked", () => {
    assert.deepEqual(frameworkEnvironment({ dev: false }, {}), { NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' });
    assert.deepEqual(frameworkEnvironment({ dev: true }, { NODE_ENV: 'development' }), { NODE_ENV: 'development', NEXT_TELEMETRY_DISABLED: '1' });
    assert.deepEqual(frameworkEnvironment({ dev: false }, { NODE_ENV: 'test', NEXT_TELEMETRY_DISABLED: '0' }), {
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '0',
    });
  });

  it('reads every variable', () => {
    const config = loadConfig(
      {
        NODE_ENV: 'production',
        PORT: '8080',
        HOST: '127.0.0.1',
        PUBLIC_URL: 'https://chat.example.com',
        RATE_LIMIT: 'off',
        MAX_CONNECTIONS_PER_IP: '5',
        TRUST_PROXY: '127.0.0.1, 10.0.0.0/8',
        SESSION_SECRET: 's'.repeat(32),
        ADMIN_TOKEN: 't'.repeat(16),
        LOG_LEVEL: 'warn',
        DATA_DIR: '/var/lib/chat',
      },
      ROOT,
    );
    assert.equal(config.dev, false);
    assert.equal(config.port, 8080);
    assert.equal(config.rateLimit, null);
    assert.deepEqual(config.trustProxy.toJSON(), ['127.0.0.1', '10.0.0.0/8']);
    assert.ok(config.trustProxy.trusts('10.1.2.3'));
    assert.equal(config.secureCookies, true);
    assert.equal(config.dataDir, '/var/lib/chat');
    assert.deepEqual(config.store, { kind: 'sqlite', file: '/var/lib/chat/chat.db' });
    assert.ok(config.allowedOrigins.allows('https://chat.example.com'));
    assert.ok(!config.allowedOrigins.allows('http://localhost:8080'), 'a public site takes no pages from localhost');
  });

  it('allows localhost beside PUBLIC_URL only when ALLOWED_ORIGINS lists it', () => {
    assert.deepEqual(loadConfig({ PUBLIC_URL: 'https://chat.example.com' }, ROOT).allowedOrigins.toJSON(), ['https://chat.example.com']);
    const listed = loadConfig({ PUBLIC_URL: 'https://chat.example.com', ALLOWED_ORIGINS: 'http://localhost:3000' }, ROOT);
    assert.deepEqual(listed.allowedOrigins.toJSON(), ['http://localhost:3000', 'https://chat.example.com']);
  });

  it('reads a PostgreSQL DATABASE_URL and a REDIS_URL', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://chat:pw@db:5432/chat', REDIS_URL: 'redis://cache:6379/0' }, ROOT);
    assert.deepEqual(config.store, { kind: 'postgres', url: 'postgres://chat:pw@db:5432/chat' });
    assert.equal(config.redisUrl, 'redis://cache:6379/0');
    assert.equal(loadConfig({}, ROOT).redisUrl, null);
    assert.equal(loadConfig({}, ROOT).redisCluster, null);
    assert.equal(loadConfig({}, ROOT).redisPrefix, 'channels', 'the prefix of earlier versions, so nothing moves');
    assert.equal(loadConfig({}, ROOT).presenceExpiryMs, 30_000);
    assert.equal(loadConfig({ PRESENCE_EXPIRY_MS: '1500' }, ROOT).presenceExpiryMs, 1_500);
  });

  it('reads REDIS_CLUSTER seed nodes and a REDIS_PREFIX', () => {
    const config = loadConfig({ REDIS_CLUSTER: 'cache-1:7000, cache-2:7001,[fd00::3]:7002', REDIS_PREFIX: 'site-b' }, ROOT);
    assert.deepEqual(config.redisCluster, ['cache-1:7000', 'cache-2:7001', '[fd00::3]:7002']);
    assert.equal(config.redisUrl, null);
    assert.equal(config.redisPrefix, 'site-b');
    const secured = loadConfig({ REDIS_CLUSTER: 'rediss://app:s%40cret@cache-1:7000,rediss://app:s%40cret@cache-2' }, ROOT);
    assert.deepEqual(secured.redisCluster, ['rediss://app:s%40cret@cache-1:7000', 'rediss://app:s%40cret@cache-2']);
  });

  it('reads a SQLite DATABASE_URL relative to the project', () => {
    assert.deepEqual(loadConfig({ DATABASE_URL: 'sqlite:var/chat.db' }, ROOT).store, { kind: 'sqlite', file: '/srv/app/var/chat.db' });
    assert.deepEqual(loadConfig({ DATABASE_URL: 'file:///tmp/x.db' }, ROOT).store, { kind: 'sqlite', file: '/tmp/x.db' });
  });

  it('replaces the default origins with ALLOWED_ORIGINS, keeping PUBLIC_URL', () => {
    const config = loadConfig({ ALLOWED_ORIGINS: 'https://a.example, https://b.example', PUBLIC_URL: 'https://c.example' }, ROOT);
    assert.deepEqual(config.allowedOrigins.toJSON(), ['https://a.example', 'https://b.example', 'https://c.example']);
  });

  it('fails with one clear line on each bad setting', () => {
    const cases: Array<[EnvironmentVariables, RegExp]> = [
      [{ PORT: 'eighty' }, /^PORT must be a whole number from 0 to 65535, got "eighty"$/],
      [{ PORT: '70000' }, /^PORT must be/],
      [{ RATE_LIMIT: 'fast' }, /^RATE_LIMIT must look like 20\/10s/],
      [{ RATE_LIMIT: '0/10s' }, /^RATE_LIMIT must look like/],
      [{ MAX_CONNECTIONS_PER_IP: '0' }, /^MAX_CONNECTIONS_PER_IP must be/],
      [{ TRUST_PROXY: 'on' }, /^TRUST_PROXY=on would believe X-Forwarded-For from anyone: list your proxies' addresses instead, e\.g\. TRUST_PROXY=127\.0\.0\.1 /],
      [{ TRUST_PROXY: 'true' }, /^TRUST_PROXY=true would believe X-Forwarded-For from anyone/],
      [{ TRUST_PROXY: '127.0.0.1, proxy.internal' }, /^TRUST_PROXY: not a proxy address: "proxy\.internal" \(expected an address, a CIDR/],
      [{ SESSION_SECRET: 'short' }, /^SESSION_SECRET must be at least 32 characters/],
      [{ ADMIN_TOKEN: 'short' }, /^ADMIN_TOKEN must be at least 16 characters/],
      [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of debug, info, warn, error, silent/],
      [{ PUBLIC_URL: 'chat.example.com' }, /^PUBLIC_URL must be an http/],
      [{ ALLOWED_ORIGINS: 'localhost:3000' }, /^ALLOWED_ORIGINS: not an origin: "localhost:3000"/],
      [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL must be postgres:\/\/\.\.\., sqlite:<file>, or unset/],
      [{ REDIS_URL: 'localhost:6379' }, /^REDIS_URL must be redis:\/\/host:port/],
      [{ REDIS_CLUSTER: 'cache-1:7000,cache-2' }, /^REDIS_CLUSTER \(a comma list of nodes of a Redis Cluster\): a cluster node must be host:port, redis:\/\/\[user:password@\]host:port or rediss:\/\/\.\.\., got "cache-2"$/],
      [{ REDIS_CLUSTER: 'redis://:secret@cache-1:7000,cache-2:7001' }, /^REDIS_CLUSTER \(a comma list of nodes of a Redis Cluster\): every node of a Redis Cluster must be given with the same credentials and scheme/],
      [{ REDIS_CLUSTER: 'redis://:secret@cache-1:7000/2' }, /^REDIS_CLUSTER .*: a cluster node has no database number, got "redis:\/\/\*\*\*@cache-1:7000\/2"$/],
      [{ REDIS_CLUSTER: 'cache-1:7000', REDIS_URL: 'redis://cache:6379' }, /^REDIS_URL and REDIS_CLUSTER are both set: give one/],
      [{ REDIS_PREFIX: 'site{a}' }, /^REDIS_PREFIX must be 1 to 64 letters, digits and _ \. : - \(no braces\), got "site\{a\}"$/],
    ];
    for (const [env, message] of cases) {
      assert.throws(() => loadConfig(env, ROOT), (error: unknown) => {
        assert.ok(error instanceof ConfigError, `${JSON.stringify(env)} threw ${String(error)}`);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    }
  });
});

describe('rateLimit', () => {
  it('reads messages per window in ms, s or m, with a burst of half', () => {
    assert.deepEqual(rateLimit('20/10s'), { rate: 20, perMs: 10_000, burst: 10 });
    assert.deepEqual(rateLimit('5/1m'), { rate: 5, perMs: 60_000, burst: 3 });
    assert.deepEqual(rateLimit('1/500ms'), { rate: 1, perMs: 500, burst: 1 });
    assert.equal(rateLimit('OFF'), null);
  });
});

describe('resolveSessionSecret', () => {
  it('generates a secret once, readable by its owner only, and reuses it', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'chat-config-'));
    try {
      const config = { ...loadConfig({}, ROOT), dataDir: path.join(dataDir, 'nested') };
      const first = await resolveSessionSecret(config);
      assert.ok(first.length >= 32);
      assert.equal(await resolveSessionSecret(config), first);
      assert.equal((await stat(path.join(config.dataDir, 'session-secret'))).mode & 0o777, 0o600);
      assert.equal((await stat(config.dataDir)).mode & 0o777, 0o700, 'the data folder it made');
      assert.equal((await readFile(path.join(config.dataDir, 'session-secret'), 'utf8')).trim(), first);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('prefers SESSION_SECRET and refuses a stored secret that is too short', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'chat-config-'));
    try {
      const configured = { ...loadConfig({ SESSION_SECRET: 'x'.repeat(40) }, ROOT), dataDir };
      assert.equal(await resolveSessionSecret(configured), 'x'.repeat(40));
      await writeFile(path.join(dataDir, 'session-secret'), 'short\n');
      await assert.rejects(resolveSessionSecret({ ...loadConfig({}, ROOT), dataDir }), ConfigError);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
