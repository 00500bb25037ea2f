// File chunks on a data channel travel in `dtls` frames (not sealed again: DTLS, bound to both
// identity keys by the whisper handshake, protects them; see the README's threat model). A
// hostile server cannot use that to slip bytes into a file:
//   - direct: while a file moves over the data channel, the server keeps pushing `relay`
//     frames "from" the sender that carry `dtls` chunk frames for that very transfer; the
//     receiver takes none of them (frames on the other transport are ignored) and the file
//     arrives byte for byte, with exactly its size counted;
//   - relay: the server turns one of the sender's sealed chunk frames into a `dtls` frame
//     with its own bytes; on the relay only sealed frames count, so the link closes, the
//     transfer fails and the partial file is discarded.
// Altering a frame on the data channel itself is DTLS's to refuse, and a rewritten DTLS
// fingerprint never carries anything: tests/e2e/whisper-hostile.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, sleep, waitUntil, type Person } from './support/browser.ts';
import { hostileWorld, personIn, type HostileWorld } from './support/hostile-world.ts';
import { MIB, TempFiles, accept, attach, converse, installFileProbe, meet, save, traceNamed, transferNamed, waitTransfer } from './support/files.ts';
import { setRelayOnly } from './support/whisper.ts';

const TEST_TIMEOUT = 180_000;
const RELAY_LINK_WAIT_MS = 45_000;
const RELAY_TRANSFER_WAIT_MS = 90_000;
/** FrameKind.dtls, and the file chunk's kind byte (app/crypto/secure-channel.ts, app/net/peer-frames.ts). */
const DTLS_FRAME = 3;
const CHUNK_KIND = 1;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Someone who opens the proxy's URL, in this file's browser. */
const person = (world: HostileWorld, label: string): Promise<Person> => personIn(world, browser, label);

/** The peer id the server gave the browser holding `key` (its `welcome`). */
function peerIdOf(world: HostileWorld, key: string): string {
  const welcome = world.proxy.framesOfType('welcome', 'down').find((f) => f.key === key);
  assert.ok(welcome, `the proxy saw the welcome for ${key.slice(-8)}`);
  return (JSON.parse(welcome.text) as { id: string }).id;
}

/** A `dtls` frame carrying a chunk of `bytes` for transfer `fid`, base64url as the relay carries it. */
function forgedChunk(fid: number, bytes: Uint8Array): string {
  const frame = new Uint8Array(6 + bytes.length);
  frame[0] = DTLS_FRAME;
  frame[1] = CHUNK_KIND;
  new DataView(frame.buffer).setUint32(2, fid);
  frame.set(bytes, 6);
  return Buffer.from(frame).toString('base64url');
}

test('direct: dtls chunk frames the server pushes over the relay while a file moves are refused; the file arrives byte for byte', { timeout: TEST_TIMEOUT }, async (t) => {
  const world = await hostileWorld(t);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await person(world, 'A'), await person(world, 'B'));
  const { a, b, aKey, bKey } = pair;
  const path = await converse(pair);
  assert.notEqual(path, 'relay', 'the link is a data channel');
  await installFileProbe(a);
  await installFileProbe(b);
  const aId = peerIdOf(world, aKey);

  const file = files.random('dtls-only.bin', 24 * MIB);
  await attach(a, file);
  const offered = await waitTransfer(b, file.name, 'in', ['offered']);
  await accept(b, file.name);
  // Forged chunks for this very transfer, pushed until B is done: each would add bytes if taken.
  const junk = new Uint8Array(16 * 1024).fill(0xa5);
  const injectedAt: number[] = [];
  for (;;) {
    const now = await transferNamed(b, file.name, 'in');
    if (!now || !['receiving', 'offered'].includes(now.status)) break;
    assert.equal(world.proxy.inject(bKey, JSON.stringify({ type: 'relay', from: aId, data: forgedChunk(offered.fid, junk) })), 1, "the forged frame went down B's connection");
    injectedAt.push(Date.now());
    await sleep(5);
  }
  const received = await waitTransfer(b, file.name, 'in', ['done', 'failed', 'cancelled'], WAIT_MS);
  assert.equal(received.status, 'done', `B: ${received.status} (${received.sentence ?? ''})`);
  const trace = await traceNamed(b, file.name, 'in');
  const during = injectedAt.filter((at) => at >= trace.at.receiving! && at <= trace.at.done!).length;
  t.diagnostic(`forged dtls chunk frames pushed: ${injectedAt.length}, of them while B was receiving: ${during}`);
  assert.ok(during > 0, `some forged frames reached B while the file was arriving (${during} of ${injectedAt.length})`);
  assert.equal(trace.maxBytes, file.size, 'exactly the file’s bytes were counted, none of the forged ones');
  assert.equal((await save(b, file.name)).sha256, file.sha256, 'the file B saved is the one A picked');
  const sent = await waitTransfer(a, file.name, 'out', ['done', 'failed'], WAIT_MS);
  assert.equal(sent.status, 'done', `A: ${sent.status} (${sent.sentence ?? ''})`);
  const link = await b.state<{ whispers: Record<string, { path?: string; failure?: string }> }>();
  assert.equal(link.whispers[aKey]?.path, path, "B's link is still the data channel");
});

test('relay: a sealed chunk frame the server turns into a dtls frame closes the link; the transfer fails and nothing is kept', { timeout: TEST_TIMEOUT }, async (t) => {
  const world = await hostileWorld(t);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await person(world, 'A'), await person(world, 'B'));
  const { a, b, aName, aKey, bKey } = pair;
  await setRelayOnly(a, true);
  assert.equal(await converse(pair, RELAY_LINK_WAIT_MS), 'relay', "A's link goes through the server relay");
  await installFileProbe(a);
  await installFileProbe(b);

  const file = files.random('relayed.bin', 600_000);
  await attach(a, file);
  const offered = await waitTransfer(b, file.name, 'in', ['offered']);
  // The second big relay frame from A to B (a sealed chunk: control frames are small) becomes a forged dtls chunk.
  let bigFrames = 0;
  let forged = false;
  world.proxy.hooks.push(({ json, direction, conn }) => {
    const frame = json as { type?: string; data?: string };
    if (direction !== 'down' || conn.key !== bKey || frame?.type !== 'relay' || !frame.data || frame.data.length < 20_000) return undefined;
    if (++bigFrames !== 2) return undefined;
    forged = true;
    return JSON.stringify({ ...frame, data: forgedChunk(offered.fid, new Uint8Array(8 * 1024).fill(0x5a)) });
  });
  await accept(b, file.name);
  const received = await waitTransfer(b, file.name, 'in', ['done', 'failed', 'cancelled'], RELAY_TRANSFER_WAIT_MS);
  assert.ok(forged, 'the proxy forged a chunk frame');
  assert.equal(received.status, 'failed', `B: ${received.status} (${received.sentence ?? ''})`);
  assert.equal(received.sentence, `The connection to ${aName} was lost; the partial file was discarded.`);
  const trace = await traceNamed(b, file.name, 'in');
  assert.ok(trace.maxBytes < file.size, `only part of the file had arrived (${trace.maxBytes} of ${file.size} bytes)`);
  assert.equal(trace.everUrl, false, 'nothing was kept to save');
  const failure = await waitUntil("B's link failure", async () => (await b.state<{ whispers: Record<string, { failure?: string }> }>()).whispers[aKey]?.failure);
  assert.equal(failure, `A message from ${aName} failed its integrity check; the link was closed.`);
});
