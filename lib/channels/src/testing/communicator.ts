import type { IncomingHttpHeaders } from 'node:http';
import type { Application, Environment } from '../application';
import { CloseCode } from '../close-codes';
import type { Connection, ConnectionListener, ConnectionState, OutgoingFrame, Transport } from '../connection';
import { HandshakeError } from '../errors';
import { encodePayload } from '../frames';
import { silentLogger } from '../logger';
import type { ChannelLayer } from '../layers/types';
import { InMemoryPresence } from '../presence/in-memory';
import type { PresenceTracker } from '../presence/types';
import { createScope } from '../scope';

/** What the test's connection looks like to the application. */
export interface CommunicatorOptions {
  /** The handshake's request headers, lower-case: `origin` and `cookie` for the middleware. */
  readonly headers?: IncomingHttpHeaders;
  /** The client's address in the scope (default 127.0.0.1, port 50000). */
  readonly client?: {
    /** The address, as the socket's `remoteAddress` would be. */
    readonly address: string;
    /** The client's port. */
    readonly port: number;
  };
  /** The layer the application runs with (default none). */
  readonly layer?: ChannelLayer | null;
  /** Where the application logs (default nowhere). */
  readonly logger?: Environment['logger'];
  /**
   * The presence tracker the application runs with (default: with a layer, one `InMemoryPresence`
   * shared by every communicator on that layer; without, none).
   */
  readonly presence?: PresenceTracker | null;
  /** The transport the consumer is told it runs on (default `websocket`). */
  readonly transport?: Transport;
}

/** The default presence of the communicators on one layer, so that they see each other. */
const presenceByLayer = new WeakMap<ChannelLayer, PresenceTracker>();

function defaultPresence(layer: ChannelLayer | null): PresenceTracker | null {
  if (layer === null) return null;
  let presence = presenceByLayer.get(layer);
  if (presence === undefined) {
    presence = new InMemoryPresence();
    presenceByLayer.set(layer, presence);
  }
  return presence;
}

/**
 * How the handshake ended: accepted, or refused with the HTTP status the server would have
 * answered (404 for no route, 403 for a denial, 500 for a crash) and its reason.
 */
export type ConnectOutcome =
  | {
      /** The application accepted the connection. */
      readonly accepted: true;
    }
  | {
      /** The application refused the connection (or crashed) before accepting. */
      readonly accepted: false;
      /** The HTTP status of the refusal. */
      readonly status: number;
      /** Why, as the `HandshakeError` said. */
      readonly reason: string;
    };

type Output = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'close'; readonly code: number };

const DEFAULT_TIMEOUT_MS = 1_000;

/**
 * Drives an application (a consumer, or a router with its middleware) without a network, like
 * Django Channels' `WebsocketCommunicator`:
 *
 * ```ts
 * const client = new WebsocketCommunicator(app, '/ws/chat/lobby/', { layer });
 * assert.deepEqual(await client.connect(), { accepted: true });
 * client.sendJson({ message: 'hi' });
 * const frame = await client.receiveJson();
 * await client.disconnect();
 * ```
 */
export class WebsocketCommunicator {
  readonly #application: Application;
  readonly #path: string;
  readonly #options: CommunicatorOptions;
  readonly #connection: InMemoryConnection;

  constructor(application: Application, path: string, options: CommunicatorOptions = {}) {
    this.#application = application;
    this.#path = path;
    this.#options = options;
    this.#connection = new InMemoryConnection(options.transport ?? 'websocket');
  }

  /** Opens the connection; resolves with the outcome of the handshake. */
  async connect({ timeoutMs = DEFAULT_TIMEOUT_MS } = {}): Promise<ConnectOutcome> {
    const scope = createScope(this.#path, this.#options.headers ?? {}, this.#options.client ?? {
      address: '127.0.0.1',
      port: 50000,
    });
    const layer = this.#options.layer ?? null;
    const presence = this.#options.presence !== undefined ? this.#options.presence : defaultPresence(layer);
    const env: Environment = { layer, logger: this.#options.logger ?? silentLogger, presence };
    const running = this.#application(scope, this.#connection, env).catch((error: unknown) => {
      if (this.#connection.state !== 'handshake') return;
      if (error instanceof HandshakeError) this.#connection.reject(error.status, error.message);
      else this.#connection.reject(500, 'internal error');
    });
    await withTimeout(running, timeoutMs, 'the application did not accept or refuse the connection');
    const refusal = this.#connection.refusal;
    return refusal ? { accepted: false, ...refusal } : { accepted: true };
  }

  /** Sends a text frame from the client. Throws unless the connection is open. */
  sendText(text: string): void {
    this.#connection.fromClient((listener) => listener.text(text));
  }

  /** Sends `value` as a JSON text frame from the client. */
  sendJson(value: unknown): void {
    this.sendText(JSON.stringify(value));
  }

  /** Sends a binary frame from the client. */
  sendBinary(data: Buffer): void {
    this.#connection.fromClient((listener) => listener.binary(data));
  }

  /** The next text frame from the application; rejects if it closes instead. */
  async receiveText({ timeoutMs = DEFAULT_TIMEOUT_MS } = {}): Promise<string> {
    const output = await withTimeout(this.#connection.next(), timeoutMs, 'no frame arrived');
    if (output.kind === 'close') throw new Error(`expected a frame, the connection closed with ${output.code}`);
    return output.text;
  }

  /** The next text frame, parsed as JSON (`T` is the caller's word for it, not checked). */
  async receiveJson<T = unknown>(options: { timeoutMs?: number } = {}): Promise<T> {
    return JSON.parse(await this.receiveText(options)) as T;
  }

  /** The code the application closed with; rejects if a text frame comes first. */
  async receiveClose({ timeoutMs = DEFAULT_TIMEOUT_MS } = {}): Promise<number> {
    const output = await withTimeout(this.#connection.next(), timeoutMs, 'the connection did not close');
    if (output.kind === 'text') throw new Error(`expected a close, got the frame ${output.text}`);
    return output.code;
  }

  /**
   * True when nothing is waiting once the application has handled everything sent to it and
   * `timeoutMs` more have passed (for work it does on timers of its own).
   */
  async receiveNothing({ timeoutMs = 10 } = {}): Promise<boolean> {
    await this.#connection.settled();
    if (this.#connection.pending > 0) return false;
    await new Promise((resolve) => setTimeout(resolve, timeoutMs));
    await this.#connection.settled();
    return this.#connection.pending === 0;
  }

  /** Closes from the client side and waits until the application has handled it. */
  async disconnect(code: number = CloseCode.Normal): Promise<void> {
    this.#connection.clientClosed(code);
    await this.#connection.settled();
  }
}

/** Both ends of a connection in memory: the application's `Connection`, the test's queue. */
class InMemoryConnection implements Connection {
  state: ConnectionState = 'handshake';
  readonly transport: Transport;
  refusal: { status: number; reason: string } | null = null;
  readonly bufferedAmount = 0;
  #listener: ConnectionListener | null = null;
  readonly #outputs: Output[] = [];
  #waiting: ((output: Output) => void) | null = null;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  get pending(): number {
    return this.#outputs.length;
  }

  async accept(listener: ConnectionListener): Promise<void> {
    if (this.state !== 'handshake') throw new Error(`cannot accept a connection that is ${this.state}`);
    this.#listener = listener;
    this.state = 'open';
  }

  reject(status: number, reason: string): void {
    if (this.state !== 'handshake') throw new Error(`cannot reject a connection that is ${this.state}`);
    this.refusal = { status, reason };
    this.state = 'closed';
  }

  send(frame: OutgoingFrame): void {
    if (this.state !== 'open') return;
    this.#push({ kind: 'text', text: encodePayload(frame) });
  }

  /** Nothing is ever waiting to be written in memory. */
  async whenSent(): Promise<void> {}

  close(code: number): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.#push({ kind: 'close', code });
    // The test's side answers the close at once, as a browser does.
    this.state = 'closed';
    this.#listener?.closed(code);
  }

  fromClient(deliver: (listener: ConnectionListener) => void): void {
    if (this.state !== 'open' || !this.#listener) throw new Error(`cannot send on a connection that is ${this.state}`);
    deliver(this.#listener);
  }

  clientClosed(code: number): void {
    if (this.state === 'closed' || this.state === 'handshake') return;
    this.state = 'closed';
    this.#listener?.closed(code);
  }

  async settled(): Promise<void> {
    await this.#listener?.whenIdle();
  }

  next(): Promise<Output> {
    const output = this.#outputs.shift();
    if (output) return Promise.resolve(output);
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  #push(output: Output): void {
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = null;
      waiting(output);
    } else {
      this.#outputs.push(output);
    }
  }
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
