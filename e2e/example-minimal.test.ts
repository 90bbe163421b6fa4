/**
 * examples/minimal as its users get it: the package packed with `npm pack`, the example copied to
 * a folder outside this repository and installed there from the tarball (next and react from the
 * local npm cache), its own communicator test run, built, and served in production and in
 * development, with Chromium checking the page's socket and the route handler that sends to the
 * room's group; in development, a save of the consumer reaches the open socket without a
 * reconnect. The poll page, on the package's React hooks, keeps one socket for all its parts, shows
 * who is here, answers a request, asks a page without a session to sign in (and that page does not
 * retry), lets in those who signed in through the login page (an iron-session cookie, which the
 * socket's resolver reads) until they sign out, and comes back by itself after the server is
 * stopped and started again; without SESSION_PASSWORD, the production server refuses to start.
 * Nothing of the repository is on the example's paths: only the tarball.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { access, constants, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page, type WebSocket as PageSocket } from '@playwright/test';
import { freePort } from '../lib/testing/engines';
import { chromiumLaunchOptions } from './support/chromium';
import { startNginx } from './support/nginx';

const run = promisify(execFile);
const REPOSITORY = path.resolve(__dirname, '..');
const PACKAGE_DIR = path.join(REPOSITORY, 'lib', 'channels');
const EXAMPLE_DIR = path.join(REPOSITORY, 'examples', 'minimal');
const ROOM_SOCKET = /\/ws\/room\/lobby\/$/;
/** The production servers' secret for the login's cookies: the same across a restart, so sessions outlive it. */
const PRODUCTION = { NODE_ENV: 'production', SESSION_PASSWORD: 'the e2e secret of the example, 32 characters or more' };

/**
 * The environment of a shell outside this repository: none of the variables `npm test` sets for
 * the root project's scripts (its package, its lifecycle, its `.npmrc`), but the npm cache.
 */
function outsideEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(name) && !/^npm_config_(cache|userconfig|registry)$/i.test(name)) continue;
    // NODE_TEST_CONTEXT would make the example's own test runner report to this one's.
    if (['INIT_CWD', 'HOSTNAME', 'PORT', 'NODE_ENV', 'NODE_OPTIONS', 'NODE_TEST_CONTEXT'].includes(name)) continue;
    env[name] = value;
  }
  // This Node first on the PATH: the example's bin runs with `#!/usr/bin/env node`.
  env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;
  // NODE_ENV is left out on purpose: each command chooses its own, as from a shell.
  Object.assign(env, { NEXT_TELEMETRY_DISABLED: '1' }, extra);
  return env as NodeJS.ProcessEnv;
}

/** A server of the example, in a process group of its own; its output is kept for waits and failures. */
class ExampleServer {
  readonly port: number;
  #child: ChildProcess;
  #output = '';
  readonly #exited: Promise<number | null>;

  constructor(command: string, args: readonly string[], cwd: string, port: number, env: Record<string, string> = {}) {
    this.port = port;
    this.#child = spawn(command, args, { cwd, env: outsideEnvironment({ PORT: String(port), ...env }), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.#child.stdout!.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
    this.#child.stderr!.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
    this.#exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
  }

  /** As a user opens it: Next's development server serves its scripts to localhost only (see `allowedDevOrigins`). */
  get url(): string {
    return `http://localhost:${this.port}`;
  }

  output(): string {
    return this.#output;
  }

  /** Where the output ends now: `waitFor` from here sees only what comes after. */
  mark(): number {
    return this.#output.length;
  }

  /** Resolves with the first match of `pattern` in the output after `from`; rejects if the process exits first or after `timeoutMs`. */
  waitFor(pattern: RegExp, { from = 0, timeoutMs = 60_000 } = {}): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = pattern.exec(this.#output.slice(from));
        if (!match) return false;
        done();
        resolve(match);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} in the server's output within ${timeoutMs} ms:\n${this.#output.slice(-3_000)}`));
      }, timeoutMs);
      const exited = (code: number | null): void => {
        if (check()) return;
        done();
        reject(new Error(`the server exited (${code}) before writing ${pattern}:\n${this.#output.slice(-3_000)}`));
      };
      const done = (): void => {
        clearTimeout(timer);
        this.#child.stdout!.off('data', check);
        this.#child.stderr!.off('data', check);
        this.#child.off('exit', exited);
      };
      this.#child.stdout!.on('data', check);
      this.#child.stderr!.on('data', check);
      this.#child.once('exit', exited);
      if (this.#child.exitCode !== null) exited(this.#child.exitCode);
      else check();
    });
  }

  /** Sends SIGTERM to the process (not its group, as `kill <pid>` does) and resolves with its exit code. */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the server did not exit within ${timeoutMs} ms of SIGTERM:\n${this.#output.slice(-3_000)}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.#exited, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills what is left of its process group (a failed test's cleanup). */
  async kill(): Promise<void> {
    try {
      process.kill(-this.#child.pid!, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    await this.#exited;
  }
}

/** The room page, open in a browser context of its own, counting the room sockets it opens. */
class RoomPage {
  readonly page: Page;
  readonly sockets: PageSocket[] = [];

  private constructor(page: Page) {
    this.page = page;
  }

  static async open(browser: Browser, url: string): Promise<RoomPage> {
    const context = await browser.newContext();
    const room = new RoomPage(await context.newPage());
    room.page.on('websocket', (socket) => {
      if (ROOM_SOCKET.test(socket.url())) room.sockets.push(socket);
    });
    await room.page.goto(url, { timeout: 120_000 });
    await room.page.locator('#status', { hasText: /^open$/ }).waitFor({ timeout: 120_000 });
    return room;
  }

  /** Types `text` and sends it; resolves once the page shows `shown` (the consumer's answer). */
  async say(text: string, shown: string): Promise<void> {
    await this.page.locator('#message').fill(text);
    await this.page.locator('#message').press('Enter');
    await this.shows(shown);
  }

  async shows(text: string): Promise<void> {
    await this.page.locator('#messages li', { hasText: text }).waitFor({ timeout: 15_000 });
  }

  async close(): Promise<void> {
    await this.page.context().close();
  }
}

const POLL_SOCKET = /\/ws\/poll\/$/;

/** The poll page in a browser context of its own, counting the poll sockets it opens. */
class PollPage {
  readonly page: Page;
  readonly sockets: PageSocket[] = [];

  private constructor(page: Page) {
    this.page = page;
  }

  /** Opens the poll, which asks to sign in; with a `voter`, follows its link and signs in as that voter on the login page. */
  static async open(browser: Browser, server: ExampleServer, voter?: string): Promise<PollPage> {
    const poll = new PollPage(await (await browser.newContext()).newPage());
    poll.page.on('websocket', (socket) => {
      if (POLL_SOCKET.test(socket.url())) poll.sockets.push(socket);
    });
    await poll.page.goto(`${server.url}/poll`, { timeout: 120_000 });
    await poll.page.locator('#sign-in').waitFor({ timeout: 60_000 });
    if (voter !== undefined) await poll.signIn(voter);
    return poll;
  }

  /** From the poll's "sign in" link: the login form, then back on the poll, signed in. */
  async signIn(voter: string): Promise<void> {
    await this.page.locator('#sign-in a').click();
    await this.page.locator('#login #name').fill(voter);
    await this.page.locator('#login button').click();
    await this.page.waitForURL(/\/poll$/, { timeout: 30_000 });
    await waitForText(this.page.locator('#signed-in strong'), voter);
    await this.status('open');
  }

  async status(status: string): Promise<void> {
    await waitForText(this.page.locator('#status'), status);
  }

  async here(names: readonly string[]): Promise<void> {
    await this.page.waitForFunction(
      (expected) => [...document.querySelectorAll('#here li')].map((item) => item.textContent).join(',') === expected,
      names.join(','),
      { timeout: 15_000 },
    );
  }

  async count(option: string, votes: number): Promise<void> {
    await waitForText(this.page.locator(`#count-${option}`), String(votes));
  }
}

async function waitForText(locator: ReturnType<Page['locator']>, text: string): Promise<void> {
  await locator.filter({ hasText: new RegExp(`^${text}$`) }).waitFor({ timeout: 30_000 });
}

/** `POST /api/rooms/lobby`: the route handler sends `text` to the room's group. */
async function announce(server: ExampleServer, text: string): Promise<void> {
  const response = await fetch(`${server.url}/api/rooms/lobby`, { method: 'POST', body: text });
  assert.equal(response.status, 204, await response.text());
}

/** The same checks in production and development: a round trip through the consumer, and the route handler reaching the page. */
async function checkRoom(browser: Browser, server: ExampleServer, label: string): Promise<RoomPage> {
  const room = await RoomPage.open(browser, `${server.url}/`);
  await room.say(`hello from the ${label} page`, `hello from the ${label} page`);
  await announce(server, `hello from the ${label} route handler`);
  await room.shows(`hello from the ${label} route handler`);
  return room;
}

describe('examples/minimal, installed from the packed package outside the repository', () => {
  let work: string;
  let app: string;
  let browser: Browser | undefined;
  const servers: ExampleServer[] = [];

  before(async () => {
    await access(path.join(PACKAGE_DIR, 'dist', 'index.js')).catch(() => assert.fail('lib/channels is not built: run `npm run build:channels` first'));
    work = await mkdtemp(path.join(tmpdir(), 'next-channels-example-'));
    assert.ok(path.relative(REPOSITORY, work).startsWith('..'), `${work} is inside the repository`);
    app = path.join(work, 'minimal');
  });

  after(async () => {
    await browser?.close().catch(() => {});
    for (const server of servers) await server.kill();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('installs from the tarball, with next and react from the npm cache', { timeout: 300_000 }, async (t) => {
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: PACKAGE_DIR, env: outsideEnvironment(), timeout: 60_000 });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
    const tarball = path.join(work, packed!.filename);

    await cp(EXAMPLE_DIR, app, { recursive: true, filter: (source) => !/[\\/](node_modules|\.next)$|next-env\.d\.ts$|\.tsbuildinfo$/.test(source) });
    const manifestFile = path.join(app, 'package.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { dependencies: Record<string, string> };
    const root = JSON.parse(await readFile(path.join(REPOSITORY, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of ['next', 'react', 'react-dom']) assert.equal(manifest.dependencies[name], root.dependencies[name], `the example's ${name} is not the root's`);
    assert.equal(manifest.dependencies['next-channels'], JSON.parse(await readFile(path.join(PACKAGE_DIR, 'package.json'), 'utf8')).version);
    manifest.dependencies['next-channels'] = `file:${tarball}`;
    await writeFile(manifestFile, JSON.stringify(manifest, null, 2) + '\n');

    const started = performance.now();
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, env: outsideEnvironment(), maxBuffer: 16 * 1024 * 1024, timeout: 280_000 });
    t.diagnostic(`npm install: ${((performance.now() - started) / 1000).toFixed(1)} s`);

    // The package's command is runnable as installed: executable, with a shebang for node.
    const bin = path.join(app, 'node_modules', '.bin', 'next-channels-dev');
    await access(bin, constants.X_OK);
    assert.match(await readFile(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    // Nothing of the repository is linked in: the package is a copy of the tarball's files.
    assert.deepEqual(await readFile(path.join(app, 'node_modules', 'next-channels', 'README.md')), await readFile(path.join(PACKAGE_DIR, 'README.md')));
    const source = await run('node', ['-p', "require.resolve('next-channels')"], { cwd: app, env: outsideEnvironment() });
    assert.equal(source.stdout.trim(), path.join(app, 'node_modules', 'next-channels', 'dist', 'index.js'));
  });

  it('passes its own communicator test (npm test)', { timeout: 60_000 }, async () => {
    const { stdout } = await run('npm', ['test'], { cwd: app, env: outsideEnvironment(), timeout: 55_000 });
    // The runner's summary: TAP on Node 20 when stdout is not a terminal, spec on Node 24.
    assert.match(stdout, /^(?:#|ℹ) pass [1-9]/m);
    assert.match(stdout, /^(?:#|ℹ) fail 0$/m);
  });

  it('builds (npm run build)', { timeout: 300_000 }, async (t) => {
    const started = performance.now();
    await run('npm', ['run', 'build'], { cwd: app, env: outsideEnvironment(), maxBuffer: 16 * 1024 * 1024, timeout: 280_000 });
    t.diagnostic(`next build: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });

  it('serves the page and the route handler in production, and exits 0 on SIGTERM', { timeout: 180_000 }, async () => {
    browser = await chromium.launch(chromiumLaunchOptions());
    // What `npm start` runs.
    const server = new ExampleServer(process.execPath, ['--import', 'tsx', 'server.ts'], app, await freePort(), PRODUCTION);
    servers.push(server);
    await server.waitFor(/"msg":"listening".*"mode":"production"/);
    const room = await checkRoom(browser, server, 'production');
    const closed = new Promise<void>((resolve) => room.sockets.at(-1)!.on('close', () => resolve()));
    assert.equal(await server.stop(), 0);
    await closed;
    await server.waitFor(/"msg":"stopped"/);
    await room.close();
  });

  it('serves the live poll on the hooks: one socket per page, presence, a request, sign-in through the login page without a retry storm, a restart, and sign-out', { timeout: 240_000 }, async () => {
    const port = await freePort();
    const start = () => new ExampleServer(process.execPath, ['--import', 'tsx', 'server.ts'], app, port, PRODUCTION);
    let server = start();
    servers.push(server);
    await server.waitFor(/"msg":"listening".*"mode":"production"/);

    const anonymous = await PollPage.open(browser!, server);
    assert.match((await anonymous.page.locator('#sign-in').textContent()) ?? '', /Closed: sign in\. Sign in to vote/);
    const ana = await PollPage.open(browser!, server, 'Ana');
    const bo = await PollPage.open(browser!, server, '小波');
    // The login's cookie: sealed by iron-session, and out of the page's scripts' reach.
    const [session] = await ana.page.context().cookies(server.url);
    assert.equal(session?.name, 'minimal-session');
    assert.match(session.value, /^Fe26\.2\*/);
    assert.equal(session.httpOnly, true);
    assert.equal(await ana.page.evaluate(() => document.cookie), '');
    await ana.here(['Ana', '小波']);
    await bo.here(['Ana', '小波']);

    await ana.page.locator('#vote-tea').click();
    await bo.count('tea', 1);
    await bo.page.locator('#tally').click();
    await waitForText(bo.page.locator('#voters'), '1 voted');

    // Every part of the page shares the poll's socket: one per page, the refused one included
    // (1 refused and 1 after signing in), and the page asked to sign in has not tried again
    // in all the time the others took.
    assert.equal(anonymous.sockets.length, 1, 'the page asked to sign in tried again');
    assert.equal(ana.sockets.length, 2);
    assert.equal(bo.sockets.length, 2);

    // Stopped, the pages wait and retry; started again (with the same secret), they come back by themselves, signed in.
    assert.equal(await server.stop(), 0);
    await ana.status('reconnecting');
    await bo.status('reconnecting');
    server = start();
    servers.push(server);
    await server.waitFor(/"msg":"listening".*"mode":"production"/);
    await ana.status('open');
    await bo.status('open');
    await ana.here(['Ana', '小波']);
    await bo.page.locator('#vote-coffee').click();
    await ana.count('coffee', 1);
    assert.equal(anonymous.sockets.length, 1, 'the page asked to sign in tried again');

    // Signed out, the poll's page leaves (its socket with it), and the poll asks to sign in again.
    await bo.page.locator('#signed-in button').click();
    await bo.page.waitForURL(`${server.url}/`, { timeout: 30_000 });
    await ana.here(['Ana']);
    assert.deepEqual(await bo.page.context().cookies(server.url), []);
    await bo.page.goto(`${server.url}/poll`);
    await bo.page.locator('#sign-in').waitFor({ timeout: 30_000 });
    assert.equal(await bo.page.locator('#signed-in').count(), 0);

    assert.equal(await server.stop(), 0);
    for (const poll of [anonymous, ana, bo]) await poll.page.context().close();
  });

  it('works behind a proxy that refuses upgrades with no setting changed: the fallback, and back by itself after a restart', { timeout: 240_000 }, async () => {
    // The server on 127.0.0.2 and nginx on 127.0.0.1 with the same port: the page's Origin is then
    // one of the example's local defaults, as when it is served directly.
    const port = await freePort();
    const start = () => new ExampleServer(process.execPath, ['--import', 'tsx', 'server.ts'], app, port, { ...PRODUCTION, HOSTNAME: '127.0.0.2' });
    let server = start();
    servers.push(server);
    await server.waitFor(/"msg":"listening".*"mode":"production"/);
    const nginx = await startNginx([`127.0.0.2:${port}`], { port, blockUpgrades: true });
    try {
      const url = `http://127.0.0.1:${port}`;
      const page = await (await browser!.newContext()).newPage();
      const upgrades: string[] = [];
      page.on('websocket', (socket) => upgrades.push(socket.url()));
      await page.goto(`${url}/`, { timeout: 120_000 });
      await waitForText(page.locator('#status'), 'open \\(fallback\\)');
      const say = async (text: string): Promise<void> => {
        await page.locator('#message').fill(text);
        await page.locator('#message').press('Enter');
        await page.locator('#messages li', { hasText: text }).waitFor({ timeout: 15_000 });
      };
      await say('hello through the blocking proxy 你好');
      const response = await fetch(`${url}/api/rooms/lobby`, { method: 'POST', body: 'from the route handler' });
      assert.equal(response.status, 204, await response.text());
      await page.locator('#messages li', { hasText: 'from the route handler' }).waitFor({ timeout: 15_000 });
      const tried = upgrades.length;
      assert.ok(tried >= 1, 'the page tried a WebSocket first');

      assert.equal(await server.stop(), 0);
      await waitForText(page.locator('#status'), 'reconnecting \\(fallback\\)');
      server = start();
      servers.push(server);
      await server.waitFor(/"msg":"listening".*"mode":"production"/);
      await waitForText(page.locator('#status'), 'open \\(fallback\\)');
      await say('and again after the restart');
      assert.equal(upgrades.length, tried, 'once it knew, the page went straight to the fallback');
      assert.equal(await server.stop(), 0);
      await page.context().close();
    } finally {
      await nginx.dispose();
    }
  });

  it('refuses to start in production without SESSION_PASSWORD, in one line', { timeout: 60_000 }, async () => {
    const env = outsideEnvironment({ NODE_ENV: 'production', PORT: String(await freePort()) });
    delete env.SESSION_PASSWORD;
    const failed = await run(process.execPath, ['--import', 'tsx', 'server.ts'], { cwd: app, env, timeout: 55_000 }).then(
      () => assert.fail('the server started without SESSION_PASSWORD'),
      (error: { code?: number; stderr?: string }) => error,
    );
    assert.equal(failed.code, 1);
    assert.equal(failed.stderr, 'SESSION_PASSWORD is not set: set SESSION_PASSWORD to a secret of 32 characters or more (openssl rand -base64 32)\n');
  });

  it('serves them in development, where a save of the consumer reaches the open socket without a reconnect', { timeout: 300_000 }, async () => {
    // What `npm run dev` runs: the package's command, run as the installed bin.
    const server = new ExampleServer(path.join(app, 'node_modules', '.bin', 'next-channels-dev'), ['server.ts'], app, await freePort());
    servers.push(server);
    await server.waitFor(/"msg":"listening".*"mode":"development"/, { timeoutMs: 120_000 });
    const room = await checkRoom(browser!, server, 'development');
    // Development renders in StrictMode, which mounts, unmounts and mounts again: the shared
    // socket survives it, and the page opened one.
    assert.equal(room.sockets.length, 1, 'StrictMode made the page open a second room socket');
    const opened = room.sockets.length;
    const socket = room.sockets.at(-1)!;
    let closed = false;
    socket.on('close', () => (closed = true));

    const consumerFile = path.join(app, 'channels', 'room.ts');
    const before = await readFile(consumerFile, 'utf8');
    const edited = before.replace("{ type: 'said', text: event.text }", "{ type: 'said', text: `${event.text} (edited)` }");
    assert.notEqual(edited, before, 'the consumer no longer has the line this test edits');
    const mark = server.mark();
    await writeFile(consumerFile, edited);
    const [reloaded] = await server.waitFor(/"msg":"server code reloaded".*/, { from: mark });
    assert.match(reloaded, /"files":\["channels\/room\.ts"/);
    assert.match(reloaded, /"connectionsMoved":1\b/);

    await room.say('after the save', 'after the save (edited)');
    await announce(server, 'route handler after the save');
    await room.shows('route handler after the save (edited)');
    assert.equal(room.sockets.length, opened, 'the page opened another room socket');
    assert.equal(closed, false, "the page's room socket closed");
    assert.equal(await room.page.locator('#status').textContent(), 'open');

    assert.equal(await server.stop(), 0);
    await room.close();
  });
});
