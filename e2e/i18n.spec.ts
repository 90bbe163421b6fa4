import type { Page } from '@playwright/test';
import { expect, test } from './support/fixtures';

/**
 * The main flows in Chinese: a browser whose language is Chinese gets the UI in Chinese from
 * the first byte (Accept-Language), the 中文 / English switch changes it and is remembered (the
 * `lang` cookie), and chatting, signing up and a private room work with Chinese labels. The
 * English runs are the other specs.
 */

const ZH = { locale: 'zh-CN' } as const;
const PASSWORD = '正确的马 battery staple';

async function send(page: Page, text: string): Promise<void> {
  await page.locator('#chat-message-input').fill(text);
  await page.locator('#chat-message-input').press('Enter');
  await expect(page.locator('#chat-log li[data-id] .text').filter({ hasText: text })).toHaveCount(1);
}

test('a Chinese browser chats in Chinese; the switch turns the UI to English and back, and is remembered', async ({ openPage }) => {
  const ana = await openPage('/chat/e2e-zh/', ZH);
  const bo = await openPage('/chat/e2e-zh/', ZH);
  // React reports a server/client mismatch on the console (#418 in production builds).
  const hydrationErrors: string[] = [];
  ana.on('console', (message) => {
    if (message.type() === 'error' && /hydrat|#418|#423|#425/i.test(message.text())) hydrationErrors.push(message.text());
  });

  // Server-rendered in Chinese: no English first, so no hydration change.
  await expect(ana.locator('html')).toHaveAttribute('lang', 'zh-CN');
  await expect(ana.locator('#nav-rooms')).toHaveText('我的房间');
  for (const page of [ana, bo]) await expect(page.locator('#connection-status')).toHaveText('在线');
  await expect(ana.locator('#chat-message-submit')).toHaveText('发送');
  await expect(ana.locator('#chat-message-input')).toHaveAttribute('placeholder', '输入消息（Enter 发送，Shift+Enter 换行）');
  await expect(ana.locator('#presence-heading')).toHaveText('在线成员（2）');

  await ana.locator('#chat-message-input').pressSequentially('你');
  await expect(bo.locator('#typing-indicator')).toContainText('正在输入…');
  await ana.locator('#chat-message-input').fill('');
  await send(ana, '你好！看这个：https://example.com/路径。');
  const seen = bo.locator('#chat-log li[data-id]', { hasText: '你好！' });
  await expect(seen.locator('.text a')).toHaveText('https://example.com/路径');
  const own = ana.locator('#chat-log li[data-id]', { hasText: '你好！' });
  await expect(own.locator('.author')).toHaveText(/（你）$/);
  expect(await ana.title()).toBe('e2e-zh · Channels 聊天');

  // The switch: English at once, kept in the cookie, over the browser's Chinese, after a reload.
  await ana.getByRole('button', { name: 'English' }).click();
  await expect(ana.locator('#connection-status')).toHaveText('Online');
  await expect(ana.locator('html')).toHaveAttribute('lang', 'en');
  await expect(ana.locator('#chat-message-submit')).toHaveText('Send');
  expect((await ana.context().cookies()).find((cookie) => cookie.name === 'lang')?.value).toBe('en');
  await ana.reload();
  await expect(ana.locator('html')).toHaveAttribute('lang', 'en');
  await expect(ana.locator('#connection-status')).toHaveText('Online');
  await expect(ana.locator('#chat-log li[data-id] .text')).toContainText(['你好！看这个：https://example.com/路径。']);
  await ana.getByRole('button', { name: '中文' }).click();
  await expect(ana.locator('#connection-status')).toHaveText('在线');
  await expect(ana.locator('html')).toHaveAttribute('lang', 'zh-CN');
  await ana.reload();
  await expect(ana.locator('#connection-status')).toHaveText('在线');
  expect(hydrationErrors).toEqual([]);

  // An English browser with the cookie set to Chinese gets Chinese.
  const chen = await openPage('/', { locale: 'en-US' });
  await expect(chen.locator('html')).toHaveAttribute('lang', 'en');
  await chen.context().addCookies([{ name: 'lang', value: 'zh', url: chen.url() }]);
  await chen.reload();
  await expect(chen.locator('html')).toHaveAttribute('lang', 'zh-CN');
  await expect(chen.getByLabel('想进入哪个聊天室？')).toBeVisible();
});

test('in Chinese: sign up, a wrong password, a private room, an invitation by name, and its members', async ({ openPage }) => {
  test.slow();
  const tag = Math.random().toString(36).slice(2, 8);
  const names = { ana: `安娜_${tag}`, ming: `小明${tag}` };
  const title = `读书会 ${tag}`;
  const ana = await openPage('/account/', ZH);
  const ming = await openPage('/account/', ZH);

  for (const [page, name] of [[ana, names.ana], [ming, names.ming]] as const) {
    await expect(page.locator('h1')).toHaveText('账户');
    const form = page.locator('#sign-up-form');
    await form.getByLabel('用户名').fill(name);
    await form.getByLabel('密码').fill(PASSWORD);
    await form.getByRole('button', { name: '注册' }).click();
    await expect(page).toHaveURL(/\/rooms\/$/);
    await expect(page.locator('#nav-account')).toHaveText(name);
  }

  // Signed out, a wrong password is told in Chinese.
  await ming.goto('/account/');
  await ming.getByRole('button', { name: '退出登录' }).click();
  await expect(ming.locator('#nav-account')).toHaveText('登录');
  const signIn = ming.locator('#sign-in-form');
  await signIn.getByLabel('用户名').fill(names.ming);
  await signIn.getByLabel('密码').fill('不是这个密码');
  await signIn.getByRole('button', { name: '登录' }).click();
  await expect(signIn.getByRole('alert')).toHaveText('用户名或密码错误。');
  await signIn.getByLabel('密码').fill(PASSWORD);
  await signIn.getByRole('button', { name: '登录' }).click();
  await expect(ming).toHaveURL(/\/rooms\/$/);

  await ana.goto('/rooms/');
  await expect(ana.locator('h1')).toHaveText('我的房间');
  await ana.getByLabel('标题').fill(title);
  await ana.getByRole('button', { name: '创建' }).click();
  await expect(ana).toHaveURL(/\/chat\/_[A-Za-z0-9_-]+\/$/);
  const roomPath = new URL(ana.url()).pathname;
  await expect(ana.locator('#room-name + .room-kind')).toHaveText(' · 私密房间');
  await expect(ana.locator('#connection-status')).toHaveText('在线');
  await ana.locator('#members-panel summary').click();
  await expect(ana.locator('#members-panel summary')).toHaveText('成员（1）');
  await ana.getByLabel('按用户名邀请').fill(names.ming);
  await ana.getByRole('button', { name: '邀请', exact: true }).click();
  await expect(ana.locator('#invite-result')).toHaveText(`${names.ming} 已成为成员。`);
  await expect(ana.locator('#members-panel summary')).toHaveText('成员（2）');
  await ana.getByRole('button', { name: '创建邀请链接' }).click();
  await expect(ana.locator('#invite-link-list li .hint').first()).toHaveText(/^7天后过期$|^7 天后过期$/);

  await ming.goto(roomPath);
  await expect(ming.locator('#connection-status')).toHaveText('在线');
  await send(ana, '欢迎！');
  await expect(ming.locator('#chat-log li[data-id] .text')).toContainText(['欢迎！']);
  await send(ming, '谢谢，我来了');

  // The room list: Chinese labels, the unread count, the time told relative to now.
  await ana.goto('/rooms/');
  const item = ana.locator(`#room-list li[data-room="${roomPath.split('/')[2]}"]`);
  await expect(item.locator('.room-kind')).toHaveText(' · 私密房间');
  await expect(item.locator('.room-last')).toHaveText(`${names.ming}: 谢谢，我来了`);
  await expect(item.locator('.room-time')).toHaveText(/现在|秒|分钟/);
});
