/**
 * A TCP proxy for tests that can go silent: while cut, it forwards nothing either way and closes
 * nothing, as a network that drops packets does (no reset, no FIN: the peers only see silence).
 * What was sent meanwhile is delivered when it heals, as TCP's retransmissions would.
 */
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** One proxied connection: what each side sent while the link was cut waits here. */
interface Link {
  readonly client: Socket;
  upstream: Socket | null;
  readonly toUpstream: Buffer[];
  readonly toClient: Buffer[];
  /** Left dead by a partition: silent for good, whatever heals. */
  stranded: boolean;
}

export class SilentProxy {
  readonly #server: Server;
  readonly #upstreamPort: number;
  readonly #links = new Set<Link>();
  #cut = false;

  private constructor(server: Server, upstreamPort: number) {
    this.#server = server;
    this.#upstreamPort = upstreamPort;
  }

  /** Listens on a free port of 127.0.0.1, forwarding to `port` there. */
  static async start(port: number): Promise<SilentProxy> {
    const server = createServer();
    const proxy = new SilentProxy(server, port);
    server.on('connection', (client) => proxy.#accept(client));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Stops forwarding, silently, in both directions; a new connection is accepted and hears nothing. */
  cut(): void {
    this.#cut = true;
  }

  /** Forwards again, delivering what waited. */
  heal(): void {
    this.#cut = false;
    for (const link of this.#links) {
      if (link.upstream === null) this.#connectUpstream(link);
      this.#flush(link);
    }
  }

  /**
   * Lets new connections through again while every connection made before stays silent, as
   * connections a partition left dead do (their peers still wait on them).
   */
  healNewOnly(): void {
    for (const link of this.#links) link.stranded = true;
    this.#cut = false;
  }

  /** Resets the stranded connections: their peers see them fail. */
  dropStranded(): void {
    for (const link of [...this.#links]) if (link.stranded) this.#drop(link);
  }

  async close(): Promise<void> {
    for (const link of this.#links) this.#drop(link);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const link: Link = { client, upstream: null, toUpstream: [], toClient: [], stranded: false };
    this.#links.add(link);
    client.on('data', (chunk: Buffer) => {
      link.toUpstream.push(chunk);
      this.#flush(link);
    });
    client.on('error', () => this.#drop(link)).on('close', () => this.#drop(link));
    if (!this.#cut) this.#connectUpstream(link);
  }

  #connectUpstream(link: Link): void {
    const upstream = createConnection({ port: this.#upstreamPort, host: '127.0.0.1' });
    link.upstream = upstream;
    upstream.on('data', (chunk: Buffer) => {
      link.toClient.push(chunk);
      this.#flush(link);
    });
    upstream.on('connect', () => this.#flush(link));
    upstream.on('error', () => this.#drop(link)).on('close', () => this.#drop(link));
  }

  #flush(link: Link): void {
    if (this.#cut || link.stranded) return;
    const upstream = link.upstream;
    if (upstream !== null && !upstream.connecting) {
      for (const chunk of link.toUpstream.splice(0)) upstream.write(chunk);
    }
    for (const chunk of link.toClient.splice(0)) link.client.write(chunk);
  }

  #drop(link: Link): void {
    if (!this.#links.delete(link)) return;
    link.client.destroy();
    link.upstream?.destroy();
  }
}
