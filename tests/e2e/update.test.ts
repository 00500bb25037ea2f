// Upgrading the server: an open app notices the new version once the server is back,
// offers it ("A new version of Wisp is available"), and switches only on the person's
// click (workbox-window + skip-waiting), reloading into the new service worker.
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { precompress } from '../../scripts/precompress.mjs';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { RECONNECT_WAIT_MS, WAIT_MS, launchBrowser, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { ROOT } from './support/server.ts';

let browser: Browser;
let staticDir: string;
before(async () => {
  browser = await launchBrowser();
  staticDir = mkdtempSync(path.join(tmpdir(), 'wisp-e2e-app-'));
  cpSync(path.join(ROOT, 'dist/app'), staticDir, { recursive: true });
});
after(async () => {
  await browser?.close();
  rmSync(staticDir, { recursive: true, force: true });
});

/** Asks the page's active service worker which build it is ("v1" unless marked). */
function controllerBuild(page: import('playwright-core').Page): Promise<string> {
  return page.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const controller = navigator.serviceWorker.controller;
        if (!controller) return resolve('none');
        const channel = new MessageChannel();
        channel.port1.onmessage = (event) => resolve(String(event.data));
        controller.postMessage({ type: 'WISP_TEST_BUILD' }, [channel.port2]);
        setTimeout(() => resolve('v1'), 2000);
      }),
  );
}

test('a new version is offered after the server comes back, and applied on Reload', { timeout: 180_000 }, async (t) => {
  const scene = await Scene.open(t, browser, { args: ['--static-dir', staticDir] });
  const server = scene.server;
  const person = await scene.person('A');
  await person.waitForServiceWorkerControl();
  await person.waitOnline();
  assert.equal(await controllerBuild(person.page), 'v1');
  const banner = person.page.locator('wisp-app .banner', { hasText: 'A new version of Wisp is available.' });
  assert.equal(await banner.count(), 0, 'no update offered while nothing changed');

  // The operator upgrades: a new service worker (any byte change makes one).
  scene.expectServerDown(); // stopped on purpose: the app's reconnect attempts are refused until it is back
  assert.equal(await server.stop(), 0);
  appendFileSync(
    path.join(staticDir, 'sw.js'),
    `\nself.addEventListener('message', (e) => { if (e.data && e.data.type === 'WISP_TEST_BUILD') e.ports[0].postMessage('v2'); });\n`,
  );
  // As the build does: the compressed copies the server prefers must match.
  precompress(staticDir);
  await server.start();
  await person.waitOnline(RECONNECT_WAIT_MS);

  await banner.waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.equal(await controllerBuild(person.page), 'v1', 'the old version keeps running until the person chooses');

  const reloaded = person.page.waitForEvent('load', { timeout: WAIT_MS });
  await banner.getByRole('button', { name: 'Reload' }).click();
  await reloaded;
  await person.waitOnline();
  await waitUntil('the new service worker to control the page', async () => (await controllerBuild(person.page)) === 'v2');
  assert.equal(await banner.count(), 0, 'the banner is gone after the update');
});
