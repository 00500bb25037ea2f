// WebKit (WebKitGTK's MiniBrowser under Xvfb, driven over WebDriver) against the real
// server serving the real build, beside a person in real Chromium: the first run, room
// chat, a private room and Settings work; this WebKit has no WebRTC, and the app says
// plainly that whispers need it instead of failing or hanging. One server, one WebKit and
// one Chromium for the whole file; each test brings its own Chromium person.
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, tag, waitUntil } from '../e2e/support/browser.ts';
import { joinByPicker, readers } from '../e2e/support/private-rooms.ts';
import { Scene } from '../e2e/support/scene.ts';
import { WispServer } from '../e2e/support/server.ts';
import { line, query, type EnginePerson } from './support/engine-person.ts';
import { WebKit } from './support/webkit.ts';
import { isElement } from './support/webdriver.ts';

const TEST_TIMEOUT = 120_000;
const GENERATED_NAME = /^\p{L}[\p{L}\p{N}_.-]+$/u;
const NO_WEBRTC = 'Whispers need a browser with WebRTC; this browser has none. Room chat still works.';

let server: WispServer;
let chromium: Browser;
let webkit: WebKit;
let person: EnginePerson | undefined;
let name = '';

before(async () => {
  server = await WispServer.start();
  chromium = await launchBrowser();
  webkit = await WebKit.launch();
});
after(async () => {
  await webkit?.close();
  await chromium?.close();
  await server?.dispose();
});

/** The WebKit person, opened at http://localhost (the secure context a person's own machine gives), online in #lobby. */
async function webkitPerson(): Promise<EnginePerson> {
  if (!person) {
    person = await webkit.person(`http://localhost:${server.port}/`, 'WebKit');
    name = await person.waitOnline();
  }
  return person;
}

/**
 * Page errors, console errors and CSP violations in WebKit fail the test they happen in.
 * Called at the end of each test body, not as an after hook: a hook that throws would skip
 * the clean-up hooks after it.
 */
async function assertNoProblems(p: EnginePerson): Promise<void> {
  assert.deepEqual(await p.problems(), [], 'WebKit: no page error, console error or CSP violation');
}

/** A Chromium person in #lobby with the WebKit person, both seeing each other. */
async function withChromium(t: TestContext, wk: EnginePerson) {
  const scene = Scene.around(t, chromium, server, server.url);
  const c = await scene.person('Chromium');
  const cName = await c.myName();
  if ((await wk.activeTab()) !== 'lobby') await wk.selectRoom('lobby');
  await c.waitForMembers([name, cName]);
  await wk.waitForMembers([name, cName]);
  return { c, cName };
}

test('first run in WebKit: a secure context on http://localhost, the app loads with a generated name and joins #lobby', { timeout: TEST_TIMEOUT }, async (t) => {
  const wk = await webkitPerson();
  const facts = await wk.eval<{ secure: boolean; subtle: boolean; idb: boolean; rtc: string; origin: string }>(
    '({ secure: isSecureContext, subtle: typeof crypto.subtle === "object", idb: typeof indexedDB === "object", rtc: typeof RTCPeerConnection, origin: location.origin })',
  );
  assert.equal(facts.origin, `http://localhost:${server.port}`);
  assert.equal(facts.secure, true, 'http://localhost is a secure context in WebKit');
  assert.equal(facts.subtle, true, 'WebCrypto is there for the identity key');
  assert.equal(facts.idb, true, 'IndexedDB is there for the identity key and the rooms');
  assert.equal(facts.rtc, 'undefined', 'this WebKit has no WebRTC (the whisper test below depends on it)');
  assert.match(name, GENERATED_NAME, 'a generated name');
  assert.deepEqual(await wk.tabs(), ['lobby'], 'exactly the #lobby tab');
  assert.equal(await wk.activeTab(), 'lobby');
  assert.ok((await wk.members()).includes(name), 'WebKit sees itself in #lobby');
  assert.equal(await wk.count({ steps: ['wisp-insecure-context'] }), 0, 'no "needs a secure context" screen');
  assert.ok(isElement(await webkit.session.findElement('wisp-app')), "WebDriver's own lookup finds the app's root element");
  await assertNoProblems(wk);
});

test('room chat in WebKit: a line each way with a Chromium person, under the right names', { timeout: TEST_TIMEOUT }, async (t) => {
  const wk = await webkitPerson();
  const { c, cName } = await withChromium(t, wk);

  const fromWebKit = line('hello from WebKit');
  await wk.say(fromWebKit);
  const seen = await c.waitForLine(fromWebKit);
  assert.equal((await seen.locator('.name').textContent())?.trim(), name, 'Chromium shows the line under the WebKit name');
  await wk.waitDelivered(fromWebKit);

  const fromChromium = line('hello from Chromium');
  await c.say(fromChromium);
  await wk.waitForLine(fromChromium);
  assert.equal(await wk.senderOf(fromChromium), cName, 'WebKit shows the line under the Chromium name');
  await c.waitDelivered(fromChromium);
  assert.equal((await wk.lineTexts()).filter((l) => l.includes(fromWebKit)).length, 1, 'WebKit shows its own line once');
  assert.equal(await c.countLines(fromChromium), 1, 'Chromium shows its own line once');
  await assertNoProblems(wk);
});

test('a private room between WebKit and Chromium: created with a passphrase in WebKit, joined with it in Chromium, readable on both sides', { timeout: TEST_TIMEOUT }, async (t) => {
  const wk = await webkitPerson();
  const { c, cName } = await withChromium(t, wk);
  const room = `wk-${tag()}`;
  const passphrase = `webkit passphrase ${tag()} ${tag()}`;

  await wk.joinByPicker(room, passphrase);
  await waitUntil('WebKit to be in the new room', async () => (await wk.activeTab()) === room);
  assert.match(await wk.readers(), /only people with the passphrase can read this room/);

  await joinByPicker(c, room, passphrase);
  assert.match(await readers(c), /only people with the passphrase can read this room/);
  await wk.waitForMembers([name, cName]);
  await c.waitForMembers([name, cName]);

  const fromWebKit = line('sealed from WebKit');
  await wk.say(fromWebKit);
  await c.waitForLine(fromWebKit);
  await wk.waitDelivered(fromWebKit);
  const fromChromium = line('sealed from Chromium');
  await c.say(fromChromium);
  await wk.waitForLine(fromChromium);
  assert.equal(await wk.senderOf(fromChromium), cName);
  assert.ok(!server.log.includes(fromWebKit) && !server.log.includes(fromChromium), 'the server printed neither text');
  await assertNoProblems(wk);
});

test('Settings in WebKit: turning "Show links in messages" off sticks after a reload, and links then show as plain text', { timeout: TEST_TIMEOUT }, async (t) => {
  const wk = await webkitPerson();
  const settingsButton = { steps: ['wisp-app', 'header button[aria-label="Settings"]'] };
  const dialog = { steps: ['wisp-settings-dialog', 'dialog[open]'] };
  const box = { steps: ['wisp-settings-dialog', 'input[name=show-links]'] };
  const checked = () => wk.eval<boolean>(`${query(box)}[0].checked`);

  await wk.click(settingsButton);
  await wk.waitFor(dialog);
  assert.equal(await checked(), true, 'links show by default');
  await wk.click(box);
  assert.equal(await checked(), false);
  await wk.click({ steps: ['wisp-settings-dialog', '.actions button'], text: 'Done' });
  await waitUntil('the settings dialog to close', async () => (await wk.count(dialog)) === 0);

  await wk.driver.reload();
  await wk.waitOnline();
  await wk.click(settingsButton);
  await wk.waitFor(dialog);
  assert.equal(await checked(), false, 'the setting was kept on this device');
  await wk.click({ steps: ['wisp-settings-dialog', '.actions button'], text: 'Done' });

  const { c } = await withChromium(t, wk);
  const address = `https://example.org/${tag()}`;
  const text = `see ${address}`;
  await c.say(text);
  await wk.waitForLine(text);
  const anchors = await wk.eval<number>(`${query({ steps: ['wisp-message-list', '[role=log] > ol > li:not([data-day])'], text })}[0].querySelectorAll('a').length`);
  assert.equal(anchors, 0, 'the address is plain text, not a link');
  await assertNoProblems(wk);
});

test('whispers in WebKit: the app says plainly that they need a browser with WebRTC, and room chat still works', { timeout: TEST_TIMEOUT }, async (t) => {
  const wk = await webkitPerson();
  const { c, cName } = await withChromium(t, wk);

  // Clicking a person opens the conversation, which says why no whisper can go.
  await wk.click({ steps: ['wisp-member-list', 'li[data-id] button'], text: cName });
  const failure = { steps: ['wisp-whisper-header', 'p.failure[data-failure][role=alert]'] };
  await wk.waitFor(failure);
  assert.equal((await wk.texts({ steps: [...failure.steps, 'span'] }))[0], NO_WEBRTC);
  const tabs = await wk.tabs();
  assert.equal(tabs.filter((tab) => tab.startsWith('@')).length, 1, `one whisper tab (tabs: ${tabs.join(', ')})`);

  // Typing a whisper there says so too, and nothing is left waiting to go.
  const whisper = line('a whisper that cannot go');
  await wk.say(whisper);
  assert.equal(await wk.takeNotice(), NO_WEBRTC);
  assert.equal((await wk.lineTexts()).filter((l) => l.includes(whisper)).length, 0, 'no line pretends to wait for delivery');

  // /w from a room: the same sentence, and the room chat goes on.
  await wk.selectRoom('lobby');
  const byCommand = line('by command');
  await wk.say(`/w ${cName} ${byCommand}`);
  assert.equal(await wk.takeNotice(), NO_WEBRTC);
  if ((await wk.activeTab()) !== 'lobby') await wk.selectRoom('lobby');
  const roomLine = line('room chat still works');
  await wk.say(roomLine);
  await c.waitForLine(roomLine);
  await wk.waitDelivered(roomLine);
  assert.equal(await c.countLines(whisper) + await c.countLines(byCommand), 0, 'no whisper text reached Chromium');
  await assertNoProblems(wk);
});
