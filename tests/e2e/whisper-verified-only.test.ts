// Settings → "Whisper only with verified people", in two real browsers with a real link.
// A turns it on. B's first whisper to A arrives over a real secure channel but waits in A's
// app, unseen and unanswered (B gets no receipt), with a sentence that says why; A's own
// whisper to B is not sent. Ordering barriers written into the same link (past the app's
// checks) prove it: they arrive, what was held did not. Once A verifies B, both go through.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, waitUntil, type Person } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { failure, header, marker, ownLines, pins, readProbe, selectWhisper, sendBarrier, waitWhisperDelivered, warning, whisperPair, whisperTab } from './support/whisper.ts';

const TEST_TIMEOUT = 120_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function setVerifiedOnly(p: Person, on: boolean): Promise<void> {
  await p.page.locator('wisp-app header button[aria-label="Settings"]').click();
  const dialog = p.page.locator('wisp-settings-dialog dialog');
  await dialog.waitFor({ state: 'visible', timeout: WAIT_MS });
  const box = p.page.locator('wisp-settings-dialog input[name=verified-only]');
  assert.equal(await box.isChecked(), false, 'off by default');
  if ((await box.isChecked()) !== on) await box.click();
  await waitUntil(`${p.label}'s verified-only setting to be ${on}`, async () => (await p.state<{ settings: { verifiedOnly: boolean } }>()).settings.verifiedOnly === on);
  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
}

async function failureText(p: Person): Promise<string> {
  return (await failure(p).count()) ? ((await failure(p).locator('span').textContent()) ?? '').replace(/\s+/g, ' ').trim() : '';
}

test('"Whisper only with verified people": nothing shown, answered or sent for an unverified contact until verified', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const { a, b, aName, bName, aKey, bKey } = await whisperPair(scene);
  await setVerifiedOnly(a, true);

  // B whispers A first: a real link comes up (B starts it), but A's app holds the whisper.
  const fromB = marker('from B before A verified');
  await b.say(`/w ${aName} ${fromB}`);
  await whisperTab(a, bKey).waitFor({ timeout: WAIT_MS });
  await selectWhisper(a, bKey);
  const held = `You whisper only with verified people. A whisper is waiting: verify ${bName} to see it.`;
  await waitUntil("A's sentence about the held whisper", async () => (await failureText(a)) === held || undefined);
  await header(a).locator('[data-trust="unverified"]').waitFor({ timeout: WAIT_MS });
  assert.equal(
    ((await warning(a).locator('span').textContent()) ?? '').replace(/\s+/g, ' ').trim(),
    `You whisper only with verified people: nothing is sent to ${bName}, and nothing from ${bName} is shown, until you verify ${bName}.`,
  );

  // A's own whisper to B waits too.
  const fromA = marker('from A before verifying');
  await a.say(fromA);
  await ownLines(a, fromA).first().waitFor({ timeout: WAIT_MS });
  await waitUntil("A's sentence about the waiting whisper", async () => (await failureText(a)) === `You whisper only with verified people: your whispers to ${bName} wait until you verify ${bName}.` || undefined);

  // Barrier: written into A's live link to B after everything above. Once B shows it, any
  // receipt for B's whisper and A's whisper would have arrived before it.
  const barrier = marker('barrier');
  await sendBarrier(a, bKey, barrier);
  await selectWhisper(b, aKey);
  await b.waitForLine(barrier);
  assert.equal(await a.countLines(fromB), 0, "A's screen does not show B's whisper");
  assert.equal((await readProbe(a)).received.includes(fromB), false, "A's app did not show it at any time");
  assert.equal(await ownLines(b, fromB).locator('.delivered').count(), 0, 'B got no receipt');
  assert.equal((await readProbe(b)).received.includes(fromA), false, "A's whisper was not sent");

  // A verifies B: the held whisper shows and is answered, and A's goes out.
  await warning(a).getByRole('button', { name: 'Verify' }).click();
  const dialog = a.page.locator('wisp-verify-dialog dialog');
  await dialog.getByRole('button', { name: 'Mark as verified' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
  await header(a).locator('[data-trust="verified"]').waitFor({ timeout: WAIT_MS });
  await a.waitForLine(fromB);
  await waitWhisperDelivered(b, fromB);
  await waitWhisperDelivered(a, fromA);
  await b.waitForLine(fromA);
  assert.equal(await warning(a).count(), 0, 'no warning once verified');
  assert.equal(await failureText(a), '', 'no sentence once verified');
  assert.equal((await pins(a))[bName.toLowerCase()]?.verified, true);
});
