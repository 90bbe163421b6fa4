/**
 * A real nginx running docs/nginx.conf in front of the given processes, in a temp folder on a
 * free port: as the README tells an operator to run it, or with the WebSocket upgrade refused on
 * the way, as some corporate proxies do (the HTTP fallback's networks).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, watch, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../lib/testing/engines';
import { PROJECT_ROOT } from './app-server';

/** A running nginx. */
export interface Nginx {
  /** The port it listens on, at 127.0.0.1. */
  readonly port: number;
  /** Stops it and removes its folder. */
  dispose(): Promise<void>;
}

/** How {@link startNginx} changes docs/nginx.conf. */
export interface NginxOptions {
  /** Strip the upgrade headers, so no WebSocket gets through (default false). */
  readonly blockUpgrades?: boolean;
  /** Listen on this port (default a free one). */
  readonly port?: number;
}

/**
 * docs/nginx.conf with the given upstreams (a port at 127.0.0.1, or `host:port`) and listen port;
 * upgrades stripped when asked.
 */
export async function siteConfig(upstreams: readonly (number | string)[], port: number, options: NginxOptions = {}): Promise<string> {
  const addresses = upstreams.map((upstream) => (typeof upstream === 'number' ? `127.0.0.1:${upstream}` : upstream));
  let site = (await readFile(path.join(PROJECT_ROOT, 'docs', 'nginx.conf'), 'utf8'))
    .replace(/( *)server 127\.0\.0\.1:3001;\n *server 127\.0\.0\.1:3002;/, (_whole, indent: string) => addresses.map((address) => `${indent}server ${address};`).join('\n'))
    .replace('listen 80;', `listen 127.0.0.1:${port};`);
  assert.ok(site.includes(`listen 127.0.0.1:${port};`), 'the test rewrote the listen line');
  assert.ok(site.includes(`server ${addresses[0]};`), 'the test rewrote the upstreams');
  if (options.blockUpgrades) {
    site = site.replace('proxy_set_header Upgrade $http_upgrade;', 'proxy_set_header Upgrade "";').replace('proxy_set_header Connection $connection_upgrade;', 'proxy_set_header Connection "";');
    assert.match(site, /proxy_set_header Upgrade "";/, 'the test stripped the upgrade headers');
  }
  return site;
}

/** Starts nginx with docs/nginx.conf in front of `upstreams`; resolves once its port is bound. */
export async function startNginx(upstreams: readonly (number | string)[], options: NginxOptions = {}): Promise<Nginx> {
  const port = options.port ?? (await freePort());
  const folder = await mkdtemp(path.join(tmpdir(), 'nginx-test-'));
  let nginx: ChildProcess | null = null;
  const dispose = async (): Promise<void> => {
    if (nginx && nginx.exitCode === null) {
      nginx.kill('SIGQUIT');
      await once(nginx, 'exit');
    }
    await rm(folder, { recursive: true, force: true });
  };
  try {
    // nginx's workers run as nobody, and write request bodies that spill over into temp folders here.
    await chmod(folder, 0o755);
    await writeFile(path.join(folder, 'chat.conf'), await siteConfig(upstreams, port, options));
    await writeFile(
      path.join(folder, 'nginx.conf'),
      `daemon off;\nworker_processes 1;\npid ${folder}/nginx.pid;\nerror_log stderr crit;\nevents {}\n` +
        `http {\n  access_log off;\n  client_body_temp_path ${folder}/body;\n  proxy_temp_path ${folder}/proxy;\n` +
        `  fastcgi_temp_path ${folder}/fastcgi;\n  uwsgi_temp_path ${folder}/uwsgi;\n  scgi_temp_path ${folder}/scgi;\n` +
        `  include ${folder}/chat.conf;\n}\n`,
    );
    // nginx prints nothing when it is up; it writes its pid file once its port is bound.
    const stopWatching = new AbortController();
    const watcher = watch(folder, { signal: stopWatching.signal });
    const started = spawn('nginx', ['-p', folder, '-c', path.join(folder, 'nginx.conf')], { stdio: ['ignore', 'inherit', 'inherit'] });
    nginx = started;
    const exited = once(started, 'exit').then(([code]) => {
      throw new Error(`nginx exited with ${code}`);
    });
    try {
      await Promise.race([
        (async () => {
          for await (const change of watcher) if (change.filename === 'nginx.pid') return;
        })(),
        exited,
      ]);
    } finally {
      stopWatching.abort();
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return { port, dispose };
}
