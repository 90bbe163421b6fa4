/**
 * Two production processes behind docs/nginx.conf with the upgrade headers stripped: round robin,
 * no sticky sessions, so a page's POSTs land on either process whichever holds its stream. Two
 * Chromium pages chat over the fallback; a burst arrives in order and once, and when one process
 * is killed the pages carry on through the other.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from '@playwright/test';
import { freePort } from '../lib/testing/engines';
import { chromiumLaunchOptions } from './support/chromium';
import { type Cluster, startCluster } from './support/cluster';
import { type Nginx, startNginx } from './support/nginx';

describe('the fallback on two processes behind a proxy that refuses upgrades, without sticky sessions', () => {
  let cluster: Cluster;
  let nginx: Nginx;
  let browser: Browser;
  let origin: string;

  before(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    cluster = await startCluster(2, { TRUST_PROXY: '127.0.0.1', PUBLIC_URL: origin, RATE_LIMIT: 'off' });
    nginx = await startNginx(
      cluster.servers.map((server) => server.port),
      { port, blockUpgrades: true },
    );
    browser = await chromium.launch(chromiumLaunchOptions());
  });
  after(async () => {
    await browser?.close();
    await nginx?.dispose();
    await cluster?.dispose();
  });

  const open = async (path: string): Promise<Page> => {
    const context = await browser.newContext({ baseURL: origin });
    const page = await context.newPage();
    await page.goto(path);
    await page.locator('#connection-status[data-transport="fallback"][data-status="open"]').waitFor({ timeout: 30_000 });
    return page;
  };
  const texts = (page: Page): Promise<string[]> => page.locator('#chat-log li.message:not(.pending) .text').allTextContents();
  const until = async (check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const relayed = async (): Promise<number> => {
    let total = 0;
    for (const server of cluster.servers) {
      const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      total += Number(/^channels_fallback_posts_total\{outcome="relayed"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    }
    return total;
  };

  it('carries a burst of 100 messages in order, once, relaying between the processes', async () => {
    const ana = await open('/chat/fallback-burst/');
    const ming = await open('/chat/fallback-burst/');
    const burst = Array.from({ length: 100 }, (_, n) => `第${n + 1}条 burst`);
    // Typed as fast as the page takes them: frames sent while a POST is in flight go in the next batch.
    const input = ana.locator('#chat-message-input');
    for (const message of burst) {
      await input.fill(message);
      await input.press('Enter');
    }
    for (const page of [ana, ming]) {
      await until(async () => (await texts(page)).length >= burst.length, 'the burst on both pages');
      assert.deepEqual(await texts(page), burst);
    }
    assert.ok((await relayed()) > 0, 'some POSTs reached the process without the stream and were relayed');
  });

  it('carries on through the other process when one is killed, nothing lost', async () => {
    const ana = await open('/chat/fallback-kill/');
    const ming = await open('/chat/fallback-kill/');
    const say = async (page: Page, text: string): Promise<void> => {
      await page.locator('#chat-message-input').fill(text);
      await page.locator('#chat-message-input').press('Enter');
    };
    await say(ana, 'before 之前');
    for (const page of [ana, ming]) await until(async () => (await texts(page)).includes('before 之前'), 'the first message');
    assert.equal(await cluster.servers[0]!.stop('SIGKILL'), null);
    await say(ming, 'after 之后');
    await say(ana, 'and again');
    for (const page of [ana, ming]) {
      await until(async () => (await texts(page)).length === 3, 'three messages on each page');
      assert.deepEqual([...(await texts(page))].sort(), ['after 之后', 'and again', 'before 之前'].sort());
      assert.equal(await page.locator('#connection-status').getAttribute('data-transport'), 'fallback');
    }
  });
});
