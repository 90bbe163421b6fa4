/**
 * What the transport counts, for an app that wants figures: each method is called once per
 * event, on the hot path, so an implementation only bumps numbers. `next-channels/prometheus`
 * provides one over prom-client.
 */
export interface TransportMetrics {
  /** A WebSocket connection was accepted. */
  opened(): void;
  /** A connection closed with `code` (1006: dropped without one). */
  closed(code: number): void;
  /** A WebSocket handshake was refused with an HTTP `status`. */
  refused(status: number): void;
  /** An HTTP connection was dropped by the per-address cap of `createGuardedServer`. */
  httpDropped(reason: 'refused' | 'idle_closed'): void;
  /**
   * A connection of the HTTP fallback opened (`+1`) or closed (`-1`); `opened` and `closed` count
   * it too, with the WebSockets.
   */
  fallbackOpen?(change: 1 | -1): void;
  /**
   * A fallback POST was answered: its stream was in this process (`local`), in another one
   * (`relayed`, through the channel layer), or it was refused (bad token, gone, over a budget).
   */
  fallbackPost?(outcome: FallbackPostOutcome): void;
  /** A frame came from a client. */
  received(): void;
  /** A frame went to a client (a broadcast counts once per member). */
  sent(): void;
}

/** Where a fallback POST went: see {@link TransportMetrics.fallbackPost}. */
export type FallbackPostOutcome = 'local' | 'relayed' | 'refused';
