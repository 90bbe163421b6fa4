import { type Page, test as base } from '@playwright/test';
import { AppServer, type ServerMode } from './app-server';

export { expect } from '@playwright/test';

interface WorkerFixtures {
  /** The project's server mode (playwright.config.ts sets it per project). */
  mode: ServerMode;
  /** A server shared by the tests of one worker. */
  app: AppServer;
}

interface TestFixtures {
  /**
   * Opens a new page (its own browser context, so its own session) on the shared server;
   * `locale` (such as "zh-CN") is the browser's language: navigator.languages and Accept-Language.
   */
  openPage: (path: string, options?: { readonly locale?: string }) => Promise<Page>;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  mode: ['production', { option: true, scope: 'worker' }],
  app: [
    async ({ mode }, provide) => {
      const app = await AppServer.start({ mode, timeoutMs: 120_000 });
      await provide(app);
      await app.dispose();
    },
    { scope: 'worker', timeout: 180_000 },
  ],
  openPage: async ({ browser, app }, provide) => {
    const contexts: Array<Awaited<ReturnType<typeof browser.newContext>>> = [];
    await provide(async (path, options) => {
      const context = await browser.newContext({ baseURL: app.origin, locale: options?.locale });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(path);
      return page;
    });
    await Promise.all(contexts.map((context) => context.close()));
  },
});

/** Chat sockets a page opens (not Next's hot-reload socket), counted from the moment of the call. */
export function countChatSockets(page: Page): { readonly opened: number } {
  const counter = { opened: 0 };
  page.on('websocket', (socket) => {
    if (new URL(socket.url()).pathname.startsWith('/ws/chat/')) counter.opened++;
  });
  return counter;
}
