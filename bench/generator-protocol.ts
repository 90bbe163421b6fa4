/** What the bench runner and its load generator (a child process) say to each other over IPC. */

export interface Target {
  readonly host: string;
  readonly port: number;
}

export interface ConnectCommand {
  readonly kind: 'connect';
  readonly targets: readonly Target[];
  readonly origin: string;
  /** One entry per client to open: its room, and which target it connects to. */
  readonly clients: readonly { readonly room: string; readonly target: number }[];
  /** `open`: the handshake is done; `presence`: the chat consumer's join is done (its first presence frame). */
  readonly readyOn: 'open' | 'presence';
  /** Handshakes in flight at once. */
  readonly concurrency: number;
  /** How the clients connect: a WebSocket (the default), Socket.IO over a WebSocket, or the HTTP fallback (an event stream and POSTs). */
  readonly transport?: 'websocket' | 'socket.io' | 'sse';
}

export interface StepCommand {
  readonly kind: 'step';
  readonly step: number;
  /** Messages per second, all senders together, sent on a fixed schedule (open loop). */
  readonly rate: number;
  readonly durationMs: number;
  /** The clients that send, in turn. */
  readonly senders: readonly number[];
  /** How long after the last send to wait for the deliveries still on their way. */
  readonly drainMs: number;
}

export interface CloseCommand {
  readonly kind: 'close';
}

export type GeneratorCommand = ConnectCommand | StepCommand | CloseCommand;

export interface ConnectReport {
  readonly kind: 'connected';
  readonly clients: number;
  readonly ms: number;
  /** The generator's own CPU time while it connected, to tell whether it was the bound. */
  readonly generatorCpuMs: number;
}

export interface StepReport {
  readonly kind: 'stepped';
  readonly sent: number;
  /** Deliveries due: each message counts once for every member of its room, the sender included. */
  readonly expected: number;
  readonly received: number;
  /** Error frames received (rate limits, store failures): any is a failed step. */
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The generator's own CPU time over the step, to tell whether it, not the server, was the bound. */
  readonly generatorCpuMs: number;
  readonly elapsedMs: number;
  /** How far the sending schedule fell behind at worst (a busy generator cannot keep the rate). */
  readonly scheduleLagMs: number;
}

export interface FailureReport {
  readonly kind: 'failed';
  readonly error: string;
}

export type GeneratorReport = ConnectReport | StepReport | FailureReport | { readonly kind: 'closed' };
