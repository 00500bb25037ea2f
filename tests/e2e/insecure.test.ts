// A phone opening http://<lan-address>:8080 is not a secure context: no WebCrypto, no
// service worker. The app must say so and explain the fix instead of failing strangely.
// A host name that is not "localhost" makes Chromium treat plain http as insecure; the
// resolver rule points it at our loopback server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WAIT_MS, launchBrowser } from './support/browser.ts';
import { WispServer } from './support/server.ts';

let browser: Browser;
let server: WispServer;
before(async () => {
  // The server answers only to names it knows: this one stands for a LAN name.
  server = await WispServer.start({ args: ['--allow-host', 'wisp-lan.test'] });
  browser = await launchBrowser(['--host-resolver-rules=MAP wisp-lan.test 127.0.0.1']);
});
after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** Page errors and console errors of a raw page (no Person here: the app never gets online on the LAN name). */
function collectErrors(page: Page, expected: RegExp[] = []): string[] {
  const errors: string[] = [];
  const add = (error: string) => {
    if (!expected.some((pattern) => pattern.test(error))) errors.push(error);
  };
  page.on('pageerror', (error) => add(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') add(`console: ${message.text()}`);
  });
  return errors;
}

test('over plain http on a LAN name, the app explains why it cannot start and how to fix it', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    // The server's COOP header is ignored on an untrustworthy origin: that is this test's point.
    const errors = collectErrors(page, [/^console: The Cross-Origin-Opener-Policy header has been ignored, because the URL's origin was untrustworthy\./]);
    await page.goto(`http://wisp-lan.test:${server.port}/`, { waitUntil: 'load' });
    assert.equal(await page.evaluate(() => window.isSecureContext), false, 'Chromium treats this origin as insecure');

    const screen = page.locator('wisp-insecure-context');
    await screen.waitFor({ state: 'visible', timeout: WAIT_MS });
    await page.locator('wisp-insecure-context h1', { hasText: 'Wisp needs a secure connection' }).waitFor({ timeout: WAIT_MS });
    const text = await screen.evaluate((element) => element.shadowRoot?.textContent ?? '');
    assert.match(text, new RegExp(`wisp-lan\\.test:${server.port}`), 'it names the address that was opened');
    for (const fix of ['--tls-cert', 'Caddy', 'tailscale serve', 'localhost']) assert.ok(text.includes(fix), `it mentions ${fix}`);
    assert.equal(await page.locator('wisp-app').count(), 0, 'the chat shell is not started');
    assert.deepEqual(errors, [], 'no uncaught errors or console errors');
  } finally {
    await context.close();
  }
});

test('the same server on localhost is a secure context and starts the app', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(`http://localhost:${server.port}/`, { waitUntil: 'load' });
    await page.locator('wisp-connection-status[status=online]').waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('wisp-insecure-context').count(), 0);
    assert.deepEqual(errors, [], 'no uncaught errors or console errors');
  } finally {
    await context.close();
  }
});
