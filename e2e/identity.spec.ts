import type { Page } from '@playwright/test';
import { expect, test } from './support/fixtures';

/** Sets the display name as the home page does: a same-origin POST from the page. */
async function setName(page: Page, name: string): Promise<void> {
  const status = await page.evaluate(
    async (wanted) =>
      (await fetch('/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: wanted }) })).status,
    name,
  );
  expect(status).toBe(200);
}

async function send(page: Page, text: string): Promise<void> {
  await page.locator('#chat-message-input').fill(text);
  await page.locator('#chat-message-input').press('Enter');
}

test.describe('names and text in both directions', () => {
  test('a right-to-left name keeps the time after it, U+202E in a message reorders nothing around it, and Chinese shows', async ({ openPage }) => {
    const writer = await openPage('/');
    await setName(writer, 'مريم 2');
    await writer.goto('/chat/e2e-bidi/');
    const reader = await openPage('/');
    await setName(reader, '王小明');
    await reader.goto('/chat/e2e-bidi/');
    for (const page of [writer, reader]) await expect(page.locator('#connection-status')).toHaveText('Online');

    const bidi = (selector: string) => reader.locator(selector).first().evaluate((element) => getComputedStyle(element).unicodeBidi);
    await writer.locator('#chat-message-input').pressSequentially('…');
    await expect(reader.locator('#typing-indicator bdi')).toHaveText('مريم 2');
    expect(await bidi('#typing-indicator bdi')).toBe('isolate');

    await send(writer, '\u202Egnp.exe');
    await send(writer, '你好，世界');
    const messages = reader.locator('#chat-log li.message');
    await expect(messages.locator('.text')).toHaveText(['\u202Egnp.exe', '你好，世界']);
    for (const message of await messages.all()) {
      await expect(message.locator('.author')).toHaveText('مريم 2');
      // Left to right, as the page reads: the author, then the time; the text below them.
      const author = (await message.locator('.author').boundingBox())!;
      const time = (await message.locator('time').boundingBox())!;
      const text = (await message.locator('.text').boundingBox())!;
      expect(author.x + author.width).toBeLessThanOrEqual(time.x + 0.5);
      expect(text.y).toBeGreaterThanOrEqual(author.y + author.height - 0.5);
    }
    expect(await bidi('#chat-log .author bdi')).toBe('isolate');
    expect(await bidi('#chat-log .text')).toBe('plaintext');
    for (const name of ['مريم 2', '王小明']) await expect(reader.locator('#presence-list li bdi', { hasText: name })).toHaveCount(1);
    expect(await bidi('#presence-list li bdi')).toBe('isolate');
    await expect(reader.locator('#my-name')).toHaveText('王小明');

  });
});

test.describe('signing out', () => {
  test("DELETE /api/session ends the page's connection with a message, and the next page load is a new guest", async ({ openPage }) => {
    const page = await openPage('/chat/e2e-signout/');
    await expect(page.locator('#connection-status')).toHaveText('Online');
    const before = await page.evaluate(async () => ((await (await fetch('/api/session')).json()) as { user_id: string }).user_id);
    const status = await page.evaluate(async () => (await fetch('/api/session', { method: 'DELETE' })).status);
    expect(status).toBe(204);
    await expect(page.locator('#connection-status')).toHaveText('Signed out: reload the page to chat again');
    await page.reload();
    await expect(page.locator('#connection-status')).toHaveText('Online');
    const after = await page.evaluate(async () => ((await (await fetch('/api/session')).json()) as { user_id: string }).user_id);
    expect(after).not.toBe(before);
  });
});
