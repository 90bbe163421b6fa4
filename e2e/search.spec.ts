import type { Page } from '@playwright/test';
import { ADMIN_TOKEN } from './support/app-server';
import { expect, test } from './support/fixtures';

/**
 * The search page (/search/), in Chinese: a word found among the messages of the reader's rooms,
 * the result opened in its place in the room's log although older pages had to be loaded to
 * reach it; the states of a search that does not work; and a private room's messages, which
 * only its members find.
 */

const ZH = { locale: 'zh-CN' } as const;
const PASSWORD = '正确的马 battery staple';

/** A word no other test writes: three characters in a row. */
function chineseWord(): string {
  const characters = '春夏秋冬山水花鸟风云雪月江河湖海松竹梅兰';
  return Array.from({ length: 3 }, () => characters[Math.floor(Math.random() * characters.length)]).join('');
}

const isSearch = (url: URL): boolean => url.pathname === '/api/search';

async function send(page: Page, text: string): Promise<void> {
  await page.locator('#chat-message-input').fill(text);
  await page.locator('#chat-message-input').press('Enter');
  await expect(page.locator('#chat-log li[data-id] .text').filter({ hasText: text })).toHaveCount(1);
}

async function signUp(page: Page, username: string): Promise<void> {
  await page.goto('/account/');
  const form = page.locator('#sign-up-form');
  await form.getByLabel('用户名').fill(username);
  await form.getByLabel('密码').fill(PASSWORD);
  await form.getByRole('button', { name: '注册' }).click();
  await expect(page).toHaveURL(/\/rooms\/$/);
}

test('in Chinese: a word is found, and its result opens the message in its place, pages back in the log', async ({ openPage, app }) => {
  test.slow();
  const tag = Math.random().toString(36).slice(2, 8);
  const room = `e2e-search-${tag}`;
  const word = chineseWord();
  const text = `明天在${word}开会，https://example.com/议程`;

  const ana = await openPage(`/chat/${room}/`, ZH);
  await expect(ana.locator('#connection-status')).toHaveText('在线');
  const anaName = (await ana.locator('#my-name').textContent()) ?? '';
  await send(ana, text);
  // More than a history page after it: posted as announcements (a socket client would meet the rate limit).
  for (let n = 1; n <= 60; n++) {
    const response = await fetch(`${app.http}/api/rooms/${room}/announce`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: `后来的消息 ${n}` }),
    });
    expect(response.status).toBe(201);
  }

  // From the site's navigation: an empty search says what to type.
  await ana.getByRole('link', { name: '搜索', exact: true }).click();
  await expect(ana).toHaveURL(/\/search\/$/);
  await expect(ana.locator('h1')).toHaveText('搜索消息');
  await expect(ana.locator('#search-hint')).toContainText('所有词都要匹配');
  await expect(ana.locator('#search-results')).toHaveCount(0);

  // Two of the word's characters find it (Chinese is matched as characters in a row).
  const searches: string[] = [];
  ana.on('request', (request) => {
    if (new URL(request.url()).pathname === '/api/search') searches.push(request.url());
  });
  await ana.getByLabel('搜索内容').fill(word.slice(0, 2));
  await ana.getByRole('button', { name: '搜索', exact: true }).click();
  await expect(ana).toHaveURL(new RegExp(`/search/\\?q=${encodeURIComponent(word.slice(0, 2))}$`));
  const result = ana.locator('#search-results li.search-result');
  await expect(result).toHaveCount(1);
  await expect(result.locator('.search-result-room')).toHaveText(`#${room}`);
  await expect(result.locator('.author')).toHaveText(anaName);
  await expect(result.locator('time')).toHaveText(/现在|秒|分钟/);
  await expect(result.locator('time')).toHaveAttribute('title', /\d/);
  await expect(result.locator('.text')).toHaveText(text);
  await expect(result.locator('.text a')).toHaveText('https://example.com/议程');
  // One request per search, in development too (where React runs effects twice): each spends the person's budget.
  expect(searches).toHaveLength(1);

  // A word nobody wrote.
  await ana.getByLabel('搜索内容').fill(`${word}不存在`);
  await ana.getByLabel('搜索内容').press('Enter');
  await expect(ana.locator('#search-none')).toHaveText(`没有与 ${word}不存在 匹配的消息。`);
  await ana.goBack();
  await expect(result).toHaveCount(1);

  // Opened: the room loads older pages until the message is there, and shows it, marked.
  await result.locator('.search-result-open').click();
  await expect(ana).toHaveURL(new RegExp(`/chat/${room}/\\?at=\\d+$`));
  const target = ana.locator('#chat-log li.message.target');
  await expect(target.locator('.text')).toHaveText(text);
  await expect(target).toHaveAttribute('aria-current', 'true');
  await expect(target).toBeInViewport();
  await expect(ana.locator('#target-notice')).toHaveCount(0);
  await expect(ana.locator('#chat-log li.message.target')).toHaveCount(1);

  // "Search this room" keeps the room; a message that is not there any more is told.
  await ana.getByRole('link', { name: '搜索这个房间' }).click();
  await expect(ana).toHaveURL(`${app.origin}/search/?room=${room}`);
  await expect(ana.locator('#search-scope')).toContainText(`仅在 #${room} 中`);
  await ana.goto(`/chat/${room}/?at=999999`);
  await expect(ana.locator('#target-notice')).toHaveText('这条消息已不在这个房间里：可能已被删除。');
  await expect(ana.locator('#chat-log li.message.target')).toHaveCount(0);
});

test('a search that does not work says why: too many, unavailable, offline', async ({ openPage }) => {
  const page = await openPage('/search/', ZH);
  await expect(page.locator('#search-input')).toBeFocused();
  const answers = [
    { status: 429, retryAfter: '7', error: 'rate_limited', told: '搜索太频繁：请 7 秒后再试。' },
    { status: 503, retryAfter: '3', error: 'unavailable', told: '搜索暂时不可用：请 3 秒后再试。' },
  ];
  for (const answer of answers) {
    await page.route(isSearch, (route) =>
      route.fulfill({
        status: answer.status,
        headers: { 'retry-after': answer.retryAfter, 'content-type': 'application/json' },
        body: JSON.stringify({ error: answer.error, detail: 'refused' }),
      }),
    );
    await page.getByLabel('搜索内容').fill(`上海 ${answer.status}`);
    await page.getByLabel('搜索内容').press('Enter');
    await expect(page.locator('#search-problem')).toHaveText(answer.told);
    await page.unrouteAll();
  }
  await page.route(isSearch, (route) => route.abort('internetdisconnected'));
  // The same query again: it is searched again, not left as it was.
  await page.getByRole('button', { name: '搜索', exact: true }).click();
  await expect(page.locator('#search-problem')).toHaveText('无法连接服务器，请检查网络后重试。');
  await page.unrouteAll();
  await page.getByRole('button', { name: '搜索', exact: true }).click();
  await expect(page.locator('#search-none')).toHaveText('没有与 上海 503 匹配的消息。');
  await expect(page.locator('#search-problem')).toHaveCount(0);
});

test("a private room's messages are found by its members only", async ({ openPage }) => {
  test.slow();
  const tag = Math.random().toString(36).slice(2, 8);
  const word = chineseWord();
  const title = `秘密小组 ${tag}`;
  const ana = await openPage('/account/', ZH);
  const chen = await openPage('/account/', ZH);
  await signUp(ana, `安娜_${tag}`);
  await signUp(chen, `chen_${tag}`);

  await ana.getByLabel('标题').fill(title);
  await ana.getByRole('button', { name: '创建' }).click();
  await expect(ana).toHaveURL(/\/chat\/_[A-Za-z0-9_-]+\/$/);
  const room = new URL(ana.url()).pathname.split('/')[2]!;
  await expect(ana.locator('#connection-status')).toHaveText('在线');
  await send(ana, `密码是${word}`);

  // The member finds it, the room named by its title.
  await ana.goto(`/search/?q=${encodeURIComponent(word)}`);
  await expect(ana.locator('#search-results li.search-result')).toHaveCount(1);
  await expect(ana.locator('#search-results .search-result-room')).toHaveText(`${title} · 私密房间`);

  // Someone else does not, in all their rooms nor by the room's name.
  await chen.goto(`/search/?q=${encodeURIComponent(word)}`);
  await expect(chen.locator('#search-none')).toHaveText(`没有与 ${word} 匹配的消息。`);
  await chen.goto(`/search/?q=${encodeURIComponent(word)}&room=${room}`);
  await expect(chen.locator('#search-problem')).toHaveText('没有这个房间，或者你不是它的成员。');
  await expect(chen.locator('#search-results')).toHaveCount(0);
});
