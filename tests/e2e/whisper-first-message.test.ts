// A whisper conversation opens on the other side with its first message, not with the link:
// A opens a whisper with B, the link comes up in the background (real WebRTC between two
// browser contexts), and B sees nothing of it until A says something; then B's whisper tab
// appears with the whisper, one unread and a notification, and B stays where they were.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import {
  enableNotifications,
  marker,
  openByClick,
  recordNotifications,
  recordedNotifications,
  selectWhisper,
  setVisibility,
  waitSecure,
  waitWhisperDelivered,
  whisperInfo,
  whisperPair,
  whisperTab,
} from './support/whisper.ts';

const TEST_TIMEOUT = 180_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test("B's whisper tab appears with A's first whisper, not when A opens the conversation", { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const { a, b, aName, bName, aKey, bKey } = await whisperPair(scene, { probes: false });
  // B is notified of whispers while Wisp is hidden (this may reload B's page).
  await enableNotifications(b);
  await recordNotifications(b);
  await a.waitForMembers([aName, bName]);

  // A opens the conversation: A's own tab opens at once, and the link comes up.
  assert.equal(await openByClick(a, bName), bKey);
  await waitSecure(a);
  // B's end of the link is up too (its handshake is done), still with no conversation.
  await waitUntil("B's end of the link to A to be ready", () =>
    b.page.evaluate((key) => (window as unknown as { wisp: { whispers?: { mesh: { get(k: string): { ready: boolean } | undefined } } } }).wisp.whispers?.mesh.get(key)?.ready === true, aKey),
  );
  assert.equal(await whisperTab(b, aKey).count(), 0, 'B has no whisper tab while A has said nothing');
  assert.equal(await whisperInfo(b, aKey), undefined, 'B has no conversation with A yet');
  assert.deepEqual(await recordedNotifications(b), [], 'B was not notified of a link');
  assert.equal(await b.activeTab(), 'lobby');

  // A whispers while B has Wisp in the background: B's tab appears with it, unread, and a notification.
  await setVisibility(b, 'hidden');
  const first = marker('first whisper from A');
  await a.say(first);
  await waitWhisperDelivered(a, first);
  const badge = whisperTab(b, aKey).locator('.badge');
  await badge.waitFor({ timeout: WAIT_MS });
  assert.equal((await badge.textContent())?.trim(), '1', "B's new whisper tab shows 1 unread");
  const conversation = await whisperInfo(b, aKey);
  assert.equal(conversation?.unread, 1);
  assert.equal(conversation?.name, aName);
  assert.deepEqual(conversation?.lines.map((line) => line.text), [first], 'the conversation holds the whisper, once');
  assert.equal(conversation?.link, 'ready', 'the tab shows the link that was already up');
  assert.equal(await b.activeTab(), 'lobby', 'B was not taken away from #lobby');
  const notified = await waitUntil('B to be notified of the whisper', async () => {
    const shown = await recordedNotifications(b);
    return shown.length > 0 ? shown : undefined;
  });
  assert.deepEqual(notified.map(({ title, body }) => ({ title, body })), [{ title: `Whisper from ${aName}`, body: first }]);

  // B opens it: the whisper is there, over the same secure link.
  await setVisibility(b, 'visible');
  await selectWhisper(b, aKey);
  await badge.waitFor({ state: 'detached', timeout: WAIT_MS });
  await b.waitForLine(first);
  await waitSecure(b);

  // B closes the tab with its ×: the next whisper from A brings it back, unread, with both lines.
  await b.page.locator('wisp-room-tabs').getByRole('button', { name: `Close whisper with ${aName}` }).click();
  await whisperTab(b, aKey).waitFor({ state: 'detached', timeout: WAIT_MS });
  const second = marker('second whisper from A');
  await a.say(second);
  await waitWhisperDelivered(a, second);
  await badge.waitFor({ timeout: WAIT_MS });
  assert.equal((await badge.textContent())?.trim(), '1', "B's closed tab came back with 1 unread");
  assert.deepEqual((await whisperInfo(b, aKey))?.lines.map((line) => line.text), [first, second]);
});
