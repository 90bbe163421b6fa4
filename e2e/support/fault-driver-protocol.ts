/**
 * What the fault tests and their client driver (fault-driver.ts, a process of its own inside the
 * clients' namespace) say to each other: one JSON object per line, a command with an `id` on the
 * driver's standard input, its answer with the same `id` on the driver's standard output.
 */

export interface DriverApp {
  /** `app1`, `app2`: names the clients and readiness samples. */
  readonly name: string;
  /** `http://10.231.0.10:3000` */
  readonly http: string;
  /** `ws://10.231.0.10:3000` */
  readonly ws: string;
}

export interface DriverSetup {
  readonly apps: readonly DriverApp[];
  /** The Origin every socket sends (allowed by the servers). */
  readonly origin: string;
  readonly room: string;
  readonly clientsPerApp: number;
  /** One local address per client (app by app), so a client's own link can be cut. */
  readonly localAddresses: readonly string[];
  readonly messagesPerSecond: number;
  /** After this long without a frame, a client pings; silent `pongTimeoutMs` more, its socket is dead. */
  readonly pingAfterMs: number;
  readonly pongTimeoutMs: number;
  /** A socket not welcomed within this long is given up and another opened. */
  readonly connectTimeoutMs: number;
  /** A message refused `unavailable` (or `rate_limited`) is sent again this long after. */
  readonly retryMs: number;
  /** The first wait before reconnecting; it doubles per failed attempt, up to 2 s. */
  readonly reconnectMs: number;
  /** How often each app's `/readyz` is asked (one request at a time per app). */
  readonly probeEveryMs: number;
}

export type DriverCommand =
  | { readonly id: number; readonly cmd: 'start'; readonly setup: DriverSetup }
  | { readonly id: number; readonly cmd: 'sending'; readonly on: boolean }
  | { readonly id: number; readonly cmd: 'status' }
  | { readonly id: number; readonly cmd: 'report' }
  | { readonly id: number; readonly cmd: 'history'; readonly app: string };

export type DriverReply = { readonly id: number; readonly ok: true; readonly result: unknown } | { readonly id: number; readonly ok: false; readonly error: string };

export type ClientState = 'connecting' | 'open' | 'reconnecting';

export interface ClientStatus {
  readonly name: string;
  readonly app: string;
  readonly state: ClientState;
  readonly connections: number;
  readonly pending: number;
  readonly acked: number;
  readonly seen: number;
  /** Every id up to this one has been seen. */
  readonly contiguous: number;
  /** The latest first-send time among its acknowledged messages (0: none yet). */
  readonly lastAckedSentAt: number;
}

export interface DriverStatus {
  readonly clients: readonly ClientStatus[];
  /** No message is waiting for its echo, and every client has seen every id any client has seen. */
  readonly converged: boolean;
  /** Ids some client has seen and others not, summed over clients. */
  readonly missing: number;
  readonly pending: number;
  /** The latest `/readyz` status of each app (0: no answer), by app name. */
  readonly ready: Readonly<Record<string, number>>;
}

/** `[client_id, id, first sent at, acknowledged at, times sent]` */
export type AckedEntry = readonly [string, number, number, number, number];
/** `[client_id, first sent at, times sent]` */
export type PendingEntry = readonly [string, number, number];
/** `[id, first seen at, client_id]` */
export type SeenEntry = readonly [number, number, string | null];

export interface ConnectionRecord {
  readonly openedAt: number;
  readonly after: number | null;
  welcomedAt: number | null;
  closedAt: number | null;
  /** The close code, or why the client gave the socket up (`dead`: no pong; `connect timeout`). */
  closedBy: string | null;
}

export interface DuplicateRecord {
  readonly id: number;
  readonly at: number;
  /** The index of the connection in `connections`. */
  readonly connection: number;
  readonly how: 'twice on one connection' | 'at or below its after';
  /** The frames it came in: `history` or `live`, first and then again. */
  readonly via: string;
}

export interface ClientReport {
  readonly name: string;
  readonly app: string;
  readonly address: string;
  readonly userId: string | null;
  readonly acked: readonly AckedEntry[];
  readonly pending: readonly PendingEntry[];
  readonly seen: readonly SeenEntry[];
  readonly duplicates: readonly DuplicateRecord[];
  /** Ids above a resume's `after` sent again on the new connection: expected, counted. */
  readonly redelivered: number;
  /** Echoes of its own messages sent again (the stored copy, which may repeat one it has): not duplicates. */
  readonly retryEchoes: number;
  /** An id seen with two different client_ids, or a client_id acknowledged under two ids. */
  readonly conflicts: readonly string[];
  readonly connections: readonly ConnectionRecord[];
  readonly errors: Readonly<Record<string, number>>;
}

/** A `/readyz` answer that differs from the one before (status or body), and when it came. */
export interface ReadinessSample {
  readonly app: string;
  readonly at: number;
  /** The HTTP status, or 0 when the request failed or timed out. */
  readonly status: number;
  readonly body: string;
}

export interface DriverReport {
  readonly clients: readonly ClientReport[];
  readonly readiness: readonly ReadinessSample[];
  /** When the readiness of each app was last asked and answered. */
  readonly lastProbeAt: Readonly<Record<string, number>>;
}

/** `[id, client_id]`, oldest first. */
export type HistoryEntry = readonly [number, string | null];
