/**
 * The chat in Chromium behind docs/nginx.conf with the upgrade headers stripped, as a corporate
 * proxy does: no setting changed, the pages find out by themselves and chat over the HTTP
 * fallback, and a server restart loses nothing and shows nothing twice.
 */
import type { Page } from '@playwright/test';
import { freePort } from '../lib/testing/engines';
import { AppServer } from './support/app-server';
import { expect, test as base } from './support/fixtures';
import { type Nginx, startNginx } from './support/nginx';

interface Blocked {
  readonly server: AppServer;
  readonly nginx: Nginx;
  /** The site as people reach it: through nginx. */
  readonly origin: string;
}

const test = base.extend<{ openBlocked: (path: string, options?: { readonly locale?: string }) => Promise<Page> }, { blocked: Blocked }>({
  blocked: [
    async ({}, provide) => {
      const port = await freePort();
      const origin = `http://127.0.0.1:${port}`;
      const server = await AppServer.start({ mode: 'production', timeoutMs: 120_000, env: { TRUST_PROXY: '127.0.0.1', PUBLIC_URL: origin } });
      const nginx = await startNginx([server.port], { port, blockUpgrades: true });
      await provide({ server, nginx, origin });
      await nginx.dispose();
      await server.dispose();
    },
    { scope: 'worker', timeout: 180_000 },
  ],
  openBlocked: async ({ browser, blocked }, provide) => {
    const contexts: Array<Awaited<ReturnType<typeof browser.newContext>>> = [];
    await provide(async (path, options) => {
      const context = await browser.newContext({ baseURL: blocked.origin, locale: options?.locale });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(path);
      return page;
    });
    await Promise.all(contexts.map((context) => context.close()));
  },
});

const say = async (page: Page, text: string): Promise<void> => {
  await page.locator('#chat-message-input').fill(text);
  await page.locator('#chat-message-input').press('Enter');
};
const stored = (page: Page) => page.locator('#chat-log li.message:not(.pending) .text');

test('finds the upgrade blocked, says so, and chats over the fallback', async ({ openBlocked }) => {
  const ana = await openBlocked('/chat/fallback-talk/');
  const ming = await openBlocked('/chat/fallback-talk/', { locale: 'zh-CN' });
  await expect(ana.locator('#connection-status')).toHaveText('Online (fallback)');
  await expect(ana.locator('#connection-status')).toHaveAttribute('data-transport', 'fallback');
  await expect(ming.locator('#connection-status')).toHaveText('在线（备用通道）');

  await say(ana, 'hello over HTTP');
  await say(ming, '你好，备用通道');
  for (const page of [ana, ming]) await expect(stored(page)).toHaveText(['hello over HTTP', '你好，备用通道']);
  await expect(ming.locator('#presence-list li')).toHaveCount(2);
});

test('a restart behind the blocking proxy: back on the fallback, what was typed meanwhile shown once', async ({ openBlocked, blocked }) => {
  test.setTimeout(180_000);
  const writer = await openBlocked('/chat/fallback-restart/');
  const reader = await openBlocked('/chat/fallback-restart/');
  for (const page of [writer, reader]) await expect(page.locator('#connection-status')).toHaveText('Online (fallback)');
  await say(writer, 'before the restart');
  await expect(stored(reader)).toHaveText(['before the restart']);
  // Once the pages know, they go straight to the fallback: no WebSocket is tried again.
  // (The notifications' socket too: it takes the chat's finding rather than probing on its own.)
  const sockets: string[] = [];
  for (const page of [writer, reader]) page.on('websocket', (socket) => sockets.push(socket.url()));

  expect(await blocked.server.stop('SIGTERM')).toBe(0);
  await expect(writer.locator('#connection-status')).toHaveText(/^Reconnecting/);
  await say(writer, 'typed during the outage 断线时输入');
  await expect(writer.locator('#chat-log li.pending')).toHaveText([/typed during the outage/]);

  await blocked.server.restart();
  for (const page of [writer, reader]) {
    await expect(page.locator('#connection-status')).toHaveText('Online (fallback)', { timeout: 60_000 });
    await expect(stored(page)).toHaveText(['before the restart', 'typed during the outage 断线时输入']);
  }
  await expect(writer.locator('#chat-log li.pending')).toHaveCount(0);
  expect(sockets).toEqual([]);
});

test('killed with SIGKILL mid-conversation: every page holds the same messages, none twice, none missing', async ({ openBlocked, blocked }) => {
  test.setTimeout(180_000);
  const ana = await openBlocked('/chat/fallback-crash/');
  const bo = await openBlocked('/chat/fallback-crash/');
  await expect(bo.locator('#connection-status')).toHaveText('Online (fallback)');
  await say(ana, 'ana before');
  await say(bo, 'bo before');
  await expect(stored(ana)).toHaveText(['ana before', 'bo before']);

  expect(await blocked.server.stop('SIGKILL')).toBeNull();
  await expect(ana.locator('#connection-status')).toHaveText(/^Reconnecting/);
  await say(ana, 'ana during 1');
  await say(ana, 'ana during 2');
  await expect(ana.locator('#chat-log li.pending')).toHaveCount(2);
  await blocked.server.restart();

  const everything = ['ana before', 'bo before', 'ana during 1', 'ana during 2'];
  for (const page of [ana, bo]) {
    await expect(page.locator('#connection-status')).toHaveText('Online (fallback)', { timeout: 60_000 });
    await expect(stored(page)).toHaveText(everything, { timeout: 30_000 });
  }
  await expect(ana.locator('#chat-log li.pending')).toHaveCount(0);
});

test('a plain EventSource on the page gets the welcome', async ({ openBlocked }) => {
  const page = await openBlocked('/chat/fallback-eventsource/');
  await expect(page.locator('#connection-status')).toHaveText('Online (fallback)');
  const first = await page.evaluate(
    () =>
      new Promise<string>((resolve, reject) => {
        const source = new EventSource('/ws/chat/fallback-eventsource/?_channels=sse');
        source.onmessage = (event) => {
          source.close();
          resolve(String(event.data));
        };
        source.onerror = () => reject(new Error('the stream failed'));
      }),
  );
  expect(JSON.parse(first)).toMatchObject({ type: 'welcome' });
});
