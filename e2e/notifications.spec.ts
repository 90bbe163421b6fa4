import { ADMIN_TOKEN } from './support/app-server';
import { expect, test } from './support/fixtures';

test('a person @mentioned in a room they joined gets a notification in another, from any page', async ({ openPage }) => {
  const ming = await openPage('/');
  await ming.getByLabel('Display name').fill('小明');
  await ming.locator('#room-name-input').fill('e2e-kitchen');
  await ming.locator('#room-name-input').press('Enter');
  await expect(ming.locator('#my-name')).toHaveText('小明');
  await expect(ming.locator('#connection-status')).toHaveText('Online');
  // Mentions reach the people of the room (in it now, or among its recent authors), never a name alone.
  await ming.locator('#chat-message-input').fill('我先走了');
  await ming.locator('#chat-message-input').press('Enter');
  await expect(ming.locator('#chat-log li[data-id] .text')).toContainText(['我先走了']);
  await ming.goto('/chat/e2e-elsewhere/');
  await expect(ming.locator('#connection-status')).toHaveText('Online');

  const ana = await openPage('/chat/e2e-kitchen/');
  await expect(ana.locator('#connection-status')).toHaveText('Online');
  const anaName = await ana.locator('#my-name').textContent();
  await ana.locator('#chat-message-input').fill('lunch, @小明?');
  await ana.locator('#chat-message-input').press('Enter');

  const toast = ming.locator('.toast', { hasText: `${anaName} mentioned you in #e2e-kitchen` });
  await expect(toast).toBeVisible();
  await expect(toast.locator('.toast-body')).toHaveText('lunch, @小明?');
  await expect(ana.locator('.toast')).toHaveCount(0);
  await toast.getByRole('link').click();
  await expect(ming).toHaveURL(/\/chat\/e2e-kitchen\/\?at=\d+$/);
  // It opens at the message, highlighted.
  await expect(ming.locator('#chat-log li.message.target .text')).toHaveText('lunch, @小明?');
});

test('a mention is told in the language of the person mentioned', async ({ openPage }) => {
  const hong = await openPage('/', { locale: 'zh-CN' });
  await hong.getByLabel('显示名称').fill('小红');
  await hong.locator('#room-name-input').fill('e2e-kitchen-zh');
  await hong.locator('#room-name-input').press('Enter');
  await expect(hong.locator('#my-name')).toHaveText('小红');
  await expect(hong.locator('#connection-status')).toHaveText('在线');
  await hong.locator('#chat-message-input').fill('我在');
  await hong.locator('#chat-message-input').press('Enter');
  await expect(hong.locator('#chat-log li[data-id] .text')).toContainText(['我在']);
  await hong.goto('/rooms/');
  await expect(hong.locator('.toasts')).toHaveAttribute('data-connected', 'true');

  // Written by someone reading English: the toast is in Chinese all the same.
  const ana = await openPage('/chat/e2e-kitchen-zh/', { locale: 'en-US' });
  await expect(ana.locator('#connection-status')).toHaveText('Online');
  const anaName = await ana.locator('#my-name').textContent();
  await ana.locator('#chat-message-input').fill('@小红 开会了');
  await ana.locator('#chat-message-input').press('Enter');

  const toast = hong.locator('.toast');
  await expect(toast.locator('.toast-title')).toHaveText(`${anaName} 在 #e2e-kitchen-zh 中提到了你`);
  await expect(toast.locator('.toast-title bdi')).toHaveText([anaName ?? '', 'e2e-kitchen-zh']);
  await expect(toast.locator('.toast-body')).toHaveText('@小红 开会了');
});

test('a route handler pushes a notification to every tab of a user', async ({ openPage, app }) => {
  const first = await openPage('/');
  const me = (await (await first.request.get('/api/session')).json()) as { user_id: string };
  await expect(first.locator('#room-name-input')).toBeFocused();
  // Notifications are not stored: one sent before the page's notification socket is open is missed.
  await expect(first.locator('.toasts')).toHaveAttribute('data-connected', 'true');
  const response = await first.request.post(`/api/users/${me.user_id}/notify`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    data: { title: 'Deploy at 22:00', body: '服务器将在十点维护' },
  });
  expect(response.status()).toBe(202);
  await expect(first.locator('.toast', { hasText: 'Deploy at 22:00' })).toContainText('服务器将在十点维护');
  expect(app.output()).not.toContain('"level":"error"');
});
