import { performance } from 'node:perf_hooks';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ErrorCode } from './protocol';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** What the chat counts, on the transport's registry. */
export class ChatMetrics {
  readonly #stored: Counter;
  readonly #errors: Counter<'code'>;
  /** One labelled child per store operation, made once (a `labels()` call per use costs an object). */
  readonly #store: Record<StoreOperation, { observe(seconds: number): void }>;
  readonly #layer: Histogram;

  constructor(registry: Registry) {
    this.#stored = new Counter({ name: 'chat_messages_stored_total', help: 'Chat messages stored and sent to their room', registers: [registry] });
    this.#errors = new Counter({
      name: 'chat_error_frames_total',
      help: 'Error frames sent to clients, by code',
      labelNames: ['code'],
      registers: [registry],
    });
    const store = new Histogram({
      name: 'chat_store_seconds',
      help: 'Time spent in the message store, by operation',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.#store = { append: store.labels('append'), history: store.labels('history'), since: store.labels('since') };
    this.#layer = new Histogram({
      name: 'chat_layer_send_seconds',
      help: 'Time to hand a message to the channel layer for its room',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  stored(): void {
    this.#stored.inc();
  }

  errorFrame(code: ErrorCode): void {
    this.#errors.labels(code).inc();
  }

  /** Times `work` as a store operation. */
  timeStore<T>(operation: StoreOperation, work: () => Promise<T>): Promise<T> {
    return timed(this.#store[operation], work);
  }

  timeLayer<T>(work: () => Promise<T>): Promise<T> {
    return timed(this.#layer, work);
  }
}

export type StoreOperation = 'append' | 'history' | 'since';

function timed<T>(histogram: { observe(seconds: number): void }, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  return work().finally(() => histogram.observe((performance.now() - start) / 1000));
}
