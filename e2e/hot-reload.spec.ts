import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from './support/app-server';
import { countChatSockets, expect, test } from './support/fixtures';

const COMPONENT = path.join(PROJECT_ROOT, 'app', '_components', 'chat-room.tsx');
/** The send button as chat-room.tsx writes it: the edit below replaces its label. */
const BUTTON = `      <button id="chat-message-submit" type="submit" disabled={disabledBecause !== null}>
        {t.chat.send}
      </button>`;

test('editing a client component updates the page in place: no reload, state kept, same chat socket', async ({ openPage }) => {
  test.setTimeout(120_000);
  const page = await openPage('/chat/e2e-hot-reload/');
  await expect(page.locator('#connection-status')).toHaveText('Online');
  await page.locator('#chat-message-input').fill('sent before the edit');
  await page.locator('#chat-message-input').press('Enter');
  await expect(page.locator('#chat-log li:not(.pending) .text')).toHaveText(['sent before the edit']);
  await page.locator('#chat-message-input').fill('a draft 草稿');

  let reloads = 0;
  page.on('load', () => reloads++);
  const sockets = countChatSockets(page);
  const original = await readFile(COMPONENT, 'utf8');
  expect(original).toContain(BUTTON);
  try {
    await writeFile(COMPONENT, original.replace(BUTTON, BUTTON.replace('{t.chat.send}', '{t.chat.send} it')));
    await expect(page.locator('#chat-message-submit')).toHaveText('Send it', { timeout: 60_000 });
  } finally {
    await writeFile(COMPONENT, original);
  }
  await expect(page.locator('#chat-message-submit')).toHaveText('Send', { timeout: 60_000 });

  expect(reloads).toBe(0);
  expect(sockets.opened).toBe(0);
  await expect(page.locator('#chat-message-input')).toHaveValue('a draft 草稿');
  await expect(page.locator('#chat-log li:not(.pending) .text')).toHaveText(['sent before the edit']);
  await expect(page.locator('#connection-status')).toHaveText('Online');
  await page.locator('#chat-message-input').press('Enter');
  await expect(page.locator('#chat-log li:not(.pending) .text')).toHaveText(['sent before the edit', 'a draft 草稿']);
});
