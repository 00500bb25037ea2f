// Transfers that stop part-way, in real browsers over real WebRTC: either side cancels
// with its Cancel button, or the sender's tab closes. Both sides say what happened in a
// sentence, the receiver never gets a Save link, and the partial data is discarded.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import {
  MIB,
  TempFiles,
  accept,
  attach,
  cancelOnceMoving,
  card,
  converse,
  installFileProbe,
  meet,
  save,
  traceNamed,
  transferNamed,
  waitTransfer,
  type Pair,
} from './support/files.ts';
import { whisperBarrier } from './support/whisper.ts';

const TEST_TIMEOUT = 180_000;
/** Large enough that it is still under way when the cancel comes from inside the page. */
const BIG_BYTES = 40 * MIB;
/**
 * Closing a tab takes the test a moment (and longer on a loaded machine): that file must
 * still be under way by then. The server's file limit is raised for it.
 */
const TAB_CLOSE_BYTES = 120 * MIB;
const TAB_CLOSE_SERVER = { args: ['--max-file-mb', '128'] };
/** The link to a closed tab may only be noticed when its data channel or its presence goes. */
const LOST_WAIT_MS = 60_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function startBig(pair: Pair, files: TempFiles, name: string, size = BIG_BYTES) {
  const big = files.random(name, size);
  await attach(pair.a, big);
  await accept(pair.b, big.name);
  return big;
}

/** The receiver's side after a stop: a sentence, no Save link, and nothing kept. */
async function assertDiscarded(pair: Pair, name: string, status: 'cancelled' | 'failed', sentence: RegExp, size = BIG_BYTES): Promise<void> {
  const { b } = pair;
  const received = await waitTransfer(b, name, 'in', ['cancelled', 'failed', 'done']);
  assert.equal(received.status, status, `B's transfer: ${received.status} (${received.sentence ?? ''})`);
  assert.match(received.sentence ?? '', sentence);
  const c = card(b, name);
  await c.locator(`[data-status=${status}] .failed[role=alert]`).filter({ hasText: sentence }).waitFor();
  if (pair.a.page.isClosed()) {
    // The sender is gone: once B's link to it is closed, nothing more can arrive over it.
    await waitUntil("B's link to A to be closed", async () => {
      const link = (await b.state<{ whispers: Record<string, { link: string }> }>()).whispers[pair.aKey]?.link;
      return link !== 'ready' && link !== 'connecting';
    });
  } else {
    // Chunks A sent before it stopped would have come before A's next whisper on the same link.
    await whisperBarrier(pair.a, b);
  }
  const trace = await traceNamed(b, name, 'in');
  assert.ok(!trace.statuses.includes('done') && !trace.statuses.includes('checking'), `B never finished: ${trace.statuses.join(' > ')}`);
  assert.ok(trace.maxBytes > 0 && trace.maxBytes < size, `B had part of the file (${trace.maxBytes} bytes)`);
  assert.equal(trace.everUrl, false, 'B never had a saved blob');
  assert.equal((await transferNamed(b, name, 'in'))!.url, undefined);
  assert.equal(await c.locator('a.save').count(), 0, 'no Save link');
  assert.equal(await c.getByRole('button').count(), 0, 'nothing left to click');
  assert.equal(await c.locator('progress').count(), 0, 'no progress bar any more');
}

/** After a cancel the link itself still works: a small file goes through. */
async function assertLinkStillWorks(pair: Pair, files: TempFiles): Promise<void> {
  const small = files.random('after-cancel.bin', 200_000);
  await attach(pair.a, small);
  await accept(pair.b, small.name);
  const received = await waitTransfer(pair.b, small.name, 'in', ['done', 'failed', 'cancelled']);
  assert.equal(received.status, 'done', `the next file: ${received.sentence ?? ''}`);
  assert.equal((await save(pair.b, small.name)).sha256, small.sha256);
}

test('the sender cancels mid-transfer: both sides say so and the receiver keeps nothing', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await scene.person('A'), await scene.person('B'));
  const { a, aName } = pair;
  await converse(pair);
  await installFileProbe(a);
  await installFileProbe(pair.b);

  const cancelling = cancelOnceMoving(a, 'sender-cancels.bin', 'out');
  const big = await startBig(pair, files, 'sender-cancels.bin');
  const movedAtCancel = await cancelling;
  assert.ok(movedAtCancel > 0 && movedAtCancel < big.size, `A cancelled part-way (${movedAtCancel} bytes)`);

  const sent = await waitTransfer(a, big.name, 'out', ['cancelled', 'failed', 'done']);
  assert.equal(sent.status, 'cancelled');
  assert.equal(sent.sentence, 'You cancelled this transfer.');
  await card(a, big.name).locator('[data-status=cancelled] .failed[role=alert]').filter({ hasText: 'You cancelled this transfer.' }).waitFor();
  await assertDiscarded(pair, big.name, 'cancelled', new RegExp(`^${aName} cancelled this transfer\\.$`));
  const senderTrace = await traceNamed(a, big.name, 'out');
  assert.ok(!senderTrace.statuses.includes('done'), `A never delivered: ${senderTrace.statuses.join(' > ')}`);

  await assertLinkStillWorks(pair, files);
});

test('the receiver cancels mid-transfer: both sides say so and the receiver keeps nothing', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await scene.person('A'), await scene.person('B'));
  const { a, b, bName } = pair;
  await converse(pair);
  await installFileProbe(a);
  await installFileProbe(b);

  const cancelling = cancelOnceMoving(b, 'receiver-cancels.bin', 'in');
  const big = await startBig(pair, files, 'receiver-cancels.bin');
  const movedAtCancel = await cancelling;
  assert.ok(movedAtCancel > 0 && movedAtCancel < big.size, `B cancelled part-way (${movedAtCancel} bytes)`);

  await assertDiscarded(pair, big.name, 'cancelled', /^You cancelled this transfer\.$/);
  const sent = await waitTransfer(a, big.name, 'out', ['cancelled', 'failed', 'done']);
  assert.equal(sent.status, 'cancelled', `A's transfer: ${sent.status} (${sent.sentence ?? ''})`);
  assert.equal(sent.sentence, `${bName} cancelled this transfer.`);
  await card(a, big.name).locator('[data-status=cancelled] .failed[role=alert]').filter({ hasText: `${bName} cancelled this transfer.` }).waitFor();
  const senderTrace = await traceNamed(a, big.name, 'out');
  assert.ok(!senderTrace.statuses.includes('done'), `A never delivered: ${senderTrace.statuses.join(' > ')}`);
  assert.equal(await card(a, big.name).getByRole('button').count(), 0, "A's card has nothing left to click");

  await assertLinkStillWorks(pair, files);
});

test("the sender's tab closes mid-transfer: the receiver shows the failure and discards the partial file", { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, TAB_CLOSE_SERVER);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await scene.person('A'), await scene.person('B'));
  const { a, b, aName } = pair;
  await converse(pair);
  await installFileProbe(b);

  // As soon as bytes arrive at B, A's tab closes (from the test, through B's page, so it
  // happens part-way however fast the link is).
  let closedAt = -1;
  await b.page.exposeFunction('__closeSenderTab', async (bytes: number) => {
    closedAt = bytes;
    await a.page.close();
  });
  await b.page.evaluate(`(() => {
    const stop = window.wisp.store.subscribe((state) => {
      const t = Object.values(state.transfers).find((x) => x.name === 'tab-closes.bin' && x.direction === 'in');
      if (!t || t.bytes <= 0 || t.status !== 'receiving') return;
      stop();
      window.__closeSenderTab(t.bytes);
    });
  })()`);

  const big = await startBig(pair, files, 'tab-closes.bin', TAB_CLOSE_BYTES);
  await waitUntil("A's tab to close", () => a.page.isClosed());
  assert.ok(closedAt > 0 && closedAt < big.size, `A's tab closed part-way (B had ${closedAt} bytes)`);

  const failed = await waitTransfer(b, big.name, 'in', ['failed', 'cancelled', 'done'], LOST_WAIT_MS);
  assert.equal(failed.status, 'failed', `B's transfer: ${failed.status} (${failed.sentence ?? ''})`);
  assert.equal(failed.sentence, `The connection to ${aName} was lost; the partial file was discarded.`);
  await assertDiscarded(pair, big.name, 'failed', /was lost; the partial file was discarded/, TAB_CLOSE_BYTES);
});

test("the receiver's tab closes mid-transfer: the sender shows the failure", { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, TAB_CLOSE_SERVER);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await scene.person('A'), await scene.person('B'));
  const { a, b, bName } = pair;
  await converse(pair);
  await installFileProbe(a);

  let closedAt = -1;
  await a.page.exposeFunction('__closeReceiverTab', async (bytes: number) => {
    closedAt = bytes;
    await b.page.close();
  });
  await a.page.evaluate(`(() => {
    const stop = window.wisp.store.subscribe((state) => {
      const t = Object.values(state.transfers).find((x) => x.name === 'receiver-leaves.bin' && x.direction === 'out');
      if (!t || t.bytes <= 0 || t.status !== 'sending') return;
      stop();
      window.__closeReceiverTab(t.bytes);
    });
  })()`);

  const big = await startBig(pair, files, 'receiver-leaves.bin', TAB_CLOSE_BYTES);
  await waitUntil("B's tab to close", () => b.page.isClosed());
  assert.ok(closedAt > 0 && closedAt < big.size, `B's tab closed part-way (A had sent ${closedAt} bytes)`);

  const failed = await waitTransfer(a, big.name, 'out', ['failed', 'cancelled', 'done'], LOST_WAIT_MS);
  assert.equal(failed.status, 'failed', `A's transfer: ${failed.status} (${failed.sentence ?? ''})`);
  assert.match(failed.sentence ?? '', new RegExp(`^The connection to ${bName} was lost; the file was not sent completely\\.$`));
  const c = card(a, big.name);
  await c.locator('[data-status=failed] .failed[role=alert]').filter({ hasText: 'was lost' }).waitFor();
  assert.equal(await c.getByRole('button').count(), 0, 'no Cancel left on a failed transfer');
  const trace = await traceNamed(a, big.name, 'out');
  assert.ok(!trace.statuses.includes('done'), `A never claimed delivery: ${trace.statuses.join(' > ')}`);
});
