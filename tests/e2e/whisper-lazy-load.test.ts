// The whisper machinery is a chunk of its own, loaded after the first paint. What the server
// passes on for whispers before it is there must wait and be handed over, not be lost: B's
// browser holds the chunk back (the network answers only when the test says so) while A
// opens a whisper, A's signalling reaches B's app and A types a whisper; once the chunk
// arrives, the direct link comes up over real WebRTC (so the signalling was not lost: the
// relay fallback would have carried the whisper otherwise) and the whisper is delivered, once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { marker, openByClick, ownKey, waitWhisperDelivered, whisperInfo, whisperTab } from './support/whisper.ts';

const TEST_TIMEOUT = 180_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('signalling that reaches B before its whisper code has loaded is handed over in order: the whisper arrives once', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.behindProxy(t, browser);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let requested = false;
  t.after(() => release());

  const a = await scene.person('A');
  const b = await scene.person('B', {
    init: async (context) => {
      await context.route('**/assets/whispers-*.js', async (route) => {
        requested = true;
        await released;
        await route.continue();
      });
    },
  });
  const [aName, bName] = [await a.myName(), await b.myName()];
  await a.waitForMembers([aName, bName]);
  await b.waitForMembers([aName, bName]);
  const bKey = await ownKey(b);
  const aKey = await ownKey(a);
  await waitUntil("B's app to ask for the whisper chunk (right after its first paint)", () => requested);
  const loaded = () => b.page.evaluate(() => (window as unknown as { wisp: { whispers?: unknown } }).wisp.whispers !== undefined);
  assert.equal(await loaded(), false, "B's whisper machinery is not there yet");

  // A opens the conversation and whispers; A's signalling reaches B's app, which cannot act on it yet.
  await openByClick(a, bName);
  const text = marker('whisper before B had loaded');
  await a.say(text);
  await waitUntil('the server to pass A\'s signalling on to B', () => scene.proxy.framesOfType('signal', 'down').some((f) => f.key === bKey));
  const waiting = (await whisperInfo(a, bKey))?.lines.find((l) => l.text === text);
  assert.ok(waiting?.own, 'A shows its whisper');
  assert.notEqual(waiting.delivered, true, 'not delivered while B cannot answer');
  assert.equal(await loaded(), false, "B's whisper machinery is still held back");

  // The chunk arrives: what waited is handed over, the link comes up and the whisper is delivered.
  release();
  await waitWhisperDelivered(a, text);
  const badge = whisperTab(b, aKey).locator('.badge');
  await badge.waitFor({ timeout: WAIT_MS });
  assert.equal((await badge.textContent())?.trim(), '1');
  const conversation = await whisperInfo(b, aKey);
  assert.deepEqual(conversation?.lines.map((line) => line.text), [text], 'B shows the whisper once');
  assert.equal(conversation?.link, 'ready');
  // A data channel, not the relay fallback: the offer or the request for one was not lost.
  assert.equal(conversation?.path, 'direct', "B's link is the direct data channel");
  assert.equal((await whisperInfo(a, bKey))?.path, 'direct', "A's link is the direct data channel");
});
