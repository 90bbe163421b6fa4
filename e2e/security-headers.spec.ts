import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from '@playwright/test';
import type { AppServer } from './support/app-server';
import { countChatSockets, expect, test } from './support/fixtures';

interface Watched {
  readonly page: Page;
  /** Content-Security-Policy violations the page reported, as "directive blocked-uri". */
  violations(): Promise<string[]>;
  /** Console errors (with the address they are about) and uncaught exceptions. */
  readonly errors: string[];
}

/** A page of its own context that records, from before its first script, what the policy refuses. */
async function watchedPage(browser: Browser, app: AppServer): Promise<Watched> {
  const context = await browser.newContext({ baseURL: app.origin });
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.effectiveDirective} ${event.blockedURI}`));
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return {
    page,
    errors,
    violations: () => page.evaluate(() => [...(window as unknown as { cspViolations: string[] }).cspViolations]),
  };
}

test.describe('browser security headers', () => {
  test('the pages work under their Content-Security-Policy, and nothing is refused', async ({ browser, app, mode }) => {
    const { page, errors, violations } = await watchedPage(browser, app);
    const home = await page.goto('/');
    const policy = home?.headers()['content-security-policy'] ?? '';
    expect(policy).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/]+=*' 'strict-dynamic'/);
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy.includes("'unsafe-eval'")).toBe(mode === 'development');
    expect(home?.headers()['x-frame-options']).toBe('DENY');
    expect(home?.headers()['x-content-type-options']).toBe('nosniff');
    expect(home?.headers()['referrer-policy']).toBe('same-origin');

    // The home page renames the session and goes to the room by the client router.
    await expect(page.locator('#room-name-input')).toBeFocused();
    await page.getByLabel('Display name').fill('策略');
    await page.locator('#room-name-input').fill('e2e-csp');
    await page.locator('#room-name-input').press('Enter');
    await expect(page).toHaveURL(/\/chat\/e2e-csp\/$/);
    await expect(page.locator('#my-name')).toHaveText('策略');
    await expect(page.locator('#connection-status')).toHaveText('Online');
    await page.locator('#chat-message-input').fill('under the policy 策略之下');
    await page.locator('#chat-message-input').press('Enter');
    await expect(page.locator('#chat-log li:not(.pending) .text')).toHaveText(['under the policy 策略之下']);

    // Loaded afresh, the room page works too, and so does the page for an unknown address.
    await page.reload();
    await expect(page.locator('#connection-status')).toHaveText('Online');
    await expect(page.locator('#chat-log li .text')).toHaveText(['under the policy 策略之下']);
    await page.goto('/no-such-page/');
    await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
    await page.getByRole('link', { name: 'Choose a room' }).click();
    await expect(page.locator('#room-name-input')).toBeFocused();

    expect(await violations()).toEqual([]);
    // The one error a browser reports is the unknown page's own 404 (and a favicon's, where asked).
    const unexpected = errors.filter((error) => !/^Failed to load resource: .* 404 .*\/(no-such-page\/|favicon\.ico)\)$/.test(error));
    expect(unexpected).toEqual([]);

    // The policy is in force, and refusals are seen: an injected inline handler does not run.
    await page.evaluate(() => {
      const holder = document.createElement('div');
      holder.innerHTML = '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" onload="window.pwned = 1">';
      document.body.append(holder);
    });
    await expect.poll(violations).toEqual([expect.stringMatching(/^script-src(-attr)? inline$/)]);
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
  });

  test('a page of another site cannot frame a room: the frame does not load, the chat does not connect', async ({ browser, app }) => {
    const framing = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>elsewhere</title><iframe id="room" src="${app.origin}/chat/e2e-framed/"></iframe>`);
    });
    framing.listen(0, '127.0.0.1');
    await once(framing, 'listening');
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      const sockets = countChatSockets(page);
      // 127.0.0.1 and localhost are different sites.
      const elsewhere = `http://127.0.0.1:${(framing.address() as AddressInfo).port}/`;
      const framed = page.waitForEvent('framenavigated', (frame) => frame !== page.mainFrame());
      await page.goto(elsewhere);
      const frame = await framed;
      // Chromium shows its own error page in a frame whose document refused to be framed.
      await expect.poll(() => frame.url()).toBe('chrome-error://chromewebdata/');
      await page.locator('#room').evaluate((iframe) => iframe.isConnected);
      expect(await frame.locator('#connection-status').count()).toBe(0);
      expect(sockets.opened).toBe(0);
      await context.close();
    } finally {
      framing.close();
    }
  });
});
