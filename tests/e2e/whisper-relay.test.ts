// The server relay fallback: A turns on "Never connect whispers directly" with no TURN
// server configured, so ICE finds no path and the link falls back to the server's `relay`
// frames. A recording proxy in front of the real server keeps every frame in both
// directions: the whisper text appears in none of them, neither as text nor inside the
// base64url relay payloads, which are secure-channel frames (handshake, then sealed).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, waitUntil } from './support/browser.ts';
import type { FrameHook, RecordedFrame } from './support/proxy.ts';
import { Scene } from './support/scene.ts';
import { failure, marker, openByClick, pathChip, readProbe, selectWhisper, sendBarrier, setRelayOnly, waitSecure, waitWhisperDelivered, whisperInfo, whisperPair, whisperTab } from './support/whisper.ts';

const TEST_TIMEOUT = 180_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** The secure-channel bytes inside a recorded relay frame. */
function relayBytes(frame: RecordedFrame): Buffer {
  const data = (JSON.parse(frame.text) as { data: string }).data;
  return Buffer.from(data, 'base64url');
}

test('relay-only without TURN: the whisper goes through the server relay, which sees only ciphertext', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.behindProxy(t, browser);
  const { proxy } = scene;
  const { a, b, aName, bName, aKey, bKey } = await whisperPair(scene);
  assert.ok(proxy.framesOfType('welcome', 'down').length >= 2, 'both apps talk to the server through the proxy');
  for (const welcome of proxy.framesOfType('welcome', 'down')) {
    assert.deepEqual((JSON.parse(welcome.text) as { iceServers: unknown[] }).iceServers, [], 'no STUN or TURN server is configured');
  }

  await setRelayOnly(a, true);

  const text = marker('relayed secret from A');
  await openByClick(a, bName);
  await a.say(text);
  await waitWhisperDelivered(a, text);
  await waitSecure(a, 'relay');
  assert.equal((await pathChip(a).textContent())?.trim(), 'Relayed by the server');

  await whisperTab(b, aKey).waitFor({ timeout: WAIT_MS });
  await selectWhisper(b, aKey);
  await b.waitForLine(text);
  await waitSecure(b, 'relay');
  assert.equal((await pathChip(b).textContent())?.trim(), 'Relayed by the server');

  // B answers over the same relayed channel.
  const reply = marker('relayed reply from B');
  await b.say(reply);
  await waitWhisperDelivered(b, reply);
  await a.waitForLine(reply);
  // Barriers both ways over the same relayed link: a copy of either whisper would have come before them.
  const [barrierA, barrierB] = [marker('barrier from A'), marker('barrier from B')];
  await Promise.all([sendBarrier(a, bKey, barrierA), sendBarrier(b, aKey, barrierB)]);
  await Promise.all([b.waitForLine(barrierA), a.waitForLine(barrierB)]);
  assert.equal(await b.countLines(text), 1);
  assert.equal(await a.countLines(reply), 1);
  assert.equal((await whisperInfo(a, bKey))?.path, 'relay');
  assert.equal((await whisperInfo(b, aKey))?.path, 'relay');
  assert.deepEqual((await readProbe(b)).received, [text, barrierA]);
  assert.deepEqual((await readProbe(a)).received, [reply, barrierB]);

  // What the server relayed: secure-channel frames in both directions, handshake and sealed.
  const relayed = proxy.framesOfType('relay');
  const up = relayed.filter((f) => f.direction === 'up');
  const down = relayed.filter((f) => f.direction === 'down');
  assert.ok(up.length >= 4 && down.length >= 4, `relay frames went both ways (up ${up.length}, down ${down.length})`);
  const kinds = relayed.map((f) => relayBytes(f)[0]);
  assert.ok(kinds.includes(0), 'the handshake ran over the relay');
  assert.ok(kinds.filter((k) => k === 1).length >= 4, 'sealed frames (two whispers, two receipts) went over the relay');
  assert.ok(kinds.every((k) => k === 0 || k === 1), `only handshake and sealed frames were relayed (kinds ${kinds.join(',')})`);

  // No plaintext anywhere: not in any frame's text, not in any decoded relay payload.
  const secrets = [text, reply];
  const secretTails = secrets.map((s) => s.split(' ').pop()!);
  for (const frame of proxy.frames) {
    for (const secret of [...secrets, ...secretTails]) {
      assert.equal(frame.text.includes(secret), false, `a ${frame.direction} frame contains the plaintext: ${frame.text.slice(0, 200)}`);
    }
  }
  for (const frame of relayed) {
    const bytes = relayBytes(frame);
    for (const secret of [...secrets, ...secretTails]) {
      assert.equal(bytes.includes(Buffer.from(secret, 'utf8')), false, 'a relay payload contains the plaintext bytes');
    }
  }
  // The sealed payloads are at least as long as the text (the text is in there, encrypted).
  const sealed = relayed.filter((f) => relayBytes(f)[0] === 1).map((f) => relayBytes(f).length);
  assert.ok(Math.max(...sealed) > Buffer.byteLength(text), 'the sealed frames are long enough to carry the whisper');
  console.log(`# relay: ${proxy.frames.length} frames recorded, ${relayed.length} relay frames (${sealed.length} sealed), none contain the plaintext`);
});

test('the relay fallback that begins before the SDP answer arrived still comes up (no false "tampered")', { timeout: TEST_TIMEOUT }, async (t) => {
  // The proxy drops every SDP answer on its way to the initiator, so when the initiator's
  // fallback timer fires it has seen no remote fingerprint, while the responder has seen
  // both. The handshake binds fingerprints on a data channel only, so over the relay the two
  // sides still agree.
  const scene = await Scene.behindProxy(t, browser);
  const { proxy } = scene;
  let answersDropped = 0;
  const dropAnswers: FrameHook = ({ json, direction }) => {
    const frame = json as { type?: string; data?: string };
    if (direction !== 'down' || frame?.type !== 'signal' || typeof frame.data !== 'string') return undefined;
    const payload = JSON.parse(frame.data) as { k?: string; d?: { type?: string } };
    if (payload.k !== 'sp' || payload.d?.type !== 'answer') return undefined;
    answersDropped++;
    return null;
  };
  proxy.hooks.push(dropAnswers);
  const { a, b, aName, bName, aKey, bKey } = await whisperPair(scene);

  const text = marker('whisper before any answer');
  await openByClick(a, bName);
  await a.say(text);
  await waitWhisperDelivered(a, text);
  await waitSecure(a, 'relay');
  await waitUntil('B to receive the whisper', async () => (await readProbe(b)).received.includes(text));
  assert.ok(answersDropped >= 1, 'the proxy dropped the SDP answer');
  const offers = proxy.framesOfType('signal', 'down').filter((f) => (JSON.parse((JSON.parse(f.text) as { data: string }).data) as { d?: { type?: string } }).d?.type === 'offer');
  assert.ok(offers.length >= 1, 'the responder got the offer (and so both fingerprints)');
  assert.equal((await whisperInfo(a, bKey))?.path, 'relay');
  assert.equal((await whisperInfo(b, aKey))?.path, 'relay');
  assert.deepEqual((await readProbe(a)).failures, [], 'no failure sentence on A');
  assert.deepEqual((await readProbe(b)).failures, [], 'no failure sentence on B');
  assert.equal(await failure(a).count(), 0);
});
