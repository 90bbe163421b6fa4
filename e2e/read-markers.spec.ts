import type { Page } from '@playwright/test';
import { expect, test } from './support/fixtures';

/** Read markers in public rooms: kept by the server, followed by the person's other tabs, and where the "new messages" divider goes. */

const stored = (page: Page) => page.locator('#chat-log li.message:not(.pending) .text');

async function say(page: Page, text: string): Promise<void> {
  await page.locator('#chat-message-input').fill(text);
  await page.locator('#chat-message-input').press('Enter');
  await expect(stored(page).filter({ hasText: text })).toHaveCount(1);
}

/** What the page's visibility says, as a tab going to the background sets it. */
async function setVisibility(page: Page, state: 'hidden' | 'visible'): Promise<void> {
  await page.evaluate((value) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => value });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

test('what one tab reads is read in the other tabs of the same person too', async ({ browser, app, openPage }) => {
  const room = `e2e-tabs-${Math.random().toString(36).slice(2, 8)}`;
  const context = await browser.newContext({ baseURL: app.origin });
  try {
    const front = await context.newPage();
    const back = await context.newPage();
    for (const page of [front, back]) {
      await page.goto(`/chat/${room}/`);
      await expect(page.locator('#connection-status')).toHaveText('Online');
    }
    await setVisibility(back, 'hidden');
    const writer = await openPage(`/chat/${room}/`);
    await expect(writer.locator('#connection-status')).toHaveText('Online');
    await setVisibility(front, 'hidden');
    await say(writer, '第一条');
    await say(writer, 'second');
    await expect(back).toHaveTitle(`(2) ${room} · Channels Chat`);
    await expect(front).toHaveTitle(`(2) ${room} · Channels Chat`);
    // The person comes back to one tab and reads there: the other, still hidden, counts nothing more.
    await setVisibility(front, 'visible');
    await expect(front).toHaveTitle(`${room} · Channels Chat`);
    const last = await stored(front).last().locator('..').getAttribute('data-id');
    await expect(back.locator('#chat-log')).toHaveAttribute('data-read-up-to', last!);
    await expect(back).toHaveTitle(`${room} · Channels Chat`);
  } finally {
    await context.close();
  }
});

test('the divider of new messages goes where the person stopped reading, on any device', async ({ browser, app, openPage }) => {
  const room = `e2e-return-${Math.random().toString(36).slice(2, 8)}`;
  const laptop = await browser.newContext({ baseURL: app.origin });
  try {
    const reader = await laptop.newPage();
    await reader.goto(`/chat/${room}/`);
    const writer = await openPage(`/chat/${room}/`);
    await say(writer, '读过的');
    await expect(stored(reader)).toHaveText(['读过的']);
    const readId = await stored(reader).last().locator('..').getAttribute('data-id');
    await expect(reader.locator('#chat-log')).toHaveAttribute('data-read-up-to', readId!);
    await reader.close();

    await say(writer, '没读的一');
    await say(writer, '没读的二');
    // The same person on another device (the same session cookie in a new browser context).
    const phone = await browser.newContext({ baseURL: app.origin, storageState: await laptop.storageState() });
    try {
      const again = await phone.newPage();
      await again.goto(`/chat/${room}/`);
      await expect(again.locator('#chat-log > li')).toHaveText([/读过的/, 'New messages', /没读的一/, /没读的二/]);
      // It stays while the room is open, though the page has read them now.
      const newest = await stored(again).last().locator('..').getAttribute('data-id');
      await expect(again.locator('#chat-log')).toHaveAttribute('data-read-up-to', newest!);
      await expect(again.locator('#chat-log .unseen-divider')).toHaveCount(1);
      // Opened once more, with everything read: no divider.
      await again.reload();
      await expect(stored(again)).toHaveText(['读过的', '没读的一', '没读的二']);
      await expect(again.locator('#chat-log')).toHaveAttribute('data-read-up-to', newest!);
      await expect(again.locator('#chat-log .unseen-divider')).toHaveCount(0);
    } finally {
      await phone.close();
    }
  } finally {
    await laptop.close();
  }
});
