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

  test('in Chinese: edits and deletions made while one is away, replies, reactions, links, read markers and search, across both processes', async ({ browser }) => {
    test.setTimeout(120_000);
    const room = `e2e-depth-${Math.random().toString(36).slice(2, 8)}`;
    const zhOn = (index: number) => browser.newContext({ baseURL: cluster.servers[index]!.origin, locale: 'zh-CN' });
    const anaContext = await zhOn(0);
    const mingContext = await zhOn(1);
    try {
      const ana = await anaContext.newPage();
      const ming = await mingContext.newPage();
      for (const page of [ana, ming]) {
        await page.goto(`/chat/${room}/`);
        await expect(page.locator('#connection-status')).toHaveText('在线');
      }
      const item = (page: Page, id: string) => page.locator(`#chat-log li[data-id="${id}"]`);
      const textOf = (page: Page, id: string) => item(page, id).locator(':scope > .text');
      const actions = (page: Page, id: string) => item(page, id).getByRole('group', { name: '消息操作' });
      const idOf = async (page: Page, text: string) => {
        const found = page.locator('#chat-log li[data-id] > .text').filter({ hasText: text }).locator('xpath=..');
        await expect(found).toHaveCount(1);
        return (await found.getAttribute('data-id'))!;
      };

      // Ana (process A) writes; Ming (process B) sees the link as a safe link, replies and reacts.
      await say(ana, '明天在老桥见面，地图 https://example.com/地图');
      await say(ana, '门禁密码是4711');
      const meet = await idOf(ming, '老桥');
      const code = await idOf(ming, '4711');
      const link = textOf(ming, meet).locator('a');
      await expect(link).toHaveAttribute('href', 'https://example.com/%E5%9C%B0%E5%9B%BE');
      await expect(link).toHaveAttribute('rel', 'noopener noreferrer nofollow');
      await actions(ming, meet).getByRole('button', { name: '回复' }).click();
      await say(ming, '好的，我会到');
      const reply = await idOf(ana, '我会到');
      await expect(item(ana, reply).locator('.reply-quote .quote-text')).toHaveText('明天在老桥见面，地图 https://example.com/地图');
      await actions(ming, meet).getByRole('button', { name: '表情回应' }).click();
      await item(ming, meet).getByRole('button', { name: '用 👍 回应' }).click();
      await expect(item(ana, meet).locator('.reaction-chip')).toHaveText('👍 1');

      // Ming's page closes; meanwhile Ana edits one message and deletes the other.
      await ming.close();
      await actions(ana, meet).getByRole('button', { name: '编辑' }).click();
      const editor = item(ana, meet).getByRole('textbox', { name: '编辑消息' });
      await editor.fill('改到新图书馆见面，地图 https://example.com/地图');
      await editor.press('Enter');
      await expect(textOf(ana, meet)).toHaveText('改到新图书馆见面，地图 https://example.com/地图');
      await actions(ana, code).getByRole('button', { name: '删除' }).click();
      await item(ana, code).getByRole('group', { name: '删除这条消息？' }).getByRole('button', { name: '删除' }).click();
      await expect(textOf(ana, code)).toHaveText('消息已删除');

      // Ming comes back on B: the final state only, and the old words nowhere on the page.
      const back = await mingContext.newPage();
      await back.goto(`/chat/${room}/`);
      await expect(back.locator('#connection-status')).toHaveText('在线');
      await expect(textOf(back, meet)).toHaveText('改到新图书馆见面，地图 https://example.com/地图');
      await expect(item(back, meet).locator('.edited')).toHaveText('（已编辑）');
      await expect(item(back, meet).locator('.reaction-chip')).toHaveText('👍 1');
      await expect(textOf(back, code)).toHaveText('消息已删除');
      await expect(item(back, reply).locator('.reply-quote .quote-text')).toHaveText('改到新图书馆见面，地图 https://example.com/地图');
      for (const old of ['老桥', '4711']) expect(await back.content()).not.toContain(old);

      // Ming also has a tab on A, in the background: what he reads on B stops counting there.
      const behind = await mingContext.newPage();
      await behind.goto(`${cluster.servers[0]!.origin}/chat/${room}/`);
      await expect(behind.locator('#connection-status')).toHaveText('在线');
      await behind.evaluate(() => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
        document.dispatchEvent(new Event('visibilitychange'));
      });
      await back.evaluate(() => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
        document.dispatchEvent(new Event('visibilitychange'));
      });
      await say(ana, '还有问题吗？');
      await expect(behind).toHaveTitle(new RegExp(`^\\(1\\) ${room} · `));
      await expect(back).toHaveTitle(new RegExp(`^\\(1\\) ${room} · `));
      await back.evaluate(() => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
        document.dispatchEvent(new Event('visibilitychange'));
      });
      await expect(back).toHaveTitle(new RegExp(`^${room} · `));
      await expect(behind).toHaveTitle(new RegExp(`^${room} · `));

      // Search on B finds the new words, and neither the old nor the deleted; its result opens in place.
      for (const [query, found] of [['图书馆', 1], ['老桥', 0], ['4711', 0], ['门禁', 0]] as const) {
        await back.goto(`/search/?q=${encodeURIComponent(query)}`);
        if (found === 0) await expect(back.locator('#search-none')).toBeVisible();
        else await expect(back.locator('#search-results li.search-result')).toHaveCount(found);
      }
      await back.goto(`/search/?q=${encodeURIComponent('图书馆')}`);
      await back.locator('#search-results li.search-result .search-result-open').click();
      await expect(back.locator('#chat-log li.message.target > .text')).toHaveText('改到新图书馆见面，地图 https://example.com/地图');
    } finally {
      await anaContext.close();
      await mingContext.close();
    }
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
