import type { Locator, Page } from '@playwright/test';
import { expect, test } from './support/fixtures';

/**
 * Replying to, reacting to, editing and deleting messages, through the pages only: two people in
 * two browser contexts see each change live, in English and in Chinese; a third, away while the
 * changes were made, sees only the final state when it comes back, and never the old text.
 */

const ZH = { locale: 'zh-CN' } as const;

function roomPath(name: string): string {
  return `/chat/e2e-${name}-${Math.random().toString(36).slice(2, 8)}/`;
}

/** Sends a message (a reply while the reply bar is up) and returns its id once it is stored. */
async function send(page: Page, text: string): Promise<string> {
  await page.locator('#chat-message-input').fill(text);
  await page.locator('#chat-message-input').press('Enter');
  const item = page.locator('#chat-log li[data-id] > .text').filter({ hasText: text }).locator('xpath=..');
  await expect(item).toHaveCount(1);
  return (await item.getAttribute('data-id'))!;
}

function message(page: Page, id: string): Locator {
  return page.locator(`#chat-log li[data-id="${id}"]`);
}

/** The message's own text (not a quote in it). */
function textOf(item: Locator): Locator {
  return item.locator(':scope > .text');
}

/** The buttons of a group, by their accessible names, in order. */
async function expectButtons(group: Locator, names: readonly string[]): Promise<void> {
  await expect(group.getByRole('button')).toHaveCount(names.length);
  for (const [index, name] of names.entries()) await expect(group.getByRole('button').nth(index)).toHaveAccessibleName(name);
}

async function myName(page: Page): Promise<string> {
  await expect(page.locator('#my-name')).not.toBeEmpty();
  return (await page.locator('#my-name').textContent())!;
}

test('a reply, a reaction, an edit and a deletion show live on both sides', async ({ openPage }) => {
  const path = roomPath('actions');
  const ana = await openPage(path);
  const bo = await openPage(path);
  for (const page of [ana, bo]) await expect(page.locator('#connection-status')).toHaveText('Online');
  const [anaName, boName] = [await myName(ana), await myName(bo)];
  const actions = (item: Locator) => item.getByRole('group', { name: 'Message actions' });

  const original = 'Meet at the old bridge at noon';
  const id = await send(ana, original);
  const onAna = message(ana, id);
  const onBo = message(bo, id);
  await expect(textOf(onBo)).toHaveText(original);

  // Only the author may edit or delete (in a public room); everyone may reply and react.
  await expectButtons(actions(onBo), ['Reply', 'React']);
  await expectButtons(actions(onAna), ['Reply', 'React', 'Edit', 'Delete']);

  // Bo replies: the bar above the composer, Escape gives it up, × too, and the reply quotes Ana.
  await actions(onBo).getByRole('button', { name: 'Reply' }).click();
  const bar = bo.locator('#reply-bar');
  await expect(bar).toContainText(`Replying to ${anaName}: ${original}`);
  await expect(bo.locator('#chat-message-input')).toBeFocused();
  await bo.locator('#chat-message-input').press('Escape');
  await expect(bar).toHaveCount(0);
  await actions(onBo).getByRole('button', { name: 'Reply' }).click();
  await bar.getByRole('button', { name: 'Cancel reply' }).click();
  await expect(bar).toHaveCount(0);
  await actions(onBo).getByRole('button', { name: 'Reply' }).click();
  const replyId = await send(bo, 'Works for me, see you there');
  await expect(bar).toHaveCount(0);
  for (const page of [ana, bo]) {
    const quote = message(page, replyId).locator('.reply-quote');
    await expect(quote.locator('.quote-author')).toHaveText(anaName);
    await expect(quote.locator('.quote-text')).toHaveText(original);
  }
  // The quote leads to the message it answers.
  await message(ana, replyId).locator('.reply-quote').click();
  await expect(onAna).toBeFocused();

  // Bo reacts 👍: Ana sees one, not hers; Bo's chip is pressed and takes it off again.
  await actions(onBo).getByRole('button', { name: 'React' }).click();
  await onBo.getByRole('button', { name: 'React with 👍' }).click();
  const chipOnAna = onAna.locator('.reaction-chip');
  const chipOnBo = onBo.locator('.reaction-chip');
  await expect(chipOnAna).toHaveText('👍 1');
  await expect(chipOnAna).toHaveAttribute('aria-pressed', 'false');
  await expect(chipOnAna).toHaveAttribute('title', `${boName} reacted with 👍`);
  await expect(chipOnBo).toHaveText('👍 1');
  await expect(chipOnBo).toHaveAttribute('aria-pressed', 'true');
  await chipOnBo.click();
  await expect(chipOnBo).toHaveCount(0);
  await expect(chipOnAna).toHaveCount(0);

  // Ana edits: Escape gives up, an unchanged text sends nothing, Enter saves.
  await actions(onAna).getByRole('button', { name: 'Edit' }).click();
  const editor = onAna.getByRole('textbox', { name: 'Edit message' });
  await expect(editor).toHaveValue(original);
  await expect(editor).toBeFocused();
  await editor.press('Escape');
  await expect(editor).toHaveCount(0);
  await actions(onAna).getByRole('button', { name: 'Edit' }).click();
  await editor.press('Enter');
  await expect(editor).toHaveCount(0);
  await expect(onAna.locator('.edited')).toHaveCount(0);
  const edited = 'Meet at the library at one instead';
  await actions(onAna).getByRole('button', { name: 'Edit' }).click();
  await editor.fill(edited);
  await editor.press('Enter');
  for (const page of [ana, bo]) {
    const item = message(page, id);
    await expect(textOf(item)).toHaveText(edited);
    await expect(item.locator('.edited')).toHaveText('(edited)');
    await expect(item.locator('.edited')).toHaveAttribute('title', /^Edited .+/);
    // The reply quotes it as it reads now.
    await expect(message(page, replyId).locator('.quote-text')).toHaveText(edited);
    expect(await page.content()).not.toContain(original);
  }

  // Ana deletes it: asked first (Cancel keeps it), then a tombstone on both sides, and the quote goes.
  await actions(onAna).getByRole('button', { name: 'Delete' }).click();
  const confirm = onAna.getByRole('group', { name: 'Delete this message?' });
  await expect(confirm).toContainText('Delete this message?');
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(confirm).toHaveCount(0);
  await expect(textOf(onAna)).toHaveText(edited);
  await actions(onAna).getByRole('button', { name: 'Delete' }).click();
  await confirm.getByRole('button', { name: 'Delete' }).click();
  for (const page of [ana, bo]) {
    const item = message(page, id);
    await expect(item).toHaveClass(/\bdeleted\b/);
    await expect(textOf(item)).toHaveText('Message deleted');
    await expect(item.locator('.edited, .reactions')).toHaveCount(0);
    await expect(actions(item)).toHaveCount(0);
    await expect(message(page, replyId).locator('.reply-quote .quote-text')).toHaveText('Message deleted');
    expect(await page.content()).not.toContain(edited);
  }
});

test('in Chinese: the actions, the reply bar and the marks are in Chinese, and the editor waits for the input method', async ({ openPage }) => {
  const path = roomPath('actions-zh');
  const ana = await openPage(path, ZH);
  const bo = await openPage(path, ZH);
  for (const page of [ana, bo]) await expect(page.locator('#connection-status')).toHaveText('在线');
  const [anaName, boName] = [await myName(ana), await myName(bo)];
  const actions = (item: Locator) => item.getByRole('group', { name: '消息操作' });

  const original = '明天下午三点在会议室开会';
  const id = await send(ana, original);
  const onAna = message(ana, id);
  const onBo = message(bo, id);
  await expectButtons(actions(onAna), ['回复', '表情回应', '编辑', '删除']);

  await actions(onBo).getByRole('button', { name: '回复' }).click();
  await expect(bo.locator('#reply-bar')).toContainText(`回复给 ${anaName}：${original}`);
  await expect(bo.locator('#reply-bar').getByRole('button')).toHaveAccessibleName('取消回复');
  const replyId = await send(bo, '好的，我会准时到');
  await expect(message(ana, replyId).locator('.reply-quote .quote-text')).toHaveText(original);

  await actions(onBo).getByRole('button', { name: '表情回应' }).click();
  await onBo.getByRole('button', { name: '用 🎉 回应' }).click();
  await expect(onAna.locator('.reaction-chip')).toHaveText('🎉 1');
  await expect(onAna.locator('.reaction-chip')).toHaveAttribute('title', `${boName} 用 🎉 回应了`);

  // Editing through a Chinese input method: Enter picks the characters, it does not save.
  await actions(onAna).getByRole('button', { name: '编辑' }).click();
  const editor = onAna.getByRole('textbox', { name: '编辑消息' });
  await expect(editor).toHaveValue(original);
  await editor.fill('');
  const cdp = await ana.context().newCDPSession(ana);
  await cdp.send('Input.imeSetComposition', { text: 'sidian', selectionStart: 6, selectionEnd: 6 });
  await expect(editor).toHaveValue('sidian');
  await cdp.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 229 });
  await cdp.send('Input.insertText', { text: '改到下午四点' });
  await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13 });
  await expect(editor).toHaveValue('改到下午四点');
  await expect(editor).toBeVisible();
  await editor.press('Enter');
  for (const page of [ana, bo]) {
    const item = message(page, id);
    await expect(textOf(item)).toHaveText('改到下午四点');
    await expect(item.locator('.edited')).toHaveText('（已编辑）');
    await expect(item.locator('.edited')).toHaveAttribute('title', /^编辑于 /);
  }

  await actions(onAna).getByRole('button', { name: '删除' }).click();
  const confirm = onAna.getByRole('group', { name: '删除这条消息？' });
  await expectButtons(confirm, ['删除', '取消']);
  await confirm.getByRole('button', { name: '删除' }).click();
  for (const page of [ana, bo]) {
    await expect(textOf(message(page, id))).toHaveText('消息已删除');
    await expect(message(page, replyId).locator('.reply-quote .quote-text')).toHaveText('消息已删除');
    expect(await page.content()).not.toContain('四点');
  }
});

test('a browser away while a message is edited and another deleted sees only the final state', async ({ openPage }) => {
  const path = roomPath('actions-away');
  const ana = await openPage(path);
  const away = await openPage(path);
  for (const page of [ana, away]) await expect(page.locator('#connection-status')).toHaveText('Online');
  const before = { kept: 'Password hint: the blue teapot', gone: 'Door code is 4711, keep it quiet' };
  const keptId = await send(ana, before.kept);
  const goneId = await send(ana, before.gone);
  // A reply to each, so the quotes must follow too.
  for (const [parent, text] of [[keptId, 'noted the hint'], [goneId, 'noted the code']] as const) {
    await message(away, parent).getByRole('group', { name: 'Message actions' }).getByRole('button', { name: 'Reply' }).click();
    await send(away, text);
  }
  await expect(message(away, goneId)).toContainText(before.gone);

  // The page closes; Ana edits one message and deletes the other meanwhile.
  const context = away.context();
  await away.close();
  const actions = (id: string) => message(ana, id).getByRole('group', { name: 'Message actions' });
  await actions(keptId).getByRole('button', { name: 'Edit' }).click();
  const after = 'Password hint: ask me in person';
  await message(ana, keptId).getByRole('textbox', { name: 'Edit message' }).fill(after);
  await message(ana, keptId).getByRole('textbox', { name: 'Edit message' }).press('Enter');
  await expect(textOf(message(ana, keptId))).toHaveText(after);
  await actions(goneId).getByRole('button', { name: 'Delete' }).click();
  await message(ana, goneId).getByRole('group', { name: 'Delete this message?' }).getByRole('button', { name: 'Delete' }).click();
  await expect(textOf(message(ana, goneId))).toHaveText('Message deleted');

  // Back in the same browser: the final state only, the old words nowhere in the page.
  const back = await context.newPage();
  await back.goto(path);
  await expect(back.locator('#connection-status')).toHaveText('Online');
  await expect(textOf(message(back, keptId))).toHaveText(after);
  await expect(message(back, keptId).locator('.edited')).toHaveText('(edited)');
  await expect(message(back, goneId)).toHaveClass(/\bdeleted\b/);
  await expect(textOf(message(back, goneId))).toHaveText('Message deleted');
  const quotes = back.locator('#chat-log .reply-quote .quote-text');
  await expect(quotes).toHaveText([after, 'Message deleted']);
  const html = await back.content();
  expect(html).not.toContain(before.kept);
  expect(html).not.toContain(before.gone);
  expect(html).not.toContain('4711');
});

test("the owner of a private room may delete others' messages; a member may not delete the owner's", async ({ openPage }) => {
  test.slow();
  const tag = Math.random().toString(36).slice(2, 8);
  const names = { ana: `ana_${tag}`, ming: `小明${tag}` };
  const ana = await openPage('/account/');
  const ming = await openPage('/account/');
  for (const [page, name] of [[ana, names.ana], [ming, names.ming]] as const) {
    const form = page.locator('#sign-up-form');
    await form.getByLabel('User name').fill(name);
    await form.getByLabel('Password').fill('正确的马 battery staple');
    await form.getByRole('button', { name: 'Sign up' }).click();
    await expect(page.locator('#nav-account')).toHaveText(name);
  }
  await ana.goto('/rooms/');
  await ana.getByLabel('Title').fill(`Moderated ${tag}`);
  await ana.getByRole('button', { name: 'Create' }).click();
  await expect(ana).toHaveURL(/\/chat\/_[A-Za-z0-9_-]+\/$/);
  await ana.locator('#members-panel summary').click();
  await ana.getByLabel('Invite by user name').fill(names.ming);
  await ana.getByRole('button', { name: 'Invite', exact: true }).click();
  await expect(ana.locator('#invite-result')).toHaveText(`${names.ming} is now a member.`);
  await ming.goto(new URL(ana.url()).pathname);
  await expect(ming.locator('#connection-status')).toHaveText('Online');

  const anaId = await send(ana, 'House rules: be kind');
  const mingId = await send(ming, 'Something the owner will take down');
  const actions = (page: Page, id: string) => message(page, id).getByRole('group', { name: 'Message actions' });
  // Ana may delete Ming's message (not edit it); Ming may do neither to Ana's.
  await expectButtons(actions(ana, mingId), ['Reply', 'React', 'Delete']);
  await expectButtons(actions(ming, anaId), ['Reply', 'React']);
  await actions(ana, mingId).getByRole('button', { name: 'Delete' }).click();
  await message(ana, mingId).getByRole('group', { name: 'Delete this message?' }).getByRole('button', { name: 'Delete' }).click();
  for (const page of [ana, ming]) {
    await expect(textOf(message(page, mingId))).toHaveText('Message deleted');
    expect(await page.content()).not.toContain('take down');
  }
});

test('a change the server refuses is told beside its message, in the reader’s language, until dismissed', async ({ openPage }) => {
  const path = roomPath('actions-refused');
  const page = await openPage(path, ZH);
  // Stands in for a server whose edit window closed between the click and the frame: every edit
  // is answered `too_late`, echoing its client_id, as the server does.
  await page.routeWebSocket(/\/ws\/chat\//, (socket) => {
    const server = socket.connectToServer();
    socket.onMessage((data) => {
      const frame = typeof data === 'string' ? (JSON.parse(data) as { type?: string; client_id?: string }) : {};
      if (frame.type === 'chat.edit') socket.send(JSON.stringify({ type: 'error', code: 'too_late', detail: 'too late', client_id: frame.client_id }));
      else server.send(data);
    });
  });
  await page.reload();
  await expect(page.locator('#connection-status')).toHaveText('在线');
  const id = await send(page, '原来的话');
  const item = message(page, id);
  await item.getByRole('group', { name: '消息操作' }).getByRole('button', { name: '编辑' }).click();
  await item.getByRole('textbox', { name: '编辑消息' }).fill('改过的话');
  await item.getByRole('textbox', { name: '编辑消息' }).press('Enter');
  const alert = item.getByRole('alert');
  await expect(alert).toContainText('未完成：已超过可编辑的时间');
  await expect(textOf(item)).toHaveText('原来的话');
  await alert.getByRole('button', { name: '关闭' }).click();
  await expect(alert).toHaveCount(0);
});
