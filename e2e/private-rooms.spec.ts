import type { Page } from '@playwright/test';
import { expect, test } from './support/fixtures';

/**
 * Accounts, private rooms, direct messages and invite links, through the pages only, in four
 * browser contexts: Ana and Ming (two accounts), Chen (a third account, not invited), and a guest.
 */

const PASSWORD = '正确的马 battery staple';

/** Signs up on /account/; a signed-in person is shown by their user name. */
async function signUp(page: Page, username: string): Promise<void> {
  await page.goto('/account/');
  const form = page.locator('#sign-up-form');
  await form.getByLabel('User name').fill(username);
  await form.getByLabel('Password').fill(PASSWORD);
  await form.getByRole('button', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(/\/rooms\/$/);
  await expect(page.locator('#nav-account')).toHaveText(username);
}

async function send(page: Page, text: string): Promise<void> {
  await page.locator('#chat-message-input').fill(text);
  await page.locator('#chat-message-input').press('Enter');
  await expect(page.locator('#chat-log li[data-id] .text').filter({ hasText: text })).toHaveCount(1);
}

async function openMembers(page: Page): Promise<void> {
  const panel = page.locator('#members-panel');
  if ((await panel.getAttribute('open')) === null) await panel.locator('summary').click();
}

test('two accounts share a private room and a direct message; others see no such room; invite links work until revoked', async ({ openPage }) => {
  test.slow();
  const tag = Math.random().toString(36).slice(2, 8);
  const names = { ana: `安娜_${tag}`, ming: `小明${tag}`, chen: `chen.${tag}` };
  const title = `周末计划 ${tag}`;

  const ana = await openPage('/account/');
  const ming = await openPage('/account/');
  const chen = await openPage('/account/');
  const guest = await openPage('/');

  await signUp(ana, names.ana);
  await signUp(ming, names.ming);
  await signUp(chen, names.chen);

  // Signing in again on /account/: a wrong password is told beside the form; the right one works.
  await chen.goto('/account/');
  await expect(chen.locator('#account-username')).toHaveText(names.chen);
  await chen.getByRole('button', { name: 'Sign out' }).click();
  await expect(chen.locator('#nav-account')).toHaveText('Sign in');
  const signIn = chen.locator('#sign-in-form');
  await signIn.getByLabel('User name').fill(names.chen);
  await signIn.getByLabel('Password').fill('not the password');
  await signIn.getByRole('button', { name: 'Sign in' }).click();
  await expect(signIn.getByRole('alert')).toHaveText('Wrong user name or password.');
  await signIn.getByLabel('Password').fill(PASSWORD);
  await signIn.getByRole('button', { name: 'Sign in' }).click();
  await expect(chen).toHaveURL(/\/rooms\/$/);
  await expect(chen.locator('#nav-account')).toHaveText(names.chen);

  // The guest is offered sign-in for private rooms, and cannot enter a "_" name from the home page.
  await guest.goto('/rooms/');
  await expect(guest.locator('#private-rooms-prompt')).toContainText('Private rooms and direct messages need an account');
  await expect(guest.locator('#new-room-form')).toHaveCount(0);
  await guest.goto('/');
  await guest.locator('#room-name-input').fill('_secret');
  await guest.locator('#room-name-input').press('Enter');
  await expect(guest.locator('main').getByRole('alert')).toContainText('are for private rooms');
  await expect(guest).toHaveURL(/\/$/);

  // Ana makes a private room with a Chinese title and invites Ming by user name.
  await ana.goto('/rooms/');
  await ana.getByLabel('Title').fill(title);
  await ana.getByRole('button', { name: 'Create' }).click();
  await expect(ana).toHaveURL(/\/chat\/_[A-Za-z0-9_-]+\/$/);
  const roomPath = new URL(ana.url()).pathname;
  await expect(ana.locator('#room-name')).toHaveText(title);
  await expect(ana.locator('#connection-status')).toHaveText('Online');
  await openMembers(ana);
  await ana.getByLabel('Invite by user name').fill(names.ming);
  await ana.getByRole('button', { name: 'Invite', exact: true }).click();
  await expect(ana.locator('#invite-result')).toHaveText(`${names.ming} is now a member.`);
  await expect(ana.locator('#member-list li')).toHaveCount(2);

  // They chat, in Chinese, typed into the page.
  await ming.goto(roomPath);
  await expect(ming.locator('#connection-status')).toHaveText('Online');
  await expect(ming.locator('#room-name')).toHaveText(title);
  await send(ana, '你好，小明！这是我们的私人房间。');
  await expect(ming.locator('#chat-log li[data-id] .text')).toContainText(['你好，小明！这是我们的私人房间。']);
  await ming.locator('#chat-message-input').pressSequentially('收到，周六见');
  await ming.locator('#chat-message-input').press('Enter');
  await expect(ana.locator('#chat-log li[data-id] .text')).toContainText(['你好，小明！这是我们的私人房间。', '收到，周六见']);

  // Someone signed in but not invited, and a guest: no such room.
  for (const outsider of [chen, guest]) {
    await outsider.goto(roomPath);
    await expect(outsider.locator('#connection-status')).toHaveText('No such room, or you are not a member');
    await expect(outsider.locator('#chat-message-input')).toBeDisabled();
    await expect(outsider.locator('#chat-log li[data-id]')).toHaveCount(0);
  }
  await expect(guest.locator('#room-access').getByRole('link', { name: 'sign in or sign up' })).toBeVisible();

  // Ana removes Ming: Ming's page says so at once and keeps what it showed.
  await openMembers(ana);
  await ana.getByRole('button', { name: `Remove ${names.ming} from the room` }).click();
  await expect(ana.locator('#member-list li')).toHaveCount(1);
  await expect(ming.locator('#connection-status')).toHaveText('You were removed from this room');
  await expect(ming.locator('#chat-message-input')).toBeDisabled();
  await expect(ming.locator('#chat-log li[data-id] .text')).toContainText(['你好，小明！这是我们的私人房间。', '收到，周六见']);

  // Ana opens a direct message from Ming's name on his message, and writes before Ming looks.
  await ana.getByRole('button', { name: `Actions for ${names.ming}` }).first().click();
  await ana.getByRole('button', { name: 'Message privately' }).click();
  await expect(ana.locator('#room-name')).toHaveText(names.ming);
  await expect(ana.locator('#room-name + .room-kind')).toHaveText(' · direct message');
  const directPath = new URL(ana.url()).pathname;
  expect(directPath).toMatch(/^\/chat\/_[A-Za-z0-9_-]+\/$/);
  expect(directPath).not.toBe(roomPath);
  await expect(ana.locator('#connection-status')).toHaveText('Online');
  await send(ana, '私聊：你还好吗？');
  await send(ana, '周六改到下午');

  // Ming's room list counts the two unread messages, and clears them once he has read them.
  await ming.goto('/rooms/');
  const direct = ming.locator(`#room-list li[data-room="${directPath.split('/')[2]}"]`);
  await expect(direct.locator('.room-title bdi')).toHaveText(names.ana);
  await expect(direct.locator('.unread-badge')).toHaveText('2');
  await expect(direct.locator('.room-last')).toHaveText(`${names.ana}: 周六改到下午`);
  await direct.getByRole('link').click();
  await expect(ming).toHaveURL(new RegExp(`${directPath}$`));
  await expect(ming.locator('#room-name')).toHaveText(names.ana);
  await expect(ming.locator('#chat-log li[data-id] .text')).toContainText(['私聊：你还好吗？', '周六改到下午']);
  // Ming has read them: Ana sees "Seen" under her last message, and only there.
  await expect(ana.locator('#chat-log li.seen')).toHaveCount(1);
  await expect(ana.locator('#chat-log li[data-id]:has-text("周六改到下午") + li.seen')).toHaveText('Seen');
  await send(ming, '我很好，下午可以');
  await expect(ana.locator('#chat-log li[data-id] .text')).toContainText(['我很好，下午可以']);
  await expect(ming.locator('#chat-log li[data-id]:has-text("我很好，下午可以") + li.seen')).toHaveText('Seen');
  await expect(ming.locator('#chat-log li.seen')).toHaveCount(1);
  await ming.getByRole('link', { name: 'Your rooms' }).click();
  await expect(ming).toHaveURL(/\/rooms\/$/);
  await expect(direct.locator('.room-last')).toHaveText(`${names.ming}: 我很好，下午可以`);
  await expect(direct.locator('.unread-badge')).toHaveCount(0);

  // Invite links: Chen joins through one; a revoked one no longer works.
  await ana.goto(roomPath);
  await expect(ana.locator('#connection-status')).toHaveText('Online');
  await openMembers(ana);
  const links = ana.locator('#invite-link-list li[data-path]');
  await ana.getByRole('button', { name: 'Create invite link' }).click();
  await expect(links).toHaveCount(1);
  const kept = (await links.first().getAttribute('data-path'))!;
  await ana.getByRole('button', { name: 'Create invite link' }).click();
  await expect(links).toHaveCount(2);
  const revoked = (await links.evaluateAll((items) => items.map((item) => item.getAttribute('data-path')))).find((path) => path !== kept)!;
  expect(revoked).toMatch(/^\/invite\//);
  await expect(ana.locator(`#invite-link-list li[data-path="${kept}"] input`)).toHaveValue(new URL(kept, ana.url()).href);
  await ana.locator(`#invite-link-list li[data-path="${revoked}"]`).getByRole('button', { name: /^Revoke/ }).click();
  await expect(ana.locator(`#invite-link-list li[data-path="${revoked}"]`)).toHaveCount(0);
  await expect(ana.locator('#invite-link-list li')).toHaveCount(1);

  await chen.goto(kept);
  await expect(chen.locator('#invite-heading')).toHaveText(`Join ${title}?`);
  await chen.getByRole('button', { name: 'Join room' }).click();
  await expect(chen).toHaveURL(new RegExp(`${roomPath}$`));
  await expect(chen.locator('#connection-status')).toHaveText('Online');
  await expect(chen.locator('#room-name')).toHaveText(title);
  await expect(chen.locator('#chat-log li[data-id] .text')).toContainText(['你好，小明！这是我们的私人房间。']);
  await expect(ana.locator('#member-list li', { hasText: names.chen })).toHaveCount(1);

  // The guest is sent to sign in first, and comes back here afterwards; the revoked link is not found.
  await guest.goto(kept);
  await expect(guest.locator('#invite-guest')).toContainText('sign in or sign up first');
  await expect(guest.locator('#invite-guest').getByRole('link')).toHaveAttribute('href', `/account/?next=${encodeURIComponent(`${kept}/`)}`);
  await chen.goto(revoked);
  await expect(chen.locator('#invite-problem')).toHaveText(/does not work/);
  await expect(chen.getByRole('button', { name: 'Join room' })).toHaveCount(0);
});
