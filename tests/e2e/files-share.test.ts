// The share target: another app shares a file (and a line of text) to the installed Wisp.
// The browser POSTs a multipart form to /share, which the service worker takes, keeps, and
// answers with a redirect to /?share=1; there the person picks whom to send it to, and it
// goes as a whisper and a file over the real WebRTC link.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { accept, card, meet, save, sha256, showConversation, waitLinkReady, waitTransfer, whisperTabOf } from './support/files.ts';

const TEST_TIMEOUT = 180_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('a file shared to Wisp from another app: "Send to…" lists the people, and the chosen one receives it', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  await a.waitForServiceWorkerControl();
  await a.waitOnline();
  const b = await scene.person('B');
  const pair = await meet(a, b);
  const { aKey, bName, bKey } = pair;

  const bytes = randomBytes(150_000);
  const text = `shared note ${randomBytes(6).toString('hex')}`;
  const name = 'holiday-notes.bin';

  // What the browser does for a share target: a multipart POST to the manifest's action.
  const shared = await a.page.evaluate(
    async ({ base64, name, text }) => {
      const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const form = new FormData();
      form.append('text', text);
      form.append('files', new File([data], name, { type: 'application/octet-stream' }));
      const response = await fetch('/share', { method: 'POST', body: form });
      return { status: response.status, url: response.url, redirected: response.redirected };
    },
    { base64: bytes.toString('base64'), name, text },
  );
  assert.equal(shared.redirected, true, `the service worker answered the POST with a redirect (${JSON.stringify(shared)})`);
  assert.equal(new URL(shared.url).pathname + new URL(shared.url).search, '/?share=1');

  // The share target opens the app at /?share=1.
  await a.page.goto(`${scene.url}/?share=1`, { waitUntil: 'load' });
  await a.app.waitFor({ state: 'attached', timeout: WAIT_MS });
  const dialog = a.page.locator('wisp-share-dialog dialog[open]');
  await dialog.waitFor({ timeout: WAIT_MS });
  assert.match((await dialog.locator('h2').textContent()) ?? '', new RegExp(`Send ${name} \\(150 kB\\) to…`));
  const person = dialog.locator('li button', { hasText: bName });
  await person.waitFor({ timeout: WAIT_MS });
  assert.deepEqual((await dialog.locator('li button .name').allTextContents()).map((s) => s.trim()), [bName], 'the dialog lists the other person (only)');
  assert.equal((await person.locator('.badge.unverified').textContent())?.trim(), 'not verified', 'and says B is not verified yet');
  assert.doesNotMatch((await dialog.textContent()) ?? '', /end-to-end encrypted/i, 'no "end-to-end encrypted" for people who are not verified');
  await waitUntil('the address bar to lose ?share=1', () => !a.page.url().includes('share='));

  await person.click();
  await a.page.locator('wisp-share-dialog dialog[open]').waitFor({ state: 'detached', timeout: WAIT_MS });
  // A is now in the whisper conversation with B, with the file on its way.
  await waitUntil("A's whisper tab with B to be active", async () => (await whisperTabOf(a, bKey).getAttribute('aria-selected')) === 'true');
  await card(a, name).waitFor({ timeout: WAIT_MS });
  await waitLinkReady(a, bKey);

  // B gets the text as a whisper and the file as an offer.
  await showConversation(b, aKey);
  await b.waitForLine(text);
  const offered = await waitTransfer(b, name, 'in', ['offered']);
  assert.equal(offered.size, bytes.length);
  await accept(b, name);
  const received = await waitTransfer(b, name, 'in', ['done', 'failed', 'cancelled']);
  assert.equal(received.status, 'done', `B: ${received.status} (${received.sentence ?? ''})`);
  assert.equal((await waitTransfer(a, name, 'out', ['done', 'failed', 'cancelled'])).status, 'done');
  const saved = await save(b, name);
  assert.equal(saved.sha256, sha256(bytes), 'B saved exactly the shared bytes');

  // What was shared was handed over once: opening /?share=1 again asks nothing.
  await a.page.goto(`${scene.url}/?share=1`, { waitUntil: 'load' });
  await a.waitOnline();
  await waitUntil("A's app to settle", async () => (await a.page.locator('wisp-share-dialog').count()) === 1);
  assert.equal(await a.page.locator('wisp-share-dialog dialog[open]').count(), 0, 'no "Send to…" dialog for an already sent share');
});
