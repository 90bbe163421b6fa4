/**
 * The setup of the fault tests: on a private network of namespaces (network.ts), Redis and
 * PostgreSQL each on a host of their own, two production app processes on two more, and the
 * clients (fault-driver.ts) on a fifth. The apps reach Redis through a delay proxy in Redis's
 * namespace (delay 0 until a test asks for more), so delay can be added without `netem`.
 *
 * Redis, the proxy and PostgreSQL live as long as the cluster; each scenario gets a fresh
 * database, fresh app processes and fresh clients (`startScenario` / `stopScenario`).
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PostgresServer, RedisServer } from '../../lib/testing/engines';
import { AppServer, PROJECT_ROOT } from './app-server';
import { ClientDriver } from './fault-clients';
import type { DriverSetup, DriverStatus } from './fault-driver-protocol';
import { TestNetwork } from './network';

export const APPS = ['app1', 'app2'] as const;
export type AppName = (typeof APPS)[number];
const HOSTS = [...APPS, 'redis', 'pg', 'clients'];
const APP_PORT = 3000;
const REDIS_PORT = 6379;
const POSTGRES_PORT = 5432;
/** The site's public origin: what every client sends as Origin, whichever process it reaches. */
const PUBLIC_URL = 'http://chat.test';

export interface FaultClusterOptions {
  /** WebSocket clients on each app process (default 3). */
  readonly clientsPerApp?: number;
  /** Variables for the app processes beside the cluster's own. */
  readonly appEnv?: Readonly<Record<string, string>>;
}

/** The driver's timers; short, so that a dead socket is noticed within a fault's first seconds. */
const CLIENT_DEFAULTS: Omit<DriverSetup, 'apps' | 'origin' | 'room' | 'clientsPerApp' | 'localAddresses'> = {
  messagesPerSecond: 8,
  pingAfterMs: 1_000,
  pongTimeoutMs: 1_000,
  connectTimeoutMs: 3_000,
  retryMs: 1_000,
  reconnectMs: 200,
  probeEveryMs: 250,
};

export class FaultCluster {
  readonly network: TestNetwork;
  readonly redis: RedisServer;
  readonly postgres: PostgresServer;
  readonly #proxy: DelayProxy;
  readonly #options: FaultClusterOptions;
  #apps: Map<AppName, AppServer> = new Map();
  #driver: ClientDriver | null = null;

  private constructor(network: TestNetwork, redis: RedisServer, postgres: PostgresServer, proxy: DelayProxy, options: FaultClusterOptions) {
    this.network = network;
    this.redis = redis;
    this.postgres = postgres;
    this.#proxy = proxy;
    this.#options = options;
  }

  static async start(options: FaultClusterOptions = {}): Promise<FaultCluster> {
    const clientsPerApp = options.clientsPerApp ?? 3;
    const network = await TestNetwork.create({ hosts: HOSTS, extraAddresses: { clients: clientsPerApp * APPS.length } });
    let redis: RedisServer | null = null;
    let postgres: PostgresServer | null = null;
    try {
      // Redis answers on its own loopback; the apps reach it through the proxy on the host's address.
      redis = await RedisServer.start({ namespace: network.namespace('redis'), host: '127.0.0.1', port: REDIS_PORT });
      const proxy = await DelayProxy.start(network, 'redis', REDIS_PORT, redis);
      postgres = await PostgresServer.start({ namespace: network.namespace('pg'), host: network.address('pg'), port: POSTGRES_PORT });
      return new FaultCluster(network, redis, postgres, proxy, options);
    } catch (error) {
      await Promise.allSettled([redis?.dispose(), postgres?.dispose()]);
      await network.dispose();
      throw error;
    }
  }

  app(name: AppName): AppServer {
    const app = this.#apps.get(name);
    if (!app) throw new Error(`${name} is not running: startScenario first`);
    return app;
  }

  get driver(): ClientDriver {
    if (!this.#driver) throw new Error('no clients: startScenario first');
    return this.#driver;
  }

  get clientsPerApp(): number {
    return this.#options.clientsPerApp ?? 3;
  }

  /** The address of client `index` (app by app, as the driver numbers them). */
  clientAddress(app: AppName, index: number): string {
    return this.network.extraAddresses('clients')[APPS.indexOf(app) * this.clientsPerApp + index]!;
  }

  /** A fresh database, both app processes and the clients in `room`, all welcomed (not sending yet). */
  async startScenario(room: string, client: Partial<typeof CLIENT_DEFAULTS> = {}): Promise<DriverStatus> {
    const databaseUrl = await this.postgres.createDatabase();
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: `redis://${this.network.address('redis')}:${REDIS_PORT}`,
      // Every process must recognise every session.
      SESSION_SECRET: 'fault-tests-session-secret-0123456789abcdef',
      PUBLIC_URL,
      PRESENCE_EXPIRY_MS: '1500',
      // Every client sends 8 messages/s, well over the default budget.
      RATE_LIMIT: 'off',
      ...this.#options.appEnv,
    };
    await Promise.all(
      APPS.map(async (name) => {
        const app = await AppServer.start({ mode: 'production', env, placement: { namespace: this.network.namespace(name), host: this.network.address(name), port: APP_PORT } });
        this.#apps.set(name, app);
      }),
    );
    const { driver, status } = await ClientDriver.start(this.network, 'clients', {
      ...CLIENT_DEFAULTS,
      ...client,
      apps: APPS.map((name) => ({ name, http: this.app(name).http, ws: this.app(name).ws })),
      origin: PUBLIC_URL,
      room,
      clientsPerApp: this.clientsPerApp,
      localAddresses: this.network.extraAddresses('clients'),
    });
    this.#driver = driver;
    return status;
  }

  /** Stops the clients and the app processes (their logs stay readable until the next scenario). */
  async stopScenario(): Promise<void> {
    await this.#driver?.dispose();
    this.#driver = null;
    await Promise.allSettled([...this.#apps.values()].map((app) => app.dispose()));
    await this.#proxy.setDelay(0);
  }

  /** Delays everything between the apps and Redis by `ms`, both ways (0: none). */
  async setRedisDelay(ms: number): Promise<void> {
    await this.#proxy.setDelay(ms);
  }

  async dispose(): Promise<void> {
    await this.stopScenario().catch(() => {});
    await Promise.allSettled([this.redis.dispose(), this.postgres.dispose(), this.#proxy.dispose()]);
    await this.network.dispose();
  }
}

/** delay-proxy.ts run inside a namespace, in front of Redis. */
class DelayProxy {
  readonly #child: ChildProcess;
  readonly #lines: AsyncIterator<string>;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  }

  static async start(network: TestNetwork, host: string, port: number, target: RedisServer): Promise<DelayProxy> {
    const child = network.spawn(
      host,
      process.execPath,
      ['--import', 'tsx', path.join(PROJECT_ROOT, 'e2e', 'support', 'delay-proxy.ts'), network.address(host), String(port), target.host, String(target.port)],
      { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const proxy = new DelayProxy(child);
    await proxy.#expect('listening');
    return proxy;
  }

  async setDelay(ms: number): Promise<void> {
    if (this.#child.exitCode !== null) return;
    this.#child.stdin!.write(`${JSON.stringify({ delayMs: ms })}\n`);
    await this.#expect('delayMs');
  }

  async dispose(): Promise<void> {
    this.#child.stdin?.end();
    if (this.#child.exitCode === null) this.#child.kill();
  }

  async #expect(key: string): Promise<void> {
    const { value, done } = await this.#lines.next();
    if (done || !(key in (JSON.parse(value as string) as object))) throw new Error(`the delay proxy said ${String(value)}, expected ${key}`);
  }
}
