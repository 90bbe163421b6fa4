/** The bench runner's handle on the load generator process (`load-generator.ts`). */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import type { ConnectCommand, ConnectReport, GeneratorCommand, GeneratorReport, StepCommand, StepReport } from './generator-protocol';
import { GENERATOR_CORE } from './servers';
import { pin, raiseFileLimit } from './process-stats';

export class Generator {
  readonly #child: ChildProcess;
  #waiting: ((report: GeneratorReport) => void) | null = null;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (report: GeneratorReport) => {
      const waiting = this.#waiting;
      this.#waiting = null;
      waiting?.(report);
    });
    child.on('exit', (code) => {
      this.#waiting?.({ kind: 'failed', error: `the load generator exited with ${code}` });
      this.#waiting = null;
    });
  }

  static start(): Generator {
    const child = fork(path.join(__dirname, 'load-generator.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    if (child.pid === undefined) throw new Error('could not start the load generator');
    raiseFileLimit(child.pid);
    pin(child.pid, GENERATOR_CORE);
    return new Generator(child);
  }

  get pid(): number {
    return this.#child.pid!;
  }

  connect(command: Omit<ConnectCommand, 'kind'>): Promise<ConnectReport> {
    return this.#ask({ kind: 'connect', ...command }, 'connected');
  }

  step(command: Omit<StepCommand, 'kind'>): Promise<StepReport> {
    return this.#ask({ kind: 'step', ...command }, 'stepped');
  }

  /** Closes every client and ends the process. */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await this.#ask({ kind: 'close' }, 'closed').catch(() => {});
    this.#child.kill();
    await exited;
  }

  #ask<K extends GeneratorReport['kind']>(command: GeneratorCommand, expected: K): Promise<Extract<GeneratorReport, { kind: K }>> {
    return new Promise((resolve, reject) => {
      this.#waiting = (report) => {
        if (report.kind === expected) resolve(report as Extract<GeneratorReport, { kind: K }>);
        else reject(new Error(report.kind === 'failed' ? report.error : `expected ${expected}, got ${report.kind}`));
      };
      this.#child.send(command);
    });
  }
}
