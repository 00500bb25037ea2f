// On a phone (360x640): the People drawer closes every way a person expects, and a notice
// spans the screen, goes by itself, and never throws away what was typed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WAIT_MS, launchBrowser, tag, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { rename } from './support/moderation.ts';
import { noticesSeen, waitNoticeSeen } from './support/notices.ts';

const PHONE = { width: 360, height: 640 };

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Where focus is inside <wisp-app>: 'drawer', 'toggle', or a description of something else. */
function focusIn(page: Page): Promise<string> {
  return page.evaluate(() => {
    const active = document.querySelector('wisp-app')?.shadowRoot?.activeElement;
    if (!active) return `outside the app (${document.activeElement?.localName ?? 'nothing'})`;
    if (active.closest('aside#members')) return 'drawer';
    if (active.matches('button.members-toggle')) return 'toggle';
    return active.localName;
  });
}

test('at 360x640 the People drawer closes by its button, a tap on the dimmed area, and Escape from anywhere; focus goes in and back', { timeout: 120_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const phone = await scene.person('Phone', { viewport: PHONE });
  const desk = await scene.person('Desk');
  await phone.waitForMembers([await phone.myName(), await desk.myName()].sort());
  const toggle = phone.page.locator('wisp-app button.members-toggle');
  const aside = phone.page.locator('wisp-app aside#members');
  const close = aside.getByRole('button', { name: 'Close people' });

  const open = async () => {
    await toggle.click();
    await aside.waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await waitUntil('focus to move into the drawer', async () => (await focusIn(phone.page)) === 'drawer');
  };
  const closed = async (how: string) => {
    await aside.waitFor({ state: 'hidden', timeout: WAIT_MS });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false', `${how}: the toggle says closed`);
    await waitUntil(`${how}: focus to return to the People toggle`, async () => (await focusIn(phone.page)) === 'toggle');
  };

  // 1. The close button: visible, labelled, on screen.
  await open();
  const box = await close.boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width && box.y >= 0, 'the close button is on screen');
  await close.click();
  await closed('the close button');

  // 2. A tap on the dimmed conversation beside the drawer.
  await open();
  const drawer = (await aside.boundingBox())!;
  assert.ok(drawer.x > 40, `the drawer leaves a strip of the conversation (it starts at ${drawer.x}px)`);
  const dim = await phone.page.evaluate(() => {
    const el = document.querySelector('wisp-app')!.shadowRoot!.elementFromPoint(20, 320);
    return el ? `${el.localName}.${el.className}` : '';
  });
  assert.equal(dim, 'div.scrim', 'the strip beside the drawer is the dimmed layer');
  await phone.page.mouse.click(20, 320);
  await closed('a tap on the dimmed area');

  // 3. Escape while focus is nowhere in the app (the page body).
  await open();
  await phone.page.evaluate(() => (document.querySelector('wisp-app')!.shadowRoot!.activeElement as HTMLElement).blur());
  assert.match(await focusIn(phone.page), /^outside the app/);
  await phone.page.keyboard.press('Escape');
  await closed('Escape from the page body');
});

test('at 360x640 a refused /nick: the notice spans the screen, goes by itself, and the typed command stays to be fixed', { timeout: 120_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const phone = await scene.person('Phone', { viewport: PHONE });
  const bob = await scene.person('Bob');
  const taken = `bob_${tag()}`;
  await rename(bob, taken);
  await phone.waitForMembers([await phone.myName(), taken].sort());

  const before = (await noticesSeen(phone)).length;
  await phone.say(`/nick ${taken}`);
  const sentence = await waitNoticeSeen(phone, 'taken', { since: before });
  assert.match(sentence, new RegExp(taken), 'the notice names the taken name');
  const notice = phone.notice;
  await notice.waitFor({ state: 'visible', timeout: WAIT_MS });
  const box = (await notice.boundingBox())!;
  // Full width on a phone, less a small margin each side: one or two lines, not a narrow column.
  assert.ok(box.width >= PHONE.width - 24 && box.x >= 0 && box.x + box.width <= PHONE.width, `the notice spans the screen (${box.x}px + ${box.width}px of ${PHONE.width}px)`);
  assert.equal(await notice.getByRole('button', { name: 'Dismiss' }).count(), 1, 'the notice has a close button');
  assert.equal(await phone.textarea.inputValue(), `/nick ${taken}`, 'the refused command stays in the composer');

  // It goes by itself; the command is still there, and fixing it works.
  await notice.waitFor({ state: 'detached', timeout: WAIT_MS });
  assert.equal(await phone.textarea.inputValue(), `/nick ${taken}`, 'still there after the notice went');
  const mine = `${taken}_2`;
  await phone.textarea.press('End');
  await phone.textarea.pressSequentially('_2');
  await phone.textarea.press('Enter');
  await waitUntil('the composer to empty once the rename is taken', async () => (await phone.textarea.inputValue()) === '');
  await waitUntil(`Phone to be called ${mine}`, async () => (await phone.myName()) === mine);
  await bob.waitForMembers([mine, taken].sort());
});
