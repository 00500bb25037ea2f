// Receiving files safely, in real browsers over real WebRTC: a PNG (detected by its bytes)
// is previewed; an SVG with scripts is only ever a download card and runs nothing, even
// when it claims to be a PNG; an offer above the receiver's limit is refused before a
// single byte moves; a sender that sends more than it announced is cut off at the limit.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WAIT_MS, launchBrowser, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import {
  MIB,
  TempFiles,
  accept,
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
  transfers,
  waitTransfer,
} from './support/files.ts';
import { marker, sendBarrier, whisperBarrier } from './support/whisper.ts';

const TEST_TIMEOUT = 180_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/**
 * Elements that could render or run a document: any iframe, object, embed or frame in the
 * page (shadow roots included), and any inline <svg> inside a file card.
 */
function embeddedDocuments(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const found = [];
    const walk = (root, inCard) => {
      for (const el of root.querySelectorAll('*')) {
        if (['iframe', 'object', 'embed', 'frame'].includes(el.localName)) found.push(el.localName + ' ' + (el.getAttribute('src') || el.getAttribute('data') || ''));
        if (inCard && el.localName === 'svg') found.push('svg in a file card');
        if (el.shadowRoot) walk(el.shadowRoot, inCard || el.localName === 'wisp-file-card');
      }
    };
    walk(document, false);
    return found;
  })()`) as Promise<string[]>;
}

/** Every <img> inside file cards: its src and natural size. */
function cardImages(page: Page): Promise<{ src: string; width: number; height: number; complete: boolean }[]> {
  return page.evaluate(`(() => {
    const found = [];
    const walk = (root, inCard) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.localName === 'img' && inCard) found.push({ src: el.src, width: el.naturalWidth, height: el.naturalHeight, complete: el.complete });
        if (el.shadowRoot) walk(el.shadowRoot, inCard || el.localName === 'wisp-file-card');
      }
    };
    walk(document, false);
    return found;
  })()`) as Promise<{ src: string; width: number; height: number; complete: boolean }[]>;
}

test('a PNG, recognised by its bytes, shows an inline preview on the receiver', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await scene.person('A'), await scene.person('B'));
  const { a, b } = pair;
  await converse(pair);

  const png = files.write('sunset.png', pngBytes(64, 48));
  // The app's own icon too: a PNG made by real tools, not by this test.
  const icon = files.write('icon.png', readFileSync(new URL('../../public/icons/icon-192.png', import.meta.url)));
  await attach(a, png, icon);
  for (const f of [png, icon]) {
    await accept(b, f.name);
  }
  for (const f of [png, icon]) {
    const received = await waitTransfer(b, f.name, 'in', ['done', 'failed', 'cancelled']);
    assert.equal(received.status, 'done', `${f.name}: ${received.sentence ?? ''}`);
    assert.equal(received.preview, 'image/png', `${f.name} is detected as a PNG`);
    assert.equal(received.executable, false);
  }

  const preview = card(b, png.name).locator('img');
  await preview.waitFor({ timeout: WAIT_MS });
  const size = await waitUntil('the preview to load', () =>
    preview.evaluate((img: HTMLImageElement) => (img.complete && img.naturalWidth > 0 ? { w: img.naturalWidth, h: img.naturalHeight, src: img.src } : undefined)),
  );
  assert.deepEqual({ w: size.w, h: size.h }, { w: 64, h: 48 }, 'the preview shows the picture at its real size');
  assert.match(size.src, /^blob:/, 'the preview is the received bytes, not a URL from the sender');
  assert.match((await preview.getAttribute('alt')) ?? '', /sunset\.png/);

  const iconPreview = card(b, icon.name).locator('img');
  await iconPreview.waitFor({ timeout: WAIT_MS });
  const iconSize = await waitUntil('the icon preview to load', () =>
    iconPreview.evaluate((img: HTMLImageElement) => (img.complete && img.naturalWidth > 0 ? img.naturalWidth : undefined)),
  );
  assert.equal(iconSize, 192);

  // The same walk the SVG test relies on finds exactly these two pictures.
  assert.deepEqual((await cardImages(b.page)).map((i) => i.width).sort((x, y) => x - y), [64, 192]);

  // The sender sees its own picture as a thumbnail (the file it picked, not the receiver's
  // bytes) and "delivered"; no other picture on its card.
  assert.equal(await card(a, png.name).locator('img:not(.thumb)').count(), 0);
  assert.equal(await card(a, png.name).locator('img.thumb').count(), 1);
  await cardStatus(card(a, png.name)).filter({ hasText: 'Delivered to' }).waitFor();

  const saved = await save(b, png.name);
  assert.equal(saved.sha256, png.sha256, 'the saved picture is the one sent');
});

test('an SVG with scripts arrives only as a download card: never rendered, nothing runs, saving downloads it', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await scene.person('A'), await scene.person('B'));
  const { a, b } = pair;
  await converse(pair);

  const svg = Buffer.from(
    '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="window.__pwned=1">' +
      '<script>window.__pwned=2; parent.__pwned=2; top.__pwned=2</script>' +
      '<image href="x" onerror="window.__pwned=3"/><rect width="40" height="40" fill="red"/></svg>\n',
  );
  const drawing = files.write('drawing.svg', svg);
  // The same bytes, claiming to be a picture: name and declared type say PNG.
  const disguised = files.write('cat.png', svg);

  const navigations: string[] = [];
  b.page.on('framenavigated', (frame) => navigations.push(frame.url()));
  const popups: string[] = [];
  b.context.on('page', (page) => popups.push(page.url()));
  const startUrl = b.page.url();

  await attach(a, drawing, disguised);
  const offered = await waitTransfer(b, disguised.name, 'in', ['offered']);
  assert.equal(offered.declaredType, 'image/png', 'the sender claims cat.png is a PNG');
  assert.equal((await waitTransfer(b, drawing.name, 'in', ['offered'])).declaredType, 'image/svg+xml');
  await accept(b, drawing.name);
  await accept(b, disguised.name);

  for (const f of [drawing, disguised]) {
    const received = await waitTransfer(b, f.name, 'in', ['done', 'failed', 'cancelled']);
    assert.equal(received.status, 'done', `${f.name}: ${received.sentence ?? ''}`);
    assert.equal(received.preview, undefined, `${f.name} is not a picture, whatever it claims`);
    assert.match(received.url ?? '', /^blob:/, `${f.name} is kept as a blob to save`);
  }
  const drawingState = (await transferNamed(b, drawing.name, 'in'))!;
  assert.equal(drawingState.executable, true, 'an SVG counts as something that can run code');

  // Only download cards: no picture, no embedded document anywhere, and no script ran.
  // Both cards have rendered their final state (what the checks below look at).
  for (const f of [drawing, disguised]) await card(b, f.name).locator('[data-status=done]').waitFor();
  assert.deepEqual(await cardImages(b.page), [], 'no <img> in any file card');
  assert.deepEqual(await embeddedDocuments(b.page), [], 'no iframe, object, embed or inline svg from a file');
  // The sender's own cards show no thumbnail either: an SVG is never shown as a picture.
  for (const f of [drawing, disguised]) await card(a, f.name).waitFor();
  assert.deepEqual(await cardImages(a.page), [], "no <img> on the sender's cards");
  for (const p of [a, b]) {
    assert.equal(await p.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, `no script ran in ${p.label}'s page`);
  }
  assert.equal(b.page.frames().length, 1, 'the page has no frames');

  // The SVG asks first, then warns, then offers a link with the download attribute.
  const drawingCard = card(b, drawing.name);
  assert.equal(await drawingCard.locator('a.save').count(), 0, 'no link before the person asks to save');
  await drawingCard.getByRole('button', { name: 'Save…', exact: true }).waitFor();
  const savedDrawing = await save(b, drawing.name);
  assert.match(await drawingCard.locator('.warning[role=alert]').textContent() ?? '', /can run programs/);
  assert.equal(await drawingCard.locator('a.save').getAttribute('download'), drawing.name);
  assert.match((await drawingCard.locator('a.save').getAttribute('href')) ?? '', /^blob:/);
  assert.equal(savedDrawing.sha256, drawing.sha256, 'the saved SVG is the bytes sent');
  assert.equal(savedDrawing.suggestedFilename, drawing.name);
  assert.equal(savedDrawing.urlAfter, savedDrawing.urlBefore, 'saving did not navigate the page');

  const disguisedCard = card(b, disguised.name);
  assert.equal(await disguisedCard.locator('a.save').getAttribute('download'), disguised.name);
  const savedDisguised = await save(b, disguised.name);
  assert.equal(savedDisguised.sha256, sha256(svg));

  // No wait needed: each click above ended in a download, and a navigation or a new tab
  // from that click would have been reported before its response became the download.
  assert.equal(b.page.url(), startUrl, 'the page URL is unchanged');
  assert.deepEqual(navigations, [], 'nothing navigated');
  assert.deepEqual(popups, [], 'no tab or window opened');
  assert.equal(await b.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, 'still no script ran');
  assert.match(await cardText(disguisedCard), /Received and checked/);
});

test('an offer above the receiver\'s limit is refused with a sentence before any byte moves', { timeout: TEST_TIMEOUT }, async (t) => {
  // The operator allows 3 MiB; B lowers its own limit to 1 MB in Settings.
  const scene = await Scene.open(t, browser, { args: ['--max-file-mb', '3'] });
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await scene.person('A'), await scene.person('B'));
  const { a, b, aName, bName } = pair;
  for (const p of [a, b]) assert.equal((await p.state<{ limits: { maxFileBytes: number } }>()).limits.maxFileBytes, 3 * MIB, `${p.label} got the operator's limit`);

  await b.page.locator('wisp-app header button[aria-label="Settings"]').click();
  const dialog = b.page.locator('wisp-settings-dialog dialog');
  await dialog.waitFor({ state: 'visible' });
  const limit = b.page.locator('wisp-settings-dialog input[name=max-file-mb]');
  assert.equal(await limit.inputValue(), '3', 'the setting starts at the server limit');
  await limit.fill('1');
  await limit.dispatchEvent('change');
  await waitUntil("B's file limit to be 1 MB", async () => (await b.state<{ settings: { maxFileMb: number } }>()).settings.maxFileMb === 1);
  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'hidden' });

  await converse(pair);
  await installFileProbe(a);
  await installFileProbe(b);

  const big = files.random('two-megabytes.bin', 2 * MIB);
  await attach(a, big);
  const refused = await waitTransfer(b, big.name, 'in', ['declined', 'failed', 'receiving', 'done']);
  assert.equal(refused.status, 'declined');
  assert.equal(refused.sentence, `${aName} offered 2.1 MB; you accept files up to 1.0 MB.`);
  const told = await waitTransfer(a, big.name, 'out', ['declined', 'failed', 'sending', 'done']);
  assert.equal(told.status, 'declined');
  assert.equal(told.sentence, `${bName} accepts files up to 1.0 MB; this one is too large.`);

  // Both cards say it in words, as an alert, and there is nothing left to click.
  for (const [p, sentence] of [[b, refused.sentence], [a, told.sentence]] as const) {
    const c = card(p, big.name);
    await c.locator('[data-status=declined] .failed[role=alert]').filter({ hasText: sentence! }).waitFor();
    assert.equal(await c.getByRole('button').count(), 0, `${p.label}'s card has no Accept, Decline or Cancel`);
    assert.equal(await c.locator('progress').count(), 0);
  }

  // Barriers both ways over the same link: an accept B sent, or bytes A sent, would have come before them.
  await whisperBarrier(b, a);
  await whisperBarrier(a, b);
  const receiverTrace = await traceNamed(b, big.name, 'in');
  const senderTrace = await traceNamed(a, big.name, 'out');
  assert.deepEqual(receiverTrace.statuses, ['offered', 'declined'], 'B never accepted or received');
  assert.deepEqual(senderTrace.statuses, ['waiting', 'declined'], 'A never started sending');
  assert.equal(receiverTrace.maxBytes, 0, 'not a byte arrived at B');
  assert.equal(senderTrace.maxBytes, 0, 'not a byte left A');
  assert.equal(receiverTrace.everUrl, false);

  // Above the operator's limit the sender does not even offer it.
  const huge = files.random('four-megabytes.bin', 4 * MIB);
  await attach(a, huge);
  const stopped = await waitTransfer(a, huge.name, 'out', ['failed', 'declined', 'waiting', 'sending']);
  assert.equal(stopped.status, 'failed');
  assert.equal(stopped.sentence, 'This server allows files up to 3.1 MB; this one is 4.2 MB.');
  // An offer A sent would have come before A's next whisper on the same link.
  await whisperBarrier(a, b);
  assert.equal(await transferNamed(b, huge.name, 'in'), undefined, 'B never got an offer for it');

  // A file within B's limit still goes through.
  const small = files.random('small.bin', 300_000);
  await attach(a, small);
  await accept(b, small.name);
  assert.equal((await waitTransfer(b, small.name, 'in', ['done', 'failed'])).status, 'done');
  assert.equal((await save(b, small.name)).sha256, small.sha256);
});

/** A's page sends raw peer frames over the real link, the way a modified app could. */
const LIAR_SCRIPT = `(async ({ bKey, fid, announced, hash, beforeAccept }) => {
  const session = window.wisp;
  const whispers = session.whispers;
  const link = whispers.mesh.get(bKey);
  if (!link || !link.ready) throw new Error('no ready link to B');
  // Watch the control frames that come back (the app's handler still gets them).
  const files = whispers.files;
  const original = files.onControl.bind(files);
  window.__controlsIn = [];
  files.onControl = (key, frame) => { window.__controlsIn.push(frame); return original(key, frame); };
  const control = (frame) => {
    const json = new TextEncoder().encode(JSON.stringify(frame));
    const bytes = new Uint8Array(1 + json.length);
    bytes[0] = 0;
    bytes.set(json, 1);
    return link.send(bytes);
  };
  const chunk = (size, fill) => {
    const bytes = new Uint8Array(5 + size).fill(fill);
    bytes[0] = 1;
    new DataView(bytes.buffer).setUint32(1, fid);
    return link.send(bytes);
  };
  window.__liar = { control, chunk };
  await control({ t: 'file-offer', fid, name: 'liar.bin', size: announced, type: 'application/octet-stream', hash });
  // Chunks before the offer is accepted must be dropped.
  for (let i = 0; i < beforeAccept; i++) await chunk(100, 0x55);
  return true;
})`;

test('a sender that sends more than it announced is cut off at the limit and the partial file is discarded', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const pair = await meet(await scene.person('A'), await scene.person('B'));
  const { a, b, aName, bKey } = pair;
  await converse(pair);
  await installFileProbe(b);

  const fid = 0x1234abcd;
  const announced = 1000;
  await a.page.evaluate(`${LIAR_SCRIPT}(${JSON.stringify({ bKey, fid, announced, hash: 'ab'.repeat(32), beforeAccept: 3 })})`);

  const offered = await waitTransfer(b, 'liar.bin', 'in', ['offered']);
  assert.equal(offered.size, announced);
  // The chunks went out before this frame on the same link: once B shows it, B has had them.
  const early = marker('after the early chunks');
  await sendBarrier(a, bKey, early);
  await b.waitForLine(early);
  assert.equal((await transferNamed(b, 'liar.bin', 'in'))!.bytes, 0, 'chunks before accepting are ignored');
  await accept(b, 'liar.bin');
  await waitTransfer(b, 'liar.bin', 'in', ['receiving']);
  // The crafted sender sees the real accept come back over the link.
  await waitUntil("A's page to get B's file-accept", () =>
    a.page.evaluate((id) => ((window as unknown as { __controlsIn: { t: string; fid: number }[] }).__controlsIn ?? []).some((f) => f.t === 'file-accept' && f.fid === id), fid),
  );

  // 3000 bytes for an announced 1000: 600 + 600 (past 1000 here) + 600 + 600 + 600, then "done".
  await a.page.evaluate(async () => {
    const liar = (window as unknown as { __liar: { chunk(size: number, fill: number): Promise<void>; control(frame: object): Promise<void> } }).__liar;
    for (let i = 0; i < 5; i++) await liar.chunk(600, 0x41 + i);
  });
  await a.page.evaluate((id) => (window as unknown as { __liar: { control(frame: object): Promise<void> } }).__liar.control({ t: 'file-end', fid: id }), fid);

  const cut = await waitTransfer(b, 'liar.bin', 'in', ['failed', 'done', 'cancelled']);
  assert.equal(cut.status, 'failed');
  assert.equal(cut.sentence, `${aName} sent more than announced or allowed; the transfer was stopped and the partial file discarded.`);
  assert.equal(cut.url, undefined, 'no file was kept');
  const c = card(b, 'liar.bin');
  await c.locator('[data-status=failed] .failed[role=alert]').filter({ hasText: 'sent more than announced' }).waitFor();

  // The receiver told the sender why it stopped.
  const cancel = await waitUntil("A's page to get B's file-cancel", () =>
    a.page.evaluate((id) => ((window as unknown as { __controlsIn: { t: string; fid: number; reason?: string }[] }).__controlsIn ?? []).find((f) => f.t === 'file-cancel' && f.fid === id), fid),
  );
  assert.equal(cancel.reason, 'too-large');

  // Every chunk and the file-end went out before this frame on the same link.
  const late = marker('after the last chunk');
  await sendBarrier(a, bKey, late);
  await b.waitForLine(late);
  const trace = await traceNamed(b, 'liar.bin', 'in');
  assert.ok(trace.maxBytes <= announced, `B never held more than announced (held at most ${trace.maxBytes} bytes)`);
  assert.equal(trace.maxBytes, 600, 'B kept only the chunk that fitted, then stopped');
  assert.ok(!trace.statuses.includes('done') && !trace.statuses.includes('checking'), `never done: ${trace.statuses.join(' > ')}`);
  assert.equal(trace.everUrl, false, 'never a saved blob');
  assert.equal(await c.locator('a.save').count(), 0, 'no Save link');
  assert.equal(await c.locator('img').count(), 0);
  assert.equal((await transfers(b)).filter((x) => x.status === 'done').length, 0);
});
