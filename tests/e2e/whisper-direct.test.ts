// Whispers over a real, direct WebRTC data channel between two browsers: both ways, once
// each, with delivery receipts, the encryption and path indicators, the unread count on
// the whisper tab; then with the signal server stopped (the open data channel carries on)
// and after it started again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { RECONNECT_WAIT_MS, WAIT_MS, launchBrowser, waitUntil } from './support/browser.ts';
import { describeViolations, watchCsp } from './support/csp.ts';
import { Scene } from './support/scene.ts';
import {
  header,
  headerText,
  marker,
  openByClick,
  ownKey,
  pathChip,
  readProbe,
  secureChip,
  selectWhisper,
  waitSecure,
  waitWhisperDelivered,
  whisperBarrier,
  whisperInfo,
  whisperTab,
  whisperPair,
} from './support/whisper.ts';

const TEST_TIMEOUT = 240_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('whispers both ways over a direct data channel, also while the server is down and after it is back', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const { a, b, aName, bName, aKey, bKey } = await whisperPair(scene, { person: { init: watchCsp } });

  // A clicks B in the member list: a whisper tab of its own opens, and the link comes up.
  const opened = await openByClick(a, bName);
  assert.equal(opened, bKey, 'the tab is the conversation with B (by identity key)');
  assert.equal(await whisperTab(a, bKey).evaluate((el) => el.classList.contains('whisper')), true, 'the tab is styled as a whisper tab');
  assert.match((await whisperTab(a, bKey).textContent()) ?? '', new RegExp(bName), 'the tab is labelled with B\'s name');
  assert.match((await header(a).locator('.name').textContent()) ?? '', new RegExp(`^${bName}$`));
  await waitSecure(a, 'direct');
  // First contact: encrypted, but not verified, and the header says so (never "end-to-end encrypted" alone).
  assert.equal((await secureChip(a).textContent())?.trim(), 'Encrypted');
  assert.equal((await header(a).locator('[data-trust]').getAttribute('data-trust')), 'unverified');
  assert.equal((await header(a).locator('[data-trust]').textContent())?.trim(), 'Not verified yet');
  assert.doesNotMatch(await headerText(a), /end-to-end encrypted/i);
  assert.equal((await pathChip(a).textContent())?.trim(), 'Direct');

  // A whispers while B looks at #lobby: B's whisper tab counts it as unread.
  const first = marker('first whisper from A');
  await a.say(first);
  await waitWhisperDelivered(a, first);
  const badge = whisperTab(b, aKey).locator('.badge');
  await badge.waitFor({ timeout: WAIT_MS });
  assert.equal((await badge.textContent())?.trim(), '1', "B's whisper tab shows 1 unread");
  assert.equal(await badge.getAttribute('aria-label'), '1 unread');
  assert.equal(await b.activeTab(), 'lobby', 'B was not taken away from #lobby');
  assert.equal(await b.countLines(first), 0, 'the whisper is not in #lobby');

  await selectWhisper(b, aKey);
  await badge.waitFor({ state: 'detached', timeout: WAIT_MS });
  const received = await b.waitForLine(first);
  assert.equal(await received.evaluate((li) => li.classList.contains('own')), false);
  assert.equal((await received.locator('.name').textContent())?.trim(), aName, "B's line names A");
  await waitSecure(b, 'direct');
  assert.equal((await pathChip(b).textContent())?.trim(), 'Direct');

  // B replies in the conversation: plain text in a whisper tab is a whisper.
  const reply = marker('reply from B');
  await b.say(reply);
  await waitWhisperDelivered(b, reply);
  await a.waitForLine(reply);

  // Barriers both ways on the same link: a copy of either whisper would have come before them.
  const barrierA = await whisperBarrier(a, b);
  const barrierB = await whisperBarrier(b, a);
  for (const [p, text] of [[a, first], [a, reply], [b, first], [b, reply]] as const) {
    assert.equal(await p.countLines(text), 1, `${p.label} shows "${text}" exactly once`);
  }
  assert.equal((await whisperInfo(a, bKey))?.path, 'direct');
  assert.equal((await whisperInfo(b, aKey))?.path, 'direct');
  assert.deepEqual((await readProbe(b)).received, [first, barrierA], 'B received exactly the one whisper (then the barrier)');
  assert.deepEqual((await readProbe(a)).received, [reply, barrierB], 'A received exactly the one reply (then the barrier)');

  // The signal server stops (SIGTERM): the data channel is peer to peer and carries on.
  scene.expectServerDown(); // stopped on purpose: the app's reconnect attempts are refused until it is back
  assert.equal(await scene.server.stop(), 0, 'the server exits cleanly on SIGTERM');
  await waitUntil("both apps to notice the server is gone", async () => (await a.status()) !== 'online' && (await b.status()) !== 'online');
  const whileDownA = marker('A while the server is down');
  await a.say(whileDownA);
  await waitWhisperDelivered(a, whileDownA);
  await b.waitForLine(whileDownA);
  const whileDownB = marker('B while the server is down');
  await b.say(whileDownB);
  await waitWhisperDelivered(b, whileDownB);
  await a.waitForLine(whileDownB);
  assert.notEqual(await a.status(), 'online', 'A was offline all along');
  assert.notEqual(await b.status(), 'online', 'B was offline all along');
  await waitSecure(a, 'direct');
  await waitSecure(b, 'direct');

  // The server is back: both reconnect, and whispers still go through.
  await scene.server.start();
  await a.waitOnline(RECONNECT_WAIT_MS);
  await b.waitOnline(RECONNECT_WAIT_MS);
  await a.waitForMembers([aName, bName], RECONNECT_WAIT_MS);
  await b.waitForMembers([aName, bName], RECONNECT_WAIT_MS);
  const afterA = marker('A after the restart');
  await a.say(afterA);
  await waitWhisperDelivered(a, afterA);
  await b.waitForLine(afterA);
  const afterB = marker('B after the restart');
  await b.say(afterB);
  await waitWhisperDelivered(b, afterB);
  await a.waitForLine(afterB);
  await waitSecure(a);
  await waitSecure(b);

  const lastA = await whisperBarrier(a, b);
  const lastB = await whisperBarrier(b, a);
  for (const text of [whileDownA, whileDownB, afterA, afterB]) {
    assert.equal(await a.countLines(text), 1, `A shows "${text}" exactly once`);
    assert.equal(await b.countLines(text), 1, `B shows "${text}" exactly once`);
  }
  assert.deepEqual((await readProbe(b)).received, [first, barrierA, whileDownA, afterA, lastA]);
  assert.deepEqual((await readProbe(a)).received, [reply, barrierB, whileDownB, afterB, lastB]);
  for (const p of [a, b]) assert.deepEqual(describeViolations(await watchCsp(p)), [], `${p.label}: no CSP or Trusted Types violation`);
});

test('/w name text opens the conversation and sends; the other side gets its own tab', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const aName = await a.myName();
  const bName = await b.myName();
  await a.waitForMembers([aName, bName]);
  const aKey = await ownKey(a);
  const bKey = await ownKey(b);

  const text = marker('slash w');
  await a.say(`/w ${bName} ${text}`);
  await whisperTab(a, bKey).waitFor({ timeout: WAIT_MS });
  assert.equal(await whisperTab(a, bKey).getAttribute('aria-selected'), 'true', '/w switches to the conversation');
  await waitWhisperDelivered(a, text);
  await waitSecure(a, 'direct');
  assert.equal(await a.countLines(text), 1);

  await whisperTab(b, aKey).waitFor({ timeout: WAIT_MS });
  await selectWhisper(b, aKey);
  await b.waitForLine(text);
  await waitSecure(b, 'direct');
  // The whisper never went to #lobby.
  await b.selectRoom('lobby');
  assert.equal(await b.countLines(text), 0);
  await a.selectRoom('lobby');
  assert.equal(await a.countLines(text), 0);
});
