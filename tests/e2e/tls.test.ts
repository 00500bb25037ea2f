// Wisp over real TLS on a LAN name, as a phone that trusts the box's local CA sees it:
// https://wisp-pi.local:<port> (mapped to loopback), a certificate from Wisp's own CA that
// only the browser's NSS database trusts. There the page is a secure context, the service
// worker controls it, Chromium calls it installable, the WebSocket is WSS, and two people
// chat and whisper over a real WebRTC link. A browser never told about the CA refuses it,
// but gets the setup page over plain HTTP. An operator's own certificate works the same.
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
    // The https address, and the plain http one (which redirects there).
    for (const url of [tls.url, plainUrl('/')]) {
      const page = await stranger.newPage();
      let failure: Error | undefined;
      try {
        await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
      } catch (error) {
        failure = error as Error;
      }
      assert.ok(failure, `opening ${url} without the CA must fail`);
      assert.match(failure.message, /net::ERR_CERT_(AUTHORITY_INVALID|INVALID|COMMON_NAME_INVALID|DATE_INVALID)/, `a certificate error for ${url}: ${failure.message}`);
      assert.equal(await page.locator('wisp-app').count(), 0, 'the app is not loaded');
      assert.equal(await page.evaluate(() => typeof (window as { wisp?: unknown }).wisp), 'undefined', 'no app code ran');
      await page.close();
    }
  } finally {
    await stranger.close();
  }
});

test('over plain http on the LAN name: the setup page offers the CA and links to the https address, the app itself redirects there', { timeout: TEST_TIMEOUT }, async () => {
  const setupUrl = tls.setupUrl;
  assert.ok(setupUrl, 'the server runs with the local CA');
  // A phone that has not installed the CA yet: the setup page is plain HTTP and loads.
  const stranger = await launchTlsBrowser(tls.url, untrusting);
  try {
    const page = await stranger.newPage();
    const response = await page.goto(setupUrl, { waitUntil: 'load', timeout: WAIT_MS });
    assert.equal(response?.status(), 200, 'the setup page answers 200');
    assert.equal(page.url(), setupUrl, 'no redirect away from the setup page');
    assert.equal(await page.locator('wisp-app').count(), 0, 'the setup page is not the app');
    const links = await page.locator('a[href]').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
    assert.ok(links.includes(`${tls.url}/`), `it links to ${tls.url}/: ${JSON.stringify(links)}`);
    // The certificate it offers is the CA that signed the HTTPS certificate.
    const pem = links.find((href) => href.startsWith(`${new URL(setupUrl).origin}/`) && href.endsWith('.pem'));
    assert.ok(pem, `it offers the CA as a .pem download: ${JSON.stringify(links)}`);
    const download = await fetch(`${tls.server.url}${new URL(pem).pathname}`);
    assert.equal(download.status, 200);
    assert.equal((await download.text()).trim(), tls.caPem.trim(), 'the offered certificate is the CA');
  } finally {
    await stranger.close();
  }

  // With the CA trusted, the plain http address ends in the app over https.
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(plainUrl('/'), { waitUntil: 'load', timeout: WAIT_MS });
    assert.equal(page.url(), `${tls.url}/`, 'http://wisp-pi.local:<port>/ redirects to the https address');
    await page.locator('wisp-connection-status[status=online]').waitFor({ state: 'attached', timeout: WAIT_MS });
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
  } finally {
    await context.close();
  }
});

test("an operator's own certificate (--tls-cert/--tls-key): https and wss on the LAN name with that CA trusted", { timeout: TEST_TIMEOUT }, async (t) => {
  const own = await startTlsServer({ certificate: 'own' });
  const home = new TrustHome(own.caFile);
  const ownBrowser = await launchTlsBrowser(own.url, home).catch(async (error: unknown) => {
    home.dispose();
    await own.dispose();
    throw error;
  });
  t.after(async () => {
    await ownBrowser.close();
    home.dispose();
    await own.dispose();
  });
  const scene = Scene.around(t, ownBrowser, own.server, own.url);
  const sockets: string[] = [];
  const a = await scene.person('A', { init: async (context) => recordWebSockets(context, sockets) });
  assert.equal(new URL(a.page.url()).origin, own.url);
  assert.equal(await a.page.evaluate(() => window.isSecureContext), true, 'a secure context');
  const wss = `wss://${new URL(own.url).host}/`;
  assert.ok(sockets.length > 0 && sockets.every((url) => url.startsWith(wss)), `the app's WebSockets go to ${wss}: ${JSON.stringify(sockets)}`);
});

/** The same LAN name over plain HTTP on the server's --port. */
function plainUrl(pathname: string): string {
  return `http://${new URL(tls.url).hostname}:${tls.server.port}${pathname}`;
}
