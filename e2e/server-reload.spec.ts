import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { PROJECT_ROOT } from './support/app-server';
import { countChatSockets, expect, test } from './support/fixtures';

const CONSUMER = path.join(PROJECT_ROOT, 'lib', 'chat', 'consumer.ts');
const POST = 'this.post(frame.message, frame.clientId, frame.replyTo)';
const SERVER = path.join(PROJECT_ROOT, 'server.ts');
const COMPONENT = path.join(PROJECT_ROOT, 'app', '_components', 'chat-room.tsx');
/** The send button as chat-room.tsx writes it: the edit below replaces its label. */
const BUTTON = `      <button id="chat-message-submit" type="submit" disabled={disabledBecause !== null}>
        {t.chat.send}
      </button>`;

const stored = (page: Page) => page.locator('#chat-log li.message:not(.pending) .text');
async function say(page: Page, text: string): Promise<void> {
  await page.locator('#chat-message-input').fill(text);
  await page.locator('#chat-message-input').press('Enter');
}

/** Counts full page loads (not soft navigations) from now on. */
function countLoads(page: Page): { count: number } {
  const loads = { count: 0 };
  page.on('load', () => loads.count++);
  return loads;
}

test('editing the chat consumer changes the next message of pages already chatting, without closing a socket', async ({ openPage, app }) => {
  test.setTimeout(120_000);
  const ana = await openPage('/chat/e2e-server-reload/');
  const bo = await openPage('/chat/e2e-server-reload/');
  await expect(bo.locator('#connection-status')).toHaveText('Online');
  await say(ana, 'before the edit');
  await expect(stored(bo)).toHaveText(['before the edit']);
  const sockets = [countChatSockets(ana), countChatSockets(bo)];
  const loads = [countLoads(ana), countLoads(bo)];

  const original = await readFile(CONSUMER, 'utf8');
  expect(original).toContain(POST);
  const reloads = (app.output().match(/"msg":"server code reloaded"/g) ?? []).length;
  try {
    await writeFile(CONSUMER, original.replace(POST, 'this.post(`${frame.message} (edited live)`, frame.clientId, frame.replyTo)'));
    await app.waitForOutput(new RegExp(`("msg":"server code reloaded"[^\\n]*\\n[^]*){${reloads + 1}}`));
    await say(ana, 'after the edit');
    for (const page of [ana, bo]) await expect(stored(page)).toHaveText(['before the edit', 'after the edit (edited live)']);
  } finally {
    await writeFile(CONSUMER, original);
  }
  await app.waitForOutput(new RegExp(`("msg":"server code reloaded"[^\\n]*\\n[^]*){${reloads + 2}}`));
  await say(bo, 'back to normal');
  await expect(stored(ana)).toHaveText(['before the edit', 'after the edit (edited live)', 'back to normal']);
  expect(sockets.map((count) => count.opened)).toEqual([0, 0]);
  expect(loads.map((count) => count.count)).toEqual([0, 0]);
  await expect(ana.locator('#connection-status')).toHaveText('Online');
});

test('a change that cannot be reloaded in place restarts the server: pages reconnect and resume, without reloading', async ({ openPage, app }) => {
  test.setTimeout(180_000);
  const ana = await openPage('/chat/e2e-server-restart/');
  const bo = await openPage('/chat/e2e-server-restart/');
  await expect(bo.locator('#connection-status')).toHaveText('Online');
  await say(ana, 'before the restart');
  await expect(stored(bo)).toHaveText(['before the restart']);
  const loads = [countLoads(ana), countLoads(bo)];

  const original = await readFile(SERVER, 'utf8');
  const restarts = (app.output().match(/"msg":"listening"/g) ?? []).length;
  try {
    await writeFile(SERVER, `${original}\n// a change to a long-lived module\n`);
    await expect(ana.locator('#connection-status')).toHaveText(/^Reconnecting/);
    await say(ana, 'during the restart');
    await app.waitForOutput(new RegExp(`("msg":"listening"[^\\n]*\\n[^]*){${restarts + 1}}`));
  } finally {
    await writeFile(SERVER, original);
  }
  await app.waitForOutput(new RegExp(`("msg":"listening"[^\\n]*\\n[^]*){${restarts + 2}}`));
  for (const page of [ana, bo]) {
    await expect(page.locator('#connection-status')).toHaveText('Online', { timeout: 60_000 });
    await expect(stored(page)).toHaveText(['before the restart', 'during the restart']);
  }
  // Hot reload of the page still works with the restarted server.
  const component = await readFile(COMPONENT, 'utf8');
  expect(component).toContain(BUTTON);
  try {
    await writeFile(COMPONENT, component.replace(BUTTON, BUTTON.replace('{t.chat.send}', '{t.chat.send} now')));
    await expect(ana.locator('#chat-message-submit')).toHaveText('Send now', { timeout: 60_000 });
  } finally {
    await writeFile(COMPONENT, component);
  }
  await expect(ana.locator('#chat-message-submit')).toHaveText('Send', { timeout: 60_000 });
  expect(loads.map((count) => count.count)).toEqual([0, 0]);
});
