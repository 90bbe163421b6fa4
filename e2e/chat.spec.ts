import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from './support/fixtures';

test.describe('chatting in the React UI', () => {
  test('two pages in one room both see a message; a page in another room does not', async ({ openPage }) => {
    const ana = await openPage('/chat/e2e-room/');
    const bo = await openPage('/chat/e2e-room/');
    const elsewhere = await openPage('/chat/e2e-other/');
    for (const page of [ana, bo, elsewhere]) await expect(page.locator('#connection-status')).toHaveText('Online');

    await ana.locator('#chat-message-input').fill('hello from Ana');
    await ana.locator('#chat-message-input').press('Enter');

    await expect(ana.locator('#chat-log li', { hasText: 'hello from Ana' })).toHaveCount(1);
    await expect(bo.locator('#chat-log li', { hasText: 'hello from Ana' })).toHaveCount(1);
    await expect(ana.locator('#chat-message-input')).toHaveValue('');
    // The page elsewhere stays empty: prove it has caught up by sending there too.
    await elsewhere.locator('#chat-message-input').fill('only here');
    await elsewhere.locator('#chat-message-submit').click();
    await expect(elsewhere.locator('#chat-log li')).toHaveText([/only here/]);
  });

  test('shows author and time on each message, and sets own messages apart', async ({ openPage }) => {
    const mine = await openPage('/chat/e2e-authors/');
    const theirs = await openPage('/chat/e2e-authors/');
    await expect(mine.locator('#my-name')).not.toBeEmpty();
    const myName = await mine.locator('#my-name').textContent();
    await mine.locator('#chat-message-input').fill('who wrote this?');
    await mine.locator('#chat-message-input').press('Enter');

    const own = mine.locator('#chat-log li', { hasText: 'who wrote this?' });
    await expect(own).toHaveClass(/\bown\b/);
    await expect(own.locator('.author')).toHaveText(`${myName} (you)`);
    await expect(own.locator('time')).toHaveAttribute('datetime', /^\d{4}-\d\d-\d\dT/);
    const other = theirs.locator('#chat-log li', { hasText: 'who wrote this?' });
    await expect(other).not.toHaveClass(/\bown\b/);
    await expect(other.locator('.author')).toHaveText(myName ?? '');
  });

  test('Shift+Enter makes a new line instead of sending', async ({ openPage }) => {
    const page = await openPage('/chat/e2e-lines/');
    await expect(page.locator('#connection-status')).toHaveText('Online');
    const input = page.locator('#chat-message-input');
    await input.fill('line one');
    await input.press('Shift+Enter');
    await input.pressSequentially('line two');
    await expect(input).toHaveValue('line one\nline two');
    await input.press('Enter');
    await expect(page.locator('#chat-log li .text')).toHaveText(['line one\nline two']);
  });

  test('renders messages as text, never as HTML', async ({ openPage }) => {
    const page = await openPage('/chat/e2e-html/');
    await expect(page.locator('#connection-status')).toHaveText('Online');
    await page.locator('#chat-message-input').fill('<img src=x onerror="window.pwned=1"><b>bold</b>');
    await page.locator('#chat-message-input').press('Enter');
    await expect(page.locator('#chat-log li .text')).toHaveText(['<img src=x onerror="window.pwned=1"><b>bold</b>']);
    await expect(page.locator('#chat-log img, #chat-log b')).toHaveCount(0);
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
  });
});

test.describe('links', () => {
  test('http and https addresses become safe links on every page; other schemes and punctuation stay text', async ({ openPage }) => {
    const ana = await openPage('/chat/e2e-links/');
    const bo = await openPage('/chat/e2e-links/');
    for (const page of [ana, bo]) await expect(page.locator('#connection-status')).toHaveText('Online');
    const text = '看这个：https://example.com/路径。 or http://example.org/a?b=1, not javascript:alert(1) nor data:text/html,x nor mailto:a@example.com';
    await ana.locator('#chat-message-input').fill(text);
    await ana.locator('#chat-message-input').press('Enter');
    for (const page of [ana, bo]) {
      const message = page.locator('#chat-log li[data-id] .text');
      await expect(message).toHaveText([text]);
      const links = message.locator('a');
      await expect(links).toHaveText(['https://example.com/路径', 'http://example.org/a?b=1']);
      const first = links.first();
      await expect(first).toHaveAttribute('href', 'https://example.com/%E8%B7%AF%E5%BE%84');
      await expect(first).toHaveAttribute('title', 'https://example.com/%E8%B7%AF%E5%BE%84');
      await expect(first).toHaveAttribute('rel', 'noopener noreferrer nofollow');
      await expect(first).toHaveAttribute('target', '_blank');
      expect(await links.evaluateAll((anchors) => anchors.map((anchor) => (anchor as HTMLAnchorElement).protocol))).toEqual(['https:', 'http:']);
    }
  });
});

test.describe('hostile text', () => {
  test('renders script tags, bidirectional overrides and endless words as inert text in their place', async ({ openPage }) => {
    const page = await openPage('/chat/e2e-hostile/');
    await page.setViewportSize({ width: 400, height: 700 });
    await expect(page.locator('#connection-status')).toHaveText('Online');
    const texts = [
      '<script>window.pwned = 1</script><style>body{display:none}</style>',
      '\u202Egnp.exe \u2067isolate\u2069 مرحبا بالعالم שלום',
      'a'.repeat(500),
      '😀'.repeat(300),
    ].map((text) => JSON.parse(`"${text}"`) as string);
    for (const text of texts) {
      await page.locator('#chat-message-input').fill(text);
      await page.locator('#chat-message-input').press('Enter');
    }
    await expect(page.locator('#chat-log li.message:not(.pending) .text')).toHaveText(texts);
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
    await expect(page.locator('body')).toBeVisible();
    await expect(page.locator('#chat-log script, #chat-log style')).toHaveCount(0);
    // Every message stays inside the log: nothing pushes the page sideways.
    const log = await page.locator('.chat-scroller').boundingBox();
    for (const item of await page.locator('#chat-log li.message').all()) {
      const box = await item.boundingBox();
      expect(box!.x).toBeGreaterThanOrEqual(log!.x);
      expect(box!.x + box!.width).toBeLessThanOrEqual(log!.x + log!.width + 0.5);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
  });
});

test.describe('at phone width', () => {
  test('fits the screen: no sideways scrolling, long words wrap, the composer stays in view', async ({ openPage }) => {
    const page = await openPage('/chat/e2e-phone/');
    await page.setViewportSize({ width: 360, height: 640 });
    await expect(page.locator('#connection-status')).toHaveText('Online');
    await page.locator('#chat-message-input').fill(`${'长'.repeat(80)} ${'x'.repeat(300)}`);
    await page.locator('#chat-message-input').press('Enter');
    await expect(page.locator('#chat-log li:not(.pending)')).toHaveCount(1);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await expect(page.locator('#chat-message-input')).toBeInViewport();
    await expect(page.locator('#chat-message-submit')).toBeInViewport();
  });
});

test.describe('Chinese text and input methods', () => {
  test('Chinese text goes round trip and shows', async ({ openPage }) => {
    const writer = await openPage('/chat/e2e-zh/');
    const reader = await openPage('/chat/e2e-zh/');
    await expect(writer.locator('#connection-status')).toHaveText('Online');
    await writer.locator('#chat-message-input').fill('你好，世界！今天天气很好。');
    await writer.locator('#chat-message-input').press('Enter');
    await expect(reader.locator('#chat-log li .text')).toHaveText(['你好，世界！今天天气很好。']);
  });

  test("Enter during an input method's composition picks characters and does not send", async ({ openPage }) => {
    const page = await openPage('/chat/e2e-ime/');
    await expect(page.locator('#connection-status')).toHaveText('Online');
    const input = page.locator('#chat-message-input');
    await input.focus();
    const cdp = await page.context().newCDPSession(page);
    // Type "nihao" through the input method: a composition is open, showing the candidates.
    await cdp.send('Input.imeSetComposition', { text: 'nihao', selectionStart: 5, selectionEnd: 5 });
    await expect(input).toHaveValue('nihao');
    // Enter while composing, as a Chinese user presses it to pick the characters: Chromium reports
    // such a key as processed by the input method (key code 229, isComposing), then commits.
    await cdp.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 229 });
    await cdp.send('Input.insertText', { text: '你好' });
    await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13 });
    await expect(input).toHaveValue('你好');
    await expect(page.locator('#chat-log li')).toHaveCount(0);
    // A plain Enter afterwards sends.
    await page.keyboard.press('Enter');
    await expect(page.locator('#chat-log li .text')).toHaveText(['你好']);
  });
});

test.describe("the source article's vanilla client", () => {
  test('still sends and receives on /ws/chat/ from a page with no chat socket of its own', async ({ openPage, app }) => {
    const script = await readFile(path.join(__dirname, 'fixtures', 'article-client.js'), 'utf8');
    const page = await openPage('/');
    const logged: string[] = [];
    page.on('console', (message) => logged.push(message.text()));
    await page.evaluate(() => {
      const input = document.createElement('input');
      input.id = 'chat-message-input';
      document.body.append(input);
    });
    await page.addScriptTag({ content: script });
    const listener = await openPage('/chat/lobby/');
    await expect(listener.locator('#connection-status')).toHaveText('Online');
    await page.locator('#chat-message-input').fill('hello from 2019');
    await page.locator('#chat-message-input').press('Enter');
    await expect.poll(() => logged).toContain('hello from 2019');
    await expect(page.locator('#chat-message-input')).toHaveValue('');
    await expect(listener.locator('#chat-log li .text')).toContainText(['hello from 2019']);
    expect(app.output()).not.toContain('"level":"error"');
  });
});

test.describe('the home page', () => {
  test('sets a display name, enters a room with Enter, and lists it as recent', async ({ openPage }) => {
    const page = await openPage('/');
    await expect(page.locator('#room-name-input')).toBeFocused();
    await page.getByLabel('Display name').fill('王小明');
    await page.locator('#room-name-input').fill('e2e-home');
    await page.locator('#room-name-input').press('Enter');
    await expect(page).toHaveURL(/\/chat\/e2e-home\/$/);
    await expect(page.locator('#my-name')).toHaveText('王小明');
    await expect(page.locator('#chat-message-input')).toBeFocused();
    await page.goto('/');
    await expect(page.getByRole('link', { name: 'e2e-home' })).toBeVisible();
    await expect(page.getByLabel('Display name')).toHaveValue('王小明');
  });

  test('refuses a room name the server would not accept', async ({ openPage }) => {
    const page = await openPage('/');
    await page.locator('#room-name-input').fill('聊天室');
    await page.locator('#room-name-input').press('Enter');
    await expect(page.locator('.home-form [role="alert"]')).toContainText('Room names use letters');
    await expect(page).toHaveURL(/\/$/);
  });
});
