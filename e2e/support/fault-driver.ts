/**
 * The clients of the fault tests, as a process of its own inside the clients' namespace
 * (`ip netns exec <ns> node --import tsx e2e/support/fault-driver.ts`), driven over standard
 * input and output (see fault-driver-protocol.ts). It opens `clientsPerApp` WebSocket clients on
 * each app, in one room, each from its own address and with its own session. Each sends
 * `messagesPerSecond` chat messages with a `client_id` and keeps every one until its echo comes
 * back, as lib/client/chat-client.ts does: sent again after `unavailable`, and after every
 * reconnect, which resumes with `?after=<the highest id it has with none missing below>`. It
 * records every id each client receives and when, every acknowledgement, every duplicate, and
 * the readiness of each app, and answers `report` with all of it.
 */
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import type {
  ClientReport,
  ClientState,
  ClientStatus,
  ConnectionRecord,
  DriverApp,
  DriverCommand,
  DriverReport,
  DriverReply,
  DriverSetup,
  DriverStatus,
  DuplicateRecord,
} from './fault-driver-protocol';
import { ReadinessProbe, readHistory, sessionCookie } from './fault-driver-reads';

type Frame = Record<string, unknown>;

interface Pending {
  readonly text: string;
  readonly firstSentAt: number;
  sends: number;
}

class Client {
  readonly name: string;
  readonly app: DriverApp;
  readonly address: string;
  readonly #setup: DriverSetup;
  #cookie = '';
  #userId: string | null = null;
  #socket: WebSocket | null = null;
  #state: ClientState = 'connecting';
  #sequence = 0;
  readonly #pending = new Map<string, Pending>();
  readonly #acked = new Map<string, [string, number, number, number, number]>();
  readonly #seen = new Map<number, [number, number, string | null]>();
  #contiguous = 0;
  readonly #connections: ConnectionRecord[] = [];
  /** Ids received on the current connection, and in what frame (`history` or `live`). */
  #onThisConnection = new Map<number, string>();
  readonly #duplicates: DuplicateRecord[] = [];
  #redelivered = 0;
  #retryEchoes = 0;
  readonly #conflicts: string[] = [];
  readonly #errors: Record<string, number> = {};
  #heardAt = 0;
  #pingSentAt: number | null = null;
  #failedAttempts = 0;
  #reconnectTimer: NodeJS.Timeout | null = null;

  constructor(name: string, app: DriverApp, address: string, setup: DriverSetup) {
    this.name = name;
    this.app = app;
    this.address = address;
    this.#setup = setup;
  }

  /** Gets a session (a page load), then connects; resolves once welcomed. */
  async start(): Promise<void> {
    this.#cookie = await sessionCookie(this.app.http, this.address);
    const welcomed = new Promise<void>((resolve) => (this.#onWelcome = resolve));
    this.#connect();
    await welcomed;
  }

  #onWelcome: (() => void) | null = null;

  /** Queues a new message and sends it if the socket is open. */
  sendNew(): void {
    const clientId = `${this.name}-${++this.#sequence}`;
    const pending: Pending = { text: `${this.name} message ${this.#sequence}`, firstSentAt: Date.now(), sends: 0 };
    this.#pending.set(clientId, pending);
    this.#transmit(clientId, pending);
  }

  /** Pings a quiet socket; gives up one silent past its pong timeout. */
  heartbeat(now: number): void {
    if (this.#state !== 'open' || this.#socket === null) return;
    if (this.#pingSentAt !== null && this.#heardAt <= this.#pingSentAt && now - this.#pingSentAt > this.#setup.pongTimeoutMs) {
      this.#giveUp('dead');
      return;
    }
    if (now - this.#heardAt > this.#setup.pingAfterMs && (this.#pingSentAt === null || this.#heardAt > this.#pingSentAt)) {
      this.#pingSentAt = now;
      this.#socket.send('{"type":"ping"}');
    }
  }

  get seenIds(): ReadonlyMap<number, unknown> {
    return this.#seen;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  status(): ClientStatus {
    let lastAckedSentAt = 0;
    for (const [, , , firstSentAt] of this.#acked.values()) lastAckedSentAt = Math.max(lastAckedSentAt, firstSentAt);
    return {
      name: this.name,
      app: this.app.name,
      state: this.#state,
      connections: this.#connections.length,
      pending: this.#pending.size,
      acked: this.#acked.size,
      seen: this.#seen.size,
      contiguous: this.#contiguous,
      lastAckedSentAt,
    };
  }

  report(): ClientReport {
    return {
      name: this.name,
      app: this.app.name,
      address: this.address,
      userId: this.#userId,
      acked: [...this.#acked.values()].map(([clientId, id, sentAt, ackedAt, sends]) => [clientId, id, sentAt, ackedAt, sends]),
      pending: [...this.#pending].map(([clientId, pending]) => [clientId, pending.firstSentAt, pending.sends]),
      seen: [...this.#seen.values()],
      duplicates: this.#duplicates,
      redelivered: this.#redelivered,
      retryEchoes: this.#retryEchoes,
      conflicts: this.#conflicts,
      connections: this.#connections,
      errors: this.#errors,
    };
  }

  #connect(): void {
    this.#reconnectTimer = null;
    const after = this.#contiguous > 0 ? this.#contiguous : null;
    const url = `${this.app.ws}/ws/chat/${this.#setup.room}/${after === null ? '' : `?after=${after}`}`;
    const record: ConnectionRecord = { openedAt: Date.now(), after, welcomedAt: null, closedAt: null, closedBy: null };
    this.#connections.push(record);
    const index = this.#connections.length - 1;
    this.#onThisConnection = new Map();
    const socket = new WebSocket(url, { headers: { origin: this.#setup.origin, cookie: this.#cookie }, localAddress: this.address });
    this.#socket = socket;
    const connectTimer = setTimeout(() => {
      if (this.#socket === socket && record.welcomedAt === null) this.#giveUp('connect timeout');
    }, this.#setup.connectTimeoutMs);
    socket.on('message', (data: Buffer) => {
      if (this.#socket !== socket) return;
      this.#heardAt = Date.now();
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        this.#errors.unparsable = (this.#errors.unparsable ?? 0) + 1;
        return;
      }
      if (frame.type === 'welcome') {
        clearTimeout(connectTimer);
        record.welcomedAt = Date.now();
        this.#welcomed(frame);
      } else {
        this.#handle(frame, index, after ?? 0);
      }
    });
    socket.on('close', (code: number) => {
      clearTimeout(connectTimer);
      if (record.closedAt === null) {
        record.closedAt = Date.now();
        record.closedBy = String(code);
      }
      if (this.#socket === socket) this.#lost();
    });
    socket.on('error', () => {
      // 'close' follows.
    });
  }

  #welcomed(frame: Frame): void {
    this.#userId = String(frame.user_id);
    this.#state = 'open';
    this.#failedAttempts = 0;
    this.#pingSentAt = null;
    this.#onWelcome?.();
    this.#onWelcome = null;
    for (const [clientId, pending] of this.#pending) this.#transmit(clientId, pending);
  }

  #handle(frame: Frame, connection: number, after: number): void {
    switch (frame.type) {
      case 'history':
        for (const message of frame.messages as Frame[]) this.#received(message, connection, after, 'history');
        return;
      case 'chat.message': {
        const clientId = typeof frame.client_id === 'string' ? frame.client_id : null;
        const own = clientId !== null && frame.user_id === this.#userId;
        // The answer to a message sent again is its stored copy, to the sender alone, even when
        // this connection has it already (from the resume's history): an acknowledgement, not a
        // second delivery.
        const retried = own && (this.#pending.get(clientId)?.sends ?? 0) > 1;
        this.#received(frame, connection, after, retried ? 'echo of a retry' : 'live');
        if (!own) return;
        const id = Number(frame.id);
        const acked = this.#acked.get(clientId);
        if (acked) {
          if (acked[1] !== id) this.#conflicts.push(`${clientId} acknowledged as ${acked[1]} and then as ${id}`);
          return;
        }
        const pending = this.#pending.get(clientId);
        if (!pending) return;
        this.#pending.delete(clientId);
        this.#acked.set(clientId, [clientId, id, pending.firstSentAt, Date.now(), pending.sends]);
        return;
      }
      case 'error': {
        const code = String(frame.code);
        this.#errors[code] = (this.#errors[code] ?? 0) + 1;
        const clientId = typeof frame.client_id === 'string' ? frame.client_id : null;
        if ((code === 'unavailable' || code === 'rate_limited') && clientId !== null) {
          const socket = this.#socket;
          setTimeout(() => {
            const pending = this.#pending.get(clientId);
            if (pending && this.#socket === socket) this.#transmit(clientId, pending);
          }, this.#setup.retryMs);
        }
        return;
      }
      default:
        return;
    }
  }

  #received(message: Frame, connection: number, after: number, via: 'history' | 'live' | 'echo of a retry'): void {
    const id = Number(message.id);
    const clientId = typeof message.client_id === 'string' ? message.client_id : null;
    const now = Date.now();
    const before = this.#onThisConnection.get(id);
    // The stored copy sent back for a message sent again may come beside its broadcast, in
    // either order: the protocol's acknowledgement, not a second delivery.
    if (via === 'echo of a retry' || before === 'echo of a retry') this.#retryEchoes++;
    else if (id <= after) this.#duplicates.push({ id, at: now, connection, how: 'at or below its after', via });
    else if (before !== undefined) this.#duplicates.push({ id, at: now, connection, how: 'twice on one connection', via: `${before}, then ${via}` });
    this.#onThisConnection.set(id, via);
    const seen = this.#seen.get(id);
    if (seen) {
      if (seen[2] !== clientId) this.#conflicts.push(`id ${id} seen as ${seen[2]} and as ${clientId}`);
      else if (id > after && connection > 0) this.#redelivered++;
      return;
    }
    this.#seen.set(id, [id, now, clientId]);
    while (this.#seen.has(this.#contiguous + 1)) this.#contiguous++;
  }

  #transmit(clientId: string, pending: Pending): void {
    const socket = this.#socket;
    if (this.#state !== 'open' || socket === null || socket.readyState !== WebSocket.OPEN) return;
    pending.sends++;
    socket.send(JSON.stringify({ type: 'chat.message', message: pending.text, client_id: clientId }));
  }

  #giveUp(reason: string): void {
    const socket = this.#socket;
    const record = this.#connections.at(-1);
    if (record && record.closedAt === null) {
      record.closedAt = Date.now();
      record.closedBy = reason;
    }
    socket?.terminate();
    this.#lost();
  }

  #lost(): void {
    this.#socket = null;
    if (this.#reconnectTimer !== null) return;
    this.#state = 'reconnecting';
    const delay = Math.min(2_000, this.#setup.reconnectMs * 2 ** this.#failedAttempts++);
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }
}

function main(): void {
  let clients: Client[] = [];
  let setup: DriverSetup | null = null;
  let probe: ReadinessProbe | null = null;
  let senders: NodeJS.Timeout[] = [];
  /** Bumped by every `sending` command, so a sender due to start under an older one does not. */
  let sendingGeneration = 0;
  const reply = (message: DriverReply): void => void process.stdout.write(`${JSON.stringify(message)}\n`);

  const status = (): DriverStatus => {
    const union = new Set<number>();
    for (const client of clients) for (const id of client.seenIds.keys()) union.add(id);
    let missing = 0;
    let pending = 0;
    for (const client of clients) {
      missing += union.size - client.seenIds.size;
      pending += client.pendingCount;
    }
    const ready: Record<string, number> = {};
    for (const sample of probe?.samples ?? []) ready[sample.app] = sample.status;
    return { clients: clients.map((client) => client.status()), converged: missing === 0 && pending === 0, missing, pending, ready };
  };

  const handle = async (command: DriverCommand): Promise<unknown> => {
    switch (command.cmd) {
      case 'start': {
        setup = command.setup;
        const { apps, clientsPerApp, localAddresses } = setup;
        clients = apps.flatMap((app, a) =>
          Array.from({ length: clientsPerApp }, (_, c) => new Client(`${app.name}c${c}`, app, localAddresses[a * clientsPerApp + c]!, command.setup)),
        );
        if (localAddresses.length < clients.length) throw new Error(`${clients.length} clients need as many local addresses, got ${localAddresses.length}`);
        probe = new ReadinessProbe(apps, setup.probeEveryMs);
        await Promise.all(clients.map((client) => client.start()));
        setInterval(() => {
          const now = Date.now();
          for (const client of clients) client.heartbeat(now);
        }, 100);
        return status();
      }
      case 'sending': {
        for (const timer of senders) clearInterval(timer);
        senders = [];
        const generation = ++sendingGeneration;
        if (command.on && setup) {
          const every = 1_000 / setup.messagesPerSecond;
          // Spread over the interval, so the room gets a steady stream rather than bursts.
          clients.forEach((client, index) => {
            setTimeout(() => {
              if (generation === sendingGeneration) senders.push(setInterval(() => client.sendNew(), every));
            }, (every * index) / clients.length);
          });
        }
        return null;
      }
      case 'status':
        return status();
      case 'report':
        return { clients: clients.map((client) => client.report()), readiness: probe?.samples ?? [], lastProbeAt: probe?.lastProbeAt ?? {} } satisfies DriverReport;
      case 'history': {
        const app = setup?.apps.find((each) => each.name === command.app);
        if (!setup || !app) throw new Error(`no app ${command.app}`);
        return readHistory(setup, app);
      }
    }
  };

  createInterface({ input: process.stdin }).on('line', (line) => {
    const command = JSON.parse(line) as DriverCommand;
    handle(command).then(
      (result) => reply({ id: command.id, ok: true, result }),
      (error: unknown) => reply({ id: command.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
  });
  // The test is gone: so are we.
  process.stdin.on('end', () => process.exit(0));
}

main();
