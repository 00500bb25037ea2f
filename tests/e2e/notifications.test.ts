// While Wisp is in the background, a whisper or an @mention raises a system notification
// (once the person turned notifications on in Settings), shown through the service worker.
// Headless Chromium never hides a page, so the test marks A's document hidden itself;
// everything else (permission, setting, service worker, notification) is real. What the
// app asked the service worker to show is recorded as it calls showNotification (and
// whether the browser accepted it): headless Chromium does not always keep a shown
// notification listed by getNotifications() until the test looks.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WAIT_MS, launchBrowser, tag, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

interface Shown {
  title: string;
  body: string;
  tag: string;
}

/** Records every notification the page has the service worker show, once the browser accepted it. */
const RECORD_SHOWN = `{
  const shown = (globalThis.__shownNotifications = []);
  const show = ServiceWorkerRegistration.prototype.showNotification;
  ServiceWorkerRegistration.prototype.showNotification = function (title, options = {}) {
    return show.call(this, title, options).then((result) => {
      shown.push({ title, body: options.body ?? '', tag: options.tag ?? '' });
      return result;
    });
  };
}`;

function notifications(page: Page): Promise<Shown[]> {
  return page.evaluate('globalThis.__shownNotifications') as Promise<Shown[]>;
}

/** Overrides document.visibilityState (a string script: tsx would wrap a function's getters in helpers the page lacks). */
function setVisibility(page: Page, state: 'hidden' | 'visible'): Promise<void> {
  return page.evaluate(`Object.defineProperty(document, 'visibilityState', { configurable: true, value: '${state}' }); document.dispatchEvent(new Event('visibilitychange'));`);
}

test('whispers and @mentions raise notifications while hidden, only after the person allowed them', { timeout: 120_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A', { init: (context) => context.addInitScript(RECORD_SHOWN) });
  const b = await scene.person('B');
  await a.context.grantPermissions(['notifications'], { origin: scene.url });
  await a.waitForServiceWorkerControl();
  await a.waitOnline();
  const aName = await a.myName();
  await waitUntil('B to see A in the lobby', async () => (await b.members()).includes(aName));

  // Before opting in, nothing is shown even while hidden.
  await setVisibility(a.page, 'hidden');
  const early = `before-${tag()}`;
  await b.say(`@${aName} ${early}`);
  await a.page.waitForFunction((text) => JSON.stringify((window as unknown as { wisp: { state: unknown } }).wisp.state).includes(text), early, { timeout: WAIT_MS });
  assert.deepEqual(await notifications(a.page), [], 'no notification without the setting');

  // Opt in through Settings (the browser grants the permission).
  await setVisibility(a.page, 'visible');
  await a.page.getByRole('button', { name: 'Settings' }).click();
  await a.page.locator('wisp-settings-dialog input[name=notifications]').check();
  await waitUntil('the notifications setting to be on', () =>
    a.page.evaluate(() => (window as unknown as { wisp: { state: { settings: { notifications: boolean } } } }).wisp.state.settings.notifications),
  );
  await a.page.locator('wisp-settings-dialog').getByRole('button', { name: 'Done' }).click();
  await setVisibility(a.page, 'hidden');

  const mention = `mention-${tag()}`;
  await b.say(`hey @${aName} ${mention}`);
  const bName = await b.myName();
  const shownMention = await waitUntil('a mention notification', async () => (await notifications(a.page)).find((n) => n.body.includes(mention)));
  assert.equal(shownMention.title, `${bName} in #lobby`);
  assert.equal(shownMention.tag, 'lobby', 'clicking it opens #lobby');

  const secret = `whisper-${tag()}`;
  await b.say(`/w ${aName} ${secret}`);
  const shownWhisper = await waitUntil('a whisper notification', async () => (await notifications(a.page)).find((n) => n.body.includes(secret)), 30_000);
  assert.equal(shownWhisper.title, `Whisper from ${bName}`);
  assert.match(shownWhisper.tag, /^@/, 'clicking it opens the whisper conversation');

  // A plain message without a mention raises nothing.
  const plain = `plain-${tag()}`;
  await b.selectRoom('lobby');
  await b.say(plain);
  await a.page.waitForFunction((text) => JSON.stringify((window as unknown as { wisp: { state: unknown } }).wisp.state).includes(text), plain, { timeout: WAIT_MS });
  assert.equal((await notifications(a.page)).filter((n) => n.body.includes(plain)).length, 0);
});
