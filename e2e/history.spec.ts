import type { Page } from '@playwright/test';
import { expect, test } from './support/fixtures';
import { ADMIN_TOKEN } from './support/app-server';
import { rawClient } from './support/raw-client';

const stored = (page: Page) => page.locator('#chat-log li.message:not(.pending) .text');

async function say(page: Page, text: string): Promise<void> {
  await page.locator('#chat-message-input').fill(text);
  await page.locator('#chat-message-input').press('Enter');
  await expect(page.locator('#chat-log li.message:not(.pending)', { hasText: text }).first()).toBeVisible();
}

test.describe('history, presence and typing', () => {
  test('a reload shows the history', async ({ openPage }) => {
    const page = await openPage('/chat/e2e-history/');
    await say(page, 'first 第一');
    await say(page, 'second 第二');
    await page.reload();
    await expect(stored(page)).toHaveText(['first 第一', 'second 第二']);
  });

  test('a second page joining shows up in the presence list of the first', async ({ openPage }) => {
    const first = await openPage('/chat/e2e-presence/');
    await expect(first.locator('#presence-list li')).toHaveCount(1);
    const second = await openPage('/chat/e2e-presence/');
    const secondName = await second.locator('#my-name').textContent();
    await expect(first.locator('#presence-list li')).toHaveCount(2);
    await expect(first.locator('#presence-list')).toContainText(secondName ?? '?');
    await second.close();
    await expect(first.locator('#presence-list li')).toHaveCount(1);
  });

  test('typing shows on the other page, and clears when the message arrives', async ({ openPage }) => {
    const writer = await openPage('/chat/e2e-typing/');
    const reader = await openPage('/chat/e2e-typing/');
    await expect(reader.locator('#connection-status')).toHaveText('Online');
    const name = await writer.locator('#my-name').textContent();
    await writer.locator('#chat-message-input').pressSequentially('hello');
    await expect(reader.locator('#typing-indicator')).toHaveText(`${name} is typing…`);
    await expect(writer.locator('#typing-indicator')).toHaveText('');
    await writer.locator('#chat-message-input').press('Enter');
    await expect(stored(reader)).toHaveText(['hello']);
    await expect(reader.locator('#typing-indicator')).toHaveText('');
  });

  test('a client that claims another name is shown under its session name', async ({ openPage, app }) => {
    const page = await openPage('/chat/e2e-mallory/');
    await expect(page.locator('#connection-status')).toHaveText('Online');
    const client = await rawClient(`${app.ws}/ws/chat/e2e-mallory/`, app.origin);
    const { user } = await client.welcome;
    client.send({ message: 'trust me', user: 'mallory', user_id: 'system' });
    const item = page.locator('#chat-log li', { hasText: 'trust me' });
    await expect(item.locator('.author')).toHaveText(user);
    await expect(item).not.toHaveClass(/system/);
    client.close();
  });

  test('scrolling up loads older messages and keeps the place', async ({ openPage, app }) => {
    // Posted as announcements: a socket client would meet the rate limit.
    for (let n = 1; n <= 120; n++) {
      const response = await fetch(`${app.http}/api/rooms/e2e-older/announce`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: `old ${n}` }),
      });
      expect(response.status).toBe(201);
    }
    const page = await openPage('/chat/e2e-older/');
    await expect(stored(page).last()).toHaveText('old 120');
    await expect(stored(page)).toHaveCount(50);
    await page.locator('.chat-scroller').evaluate((element) => (element.scrollTop = 0));
    await expect(stored(page)).toHaveCount(100);
    await expect(stored(page).first()).toHaveText('old 21');
    // The message that was at the top before the load is still in view.
    await expect(page.locator('#chat-log li.message', { hasText: /^.*old 71$/ })).toBeInViewport();
    // Clicked without scrolling it into view: scrolling to the top would load the page by itself.
    await page.getByRole('button', { name: 'Load older messages' }).dispatchEvent('click');
    await expect(stored(page)).toHaveCount(120);
    await expect(page.getByRole('button', { name: 'Load older messages' })).toHaveCount(0);
  });

  test('messages that arrive in a hidden tab count in its title and get a divider', async ({ openPage }) => {
    const reader = await openPage('/chat/e2e-unread/');
    const writer = await openPage('/chat/e2e-unread/');
    await say(writer, 'seen');
    await expect(stored(reader)).toHaveText(['seen']);
    const setVisibility = (state: 'hidden' | 'visible') =>
      reader.evaluate((value) => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => value });
        document.dispatchEvent(new Event('visibilitychange'));
      }, state);
    await setVisibility('hidden');
    await say(writer, 'unseen one');
    await say(writer, 'unseen two');
    await expect(reader).toHaveTitle('(2) e2e-unread · Channels Chat');
    await setVisibility('visible');
    await expect(reader).toHaveTitle('e2e-unread · Channels Chat');
    await expect(reader.locator('#chat-log > li')).toHaveText([/seen/, 'New messages', /unseen one/, /unseen two/]);
  });
});
