// A real TURN path: coturn's turnserver on loopback with use-auth-secret, the signal
// server handing out time-limited TURN REST credentials in `welcome`, and both people set
// to "Never connect whispers directly" (relay-only ICE). The whisper is delivered over a
// data channel whose selected candidate pair is a TURN relay, and the header says so.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, waitUntil, type Person } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { TurnServer } from './support/turn.ts';
import { installProbe, marker, openByClick, pathChip, readProbe, selectWhisper, sendBarrier, setRelayOnly, waitSecure, waitWhisperDelivered, whisperInfo, whisperPair, whisperTab } from './support/whisper.ts';

const TEST_TIMEOUT = 180_000;
const TURN_TTL_S = 600;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('relay-only on both sides with coturn configured: the whisper goes via TURN', { timeout: TEST_TIMEOUT }, async (t) => {
  const turn = await TurnServer.start();
  t.after(() => turn.dispose());
  const scene = await Scene.open(t, browser, { args: ['--turn', turn.url, '--turn-secret', turn.secret, '--turn-ttl', String(TURN_TTL_S)] });
  const { a, b, aName, bName, aKey, bKey } = await whisperPair(scene, { probes: false });

  // The server handed out TURN REST credentials for coturn: "expiry:peer" signed with the secret.
  const iceOf = (p: Person) =>
    p.page.evaluate(() => (window as unknown as { wisp: { state: { iceServers: { urls: string[]; username?: string; credential?: string }[] } } }).wisp.state.iceServers);
  const users: string[] = [];
  for (const p of [a, b]) {
    const ice = await iceOf(p);
    assert.equal(ice.length, 1, `${p.label} got one ICE server (TURN): ${JSON.stringify(ice)}`);
    assert.deepEqual(ice[0].urls, [turn.url]);
    const username = ice[0].username ?? '';
    const [expiry] = username.split(':');
    const now = Date.now() / 1000;
    assert.ok(Number(expiry) > now && Number(expiry) <= now + TURN_TTL_S + 5, `the credential expires within the TTL (${username})`);
    assert.equal(ice[0].credential, createHmac('sha1', turn.secret).update(username).digest('base64'), 'the credential is the HMAC-SHA1 of the username');
    users.push(username);
  }
  const [aUser, bUser] = users;
  assert.notEqual(aUser, bUser, 'each connection gets its own credential');

  await setRelayOnly(a, true);
  await setRelayOnly(b, true);
  await installProbe(a);
  await installProbe(b);

  await openByClick(a, bName);
  const text = marker('via TURN from A');
  await a.say(text);
  await waitWhisperDelivered(a, text, 30_000);
  await waitSecure(a, 'turn');
  assert.equal((await pathChip(a).textContent())?.trim(), 'Via TURN');

  await whisperTab(b, aKey).waitFor({ timeout: WAIT_MS });
  await selectWhisper(b, aKey);
  await b.waitForLine(text);
  await waitSecure(b, 'turn');
  assert.equal((await pathChip(b).textContent())?.trim(), 'Via TURN');

  const reply = marker('via TURN from B');
  await b.say(reply);
  await waitWhisperDelivered(b, reply);
  await a.waitForLine(reply);
  // Barriers both ways over the same link: a copy of either whisper would have come before them.
  const [barrierA, barrierB] = [marker('barrier from A'), marker('barrier from B')];
  await Promise.all([sendBarrier(a, bKey, barrierA), sendBarrier(b, aKey, barrierB)]);
  await Promise.all([b.waitForLine(barrierA), a.waitForLine(barrierB)]);
  assert.equal((await whisperInfo(a, bKey))?.path, 'turn');
  assert.equal((await whisperInfo(b, aKey))?.path, 'turn');
  assert.deepEqual((await readProbe(b)).received, [text, barrierA]);
  assert.deepEqual((await readProbe(a)).received, [reply, barrierB]);

  // coturn's own log: each browser authenticated with the credential the signal server
  // gave it, allocated a relay and bound a channel to the other side's relayed address.
  for (const [p, username] of [[a, aUser], [b, bUser]] as const) {
    for (const step of ['ALLOCATE', 'CREATE_PERMISSION', 'CHANNEL_BIND']) {
      await waitUntil(`coturn to log ${step} for ${p.label}`, () => turn.log.includes(`user <${username}>: incoming packet ${step} processed, success`));
    }
  }
});
