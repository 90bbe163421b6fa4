import { countChatSockets, expect, test } from './support/fixtures';

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
