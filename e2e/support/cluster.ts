/**
 * Several production server processes sharing one Redis and one PostgreSQL, as behind a load
 * balancer: the setup of the scale-out tests.
 */
import { PostgresServer, RedisServer } from '../../lib/testing/engines';
import { AppServer } from './app-server';

export interface Cluster {
  readonly redis: RedisServer;
  readonly postgres: PostgresServer;
  readonly servers: readonly AppServer[];
  /** What every process of the cluster was started with (to start one more, or one differently). */
  readonly env: Readonly<Record<string, string>>;
  dispose(): Promise<void>;
}

export async function startCluster(size: number, env: Readonly<Record<string, string>> = {}): Promise<Cluster> {
  const redis = await RedisServer.start();
  const postgres = await PostgresServer.start();
  const servers: AppServer[] = [];
  let shared: Record<string, string> = {};
  const dispose = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.dispose()));
    await Promise.all([redis.dispose(), postgres.dispose()]);
  };
  try {
    shared = {
      DATABASE_URL: await postgres.createDatabase(),
      REDIS_URL: redis.url,
      // Every process must recognise every session.
      SESSION_SECRET: 'cluster-session-secret-0123456789abcdef',
      PRESENCE_EXPIRY_MS: '1500',
      ...env,
    };
    for (let index = 0; index < size; index++) servers.push(await AppServer.start({ mode: 'production', env: shared }));
  } catch (error) {
    await dispose();
    throw error;
  }
  return { redis, postgres, servers, env: shared, dispose };
}
