import type { Browser, Page } from '@playwright/test';
import { type Cluster, startCluster } from './support/cluster';
import { expect, test } from './support/fixtures';

// Two production processes behind no balancer: each browser talks to its own process.
test.describe('two server processes sharing Redis and PostgreSQL', () => {
  let cluster: Cluster;
  test.beforeAll(async () => {
    test.setTimeout(120_000);
    cluster = await startCluster(2);
  });
  test.afterAll(async () => {
    await cluster?.dispose();
  });

  const openOn = async (browser: Browser, index: number, room: string): Promise<Page> => {
    const page = await (await browser.newContext({ baseURL: cluster.servers[index]!.origin })).newPage();
    await page.goto(`/chat/${room}/`);
    await expect(page.locator('#connection-status')).toHaveText('Online');
    return page;
  };
  const stored = (page: Page) => page.locator('#chat-log li.message:not(.pending) .text');
  const say = async (page: Page, text: string) => {
    await page.locator('#chat-message-input').fill(text);
    await page.locator('#chat-message-input').press('Enter');
  };

  test('messages, presence and typing cross between the processes', async ({ browser }) => {
    const ana = await openOn(browser, 0, 'e2e-cluster');
    const bo = await openOn(browser, 1, 'e2e-cluster');
    await expect(ana.locator('#presence-list li')).toHaveCount(2);
    await expect(bo.locator('#presence-list li')).toHaveCount(2);
    await ana.locator('#chat-message-input').pressSequentially('hi');
    await expect(bo.locator('#typing-indicator')).toContainText('is typing…');
    await ana.locator('#chat-message-input').press('Enter');
    await say(bo, '你好 from the other process');
    for (const page of [ana, bo]) await expect(stored(page)).toHaveText(['hi', '你好 from the other process']);
  });

  test('a process killed with SIGKILL: its browser reconnects to it restarted, and misses nothing', async ({ browser }) => {
    test.setTimeout(120_000);
    const ana = await openOn(browser, 0, 'e2e-cluster-kill');
    const bo = await openOn(browser, 1, 'e2e-cluster-kill');
    await say(ana, 'before');
    await expect(stored(bo)).toHaveText(['before']);

    expect(await cluster.servers[0]!.stop('SIGKILL')).toBeNull();
    await expect(ana.locator('#connection-status')).toHaveText(/^Reconnecting/);
    await say(bo, 'while A was down 1');
    await say(bo, 'while A was down 2');
    await say(ana, 'typed on A while it was down');
    // Ana's process is gone without a goodbye: she leaves Bo's presence list after the expiry.
    await expect(bo.locator('#presence-list li')).toHaveCount(1);

    await cluster.servers[0]!.restart();
    await expect(ana.locator('#connection-status')).toHaveText('Online', { timeout: 60_000 });
    const everything = ['before', 'while A was down 1', 'while A was down 2', 'typed on A while it was down'];
    for (const page of [ana, bo]) {
      await expect(stored(page)).toHaveCount(everything.length);
      expect([...(await stored(page).allTextContents())].sort()).toEqual([...everything].sort());
    }
    expect(await stored(ana).allTextContents()).toEqual(await stored(bo).allTextContents());
    await expect(bo.locator('#presence-list li')).toHaveCount(2);
  });
});
