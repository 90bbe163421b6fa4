import type { Page } from '@playwright/test';
import { countChatSockets, expect, test } from './support/fixtures';
import { rawClient } from './support/raw-client';

// Restarts the worker's shared server (a second development server could not share its folder).
test('a page stays usable while the server restarts, and what was typed meanwhile is delivered once', async ({ openPage, app: server }) => {
  test.setTimeout(180_000);
  const open = async () => {
    const page = await openPage('/chat/e2e-restart/');
    await expect(page.locator('#connection-status')).toHaveText('Online');
    return page;
  };
  const writer = await open();
  const reader = await open();
  const sockets = countChatSockets(writer);

  expect(await server.stop('SIGTERM')).toBe(0);
  await expect(writer.locator('#connection-status')).toHaveText(/^Reconnecting/);
  await expect(reader.locator('#connection-status')).toHaveText(/^Reconnecting/);

  const input = writer.locator('#chat-message-input');
  await input.fill('typed during the outage 断线时输入');
  await input.press('Enter');
  await expect(input).toHaveValue('');
  await expect(writer.locator('#chat-log li.pending')).toHaveText([/typed during the outage/]);

  await server.restart();
  await expect(writer.locator('#connection-status')).toHaveText('Online', { timeout: 60_000 });
  await expect(reader.locator('#connection-status')).toHaveText('Online', { timeout: 60_000 });
  for (const page of [writer, reader]) {
    await expect(page.locator('#chat-log li:not(.pending) .text')).toHaveText(['typed during the outage 断线时输入']);
  }
  await expect(writer.locator('#chat-log li.pending')).toHaveCount(0);
  expect(sockets.opened).toBeGreaterThan(0);
});

test('the server killed with SIGKILL mid-conversation: afterwards every page holds the same messages, none twice, none missing', async ({ openPage, app: server }) => {
  test.setTimeout(180_000);
  const stored = (page: Page) => page.locator('#chat-log li.message:not(.pending) .text');
  const say = async (page: Page, text: string) => {
    await page.locator('#chat-message-input').fill(text);
    await page.locator('#chat-message-input').press('Enter');
  };
  const ana = await openPage('/chat/e2e-crash/');
  const bo = await openPage('/chat/e2e-crash/');
  await expect(bo.locator('#connection-status')).toHaveText('Online');
  await say(ana, 'ana before');
  await say(bo, 'bo before');
  await expect(stored(ana)).toHaveText(['ana before', 'bo before']);

  expect(await server.stop('SIGKILL')).toBeNull();
  await expect(ana.locator('#connection-status')).toHaveText(/^Reconnecting/);
  await say(ana, 'ana during 1');
  await say(ana, 'ana during 2');
  await expect(ana.locator('#chat-log li.pending')).toHaveCount(2);

  await server.restart();
  // Another client gets in first and talks while the pages are still waiting to reconnect.
  const other = await rawClient(`${server.ws}/ws/chat/e2e-crash/`, server.origin);
  other.send({ message: 'other 1' });
  other.send({ message: 'other 2' });

  const everything = ['ana before', 'bo before', 'ana during 1', 'ana during 2', 'other 1', 'other 2'];
  for (const page of [ana, bo]) {
    await expect(page.locator('#connection-status')).toHaveText('Online', { timeout: 60_000 });
    await expect(stored(page)).toHaveCount(everything.length, { timeout: 30_000 });
  }
  await expect(ana.locator('#chat-log li.pending')).toHaveCount(0);
  // A development server started anew can make Next's dev client reload a page (the updates it
  // knew are gone), so the pages are read until they hold still.
  await expect(async () => {
    const seenByAna = await stored(ana).allTextContents();
    expect(await stored(bo).allTextContents()).toEqual(seenByAna);
    expect([...seenByAna].sort()).toEqual([...everything].sort());
    expect(seenByAna.slice(0, 2)).toEqual(['ana before', 'bo before']);
  }).toPass({ timeout: 30_000 });
  other.close();
});
