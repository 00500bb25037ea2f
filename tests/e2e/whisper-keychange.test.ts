// Trust on first use and key changes. A whispers B once (A pins B's key). Then B's
// identity key is wiped from IndexedDB and B comes back under the same name with a new
// key: A sees the change next to B's name. For a verified contact, whispers are blocked
// until A verifies B again (safety numbers compared on both screens); for a contact that
// was only pinned, a warning and an explicit "Continue anyway" click come first.
// The other way round too: what B's new key sends A (whispers, a file offer) waits in A's
// app, unseen and unanswered (B is not told it arrived), with one notification that says
// only that B's safety number changed, until A continues or verifies B again.
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, tag, waitUntil, type Person } from './support/browser.ts';
import { TempFiles, accept, attach, save, transferNamed, transfers, waitTransfer } from './support/files.ts';
import { Scene } from './support/scene.ts';
import {
  enableNotifications,
  failure,
  header,
  headerText,
  installProbe,
  marker,
  memberButton,
  openByClick,
  ownKey,
  ownLines,
  pins,
  readProbe,
  recordNotifications,
  recordedNotifications,
  selectWhisper,
  sendBarrier,
  setVisibility,
  shownNotifications,
  shownSafetyNumber,
  waitSecure,
  waitWhisperDelivered,
  warning,
  whisperInfo,
  whisperTab,
  wipeIdentity,
  whisperPair,
} from './support/whisper.ts';

const TEST_TIMEOUT = 180_000;

/** Whether this page's app has a link to `key` that is not closed: the only way a whisper leaves or arrives. */
function hasOpenLink(p: Person, key: string): Promise<boolean> {
  return p.page.evaluate(`(() => {
    const link = window.wisp.whispers.mesh.get(${JSON.stringify(key)});
    return Boolean(link && !link.isClosed);
  })()`) as Promise<boolean>;
}

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
  await header(p).locator('.line').getByRole('button', { name: 'Verify', exact: true }).click();
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

/** `prepareA` runs on A before anything lives only in A's page (it may reload A). */
async function twoPeopleWhoWhispered(scene: Scene, prepareA?: (a: Person) => Promise<void>) {
  const { a, b, aName, bName, aKey, bKey } = await whisperPair(scene, { prepareA });
  await openByClick(a, bName);
  const hello = marker('first whisper');
  await a.say(hello);
  await waitWhisperDelivered(a, hello);
  await waitSecure(a, 'direct');
  // First use: A pinned B's key under B's name, unverified.
  await waitUntil("A's pin for B", async () => (await pins(a))[bName.toLowerCase()]?.key === bKey);
  assert.equal((await pins(a))[bName.toLowerCase()].verified, false);
  assert.equal((await memberButton(a, bName).locator('.badge').textContent())?.trim(), 'not verified', 'a pinned contact is marked "not verified", not just missing the ✓');
  assert.equal(await header(a).locator('[data-trust="unverified"]').count(), 1);
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
  assert.equal(await header(a).locator('.line button.verify').count(), 0, 'no Verify call to action for a verified contact');
  // The header's "⋯" menu offers the safety number of a verified contact; Escape closes it.
  await header(a).locator('button.more').click();
  const items = header(a).locator('wisp-member-menu [role=menuitem]');
  await items.first().waitFor({ timeout: WAIT_MS });
  assert.deepEqual((await items.allTextContents()).map((s) => s.trim()), ['Safety number…', 'Clear this conversation']);
  await a.page.keyboard.press('Escape');
  await items.first().waitFor({ state: 'detached', timeout: WAIT_MS });
  assert.equal(await header(a).locator('[data-trust="verified"]').count(), 1);
  await waitUntil('"End-to-end encrypted" for the verified contact', async () => /End-to-end encrypted/.test(await headerText(a)));
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
  // The app decides to hold as it shows that sentence. Held, not sent: A has no link to the
  // new key to send it over, and B none from A to receive it on.
  assert.equal(await hasOpenLink(a, newKey), false, 'A has no link to the new key');
  assert.equal(await hasOpenLink(b, aKey), false, 'B has no link from A');
  assert.equal(await ownLines(a, blocked).locator('.pending').count(), 1, 'the blocked whisper is still "sending…"');
  assert.equal(await ownLines(a, blocked).locator('.delivered').count(), 0);
  assert.deepEqual((await readProbe(b)).received, [], 'B received nothing');
  assert.equal((await readProbe(a)).ready.includes(newKey), false, 'A never set up a link to the new key');
  assert.equal(await header(a).locator('[data-secure]').count(), 0);

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
  const { a, b, aKey, bName, bKey } = await twoPeopleWhoWhispered(scene);

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
  // The app decides to hold as it shows that sentence. Held, not sent: A has no link to the
  // new key to send it over, and B none from A to receive it on.
  assert.equal(await hasOpenLink(a, newKey), false, 'A has no link to the new key before the click');
  assert.equal(await hasOpenLink(b, aKey), false, 'B has no link from A before the click');
  assert.equal(await ownLines(a, held).locator('.pending').count(), 1, 'the whisper waits for the click');
  assert.deepEqual((await readProbe(b)).received, [], 'B received nothing before the click');
  assert.equal((await readProbe(a)).ready.includes(newKey), false, 'no link to the new key before the click');

  await proceed.click();
  await waitWhisperDelivered(a, held);
  await waitUntil('B to receive the whisper after the click', async () => (await readProbe(b)).received.includes(held));
  await waitSecure(a, 'direct');
  // The new key is pinned now (unverified): no more warning, "not verified" instead of ⚠.
  await waitUntil("A's pin to move to B's new key", async () => (await pins(a))[bName.toLowerCase()]?.key === newKey);
  assert.equal((await pins(a))[bName.toLowerCase()].verified, false);
  await waitUntil('the ⚠ next to B to go', async () => (await memberButton(a, bName).locator('.badge.changed').count()) === 0);
  assert.equal(await memberButton(a, bName).locator('.badge.unverified').count(), 1);
  assert.equal(await warning(a).count(), 0);
});

/**
 * B comes back with a new key, whispers A and offers A a file while A has not decided about
 * the change. A's app lets B's link come up (the handshake proves B holds the announced key)
 * but holds all of it: no line, no file card, no receipt (B's whispers stay undelivered),
 * and one notification that says only that B's safety number changed. Once A decides
 * (Continue for a pinned contact, verifying again for a verified one) the whispers show in
 * order, B sees them delivered, and the offer appears and can be taken.
 */
async function heldUntilDecided(t: TestContext, verified: boolean): Promise<void> {
  const scene = await Scene.open(t, browser);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const { a, b, aName, bName, bKey } = await twoPeopleWhoWhispered(scene, enableNotifications);
  await recordNotifications(a);
  if (verified) {
    await openVerify(a);
    await markVerified(a);
    await waitUntil("A's pin for B to be verified", async () => (await pins(a))[bName.toLowerCase()]?.verified === true);
  }
  const newKey = await resetIdentity(b, bName, bKey);
  await memberButton(a, bName).locator('.badge.changed').waitFor({ timeout: WAIT_MS });
  // A's app is in the background until A comes back to decide.
  await setVisibility(a, 'hidden');

  const whispers = verified ? [marker('whisper from the new key')] : [marker('first whisper from the new key'), marker('second whisper from the new key')];
  const offered = files.random(`offer-${tag()}.bin`, 48 * 1024);
  await openByClick(b, aName);
  for (const text of whispers) await b.say(text);
  await attach(b, offered);
  const waitingSentence =
    `${bName}'s safety number changed. ${verified ? 'A whisper and a file are' : '2 whispers and a file are'} waiting: ` +
    (verified ? `verify ${bName} again to see them.` : `check with ${bName}, then choose Continue to see them.`);
  // A's app sets this sentence as it holds each frame: once it counts all three, A has handled them all.
  await waitUntil(`A's app to hold B's whispers and file offer ("${waitingSentence}")`, async () => (await whisperInfo(a, newKey))?.failure === waitingSentence);

  // Nothing of it shows on A: no line (the probe saw every line A ever had), no file.
  const held = await whisperInfo(a, newKey);
  assert.deepEqual(held?.lines, [], 'the conversation with the new key has no line');
  assert.equal(held?.unread, 0);
  assert.equal(held?.link, 'ready', "the link B's new key started is up");
  for (const text of whispers) assert.equal((await readProbe(a)).received.includes(text), false, 'A never showed the whisper');
  assert.deepEqual((await transfers(a)).filter((x) => x.direction === 'in'), [], 'no file offer reached A');
  // One notification, for the key, without the text or the file's name.
  const keyChanged = { title: `${bName}'s safety number changed`, body: '', tag: `@${newKey}` };
  assert.deepEqual(await recordedNotifications(a), [keyChanged], 'one notification, saying only that the key changed');
  assert.deepEqual(await waitUntil('the notification to show', async () => ((await shownNotifications(a)).length ? shownNotifications(a) : undefined)), [keyChanged]);

  // B was not told anything arrived: a frame A writes on the same ordered link after holding
  // them reaches B, and by then no receipt has.
  const barrier = marker('barrier from A');
  await sendBarrier(a, newKey, barrier);
  await waitUntil('B to show the barrier frame from A', async () => (await readProbe(b)).received.includes(barrier));
  for (const text of whispers) {
    assert.equal((await readProbe(b)).delivered.includes(text), false, `B's "${text}" was never marked delivered`);
    assert.equal(await ownLines(b, text).locator('.pending').count(), 1, `B's "${text}" is still "sending…"`);
  }
  assert.equal((await transferNamed(b, offered.name, 'out'))?.status, 'waiting', "nobody answered B's offer");

  // A comes back and decides.
  await setVisibility(a, 'visible');
  await selectWhisper(a, newKey);
  await warning(a).waitFor({ timeout: WAIT_MS });
  assert.match((await warning(a).textContent()) ?? '', new RegExp(`${bName}'s safety number has changed`));
  assert.equal(((await failure(a).locator('span').textContent()) ?? '').trim(), waitingSentence);
  if (verified) {
    assert.equal(await warning(a).getByRole('button', { name: 'Continue anyway' }).count(), 0, 'a verified contact cannot be clicked through');
    await warning(a).getByRole('button', { name: 'Verify' }).click();
    await a.page.locator('wisp-verify-dialog dialog').waitFor({ state: 'visible', timeout: WAIT_MS });
    await markVerified(a);
  } else {
    await warning(a).getByRole('button', { name: 'Continue anyway' }).click();
  }

  // The whispers show, in the order B sent them, and B is told they arrived.
  for (const text of whispers) await a.waitForLine(text);
  assert.deepEqual((await readProbe(a)).received.filter((r) => whispers.includes(r)), whispers, 'shown in order');
  for (const text of whispers) await waitWhisperDelivered(b, text);
  assert.equal(await failure(a).count(), 0, 'nothing is waiting any more');
  // The offer appears and works.
  await accept(a, offered.name);
  await waitTransfer(a, offered.name, 'in', ['done']);
  await waitTransfer(b, offered.name, 'out', ['done']);
  assert.equal((await save(a, offered.name)).sha256, offered.sha256, 'the file arrived intact');
  const pin = (await pins(a))[bName.toLowerCase()];
  assert.equal(pin.key, newKey, "A's pin for B is the new key");
  assert.equal(pin.verified, verified);
  assert.deepEqual(await recordedNotifications(a), [keyChanged], 'no other notification');
}

test('an unverified contact with a new key: its whispers and file offer wait unseen and unanswered until "Continue anyway"', { timeout: TEST_TIMEOUT }, async (t) => {
  await heldUntilDecided(t, false);
});

test('a verified contact with a new key: its whispers and file offer wait unseen and unanswered until verified again', { timeout: TEST_TIMEOUT }, async (t) => {
  await heldUntilDecided(t, true);
});
