// Wisp over real TLS on a LAN name, as a phone that trusts the box's local CA sees it:
// https://wisp-pi.local:<port> (mapped to loopback), a certificate from a CA that only
// the browser's NSS database trusts. There the page is a secure context, the service
// worker controls it, Chromium calls it installable, the WebSocket is WSS, and two people
// chat and whisper over a real WebRTC link. A browser never told about the CA refuses it.
// One server and one CA for the whole file (support/tls.ts says where they come from).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { WAIT_MS, tag } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { TrustHome, launchTlsBrowser, startTlsServer, tlsLaunchOptions, type TlsServer } from './support/tls.ts';
import { marker, openByClick, selectWhisper, waitSecure, waitWhisperDelivered, whisperPair } from './support/whisper.ts';

const TEST_TIMEOUT = 120_000;

let tls: TlsServer;
/** A HOME whose NSS database trusts the CA, and one that never heard of it. */
let trusting: TrustHome;
let untrusting: TrustHome;
/** Chromium started with the trusting HOME: people in browser contexts of it. */
let browser: Browser;

before(async () => {
  tls = await startTlsServer();
  trusting = new TrustHome(tls.caFile);
  untrusting = new TrustHome();
  browser = await launchTlsBrowser(tls.url, trusting);
});
after(async () => {
  await browser?.close();
  trusting?.dispose();
  untrusting?.dispose();
  await tls?.dispose();
});

interface InstallabilityError {
  errorId: string;
  errorArguments: { name: string; value: string }[];
}

/** Records the URL of every WebSocket the pages of `context` open (its existing pages too). */
function recordWebSockets(context: BrowserContext, urls: string[]): void {
  const watch = (page: Page) => page.on('websocket', (ws) => urls.push(ws.url()));
  context.pages().forEach(watch);
  context.on('page', watch);
}

test('over https on a LAN name with the CA trusted: a secure context, WSS, a controlling service worker, installable', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = Scene.around(t, browser, tls.server, tls.url);
  const sockets: string[] = [];
  // A normal profile (Chromium never calls an incognito page installable), in its own
  // Chromium with the trusting HOME.
  const a = await scene.profilePerson('A', {
    launch: tlsLaunchOptions(tls.url, trusting),
    init: async (context) => recordWebSockets(context, sockets),
  });

  assert.equal(new URL(a.page.url()).origin, tls.url, 'the app is open at the https LAN address');
  assert.equal(await a.page.evaluate(() => window.isSecureContext), true, 'Chromium calls the page a secure context');
  assert.equal(await a.page.locator('wisp-insecure-context').count(), 0, 'no "needs a secure connection" screen');
  assert.equal(await a.page.evaluate(() => typeof crypto.subtle?.generateKey), 'function', 'WebCrypto is there');

  // Online means the WebSocket is up: it must be WSS to the same LAN address.
  const wss = `wss://${new URL(tls.url).host}/`;
  assert.ok(sockets.length > 0 && sockets.every((url) => url.startsWith(wss)), `the app's WebSockets go to ${wss}: ${JSON.stringify(sockets)}`);

  await a.waitForServiceWorkerControl();
  await a.waitOnline();
  const scriptURL = await a.page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? '');
  assert.equal(new URL(scriptURL).origin, tls.url, 'the controlling service worker is from the https origin');

  const cdp = await a.context.newCDPSession(a.page);
  const manifest = (await cdp.send('Page.getAppManifest')) as { url: string; errors: unknown[] };
  assert.equal(manifest.url, `${tls.url}/manifest.webmanifest`, 'the page links the manifest');
  assert.deepEqual(manifest.errors, [], 'the manifest parses');
  const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: InstallabilityError[] };
  const described = installabilityErrors.map((e) => `${e.errorId}${e.errorArguments.length ? ` (${e.errorArguments.map((x) => `${x.name}=${x.value}`).join(', ')})` : ''}`);
  assert.deepEqual(described, [], 'Chromium reports no installability errors');
  await cdp.detach();
});

test('over https on a LAN name, two people trusting the CA chat in #lobby and whisper over a direct WebRTC link', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = Scene.around(t, browser, tls.server, tls.url);
  // Two browser contexts of the Chromium whose HOME trusts the CA.
  const { a, b, aName, bName, aKey, bKey } = await whisperPair(scene);
  for (const p of [a, b]) {
    assert.equal(new URL(p.page.url()).origin, tls.url, `${p.label} has the app open at the https LAN address`);
    assert.equal(await p.page.evaluate(() => window.isSecureContext), true, `${p.label}'s page is a secure context`);
  }

  const hello = `hello over TLS ${tag()}`;
  await a.say(hello);
  const line = await b.waitForLine(hello);
  assert.equal((await line.locator('.name').textContent())?.trim(), aName, "B's line names A");
  await a.waitDelivered(hello);

  assert.equal(await openByClick(a, bName), bKey, "A's whisper tab is the conversation with B");
  await waitSecure(a, 'direct');
  const whisper = marker('whisper over TLS from A');
  await a.say(whisper);
  await waitWhisperDelivered(a, whisper);
  assert.equal(await b.countLines(whisper), 0, 'the whisper is not in #lobby');

  await selectWhisper(b, aKey);
  await b.waitForLine(whisper);
  await waitSecure(b, 'direct');
  const reply = marker('reply over TLS from B');
  await b.say(reply);
  await waitWhisperDelivered(b, reply);
  await a.waitForLine(reply);
});

test('a browser that does not trust the CA refuses the certificate and never loads the app', { timeout: TEST_TIMEOUT }, async () => {
  const stranger = await launchTlsBrowser(tls.url, untrusting);
  try {
    const page = await stranger.newPage();
    let failure: Error | undefined;
    try {
      await page.goto(tls.url, { waitUntil: 'load', timeout: WAIT_MS });
    } catch (error) {
      failure = error as Error;
    }
    assert.ok(failure, 'opening the https address without the CA must fail');
    assert.match(failure.message, /net::ERR_CERT_(AUTHORITY_INVALID|INVALID|COMMON_NAME_INVALID|DATE_INVALID)/, `a certificate error: ${failure.message}`);
    assert.equal(await page.locator('wisp-app').count(), 0, 'the app is not loaded');
    assert.equal(await page.evaluate(() => typeof (window as { wisp?: unknown }).wisp), 'undefined', 'no app code ran');
  } finally {
    await stranger.close();
  }
});
