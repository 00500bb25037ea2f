// Files over the server relay: A turns on "Never connect whispers directly" and there is
// no TURN server, so the whisper link falls back to the server's relay. A file below the
// operator's relay limit (--relay-file-mb 1) arrives intact that way; a file above it is
// refused before a byte moves, with a sentence about the relay limit.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, waitUntil, type Person } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import {
  MIB,
  TempFiles,
  accept,
  attach,
  card,
  converse,
  installFileProbe,
  meet,
  save,
  traceNamed,
  waitTransfer,
} from './support/files.ts';
import { whisperBarrier } from './support/whisper.ts';

const TEST_TIMEOUT = 180_000;
/** The link first waits a few seconds for a data channel before it uses the relay. */
const RELAY_LINK_WAIT_MS = 45_000;
/** The relay is paced (a token bucket per link): allow it time. */
const RELAY_TRANSFER_WAIT_MS = 90_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Opens Settings and turns on "Never connect whispers directly", as a person does. */
async function setRelayOnly(p: Person): Promise<void> {
  await p.page.locator('wisp-app header button[aria-label="Settings"]').click();
  const dialog = p.page.locator('wisp-settings-dialog dialog');
  await dialog.waitFor({ state: 'visible', timeout: WAIT_MS });
  const box = p.page.locator('wisp-settings-dialog input[name=relay-only]');
  if (!(await box.isChecked())) await box.click();
  await waitUntil(`${p.label}'s relay-only setting`, async () => (await p.state<{ settings: { relayOnly: boolean } }>()).settings.relayOnly);
  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
}

test('over the server relay, a file below the relay limit arrives intact and one above it is refused with a sentence', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, { args: ['--relay-file-mb', '1'] });
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await scene.person('A'), await scene.person('B'));
  const { a, b, aName, bName, aKey, bKey } = pair;
  for (const p of [a, b]) {
    const state = await p.state<{ limits: { relayFileMaxBytes: number }; iceServers: unknown[] }>();
    assert.equal(state.limits.relayFileMaxBytes, 1 * MIB, `${p.label} got the operator's relay limit`);
    assert.deepEqual(state.iceServers, [], 'no STUN or TURN server is configured');
  }

  await setRelayOnly(a);
  const path = await converse(pair, RELAY_LINK_WAIT_MS);
  assert.equal(path, 'relay', "A's link goes through the server relay");
  const bPath = await waitUntil("B's link path", async () => (await b.state<{ whispers: Record<string, { path?: string }> }>()).whispers[aKey]?.path);
  assert.equal(bPath, 'relay', "B's link goes through the server relay too");
  for (const p of [a, b]) {
    await p.page.locator('wisp-whisper-header .line [data-path="relay"]').waitFor({ timeout: WAIT_MS });
  }
  await installFileProbe(a);
  await installFileProbe(b);

  // Below the limit: it goes, in relay-sized chunks, and arrives byte for byte.
  const small = files.random('through-the-relay.bin', 300_000);
  await attach(a, small);
  await accept(b, small.name);
  const received = await waitTransfer(b, small.name, 'in', ['done', 'failed', 'cancelled', 'declined'], RELAY_TRANSFER_WAIT_MS);
  assert.equal(received.status, 'done', `B: ${received.status} (${received.sentence ?? ''})`);
  const sent = await waitTransfer(a, small.name, 'out', ['done', 'failed', 'cancelled', 'declined'], RELAY_TRANSFER_WAIT_MS);
  assert.equal(sent.status, 'done', `A: ${sent.status} (${sent.sentence ?? ''})`);
  const saved = await save(b, small.name);
  assert.equal(saved.sha256, small.sha256, 'the relayed file is the one A picked');
  // Still the relay (nothing switched to a direct path on the way).
  assert.equal((await a.state<{ whispers: Record<string, { path?: string }> }>()).whispers[bKey]?.path, 'relay');

  // Above the limit: refused before any byte moves, with a sentence that says why.
  const big = files.random('too-big-for-the-relay.bin', 2 * MIB);
  await attach(a, big);
  const refused = await waitTransfer(b, big.name, 'in', ['declined', 'failed', 'receiving', 'done']);
  assert.equal(refused.status, 'declined', `B: ${refused.status} (${refused.sentence ?? ''})`);
  assert.equal(refused.sentence, `No direct connection to ${aName} could be made, and files through the server are limited to 1.0 MB.`);
  const told = await waitTransfer(a, big.name, 'out', ['declined', 'failed', 'sending', 'done']);
  assert.equal(told.status, 'declined', `A: ${told.status} (${told.sentence ?? ''})`);
  assert.equal(told.sentence, `No direct connection to ${bName} could be made, and files through the server are limited to 1.0 MB.`);
  for (const [p, sentence] of [[a, told.sentence], [b, refused.sentence]] as const) {
    const c = card(p, big.name);
    await c.locator('[data-status=declined] .failed[role=alert]').filter({ hasText: sentence! }).waitFor();
    assert.equal(await c.getByRole('button').count(), 0, `${p.label}'s card offers nothing to click`);
  }
  // Barriers both ways over the same (relayed) link: an accept B sent, or bytes A sent, would have come before them.
  await whisperBarrier(b, a);
  await whisperBarrier(a, b);
  const receiverTrace = await traceNamed(b, big.name, 'in');
  const senderTrace = await traceNamed(a, big.name, 'out');
  assert.deepEqual(receiverTrace.statuses, ['offered', 'declined']);
  assert.deepEqual(senderTrace.statuses, ['waiting', 'declined']);
  assert.equal(receiverTrace.maxBytes, 0, 'not a byte arrived');
  assert.equal(senderTrace.maxBytes, 0, 'not a byte left');
});
