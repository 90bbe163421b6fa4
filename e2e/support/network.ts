/**
 * A private network for fault tests, made of Linux network namespaces: one namespace per host,
 * each joined by a veth pair to a Linux bridge in a "switch" namespace, on addresses (10.231.0.x)
 * that exist only inside them. Nothing is added to the machine's own namespace and no packet
 * leaves these. Faults are iptables rules inside a host's namespace: a silent partition drops
 * everything to and from one peer (no reset, no ICMP: both ends wait, as on a real network), loss
 * drops a random share of the packets.
 *
 * Everything made here is removed by `dispose`, on process exit and on SIGINT/SIGTERM; a run that
 * died harder (SIGKILL) leaves namespaces named `ft<pid>-...`, which the next `create` removes.
 * Needs root: otherwise `create` fails with one line saying so.
 */
import { type ChildProcess, execFile, execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Every namespace of these tests is named `ft<pid>-<host>`: the pid tells a leftover from a live run. */
const FAMILY = /^ft(\d+)-/;
const SUBNET = '10.231.0';
const FIRST_HOST = 10;
const FIRST_EXTRA = 100;
/** Interface names are at most 15 bytes, and the switch's side is `v-<host>`. */
const HOST_NAME = /^[a-z][a-z0-9]{0,11}$/;

/** Thrown when the tests cannot build their network: not root, or a tool missing. */
export class NetworkUnavailable extends Error {
  override name = 'NetworkUnavailable';
}

export interface NetworkOptions {
  /** The hosts, each a namespace with one address (in this order: 10.231.0.10, .11, ...). */
  readonly hosts: readonly string[];
  /** Extra addresses on a host's interface (from 10.231.0.100 up), so that its clients can each have their own. */
  readonly extraAddresses?: Readonly<Record<string, number>>;
}

/** A fault in place; `heal` removes it (once; later calls do nothing). */
export interface Fault {
  readonly description: string;
  /** When it was put in place (ms since the epoch). */
  readonly since: number;
  heal(): Promise<void>;
}

/** The networks of this process not yet disposed, for the exit and signal handlers. */
const live = new Set<TestNetwork>();
let handlersInstalled = false;

export class TestNetwork {
  readonly prefix: string;
  readonly #hosts: ReadonlyMap<string, { readonly address: string; readonly extra: readonly string[] }>;
  readonly #processes = new Set<ChildProcess>();
  #disposed = false;

  private constructor(prefix: string, hosts: ReadonlyMap<string, { readonly address: string; readonly extra: readonly string[] }>) {
    this.prefix = prefix;
    this.#hosts = hosts;
  }

  /** Removes leftovers of crashed runs, then builds the network. */
  static async create(options: NetworkOptions): Promise<TestNetwork> {
    await assertUsable();
    sweepLeftovers();
    const prefix = `ft${process.pid}`;
    let extraNext = FIRST_EXTRA;
    const hosts = new Map<string, { address: string; extra: string[] }>();
    options.hosts.forEach((host, index) => {
      if (!HOST_NAME.test(host) || host === 'sw') throw new Error(`host names are 1 to 12 lowercase letters and digits (not "sw"), got ${JSON.stringify(host)}`);
      const extra = Array.from({ length: options.extraAddresses?.[host] ?? 0 }, () => `${SUBNET}.${extraNext++}`);
      hosts.set(host, { address: `${SUBNET}.${FIRST_HOST + index}`, extra });
    });
    if (extraNext > 250) throw new Error('too many addresses for one /24');
    const network = new TestNetwork(prefix, hosts);
    live.add(network);
    installHandlers();
    try {
      await network.#build();
    } catch (error) {
      await network.dispose();
      throw error;
    }
    return network;
  }

  /** The namespace of `host`, for `ip netns exec`. */
  namespace(host: string): string {
    this.#host(host);
    return `${this.prefix}-${host}`;
  }

  /** The address of `host` on the network. */
  address(host: string): string {
    return this.#host(host).address;
  }

  /** The extra addresses of `host` (see `NetworkOptions.extraAddresses`). */
  extraAddresses(host: string): readonly string[] {
    return this.#host(host).extra;
  }

  /** `file args` as a command run inside the namespace of `host`. */
  command(host: string, file: string, args: readonly string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.namespace(host), file, ...args]];
  }

  /** Runs a command inside `host` to its end; resolves with its output, rejects when it fails. */
  async exec(host: string, file: string, args: readonly string[]): Promise<string> {
    const [command, commandArgs] = this.command(host, file, args);
    return (await run(command, commandArgs)).stdout;
  }

  /** Starts a long-lived process inside `host`; it is killed by `dispose` if still running. */
  spawn(host: string, file: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const [command, commandArgs] = this.command(host, file, args);
    const child = spawn(command, commandArgs, options);
    this.#processes.add(child);
    child.once('exit', () => this.#processes.delete(child));
    return child;
  }

  /**
   * Cuts `host` from `peer` (a host name or an address) silently: inside `host`, every packet
   * from the peer is dropped on the way in and every packet to it on the way out. Neither end
   * gets an error; their connections just stop carrying anything until `heal`. With `local`
   * (one of the host's addresses), only that address is cut: one client among several.
   */
  async partition(host: string, peer: string, { local }: { readonly local?: string } = {}): Promise<Fault> {
    const address = this.#resolve(peer);
    const mine = local === undefined ? { in: [], out: [] } : { in: ['-d', local], out: ['-s', local] };
    return this.#fault(host, `${local ?? host} cut from ${peer}`, [
      ['INPUT', '-s', address, ...mine.in, '-j', 'DROP'],
      ['OUTPUT', '-d', address, ...mine.out, '-j', 'DROP'],
    ]);
  }

  /**
   * Destroys every TCP socket inside `host` to `peer` (`ss -K`): a killed process's sockets
   * outlive it in the kernel, which goes on sending what they hold once a partition heals, as a
   * crashed machine would not. Answers how many were left afterwards (0). Sockets in TIME-WAIT
   * (closed cleanly, by an earlier process) hold nothing to send: they are neither destroyed
   * (the kernel cannot) nor counted.
   */
  async destroySockets(host: string, peer: string): Promise<number> {
    const address = this.#resolve(peer);
    const filter = ['state', 'all', 'exclude', 'time-wait', 'dst', address];
    await this.exec(host, 'ss', ['-K', '-t', ...filter]);
    const left = await this.exec(host, 'ss', ['-H', '-t', ...filter]);
    return left.split('\n').filter((line) => line.trim() !== '').length;
  }

  /** Drops a random `probability` of the packets between `host` and each of `peers`, both ways. */
  async loss(host: string, peers: readonly string[], probability: number): Promise<Fault> {
    if (!(probability > 0 && probability < 1)) throw new RangeError(`a loss probability is between 0 and 1, got ${probability}`);
    const random = ['-m', 'statistic', '--mode', 'random', '--probability', String(probability), '-j', 'DROP'];
    const rules = peers.flatMap((peer) => {
      const address = this.#resolve(peer);
      return [
        ['INPUT', '-s', address, ...random],
        ['OUTPUT', '-d', address, ...random],
      ];
    });
    return this.#fault(host, `${Math.round(probability * 100)}% loss between ${host} and ${peers.join(', ')}`, rules);
  }

  /** Kills every process left in the namespaces and deletes them. */
  dispose(): Promise<void> {
    this.removeSync();
    return Promise.resolve();
  }

  /** `dispose`, synchronously: what the exit handler can still do. */
  removeSync(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    live.delete(this);
    for (const child of this.#processes) child.kill('SIGKILL');
    for (const namespace of [...[...this.#hosts.keys()].map((host) => `${this.prefix}-${host}`), `${this.prefix}-sw`]) removeNamespaceSync(namespace);
  }

  async #build(): Promise<void> {
    const sw = `${this.prefix}-sw`;
    const ip = (...args: string[]) => run('ip', args);
    await ip('netns', 'add', sw);
    await ip('-n', sw, 'link', 'set', 'lo', 'up');
    await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', sw, 'link', 'set', 'br0', 'up');
    for (const [host, { address, extra }] of this.#hosts) {
      const namespace = `${this.prefix}-${host}`;
      await ip('netns', 'add', namespace);
      await ip('-n', namespace, 'link', 'set', 'lo', 'up');
      // Made inside the switch with its peer created straight in the host: never in the root namespace.
      await ip('-n', sw, 'link', 'add', `v-${host}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
      await ip('-n', sw, 'link', 'set', `v-${host}`, 'master', 'br0', 'up');
      for (const each of [address, ...extra]) await ip('-n', namespace, 'addr', 'add', `${each}/24`, 'dev', 'eth0');
      await ip('-n', namespace, 'link', 'set', 'eth0', 'up');
    }
  }

  async #fault(host: string, description: string, rules: readonly (readonly string[])[]): Promise<Fault> {
    const iptables = (action: '-I' | '-D', rule: readonly string[]) => this.exec(host, 'iptables', ['-w', action, ...rule]);
    for (const rule of rules) await iptables('-I', rule);
    let healed = false;
    return {
      description,
      since: Date.now(),
      heal: async () => {
        if (healed || this.#disposed) return;
        healed = true;
        for (const rule of rules) await iptables('-D', rule);
      },
    };
  }

  #host(host: string): { readonly address: string; readonly extra: readonly string[] } {
    const found = this.#hosts.get(host);
    if (!found) throw new Error(`no host ${JSON.stringify(host)} in this network (hosts: ${[...this.#hosts.keys()].join(', ')})`);
    return found;
  }

  #resolve(peer: string): string {
    return /^\d+\.\d+\.\d+\.\d+$/.test(peer) ? peer : this.address(peer);
  }
}

async function assertUsable(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new NetworkUnavailable('the fault tests need root (they make network namespaces and iptables rules): run them as root, as CI does');
  }
  for (const [tool, args, pkg] of [
    ['ip', ['-V'], 'iproute2'],
    ['iptables', ['-V'], 'iptables'],
  ] as const) {
    await run(tool, [...args]).catch(() => {
      throw new NetworkUnavailable(`the fault tests need ${tool} (apt-get install ${pkg}; scripts/ensure-system-packages.sh does it)`);
    });
  }
}

/** Deletes the namespaces of earlier runs of these tests whose process is gone. */
function sweepLeftovers(): void {
  const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(Boolean);
  for (const name of names) {
    const pid = Number(FAMILY.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    removeNamespaceSync(name);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills the processes inside a namespace (a namespace outlives its name while any remains), then deletes it. */
function removeNamespaceSync(namespace: string): void {
  let pids: number[] = [];
  try {
    pids = execFileSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .map(Number)
      .filter((pid) => pid > 0);
  } catch {
    return; // no such namespace
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  try {
    execFileSync('ip', ['netns', 'delete', namespace], { stdio: 'ignore' });
  } catch {
    // Deleted meanwhile.
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const removeAll = (): void => {
    for (const network of live) network.removeSync();
  };
  process.once('exit', removeAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      removeAll();
      process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const)[signal]);
    });
  }
}
