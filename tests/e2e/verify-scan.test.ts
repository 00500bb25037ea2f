// "Scan their code": A verifies B by scanning the QR code of B's safety number with the
// camera. A lives in a Chromium whose fake camera plays a file showing a QR code
// (support/fake-camera.ts); B in an ordinary one. Real server, real build, real keys: the
// code A's camera sees is the one B's own verify dialog shows. A matching code marks B
// verified; another safety number says so and leaves B unverified; any other code says it
// is not a Wisp safety number and keeps scanning; no camera at all is said in a sentence.
// The camera is stopped, every track, whenever scanning ends or the dialog closes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import type { Browser, Locator } from 'playwright-core';
import { WAIT_MS, launchBrowser, newPerson, waitUntil, type Person } from './support/browser.ts';
import { fakeCameraArgs, showOnCamera } from './support/fake-camera.ts';
import { Scene } from './support/scene.ts';
import { header, keyOf, openByClick, pins, shownSafetyNumber } from './support/whisper.ts';

const TEST_TIMEOUT = 120_000;

let browser: Browser;
let cameraBrowser: Browser;
let cameraDir: string;
let y4m: string;
before(async () => {
  cameraDir = mkdtempSync(path.join(tmpdir(), 'wisp-e2e-camera-'));
  y4m = path.join(cameraDir, 'camera.y4m');
  // The fake device reads its file when the camera starts; until then it shows white.
  showOnCamera(y4m, undefined);
  browser = await launchBrowser();
  cameraBrowser = await launchBrowser(fakeCameraArgs(y4m));
});
after(async () => {
  await cameraBrowser?.close();
  await browser?.close();
  if (cameraDir) rmSync(cameraDir, { recursive: true, force: true });
});

/** Keeps every camera stream the page gets, to check later that each track was stopped (getUserMedia itself is untouched). */
const RECORD_STREAMS = `(() => {
  const streams = (globalThis.__cameraStreams = []);
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    streams.push(stream);
    return stream;
  };
})()`;

/** How many camera tracks the page got, and how many of them still run. */
function cameraTracks(p: Person): Promise<{ total: number; live: number }> {
  return p.page.evaluate(`(() => {
    const tracks = globalThis.__cameraStreams.flatMap((s) => s.getTracks());
    return { total: tracks.length, live: tracks.filter((t) => t.readyState === 'live').length };
  })()`) as Promise<{ total: number; live: number }>;
}

async function waitCameraStopped(p: Person, what: string): Promise<void> {
  await waitUntil(`${p.label}'s camera to be stopped ${what}`, async () => {
    const tracks = await cameraTracks(p);
    return tracks.total > 0 && tracks.live === 0;
  });
}

function dialog(p: Person): Locator {
  return p.page.locator('wisp-verify-dialog dialog');
}

function scanStatus(p: Person): Locator {
  return p.page.locator('wisp-verify-dialog [role=status]');
}

function scanner(p: Person): Locator {
  return p.page.locator('wisp-verify-dialog wisp-qr-scanner video');
}

/** Takes the browser's BarcodeDetector away before the app loads, so the scan runs on jsQR in any Chromium. */
const WITHOUT_BARCODE_DETECTOR = 'delete globalThis.BarcodeDetector;';

/**
 * A whisper conversation between A (camera browser) and B; A's verify dialog for B is
 * open. With `jsQrOnly`, A's page has no BarcodeDetector.
 */
async function twoPeople(t: TestContext, { jsQrOnly = false } = {}) {
  const scene = await Scene.open(t, browser);
  const b = await scene.person('B');
  const a = await newPerson(cameraBrowser, scene.url, {
    label: 'A',
    init: async (context) => {
      await context.addInitScript(RECORD_STREAMS);
      if (jsQrOnly) await context.addInitScript(WITHOUT_BARCODE_DETECTOR);
    },
  });
  scene.people.push(a);
  const [aName, bName] = [await a.myName(), await b.myName()];
  await a.waitForMembers([aName, bName]);
  await b.waitForMembers([aName, bName]);
  const bKey = await keyOf(a, bName);
  await openByClick(a, bName);
  await header(a).getByRole('button', { name: 'Verify', exact: true }).click();
  await dialog(a).waitFor({ state: 'visible', timeout: WAIT_MS });
  const aNumber = await shownSafetyNumber(a);
  assert.match(aNumber, /^\d{60}$/);
  return { a, b, aName, bName, bKey, aNumber };
}

/** Which decoder A's browser has: the test expects the dialog to say it used that one. */
async function expectedDecoder(p: Person): Promise<string> {
  const native = (await p.page.evaluate(`(async () => typeof BarcodeDetector !== 'undefined' && (await BarcodeDetector.getSupportedFormats()).includes('qr_code'))()`)) as boolean;
  console.log(`# verify-scan: BarcodeDetector ${native ? 'reads QR codes' : 'is missing'} in this Chromium; the scan runs on ${native ? 'barcode-detector' : 'jsqr'}`);
  return native ? 'barcode-detector' : 'jsqr';
}

async function scan(p: Person): Promise<void> {
  await dialog(p).getByRole('button', { name: 'Scan their code' }).click();
  await scanner(p).waitFor({ state: 'visible', timeout: WAIT_MS });
}

async function isVerified(p: Person, name: string): Promise<boolean> {
  return (await pins(p))[name.toLowerCase()]?.verified === true;
}

test("scanning the code on B's screen marks B verified", { timeout: TEST_TIMEOUT }, async (t) => {
  const { a, b, aName, bName, aNumber } = await twoPeople(t);
  assert.equal(await isVerified(a, bName), false, 'B is not verified before the scan');
  // B shows their code: B's own dialog, computed in B's page from B's view of the keys.
  await openByClick(b, aName);
  await header(b).getByRole('button', { name: 'Verify', exact: true }).click();
  await dialog(b).waitFor({ state: 'visible', timeout: WAIT_MS });
  const bNumber = await shownSafetyNumber(b);
  showOnCamera(y4m, `wisp-safety-number:${bNumber}`);

  const decoder = await expectedDecoder(a);
  await scan(a);
  await dialog(a).locator('p.ok', { hasText: `✓ You verified ${bName}.` }).waitFor({ timeout: WAIT_MS });
  assert.equal((await scanStatus(a).textContent())?.trim(), 'The codes match.');
  assert.equal(await scanStatus(a).getAttribute('data-decoder'), decoder, 'the dialog says which decoder read the code');
  await header(a).locator('.badge.verified').waitFor({ timeout: WAIT_MS });
  assert.equal(await isVerified(a, bName), true, "A's pin for B is verified");
  assert.equal(bNumber, aNumber, 'both screens showed the same number (the scan compared them)');
  // Scanning ended: the preview is gone and the camera is off.
  await scanner(a).waitFor({ state: 'detached', timeout: WAIT_MS });
  await waitCameraStopped(a, 'after a match');

  // B's browser has no camera (and nobody to allow one): a plain sentence, and the digits.
  await dialog(b).getByRole('button', { name: 'Scan their code' }).click();
  await scanStatus(b).filter({ hasText: 'Wisp could not use the camera' }).waitFor({ timeout: WAIT_MS });
  const refused = (await scanStatus(b).textContent())?.trim() ?? '';
  console.log(`# verify-scan: without a camera B reads: ${refused}`);
  assert.match(refused, /^Wisp could not use the camera: [a-z][^.]*\. You can compare the digits instead\.$/);
  assert.equal(await scanner(b).count(), 0, 'no preview is left behind');
  assert.equal(await dialog(b).getByRole('button', { name: 'Scan their code' }).count(), 1, 'B may try again');
});

// On jsQR whatever this Chromium has: with the other tests on a browser that has a
// BarcodeDetector, both decoders are covered.
test('a code of another safety number says so, and B stays unverified (jsQR)', { timeout: TEST_TIMEOUT }, async (t) => {
  const { a, bName, aNumber } = await twoPeople(t, { jsQrOnly: true });
  // A valid safety number, but not this one: the last digit changed.
  const other = aNumber.slice(0, 59) + String((Number(aNumber[59]) + 1) % 10);
  showOnCamera(y4m, `wisp-safety-number:${other}`);

  assert.equal(await expectedDecoder(a), 'jsqr', "A's page has no BarcodeDetector");
  await scan(a);
  const sentence = `This code does not match ${bName}'s safety number on your screen. Someone may be interfering, or it is another person's code.`;
  await scanStatus(a).filter({ hasText: sentence }).waitFor({ timeout: WAIT_MS });
  assert.equal((await scanStatus(a).textContent())?.trim(), sentence);
  assert.equal(await scanStatus(a).getAttribute('data-decoder'), 'jsqr');
  await scanner(a).waitFor({ state: 'detached', timeout: WAIT_MS });
  await waitCameraStopped(a, 'after a mismatch');
  assert.equal(await isVerified(a, bName), false, 'B is not verified');
  assert.equal(await dialog(a).locator('p.ok').count(), 0, 'the dialog does not say B is verified');
  assert.equal(await header(a).locator('.badge.verified').count(), 0, "A's header does not show B as verified");
  // Still open, the dialog offers to scan again or compare the digits.
  assert.equal(await dialog(a).getByRole('button', { name: 'Scan their code' }).count(), 1);
  assert.equal(await dialog(a).getByRole('button', { name: 'Mark as verified' }).count(), 1);
});

test('a code that is not a safety number keeps scanning; Cancel and Close stop the camera', { timeout: TEST_TIMEOUT }, async (t) => {
  const { a, bName } = await twoPeople(t);
  showOnCamera(y4m, 'https://example.org/a-menu-not-a-safety-number');

  const decoder = await expectedDecoder(a);
  await scan(a);
  await scanStatus(a).filter({ hasText: 'That is not a Wisp safety number.' }).waitFor({ timeout: WAIT_MS });
  assert.equal(await scanStatus(a).getAttribute('data-decoder'), decoder);
  // Still scanning: the preview runs on a live camera.
  assert.equal(await scanner(a).count(), 1, 'the preview is still shown');
  assert.deepEqual(await cameraTracks(a), { total: 1, live: 1 });
  await dialog(a).getByRole('button', { name: 'Cancel' }).click();
  await scanner(a).waitFor({ state: 'detached', timeout: WAIT_MS });
  await waitCameraStopped(a, 'after Cancel');

  // Scanning again, then closing the dialog: the camera goes off with it.
  await scan(a);
  await waitUntil("A's second camera track to run", async () => (await cameraTracks(a)).live === 1);
  await dialog(a).getByRole('button', { name: 'Close' }).click();
  await dialog(a).waitFor({ state: 'hidden', timeout: WAIT_MS });
  await waitCameraStopped(a, 'after closing the dialog');
  assert.equal((await cameraTracks(a)).total, 2);
  assert.equal(await isVerified(a, bName), false, 'B is not verified');
});
