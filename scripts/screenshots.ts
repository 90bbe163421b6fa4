/**
 * `npm run screenshots`: two browser windows chatting, in English and in Chinese, pictured side by
 * side in docs/screenshot.png. Runs the production build (`npm run build` first); not part of the
 * tests, so a test run never changes the tree.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Page } from '@playwright/test';
import { AppServer, PROJECT_ROOT } from '../e2e/support/app-server';
import { chromiumLaunchOptions } from '../e2e/support/chromium';

const ROOM = 'tea-house';
const WINDOW = { width: 440, height: 640 };

async function main(): Promise<void> {
  const server = await AppServer.start({ mode: 'production' });
  const browser = await chromium.launch(chromiumLaunchOptions());
  try {
    const join = async (name: string): Promise<Page> => {
      const context = await browser.newContext({ baseURL: server.origin, viewport: WINDOW, deviceScaleFactor: 2 });
      const page = await context.newPage();
      await page.goto('/');
      await page.getByLabel('Display name').fill(name);
      await page.locator('#room-name-input').fill(ROOM);
      await page.locator('#room-name-input').press('Enter');
      await page.locator('#connection-status', { hasText: 'Online' }).waitFor();
      return page;
    };
    const ana = await join('Ana');
    const ming = await join('小明');
    const say = async (page: Page, text: string): Promise<void> => {
      const before = await page.locator('#chat-log li:not(.pending)').count();
      await page.locator('#chat-message-input').fill(text);
      await page.locator('#chat-message-input').press('Enter');
      await page.locator('#chat-log li:not(.pending)').nth(before).waitFor();
      await page.locator('#chat-log li.pending').first().waitFor({ state: 'detached' });
    };
    await say(ana, 'Hi! Is anyone here?');
    await say(ming, '你好！我在这里。');
    await say(ana, 'Nice to meet you, 小明. How is the tea?');
    await say(ming, '很好喝，是今年的龙井。Want some?');
    await say(ana, 'Yes please!');
    await ming.locator('#chat-log li:not(.pending)').nth(4).waitFor();

    const shots = await Promise.all([ana, ming].map(async (page) => (await page.screenshot()).toString('base64')));
    const canvas = await browser.newPage({ viewport: { width: WINDOW.width * 2 + 48, height: WINDOW.height + 32 }, deviceScaleFactor: 2 });
    await canvas.setContent(
      `<body style="margin:0;padding:16px;display:flex;gap:16px;background:#e5e7eb">${shots
        .map((shot) => `<img src="data:image/png;base64,${shot}" width="${WINDOW.width}" height="${WINDOW.height}" style="border-radius:8px;box-shadow:0 2px 8px #0003">`)
        .join('')}</body>`,
    );
    const file = path.join(PROJECT_ROOT, 'docs', 'screenshot.png');
    await writeFile(file, await canvas.screenshot());
    process.stdout.write(`wrote ${path.relative(PROJECT_ROOT, file)}\n`);
  } finally {
    await browser.close();
    await server.dispose();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
