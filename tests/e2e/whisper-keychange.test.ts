// Trust on first use and key changes. A whispers B once (A pins B's key). Then B's
// identity key is wiped from IndexedDB and B comes back under the same name with a new
// key: A sees the change next to B's name. For a verified contact, whispers are blocked
// until A verifies B again (safety numbers compared on both screens); for a contact that
// was only pinned, a warning and an explicit "Continue anyway" click come first.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, sleep, waitUntil, type Person } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import {
  failure,
  header,
  installProbe,
  marker,
  memberButton,
  openByClick,
  ownKey,
  ownLines,
  pins,
  readProbe,
  selectWhisper,
  shownSafetyNumber,
  waitSecure,
  waitWhisperDelivered,
  warning,
  whisperInfo,
  whisperTab,
  wipeIdentity,
} from './support/whisper.ts';

const TEST_TIMEOUT = 180_000;
/** How long a held-back whisper is watched to make sure it does not leave. */
const HOLD_WATCH_MS = 3000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function closeVerifyDialog(p: Person): Promise<void> {
  const dialog = p.page.locator('wisp-verify-dialog dialog');
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
}

/** Opens the verify dialog from the whisper header and returns the digits shown. */
async function openVerify(p: Person): Promise<string> {
  await header(p).locator('.row button').click();
  await p.page.locator('wisp-verify-dialog dialog').waitFor({ state: 'visible', timeout: WAIT_MS });
  const digits = await shownSafetyNumber(p);
  assert.match(digits, /^\d{60}$/, `${p.label}'s safety number has 60 digits`);
  // Shown as twelve groups of five, and as a QR code.
  const groups = await p.page.locator('wisp-verify-dialog [data-safety-number] span').allTextContents();
  assert.equal(groups.join(''), digits);
  assert.equal(groups.length, 12);
  await waitUntil(`${p.label}'s QR code to be drawn`, () =>
    p.page.locator('wisp-verify-dialog canvas').evaluate((c) => (c as HTMLCanvasElement).width > 0 && (c as HTMLCanvasElement).toDataURL().length > 1000),
  );
  return digits;
}

async function markVerified(p: Person): Promise<void> {
  const dialog = p.page.locator('wisp-verify-dialog dialog');
  await dialog.getByRole('button', { name: 'Mark as verified' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
}

/** Wipes B's identity key only and reloads B: same profile (name, rooms), new key. */
async function resetIdentity(b: Person, bName: string, oldKey: string): Promise<string> {
  await wipeIdentity(b);
  await b.reload();
  await b.waitOnline();
  assert.equal(await b.myName(), bName, 'B came back under the same name (from the profile)');
  const newKey = await ownKey(b);
  assert.notEqual(newKey, oldKey, 'B has a new identity key');
  await installProbe(b);
  return newKey;
}

async function twoPeopleWhoWhispered(scene: Scene) {
  const a = await scene.person('A');
  const b = await scene.person('B');
  const aName = await a.myName();
  const bName = await b.myName();
  await a.waitForMembers([aName, bName]);
  await b.waitForMembers([aName, bName]);
  const aKey = await ownKey(a);
  const bKey = await ownKey(b);
  await installProbe(a);
  await installProbe(b);
  await openByClick(a, bName);
  const hello = marker('first whisper');
  await a.say(hello);
  await waitWhisperDelivered(a, hello);
  await waitSecure(a, 'direct');
  // First use: A pinned B's key under B's name, unverified.
  await waitUntil("A's pin for B", async () => (await pins(a))[bName.toLowerCase()]?.key === bKey);
  assert.equal((await pins(a))[bName.toLowerCase()].verified, false);
  assert.equal(await memberButton(a, bName).locator('.badge').count(), 0, 'a pinned contact has no badge');
  return { a, b, aName, bName, aKey, bKey };
}

test('a verified contact changes key: ⚠ shows, whispers are blocked until verified again', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const { a, b, aName, bName, aKey, bKey } = await twoPeopleWhoWhispered(scene);

  // Both open the verification view: the same 60 digits on both screens.
  const aDigits = await openVerify(a);
  await whisperTab(b, aKey).waitFor({ timeout: WAIT_MS });
  await selectWhisper(b, aKey);
  const bDigits = await openVerify(b);
  assert.equal(aDigits, bDigits, 'A and B see the same safety number');
  await closeVerifyDialog(b);
  await markVerified(a);
  await memberButton(a, bName).locator('.badge.verified').waitFor({ timeout: WAIT_MS });
  assert.equal((await memberButton(a, bName).locator('.badge.verified').textContent())?.trim(), '✓');
  await header(a).locator('.badge.verified').waitFor({ timeout: WAIT_MS });
  assert.equal((await header(a).locator('.row button').textContent())?.trim(), 'Safety number', 'the header offers the safety number of a verified contact');
  assert.equal((await pins(a))[bName.toLowerCase()].verified, true);
  // The badge also shows on B's lines in A's conversation.
  const fromB = marker('B after verification');
  await b.say(fromB);
  const line = await a.waitForLine(fromB);
  await line.locator('.badge.verified').waitFor({ timeout: WAIT_MS });

  // B's identity is wiped; B comes back with a new key under the same name.
  const newKey = await resetIdentity(b, bName, bKey);
  await memberButton(a, bName).locator('.badge.changed').waitFor({ timeout: WAIT_MS });
  assert.equal((await memberButton(a, bName).locator('.badge.changed').textContent())?.trim(), '⚠');
  assert.equal(await memberButton(a, bName).locator('.badge.verified').count(), 0, 'no ✓ next to the new key');

  // A opens the conversation with the new key: a warning, and no "Continue anyway".
  assert.equal(await openByClick(a, bName), newKey);
  await warning(a).waitFor({ timeout: WAIT_MS });
  assert.match((await warning(a).textContent()) ?? '', new RegExp(`${bName}'s safety number has changed`));
  assert.equal(await warning(a).getByRole('button', { name: 'Continue anyway' }).count(), 0, 'a verified contact cannot be clicked through');
  assert.equal(await warning(a).getByRole('button', { name: 'Verify' }).count(), 1);
  await header(a).locator('.badge.changed').waitFor({ timeout: WAIT_MS });

  const blocked = marker('blocked whisper');
  await a.say(blocked);
  await failure(a).waitFor({ timeout: WAIT_MS });
  assert.match(
    (await failure(a).textContent()) ?? '',
    new RegExp(`${bName}'s safety number changed\\. Whispers are blocked until you verify ${bName} again\\.`),
  );
  assert.equal(await failure(a).getByRole('button', { name: 'Try again' }).count(), 0, 'no way around the block but verifying');
  await sleep(HOLD_WATCH_MS);
  assert.equal(await ownLines(a, blocked).locator('.pending').count(), 1, 'the blocked whisper is still "sending…"');
  assert.equal(await ownLines(a, blocked).locator('.delivered').count(), 0);
  assert.deepEqual((await readProbe(b)).received, [], 'B received nothing');
  assert.equal((await readProbe(a)).ready.includes(newKey), false, 'A never set up a link to the new key');
  assert.equal(await header(a).locator('.chip.secure').count(), 0);

  // Verify again: both screens show the new number (different from the old one).
  await warning(a).getByRole('button', { name: 'Verify' }).click();
  await a.page.locator('wisp-verify-dialog dialog').waitFor({ state: 'visible', timeout: WAIT_MS });
  await waitUntil("A's dialog to show the new number", async () => (await shownSafetyNumber(a)) !== aDigits);
  const aNewDigits = await shownSafetyNumber(a);
  assert.match(aNewDigits, /^\d{60}$/);
  await openByClick(b, aName);
  const bNewDigits = await openVerify(b);
  assert.equal(aNewDigits, bNewDigits, 'A and B see the same new safety number');
  assert.notEqual(aNewDigits, aDigits, 'the safety number changed with the key');
  await closeVerifyDialog(b);
  await markVerified(a);

  // Now the held whisper goes through, and B is verified again.
  await waitWhisperDelivered(a, blocked);
  await waitUntil('B to receive the whisper that was blocked', async () => (await readProbe(b)).received.includes(blocked));
  await memberButton(a, bName).locator('.badge.verified').waitFor({ timeout: WAIT_MS });
  assert.equal(await memberButton(a, bName).locator('.badge.changed').count(), 0);
  assert.equal(await warning(a).count(), 0, 'the warning is gone');
  const pin = (await pins(a))[bName.toLowerCase()];
  assert.equal(pin.key, newKey, "A's pin for B is the new key");
  assert.equal(pin.verified, true, 'and verified');
  const after = marker('after re-verification');
  await a.say(after);
  await waitWhisperDelivered(a, after);
  await waitUntil('B to receive the next whisper', async () => (await readProbe(b)).received.includes(after));
  // The header tells the truth: the link is up and encrypted, and nothing is blocked any more.
  await waitSecure(a);
  assert.equal(await failure(a).count(), 0, 'no "blocked" sentence once verified again');
  assert.equal((await whisperInfo(a, newKey))?.link, 'ready');
});

test('an unverified contact changes key: a warning, nothing sent until "Continue anyway"', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const { a, b, bName, bKey } = await twoPeopleWhoWhispered(scene);

  const newKey = await resetIdentity(b, bName, bKey);
  await memberButton(a, bName).locator('.badge.changed').waitFor({ timeout: WAIT_MS });

  assert.equal(await openByClick(a, bName), newKey);
  await warning(a).waitFor({ timeout: WAIT_MS });
  assert.match((await warning(a).textContent()) ?? '', new RegExp(`${bName}'s safety number has changed`));
  const proceed = warning(a).getByRole('button', { name: 'Continue anyway' });
  assert.equal(await proceed.count(), 1, 'an unverified contact can be clicked through');

  const held = marker('held until continue');
  await a.say(held);
  await failure(a).waitFor({ timeout: WAIT_MS });
  assert.match((await failure(a).textContent()) ?? '', new RegExp(`${bName}'s safety number changed\\. Check with ${bName}, then choose Continue to send\\.`));
  await sleep(HOLD_WATCH_MS);
  assert.equal(await ownLines(a, held).locator('.pending').count(), 1, 'the whisper waits for the click');
  assert.deepEqual((await readProbe(b)).received, [], 'B received nothing before the click');
  assert.equal((await readProbe(a)).ready.includes(newKey), false, 'no link to the new key before the click');

  await proceed.click();
  await waitWhisperDelivered(a, held);
  await waitUntil('B to receive the whisper after the click', async () => (await readProbe(b)).received.includes(held));
  await waitSecure(a, 'direct');
  // The new key is pinned now (unverified): no more warning, no badge.
  await waitUntil("A's pin to move to B's new key", async () => (await pins(a))[bName.toLowerCase()]?.key === newKey);
  assert.equal((await pins(a))[bName.toLowerCase()].verified, false);
  await waitUntil('the ⚠ next to B to go', async () => (await memberButton(a, bName).locator('.badge').count()) === 0);
  assert.equal(await warning(a).count(), 0);
});
