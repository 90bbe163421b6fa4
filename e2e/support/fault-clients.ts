/**
 * The test's handle on the client driver (fault-driver.ts): starts it inside a namespace of the
 * test network and sends it commands, one JSON line each, resolving with its answers.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from './app-server';
import type { DriverCommand, DriverReport, DriverReply, DriverSetup, DriverStatus, HistoryEntry } from './fault-driver-protocol';
import type { TestNetwork } from './network';

type Request = DriverCommand extends infer C ? (C extends { readonly id: number } ? Omit<C, 'id'> : never) : never;

export class ClientDriver {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 0;
  #stderr = '';
  readonly #exited: Promise<void>;

  private constructor(child: ChildProcess) {
    this.#child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let reply: DriverReply;
      try {
        reply = JSON.parse(line) as DriverReply;
      } catch {
        this.#stderr += `${line}\n`;
        return;
      }
      const waiting = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      if (reply.ok) waiting?.resolve(reply.result);
      else waiting?.reject(new Error(`client driver: ${reply.error}`));
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.#stderr = (this.#stderr + chunk.toString()).slice(-4_000)));
    this.#exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        for (const { reject } of this.#waiting.values()) reject(new Error(`the client driver exited (${code ?? signal}):\n${this.#stderr}`));
        this.#waiting.clear();
        resolve();
      }),
    );
  }

  /** Starts the driver inside `host` and its clients; resolves once every client is welcomed. */
  static async start(network: TestNetwork, host: string, setup: DriverSetup): Promise<{ driver: ClientDriver; status: DriverStatus }> {
    const child = network.spawn(host, process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'e2e', 'support', 'fault-driver.ts')], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const driver = new ClientDriver(child);
    try {
      const status = (await driver.#ask({ cmd: 'start', setup }, 60_000)) as DriverStatus;
      return { driver, status };
    } catch (error) {
      await driver.dispose();
      throw error;
    }
  }

  /** Starts or stops every client making new messages (unacknowledged ones are still sent again). */
  async sending(on: boolean): Promise<void> {
    await this.#ask({ cmd: 'sending', on });
  }

  status(): Promise<DriverStatus> {
    return this.#ask({ cmd: 'status' }) as Promise<DriverStatus>;
  }

  report(): Promise<DriverReport> {
    return this.#ask({ cmd: 'report' }) as Promise<DriverReport>;
  }

  /** The whole room as a fresh socket to `app` reads it. */
  history(app: string): Promise<HistoryEntry[]> {
    return this.#ask({ cmd: 'history', app }, 40_000) as Promise<HistoryEntry[]>;
  }

  /** Polls the status until `done` holds, or rejects after `timeoutMs` with the last status. */
  async until(done: (status: DriverStatus) => boolean, what: string, timeoutMs: number, everyMs = 200): Promise<DriverStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status();
      if (done(status)) return status;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last status ${JSON.stringify(status)}`);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }

  async dispose(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.stdin?.end();
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 2_000);
      await this.#exited;
      clearTimeout(timer);
    }
  }

  #ask(request: Request, timeoutMs = 20_000): Promise<unknown> {
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`client driver: no answer to ${request.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#child.stdin!.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }
}
