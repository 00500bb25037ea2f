// Keyboard use: where focus starts, that every menu and dialog gives focus back to what
// opened it (on Escape and on its own close button), and a whole whisper with a file done
// with the keyboard alone, received by a real second browser over a real WebRTC link.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WAIT_MS, launchBrowser, tag, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { TempFiles, card, converse, meet, showConversation, waitLinkReady } from './support/files.ts';
import { joinByPicker } from './support/private-rooms.ts';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/**
 * The focused element, looking through shadow roots: its hosts and itself, then its name
 * (aria-label, else title, else text), e.g. `wisp-app > wisp-composer > textarea#input "…"`.
 */
function focused(page: Page): Promise<string> {
  return page.evaluate(`(() => {
    let el = document.activeElement;
    const path = [];
    while (el && el !== document.body) {
      path.push(el.localName + (el.id ? '#' + el.id : '') + (el.classList.length ? '.' + [...el.classList].join('.') : ''));
      if (!el.shadowRoot || !el.shadowRoot.activeElement) break;
      el = el.shadowRoot.activeElement;
    }
    if (!path.length) return 'body';
    const name = (el.getAttribute('aria-label') || el.getAttribute('title') || el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 60);
    return path.join(' > ') + ' "' + name + '"';
  })()`);
}

/** Waits until focus is on an element whose description (see focused) matches. */
async function waitFocus(page: Page, what: string, pattern: RegExp): Promise<void> {
  let last = '';
  try {
    await waitUntil(what, async () => pattern.test((last = await focused(page))));
  } catch {
    throw new Error(`${what}: focus is on ${last}, expected ${pattern}`);
  }
}

const COMPOSER = /wisp-composer > textarea#input "/;

/** Presses Tab (or Shift+Tab) until focus matches, at most `max` times; fails with the way focus went. */
async function tabTo(page: Page, pattern: RegExp, { back = false, max = 40 } = {}): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const now = await focused(page);
    if (pattern.test(now)) return;
    seen.push(now);
  }
  throw new Error(`${back ? 'Shift+Tab' : 'Tab'} never reached ${pattern}. Focus went: ${seen.join(' | ')}`);
}

/** Margin around a control in its screenshots, in CSS pixels (device scale 1). */
const MARGIN = 8;

/**
 * In-page: decodes two PNG screenshots (base64) of a control with MARGIN around it, before
 * and with focus, and for each side says how the pixels just outside it changed (WCAG
 * contrast ratio of before and after): \`gap\` the least change 0-1 px out, \`ring\` the most 2-4 px out.
 */
const RING_CHANGE = `(async ({ before, focused, width, height, margin }) => {
  const decode = async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d');
    context.drawImage(bitmap, 0, 0);
    return context.getImageData(0, 0, bitmap.width, bitmap.height);
  };
  const [a, b] = await Promise.all([decode(before), decode(focused)]);
  const luminance = (img, x, y) => {
    const i = (y * img.width + x) * 4;
    const [r, g, bl] = [0, 1, 2].map((k) => {
      const c = img.data[i + k] / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const contrast = (x, y) => {
    const [l1, l2] = [luminance(a, x, y), luminance(b, x, y)].sort((p, q) => q - p);
    return (l1 + 0.05) / (l2 + 0.05);
  };
  const midX = margin + Math.floor(width / 2);
  const midY = margin + Math.floor(height / 2);
  // Pixel d px outside each side, in the middle of that side.
  const at = {
    top: (d) => [midX, margin - 1 - d],
    bottom: (d) => [midX, margin + height + d],
    left: (d) => [margin - 1 - d, midY],
    right: (d) => [margin + width + d, midY],
  };
  const out = {};
  for (const [side, pixel] of Object.entries(at)) {
    out[side] = {
      gap: Math.min(...[0, 1].map((d) => contrast(...pixel(d)))),
      ring: Math.max(...[2, 3, 4].map((d) => contrast(...pixel(d)))),
    };
  }
  return out;
})`;

test('after a load, and after a reload, focus is in the composer', { timeout: 120_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  await waitFocus(a.page, 'focus on the composer after the first load', COMPOSER);
  await a.reload();
  await a.waitOnline();
  await waitFocus(a.page, 'focus on the composer after a reload', COMPOSER);
  // Typing right away goes into it.
  const text = `straight in ${tag()}`;
  await a.page.keyboard.type(text);
  await a.page.keyboard.press('Enter');
  await a.waitDelivered(text);

  // Tab to Send: it shows a ring set apart from its accent fill by a gap, on every side.
  const send = a.page.locator('wisp-composer button[type=submit]');
  const box = (await send.boundingBox())!;
  const clip = { x: Math.round(box.x) - MARGIN, y: Math.round(box.y) - MARGIN, width: Math.round(box.width) + 2 * MARGIN, height: Math.round(box.height) + 2 * MARGIN };
  const before = (await a.page.screenshot({ clip })).toString('base64');
  await a.page.keyboard.press('Tab');
  await waitFocus(a.page, 'Tab from the composer reaches Send', /wisp-composer > button.primary "Send"/);
  const focusedShot = (await a.page.screenshot({ clip })).toString('base64');
  const sides = (await a.page.evaluate(`${RING_CHANGE}(${JSON.stringify({ before, focused: focusedShot, width: Math.round(box.width), height: Math.round(box.height), margin: MARGIN })})`)) as Record<string, { gap: number; ring: number }>;
  for (const [side, { gap, ring }] of Object.entries(sides)) {
    assert.ok(ring >= 3, `the focus ring on the ${side} of Send contrasts at least 3:1 with what was there (${ring.toFixed(2)}:1)`);
    assert.ok(gap < 1.5, `a gap separates the ring from Send on the ${side} (the pixels next to it changed ${gap.toFixed(2)}:1)`);
  }
});

test('every menu and dialog gives focus back to what opened it, on Escape and on its close button', { timeout: 240_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const pair = await meet(a, b);
  const page = a.page;
  const app = page.locator('wisp-app');

  /** Focuses the opener, presses `key` on it, waits for `open`, closes with `close`, and checks focus is back. */
  const roundTrip = async (what: string, opener: RegExp, focusOpener: () => Promise<void>, key: string | (() => Promise<void>), open: string, close: () => Promise<void>, how: string) => {
    await focusOpener();
    await waitFocus(page, `${what}: its opener focused`, opener);
    if (typeof key === 'string') await page.keyboard.press(key);
    else await key();
    await page.locator(open).waitFor({ state: 'visible' });
    await close();
    await page.locator(open).waitFor({ state: 'hidden' });
    await waitFocus(page, `${what} closed by ${how}: focus back on its opener`, opener);
  };
  const escape = () => page.keyboard.press('Escape');

  // The member menu, opened from B's row with Shift+F10 (and the Menu key), closed by Escape and by Tab.
  const row = page.locator('wisp-member-list li[data-id] > button').filter({ hasText: pair.bName }).first();
  const rowFocus = new RegExp(`wisp-member-list > button "Whisper with ${pair.bName}"`);
  const menu = 'wisp-member-menu [role=menu]';
  await roundTrip('the member menu', rowFocus, () => row.focus(), 'Shift+F10', menu, escape, 'Escape');
  await roundTrip('the member menu', rowFocus, () => row.focus(), 'ContextMenu', menu, () => page.keyboard.press('Tab'), 'Tab');
  // From its "⋯" button: back on that button.
  const more = page.locator('wisp-member-list').getByRole('button', { name: `Actions for ${pair.bName}` });
  await roundTrip('the member menu from ⋯', new RegExp(`button.more "Actions for ${pair.bName}"`), () => more.focus(), 'Enter', menu, escape, 'Escape');

  // Settings: the gear.
  const gear = app.getByRole('button', { name: 'Settings' });
  const gearFocus = /wisp-app > button.settings "Settings"/;
  await roundTrip('settings', gearFocus, () => gear.focus(), 'Enter', 'wisp-settings-dialog dialog', escape, 'Escape');
  await roundTrip('settings', gearFocus, () => gear.focus(), 'Enter', 'wisp-settings-dialog dialog', () => page.locator('wisp-settings-dialog').getByRole('button', { name: 'Done' }).click(), 'Done');

  // The room picker: "+".
  const plus = page.locator('wisp-room-tabs').getByRole('button', { name: 'Join or create a room' });
  const plusFocus = /wisp-room-tabs > button\.add "Join or create a room"/;
  await roundTrip('the room picker', plusFocus, () => plus.focus(), 'Enter', 'wisp-room-picker dialog', escape, 'Escape');
  await roundTrip('the room picker', plusFocus, () => plus.focus(), 'Enter', 'wisp-room-picker dialog', () => page.locator('wisp-room-picker').getByRole('button', { name: 'Close' }).click(), 'its ✕');

  // The room's "⋯" menu opens the invite dialog, the history choices and the passphrase dialog: each gives focus back to "⋯".
  const roomMenu = page.locator('wisp-room-header').getByRole('button', { name: /^Actions for #/ });
  const roomMenuFocus = /wisp-room-header > button\.more "Actions for #/;
  /** Enter on "⋯", then Enter on the item: the keyboard's way through the room menu. */
  const viaRoomMenu = (item: string) => async () => {
    await page.keyboard.press('Enter');
    await page.locator('wisp-room-header wisp-member-menu [role=menuitem]', { hasText: item }).press('Enter');
  };
  await roundTrip('the room menu', roomMenuFocus, () => roomMenu.focus(), 'Enter', 'wisp-room-header wisp-member-menu [role=menu]', escape, 'Escape');
  await roundTrip('the invite dialog', roomMenuFocus, () => roomMenu.focus(), viaRoomMenu('Invite'), 'wisp-invite-dialog dialog', escape, 'Escape');
  await roundTrip('the invite dialog', roomMenuFocus, () => roomMenu.focus(), viaRoomMenu('Invite'), 'wisp-invite-dialog dialog', () => page.locator('wisp-invite-dialog').getByRole('button', { name: 'Done' }).click(), 'Done');

  // In a private room A made: the room history menu (its owner's) and the passphrase dialog.
  await joinByPicker(a, 'keep', `a long passphrase ${tag()}`);
  await waitUntil('#keep to be end-to-end encrypted', async () => (await page.locator('wisp-room-header [data-readers=members]').count()) === 1, 60_000);
  const historyMenu = 'wisp-room-header wisp-member-menu [role=menu]';
  await roundTrip('the history menu', roomMenuFocus, () => roomMenu.focus(), viaRoomMenu('History'), historyMenu, escape, 'Escape');
  const passphrase = 'wisp-passphrase-dialog dialog';
  await roundTrip('the passphrase dialog', roomMenuFocus, () => roomMenu.focus(), viaRoomMenu('Change passphrase'), passphrase, escape, 'Escape');
  await roundTrip('the passphrase dialog', roomMenuFocus, () => roomMenu.focus(), viaRoomMenu('Change passphrase'), passphrase, () => page.locator('wisp-passphrase-dialog').getByRole('button', { name: 'Cancel' }).click(), 'Cancel');

  // The verify dialog: the whisper header's Verify button (B is in #lobby).
  await a.selectRoom('lobby');
  await converse(pair);
  const verify = page.locator('wisp-whisper-header .line').getByRole('button', { name: 'Verify' });
  const verifyFocus = /wisp-whisper-header > button\.verify "Verify"/;
  const verifyDialog = 'wisp-verify-dialog dialog';
  const verifyOpen = async () => {
    await verify.focus();
  };
  await roundTrip('the verify dialog', verifyFocus, verifyOpen, 'Enter', verifyDialog, escape, 'Escape');
  await roundTrip('the verify dialog', verifyFocus, verifyOpen, 'Enter', verifyDialog, () => page.locator('wisp-verify-dialog').getByRole('button', { name: 'Close' }).click(), 'Close');
  // The whisper's "⋯" menu: Escape and Tab close it, and its "Verify…" opens the verify dialog; focus goes back to "⋯".
  const whisperMore = page.locator('wisp-whisper-header').getByRole('button', { name: /^Actions for the whisper with / });
  const whisperMoreFocus = /wisp-whisper-header > button\.more "Actions for the whisper with /;
  const whisperMenu = 'wisp-whisper-header wisp-member-menu [role=menu]';
  await roundTrip('the whisper menu', whisperMoreFocus, () => whisperMore.focus(), 'Enter', whisperMenu, escape, 'Escape');
  await roundTrip('the whisper menu', whisperMoreFocus, () => whisperMore.focus(), 'Enter', whisperMenu, () => page.keyboard.press('Tab'), 'Tab');
  const viaWhisperMenu = async () => {
    await page.keyboard.press('Enter');
    await page.locator('wisp-whisper-header wisp-member-menu [role=menuitem]', { hasText: 'Verify…' }).press('Enter');
  };
  await roundTrip('the verify dialog from the whisper menu', whisperMoreFocus, () => whisperMore.focus(), viaWhisperMenu, verifyDialog, escape, 'Escape');

  // The People drawer on a phone: its toggle.
  await a.selectRoom('lobby');
  await page.setViewportSize({ width: 360, height: 640 });
  const toggle = app.locator('button.members-toggle');
  const toggleFocus = /wisp-app > button.members-toggle "People/;
  await roundTrip('the People drawer', toggleFocus, () => toggle.focus(), 'Enter', 'wisp-app aside#members', escape, 'Escape');
  await roundTrip('the People drawer', toggleFocus, () => toggle.focus(), 'Enter', 'wisp-app aside#members', () => page.keyboard.press('Enter'), 'its ✕ (focused when it opened)');
  // The member menu inside the drawer: Escape closes the menu, not the drawer, and focus is back on the row.
  await toggle.focus();
  await page.keyboard.press('Enter');
  await page.locator('wisp-app aside#members').waitFor({ state: 'visible' });
  await roundTrip('the member menu in the drawer', rowFocus, () => row.focus(), 'Shift+F10', menu, escape, 'Escape');
  assert.equal(await page.locator('wisp-app aside#members').isVisible(), true, 'the drawer stays open when Escape closes the menu in it');
});

test('keyboard only: open a person\'s menu, Whisper, attach a file, send; the other browser gets the file offer and the whisper', { timeout: 240_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const a = await scene.person('A');
  const b = await scene.person('B');
  const pair = await meet(a, b);
  const page = a.page;
  // Playwright turns file chooser interception on with a protocol message it does not wait
  // for when the first listener is added: add one up front, and let a round trip (answered
  // in order after it) make sure it is on before any key opens a chooser.
  page.on('filechooser', () => undefined);
  await page.evaluate('0');

  // From the composer (where a load leaves focus), Tab along to B in the member list.
  await waitFocus(page, 'focus on the composer after the load', COMPOSER);
  await tabTo(page, new RegExp(`wisp-member-list > button "Whisper with ${pair.bName}"`));
  // The Menu key opens B's actions; the arrows move through them (one item wraps to itself).
  await page.keyboard.press('Shift+F10');
  const whisperItem = new RegExp(`wisp-member-menu > button "Whisper with ${pair.bName}`);
  await waitFocus(page, 'the menu opens on its first item', whisperItem);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowUp');
  await waitFocus(page, 'the arrows come back to Whisper', whisperItem);
  await page.keyboard.press('Enter');
  await waitFocus(page, 'the whisper conversation opens with focus in its composer', COMPOSER);
  assert.equal(await a.page.locator('wisp-composer textarea').getAttribute('placeholder'), `Message @${pair.bName}`);

  // Tab to the attach button; Enter opens the file chooser.
  await tabTo(page, /wisp-composer > button.attach "Send a file"/, { max: 3 });
  const file = files.random(`keys-${tag()}.bin`, 30_000);
  const chooser = page.waitForEvent('filechooser');
  await page.keyboard.press('Enter');
  await (await chooser).setFiles(file.path);
  // Back to the text box and send a line with Enter.
  await tabTo(page, COMPOSER, { back: true, max: 3 });
  const text = `by keyboard ${tag()}`;
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');

  // B: the whisper tab appears with the file offer and the line.
  await waitLinkReady(b, pair.aKey);
  await showConversation(b, pair.aKey);
  await card(b, file.name).getByRole('button', { name: 'Accept' }).waitFor({ timeout: WAIT_MS });
  await b.waitForLine(text);
  // Space opens the chooser too.
  await tabTo(page, /wisp-composer > button.attach "Send a file"/, { max: 3 });
  const again = page.waitForEvent('filechooser');
  await page.keyboard.press('Space');
  const second = files.random(`space-${tag()}.bin`, 10_000);
  await (await again).setFiles(second.path);
  await card(b, second.name).getByRole('button', { name: 'Accept' }).waitFor({ timeout: WAIT_MS });
});
