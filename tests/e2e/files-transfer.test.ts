// Files between two people in real browsers over real WebRTC, through the real server:
// a 10 MiB random file arrives byte for byte (the saved download has the sender's
// SHA-256) with progress on both sides, and several transfers at once, in both
// directions, all complete intact; files also go by drag and drop and by pasting.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser } from './support/browser.ts';
import { describeViolations, watchCsp } from './support/csp.ts';
import { Scene } from './support/scene.ts';
import {
  MIB,
  TempFiles,
  accept,
  acceptTogether,
  attach,
  card,
  cardStatus,
  cardText,
  converse,
  installFileProbe,
  meet,
  pngBytes,
  save,
  sha256,
  traceNamed,
  transferNamed,
  waitTransfer,
  type TransferTrace,
} from './support/files.ts';

const TEST_TIMEOUT = 180_000;
/** Generous: a slow machine moves tens of MiB in seconds, not minutes. */
const TRANSFER_WAIT_MS = 90_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Progress texts the card showed while the transfer was active, with bytes strictly between 0 and the size. */
function midwayProgress(trace: TransferTrace): TransferTrace['shown'] {
  return trace.shown.filter((s) => (s.status === 'sending' || s.status === 'receiving') && s.value > 0 && s.value < trace.size);
}

test('a 10 MiB random file arrives intact: the saved bytes have the sender\'s SHA-256, with progress on both sides', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await scene.person('A', { init: watchCsp }), await scene.person('B', { init: watchCsp }));
  const { a, b, aName, bName } = pair;
  const path = await converse(pair);
  assert.ok(path === 'direct' || path === 'turn', `the link is a WebRTC data channel (got ${path})`);
  await installFileProbe(a);
  await installFileProbe(b);

  const file = files.random('random-10MiB.bin', 10 * MIB);
  await attach(a, file);

  // The sender waits; the receiver gets an offer with the name and the size, and decides.
  await waitTransfer(a, file.name, 'out', ['waiting']);
  await card(a, file.name).waitFor();
  const offered = await waitTransfer(b, file.name, 'in', ['offered']);
  assert.equal(offered.size, file.size, 'the offer announces the size');
  assert.equal(offered.bytes, 0, 'nothing moved before accepting');
  assert.match(await cardText(card(b, file.name)), new RegExp(`${aName} wants to send you this file`));
  await accept(b, file.name);

  const received = await waitTransfer(b, file.name, 'in', ['done', 'failed', 'cancelled'], TRANSFER_WAIT_MS);
  assert.equal(received.status, 'done', `B's transfer ended ${received.status}: ${received.sentence ?? ''}`);
  const sent = await waitTransfer(a, file.name, 'out', ['done', 'failed', 'cancelled'], TRANSFER_WAIT_MS);
  assert.equal(sent.status, 'done', `A's transfer ended ${sent.status}: ${sent.sentence ?? ''}`);
  assert.equal(received.bytes, file.size);
  assert.equal(sent.bytes, file.size);

  // Both cards say so in words.
  await cardStatus(card(b, file.name)).filter({ hasText: 'Received and checked' }).waitFor();
  await cardStatus(card(a, file.name)).filter({ hasText: `Delivered to ${bName}` }).waitFor();

  // Progress was on screen while the bytes moved, on both sides: a bar part-way and a
  // sentence with the amount, the speed and the time left.
  const sentTrace = await traceNamed(a, file.name, 'out');
  const receivedTrace = await traceNamed(b, file.name, 'in');
  assert.deepEqual(sentTrace.statuses, ['waiting', 'sending', 'checking', 'done'], `A's statuses: ${sentTrace.statuses.join(' > ')}`);
  assert.deepEqual(receivedTrace.statuses, ['offered', 'receiving', 'checking', 'done'], `B's statuses: ${receivedTrace.statuses.join(' > ')}`);
  for (const [who, trace] of [['A', sentTrace], ['B', receivedTrace]] as const) {
    const midway = midwayProgress(trace);
    assert.ok(midway.length > 0, `${who}'s card showed a progress bar part-way (saw: ${JSON.stringify(trace.shown)})`);
    assert.ok(
      midway.some((s) => /of 10\.5 MB · [\d.]+ [kMG]?B\/s · \d+ (s|min) left/.test(s.text)),
      `${who}'s card showed amount, speed and time left while active (saw: ${JSON.stringify(midway.map((s) => s.text))})`,
    );
  }
  // Done: no progress bar any more.
  assert.equal(await card(b, file.name).locator('[data-progress]').count(), 0);
  assert.equal(await card(a, file.name).locator('[data-progress]').count(), 0);

  // The receiver saves the file: the bytes on disk are the sender's bytes.
  assert.equal(await card(a, file.name).locator('a.save').count(), 0, 'the sender has no Save link');
  const saved = await save(b, file.name);
  assert.equal(saved.sha256, file.sha256, 'the saved file has the SHA-256 of the file A picked');
  assert.equal(saved.suggestedFilename, file.name);
  assert.equal(saved.urlAfter, saved.urlBefore, 'saving did not navigate');
  assert.equal(await card(b, file.name).locator('img').count(), 0, 'random bytes get no preview');
  for (const p of [a, b]) assert.deepEqual(describeViolations(await watchCsp(p)), [], `${p.label}: no CSP or Trusted Types violation`);
});

/** [start, end] of the time a transfer moved bytes, on that page's clock (epoch ms). */
function activeSpan(trace: TransferTrace): [number, number] {
  const start = trace.at.sending ?? trace.at.receiving;
  const end = trace.at.checking ?? trace.at.done;
  assert.ok(start !== undefined && end !== undefined, `${trace.name}: ${trace.statuses.join(' > ')}`);
  return [start, end];
}

function overlap(x: [number, number], y: [number, number]): boolean {
  return x[0] < y[1] && y[0] < x[1];
}

test('transfers at once, both ways: A sends two files while B sends one, and all arrive intact', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await scene.person('A'), await scene.person('B'));
  const { a, b } = pair;
  await converse(pair);
  await installFileProbe(a);
  await installFileProbe(b);

  const first = files.random('a-first.bin', 24 * MIB);
  const second = files.random('a-second.bin', 16 * MIB + 12345);
  const back = files.random('b-back.bin', 20 * MIB + 777);
  // Both pick their files at the same moment; A picks two at once.
  await Promise.all([attach(a, first, second), attach(b, back)]);
  await Promise.all([
    waitTransfer(b, first.name, 'in', ['offered']),
    waitTransfer(b, second.name, 'in', ['offered']),
    waitTransfer(a, back.name, 'in', ['offered']),
  ]);
  // B accepts both of A's files; A accepts B's once A's upload is under way, so the two
  // directions run together however the two browsers are scheduled on a busy machine.
  await acceptTogether(b, [first.name, second.name]);
  await waitTransfer(a, first.name, 'out', ['sending']);
  await acceptTogether(a, [back.name]);

  for (const [p, f] of [[b, first], [b, second], [a, back]] as const) {
    const received = await waitTransfer(p, f.name, 'in', ['done', 'failed', 'cancelled'], TRANSFER_WAIT_MS);
    assert.equal(received.status, 'done', `${p.label} receiving ${f.name}: ${received.status} (${received.sentence ?? ''})`);
  }
  for (const [p, f] of [[a, first], [a, second], [b, back]] as const) {
    const sent = await waitTransfer(p, f.name, 'out', ['done', 'failed', 'cancelled'], TRANSFER_WAIT_MS);
    assert.equal(sent.status, 'done', `${p.label} sending ${f.name}: ${sent.status} (${sent.sentence ?? ''})`);
  }

  // They really ran at the same time: A's two uploads overlapped, and so did the two directions.
  const aFirst = activeSpan(await traceNamed(a, first.name, 'out'));
  const aSecond = activeSpan(await traceNamed(a, second.name, 'out'));
  const bBack = activeSpan(await traceNamed(b, back.name, 'out'));
  assert.ok(overlap(aFirst, aSecond), `A's two files were under way together (${JSON.stringify({ aFirst, aSecond })})`);
  assert.ok(overlap(bBack, aFirst) || overlap(bBack, aSecond), `B's file moved while A's did (${JSON.stringify({ aFirst, aSecond, bBack })})`);

  // Every saved file has its sender's hash.
  for (const [p, f] of [[b, first], [b, second], [a, back]] as const) {
    const saved = await save(p, f.name);
    assert.equal(saved.sha256, f.sha256, `${p.label}'s saved ${f.name} matches`);
    assert.equal(saved.suggestedFilename, f.name);
  }
});

test('a file dropped on the conversation and a picture pasted into the composer are sent too', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const pair = await meet(await scene.person('A'), await scene.person('B'));
  const { a, b } = pair;
  await converse(pair);

  const dropped = randomBytes(123_456);
  const pasted = pngBytes(20, 10);
  // A File in A's page, carried by a DataTransfer, as the browser hands over a drag or a paste.
  const transfer = (base64: string, name: string, type: string) =>
    a.page.evaluateHandle(
      ({ base64, name, type }) => {
        const data = new DataTransfer();
        data.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name, { type }));
        return data;
      },
      { base64, name, type },
    );

  const list = a.page.locator('wisp-message-list');
  const dragged = await transfer(dropped.toString('base64'), 'dropped.bin', 'application/octet-stream');
  await list.dispatchEvent('dragover', { dataTransfer: dragged });
  await list.dispatchEvent('drop', { dataTransfer: dragged });
  const clipboard = await transfer(pasted.toString('base64'), 'image.png', 'image/png');
  await a.page.locator('wisp-composer textarea').evaluate(
    (textarea, clipboardData) => textarea.dispatchEvent(new ClipboardEvent('paste', { clipboardData, bubbles: true, cancelable: true, composed: true })),
    clipboard,
  );

  for (const name of ['dropped.bin', 'image.png']) {
    await waitTransfer(a, name, 'out', ['waiting']);
    await accept(b, name);
  }
  for (const [name, bytes] of [['dropped.bin', dropped], ['image.png', pasted]] as const) {
    const received = await waitTransfer(b, name, 'in', ['done', 'failed', 'cancelled']);
    assert.equal(received.status, 'done', `${name}: ${received.sentence ?? ''}`);
    assert.equal((await save(b, name)).sha256, sha256(bytes), `${name} arrived intact`);
  }
  assert.equal((await transferNamed(b, 'image.png', 'in'))!.preview, 'image/png');
  await card(b, 'image.png').locator('img').waitFor();
  // The pasted picture did not end up as text in the composer.
  assert.equal(await a.page.locator('wisp-composer textarea').inputValue(), '');
});
