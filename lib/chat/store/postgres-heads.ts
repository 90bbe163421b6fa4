import pg from 'pg';
import { connectionConfig, type PostgresTimeouts } from './postgres-connection';
import type { HeadListener } from './types';

export interface HeadsConnectionOptions extends PostgresTimeouts {
  /** A `SELECT 1` on the connection this often tells a silent partition (default 2 s). */
  readonly listenHeartbeatMs?: number;
}

/** The channel chat_append notifies (see the store's migration 5): `<room>:<id>`. */
export const HEADS_CHANNEL = 'chat_heads';
/** Between two attempts to connect again. */
const RECONNECT_MS = 500;

/**
 * One connection that LISTENs for the rooms' newest ids and hands them to its listeners. When
 * it breaks (an error, an end, a heartbeat unanswered) it is made again, and every listener is
 * told it may have `missed` some.
 */
export class HeadsConnection {
  readonly #url: string;
  readonly #options: HeadsConnectionOptions;
  readonly #listeners = new Set<HeadListener>();
  #client: pg.Client | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #reconnect: NodeJS.Timeout | null = null;
  /** Whether the listeners have heard every commit since they were added. */
  #whole = false;
  #closed = false;

  constructor(url: string, options: HeadsConnectionOptions) {
    this.#url = url;
    this.#options = options;
  }

  /** Adds a listener; answers the function that removes it (and closes the connection after the last). */
  add(listener: HeadListener): () => void {
    this.#listeners.add(listener);
    if (this.#client === null && this.#reconnect === null) void this.#connect();
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Tells every listener that commits may have gone unheard (the store was away). */
  missed(): void {
    for (const listener of this.#listeners) listener.missed();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reconnect) clearTimeout(this.#reconnect);
    this.#reconnect = null;
    this.#stopHeartbeat();
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client(connectionConfig(this.#url, this.#options, 1));
    this.#client = client;
    client.on('notification', (notice) => {
      const payload = notice.payload ?? '';
      const colon = payload.lastIndexOf(':');
      if (notice.channel !== HEADS_CHANNEL || colon <= 0) return;
      const room = payload.slice(0, colon);
      const id = payload.slice(colon + 1);
      for (const listener of this.#listeners) listener.head(room, id);
    });
    client.on('error', () => this.#broken(client));
    client.on('end', () => this.#broken(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${HEADS_CHANNEL}`);
    } catch {
      this.#broken(client);
      return;
    }
    if (this.#client !== client) return;
    // Whatever was committed while nobody listened is asked for again.
    if (this.#whole) this.missed();
    this.#whole = true;
    this.#startHeartbeat(client);
  }

  #startHeartbeat(client: pg.Client): void {
    this.#stopHeartbeat();
    let answering = false;
    this.#heartbeat = setInterval(() => {
      // One at a time: a query still unanswered is the one whose timeout tells.
      if (answering) return;
      answering = true;
      client.query('SELECT 1').then(
        () => (answering = false),
        () => this.#broken(client),
      );
    }, this.#options.listenHeartbeatMs ?? 2_000);
    this.#heartbeat.unref();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }

  /** The connection is no good: drop it, and make another soon. */
  #broken(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = null;
    this.#stopHeartbeat();
    if (this.#whole) for (const listener of this.#listeners) listener.lost?.();
    client.end().catch(() => {});
    if (this.#closed) return;
    this.#reconnect = setTimeout(() => {
      this.#reconnect = null;
      void this.#connect();
    }, RECONNECT_MS);
    this.#reconnect.unref();
  }
}
