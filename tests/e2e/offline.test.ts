// After the first visit the service worker has the shell: with the server stopped, a
// reload still shows the app (from the precache), saying it is offline.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { RECONNECT_WAIT_MS, WAIT_MS, launchBrowser } from './support/browser.ts';
import { Scene } from './support/scene.ts';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('with the server stopped, a reload still shows the app shell from the service worker', { timeout: 180_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const name = await a.myName();

  await a.waitForServiceWorkerControl();
  const scriptURL = await a.page.evaluate(() => navigator.serviceWorker.controller?.scriptURL);
  assert.equal(scriptURL, `${scene.url}/sw.js`, 'the page is controlled by /sw.js');
  await a.waitOnline();

  scene.expectServerDown(); // stopped on purpose: the app's reconnect attempts are refused until it is back
  assert.equal(await scene.server.stop(), 0);
  await a.waitForStatus('offline');
  // Nothing answers on the port any more.
  await assert.rejects(fetch(`${scene.url}/healthz`), 'the server is really down');

  const response = await a.page.reload({ waitUntil: 'load' });
  assert.ok(response, 'the reload got a response');
  assert.equal(response.status(), 200);
  assert.equal(response.fromServiceWorker(), true, 'the page came from the service worker');

  await a.app.waitFor({ state: 'attached', timeout: WAIT_MS });
  await a.page.locator('wisp-app header h1', { hasText: 'Wisp' }).waitFor({ state: 'visible', timeout: WAIT_MS });
  await a.textarea.waitFor({ state: 'visible', timeout: WAIT_MS });
  await a.tab('lobby').waitFor({ state: 'visible', timeout: WAIT_MS });

  // Not online, and saying so in a sentence.
  await a.waitForStatus('offline', WAIT_MS);
  assert.notEqual(await a.status(), 'online');
  const sentence = a.page.locator('wisp-connection-status .sentence');
  await sentence.waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.match((await sentence.textContent()) ?? '', /\w+ \w+/, 'a sentence explains the state');
  assert.equal((await a.page.locator('wisp-connection-status [role=status]').textContent())?.trim(), 'Offline');
  // The name from the last visit is remembered on the device.
  assert.equal(await a.myName(), name);

  // And once the server is back, the same page gets online by itself.
  await scene.server.start();
  await a.waitForStatus('online', RECONNECT_WAIT_MS);
  assert.equal(await a.myName(), name);
});
