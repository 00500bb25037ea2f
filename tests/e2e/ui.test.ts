// A phone-sized screen (360x640) and keyboard-only use.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WAIT_MS, launchBrowser, tag, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';

const PHONE = { width: 360, height: 640 };

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** The focused element, looking through shadow roots: a short description of it. */
function deepFocus(page: Page): Promise<string> {
  return page.evaluate(() => {
    let el: Element | null = document.activeElement;
    const path: string[] = [];
    while (el) {
      path.push(el.tagName.toLowerCase() + (el.id ? `#${el.id}` : ''));
      const inner: Element | null = el.shadowRoot?.activeElement ?? null;
      if (!inner) break;
      el = inner;
    }
    return path.join(' > ');
  });
}

async function isInViewport(page: Page, selector: string): Promise<boolean> {
  const box = await page.locator(selector).boundingBox();
  const viewport = page.viewportSize()!;
  return !!box && box.width > 0 && box.height > 0 && box.x >= 0 && box.y >= 0 && box.x + box.width <= viewport.width + 0.5 && box.y + box.height <= viewport.height + 0.5;
}

test('at 360x640 the composer, room tabs and People toggle are visible and usable', { timeout: 120_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const phone = await scene.person('Phone', { viewport: PHONE });
  const desk = await scene.person('Desk');
  const phoneName = await phone.myName();
  const deskName = await desk.myName();

  for (const selector of ['wisp-composer textarea', 'wisp-composer button[type=submit]', 'wisp-room-tabs [role=tab][data-room=lobby]', 'wisp-room-tabs button[aria-label="Join or create a room"]', 'wisp-app button.members-toggle']) {
    assert.equal(await isInViewport(phone.page, selector), true, `${selector} is fully on screen at 360x640`);
  }
  const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no sideways scrolling (the page is ${overflow}px too wide)`);

  // The member list hides behind the People toggle on a phone.
  const toggle = phone.page.locator('wisp-app button.members-toggle');
  const aside = phone.page.locator('wisp-app aside#members');
  assert.equal(await aside.isVisible(), false, 'the member list starts hidden on a phone');
  await waitUntil('the People toggle to count 2', async () => /People\s*\(2\)/.test((await toggle.textContent()) ?? ''));
  await toggle.click();
  await aside.waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  assert.equal(await isInViewport(phone.page, 'wisp-app aside#members'), true, 'the opened member list is on screen');
  await phone.waitForMembers([phoneName, deskName]);
  await phone.page.keyboard.press('Escape');
  await aside.waitFor({ state: 'hidden', timeout: WAIT_MS });
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');

  // Send with a tap on the Send button.
  const text = `from a small screen ${tag()}`;
  await phone.textarea.click();
  await phone.textarea.fill(text);
  await phone.page.locator('wisp-composer button[type=submit]').click();
  await desk.waitForLine(text);
  await phone.waitDelivered(text);
  assert.equal(await isInViewport(phone.page, 'wisp-composer textarea'), true, 'the composer is still on screen after sending');

  // The room picker fits and works too.
  await phone.page.locator('wisp-room-tabs button[aria-label="Join or create a room"]').click();
  await phone.page.locator('wisp-room-picker dialog').waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.equal(await isInViewport(phone.page, 'wisp-room-picker dialog'), true, 'the room picker is on screen');
  await phone.page.locator('wisp-room-picker input#room').fill('pocket');
  await phone.page.locator('wisp-room-picker button[type=submit]').click();
  await phone.tab('pocket').waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.equal(await phone.activeTab(), 'pocket');
});

test('keyboard only: Tab reaches the composer, Enter sends, shortcuts switch rooms', { timeout: 120_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const kb = await scene.person('Keyboard');
  const other = await scene.person('Other');
  const page = kb.page;

  // Start from nothing focused and use only the keyboard from here on.
  await page.evaluate(() => {
    let el: Element | null = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    (el as HTMLElement | null)?.blur();
    (document.activeElement as HTMLElement | null)?.blur();
  });
  let reached = false;
  const seen: string[] = [];
  for (let i = 0; i < 25 && !reached; i++) {
    await page.keyboard.press('Tab');
    const focus = await deepFocus(page);
    seen.push(focus);
    reached = focus.endsWith('wisp-composer > textarea#input');
  }
  assert.ok(reached, `Tab reaches the composer. Focus went: ${seen.join(' | ')}`);
  const focusVisible = await kb.textarea.evaluate((el) => el.matches(':focus-visible'));
  assert.equal(focusVisible, true, 'the focused composer shows a focus ring (:focus-visible)');

  const text = `typed without a mouse ${tag()}`;
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
  await other.waitForLine(text);
  await kb.waitDelivered(text);
  assert.equal(await kb.textarea.inputValue(), '', 'the composer is empty after Enter');
  assert.match(await deepFocus(page), /wisp-composer > textarea#input$/, 'focus stays in the composer');

  // Shift+Enter makes a new line instead of sending.
  await page.keyboard.type('two');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('lines');
  assert.equal(await kb.textarea.inputValue(), 'two\nlines');
  await page.keyboard.press('Enter');
  await other.waitForLine('two\nlines');

  // Alt+J opens the room picker with the name field focused; Enter joins.
  await page.keyboard.press('Alt+j');
  await page.locator('wisp-room-picker dialog').waitFor({ state: 'visible', timeout: WAIT_MS });
  await waitUntil('the room name field to be focused', async () => (await deepFocus(page)).endsWith('input#room'));
  await page.keyboard.type('keys');
  await page.keyboard.press('Enter');
  await kb.tab('keys').waitFor({ timeout: WAIT_MS });
  await waitUntil('#keys to be active', async () => (await kb.activeTab()) === 'keys');

  // Alt+1 goes back to the first room.
  await page.keyboard.press('Alt+1');
  await waitUntil('#lobby to be active after Alt+1', async () => (await kb.activeTab()) === 'lobby');
  await kb.waitForLine(text);
});
