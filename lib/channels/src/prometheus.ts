/**
 * `next-channels/prometheus`: the transport's figures as Prometheus metrics, through prom-client
 * (an optional peer dependency).
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { FallbackPostOutcome, TransportMetrics } from './metrics';

/**
 * What the transport counts, in Prometheus metrics on a registry of its own (not prom-client's
 * global one: Next bundles route code apart, and two copies would collide there). Serve
 * `registry.metrics()` from a route of yours.
 *
 * @example
 * ```ts
 * import { PrometheusMetrics } from 'next-channels/prometheus';
 * const metrics = new PrometheusMetrics();
 * metrics.collectProcessMetrics();
 * const text = await metrics.registry.metrics();
 * ```
 */
export class PrometheusMetrics implements TransportMetrics {
  /** The registry the metrics are on: serve `registry.metrics()` with its `contentType`. */
  readonly registry: Registry;
  readonly #open: Gauge;
  readonly #opened: Counter;
  readonly #refused: Counter<'status'>;
  readonly #closed: Counter<'code'>;
  readonly #httpDropped: Counter<'reason'>;
  readonly #fallbackOpen: Gauge;
  readonly #fallbackPosts: Counter<'outcome'>;
  readonly #received = new FrameCount();
  readonly #sent = new FrameCount();

  /** @param registry where the metrics go (a new one by default). */
  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    this.#open = new Gauge({ name: 'channels_connections_open', help: 'Connections open now, WebSockets and HTTP fallback streams', registers: [registry] });
    this.#opened = new Counter({ name: 'channels_connections_total', help: 'Connections accepted, WebSockets and HTTP fallback streams', registers: [registry] });
    this.#refused = new Counter({
      name: 'channels_handshakes_refused_total',
      help: 'WebSocket handshakes refused, by HTTP status',
      labelNames: ['status'],
      registers: [registry],
    });
    this.#closed = new Counter({
      name: 'channels_closes_total',
      help: 'WebSocket connections closed, by close code (1006: dropped without one)',
      labelNames: ['code'],
      registers: [registry],
    });
    this.#httpDropped = new Counter({
      name: 'channels_http_connections_dropped_total',
      help: 'HTTP connections dropped for their address having too many with no request in progress: refused (answered 429) or idle_closed (a keep-alive one, to make room)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.#fallbackOpen = new Gauge({
      name: 'channels_fallback_connections_open',
      help: 'Connections on the HTTP fallback (event stream and POSTs) open now, a part of channels_connections_open',
      registers: [registry],
    });
    this.#fallbackPosts = new Counter({
      name: 'channels_fallback_posts_total',
      help: 'HTTP fallback POSTs answered: local (the stream is in this process), relayed (in another, through the layer), refused',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.#received.register({ name: 'channels_frames_received_total', help: 'Frames received from clients', registers: [registry] });
    this.#sent.register({ name: 'channels_frames_sent_total', help: 'Frames sent to clients', registers: [registry] });
  }

  /** Adds the process figures (memory, CPU, event loop lag) to the registry. */
  collectProcessMetrics(): void {
    // The event-loop delay histogram samples on a timer of its own: at the default 10 ms that
    // wakes an idle server 100 times a second; 10 samples a second are plenty between scrapes.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }

  opened(): void {
    this.#open.inc();
    this.#opened.inc();
  }

  closed(code: number): void {
    this.#open.dec();
    this.#closed.labels(String(code)).inc();
  }

  refused(status: number): void {
    this.#refused.labels(String(status)).inc();
  }

  /** An HTTP connection dropped by `createGuardedServer`'s per-address cap. */
  httpDropped(reason: 'refused' | 'idle_closed'): void {
    this.#httpDropped.labels(reason).inc();
  }

  /** A connection of the HTTP fallback opened or closed. */
  fallbackOpen(change: 1 | -1): void {
    this.#fallbackOpen.inc(change);
  }

  /** A fallback POST was answered. */
  fallbackPost(outcome: FallbackPostOutcome): void {
    this.#fallbackPosts.labels(outcome).inc();
  }

  received(): void {
    this.#received.count++;
  }

  sent(): void {
    this.#sent.count++;
  }
}

/**
 * A count bumped once per frame, a broadcast bumping it once per member: a plain number, handed
 * to its Prometheus counter when the metrics are read. (A counter's `inc` hashes its labels and
 * makes two objects each time.)
 */
class FrameCount {
  count = 0;
  #reported = 0;

  register(config: { name: string; help: string; registers: Registry[] }): void {
    const counter: Counter = new Counter({
      ...config,
      collect: () => {
        counter.inc(this.count - this.#reported);
        this.#reported = this.count;
      },
    });
  }
}
