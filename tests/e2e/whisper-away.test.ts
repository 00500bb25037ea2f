// Whispers to someone who is away: they wait on the sender's device ("Waiting for Dana to
// come online"), survive a reload, and go out over the secure channel once each, in order,
// when Dana is back (same browser profile, so the same identity); the receiver shows a
// whisper id once; past the expiry a whisper says "Not delivered" with Retry, and a retried
// one is delivered once when Dana returns.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { Person, WAIT_MS, launchBrowser, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { failure, marker, openByClick, ownKey, ownLines, selectWhisper, setVisibility, waitSecure, waitWhisperDelivered, whisperBarrier, whisperInfo } from './support/whisper.ts';
import { rename, waitMembersIn } from './support/moderation.ts';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/**
 * Alice's page clock can be moved ahead, as a device that slept would find it: Date.now
 * only (what the app reads for expiries). A string: tsx would wrap a function in helpers the page lacks.
 */
const MOVABLE_CLOCK = `(() => {
  const realNow = Date.now.bind(Date);
  let ahead = 0;
  Date.now = () => realNow() + ahead;
  globalThis.__wispTestClockAhead = (ms) => { ahead += ms; };
})()`;

/** More than the default expiry of undelivered whispers (one day). */
const PAST_EXPIRY_MS = 25 * 3_600_000;

/** Opens the app again in the browser context of someone who closed their page: the same person, same identity. */
async function comeBack(scene: Scene, gone: Person, label: string): Promise<Person> {
  const page = await gone.context.newPage();
  const person = new Person(label, gone.context, page, gone.url);
  person.cspViolations = gone.cspViolations;
  scene.people.push(person);
  await page.goto(gone.url, { waitUntil: 'load' });
  await person.waitOnline();
  return person;
}

/** Waits until my own whisper line with `text` shows `status`; returns what it says. */
async function lineStatus(p: Person, text: string, status: 'waiting' | 'not-delivered'): Promise<string> {
  const line = ownLines(p, text).first();
  const mark = line.locator(`[data-status=${status}]`);
  try {
    await mark.waitFor({ timeout: WAIT_MS });
  } catch (error) {
    throw new Error(`${p.label}'s whisper "${text}" never showed ${status}. Lines: ${JSON.stringify(await p.lineTexts())}\n${(error as Error).message}`);
  }
  assert.equal(await line.locator('.pending').count(), 0, `"${text}" does not also say sending…`);
  return ((await mark.textContent()) ?? '').trim();
}

/** The texts of the whispers `p` received from `key`, in order. */
async function received(p: Person, key: string): Promise<string[]> {
  return ((await whisperInfo(p, key))?.lines ?? []).filter((l) => !l.own && l.kind !== 'system').map((l) => l.text);
}

/** The whispers this person's app keeps waiting in IndexedDB ('wisp' / 'kv', key 'whisper-outbox'), by text. */
async function keptOnDevice(p: Person): Promise<string[]> {
  return p.page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open('wisp');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const get = db.transaction('kv').objectStore('kv').get('whisper-outbox');
          get.onsuccess = () => (db.close(), resolve(((get.result ?? []) as { text: string }[]).map((w) => w.text)));
          get.onerror = () => (db.close(), reject(get.error));
        };
      }),
  );
}

/**
 * A test device, not something the app does: writes a whisper with a given id straight
 * into the live link, as a sender whose receipt was lost would send it again.
 */
async function sendAgain(p: Person, key: string, id: string, text: string): Promise<void> {
  await p.page.evaluate(`(async ({ key, id, text }) => {
    const link = window.wisp.whispers.mesh.get(key);
    if (!link || !link.ready) throw new Error('no ready link to send on');
    const frame = { t: 'whisper', id, text, kind: 'text', ts: Date.now() };
    await link.send(new Uint8Array([0, ...new TextEncoder().encode(JSON.stringify(frame))]));
  })(${JSON.stringify({ key, id, text })})`);
}

test('a whisper to someone away waits, survives a reload, is delivered once in order when they return, and expires with Retry', { timeout: 300_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const alice = await scene.person('Alice', { init: (context) => context.addInitScript(MOVABLE_CLOCK) });
  const dana = await scene.person('Dana');
  await rename(alice, 'Alice');
  await rename(dana, 'Dana');
  await waitMembersIn(alice, 'lobby', ['Alice', 'Dana']);
  const aliceKey = await ownKey(alice);
  const danaKey = await openByClick(alice, 'Dana');
  await waitSecure(alice);
  const hello = marker('hello while both are here');
  await alice.say(hello);
  await waitWhisperDelivered(alice, hello);

  // ---- Dana leaves; Alice writes two whispers ---------------------------------------
  await dana.page.close();
  await waitMembersIn(alice, 'lobby', ['Alice']);
  const first = marker('first while Dana is away');
  const second = marker('second while Dana is away');
  await alice.say(first);
  await alice.say(second);
  assert.equal(await lineStatus(alice, first, 'waiting'), 'Waiting for Dana to come online');
  assert.equal(await lineStatus(alice, second, 'waiting'), 'Waiting for Dana to come online');
  assert.equal(await failure(alice).count(), 0, 'someone being away is no red error');
  await waitUntil('both kept on the device', async () => (await keptOnDevice(alice)).join() === [first, second].join());

  // ---- a reload keeps them waiting -------------------------------------------------------
  await alice.reload();
  await alice.waitOnline();
  await selectWhisper(alice, danaKey);
  assert.equal(await lineStatus(alice, first, 'waiting'), 'Waiting for Dana to come online');
  assert.equal(await lineStatus(alice, second, 'waiting'), 'Waiting for Dana to come online');

  // ---- Dana is back: both go out, once each, in order ------------------------------------
  const dana2 = await comeBack(scene, dana, 'Dana again');
  await waitWhisperDelivered(alice, first);
  await waitWhisperDelivered(alice, second);
  await selectWhisper(dana2, aliceKey);
  // The link is ordered: once the barrier shows at Dana's, anything sent before it has arrived.
  const barrier = await whisperBarrier(alice, dana2);
  // What Dana saw before comes back from her device history (if it was written before her page closed): set it apart.
  assert.deepEqual(newSince(await received(dana2, aliceKey), [hello]), [first, second, barrier], 'each once, in the order written');

  // The receiver shows a whisper id once: the same whisper sent again is not shown twice.
  const firstId = (await whisperInfo(alice, danaKey))?.lines.find((l) => l.own && l.text === first)?.key;
  assert.ok(firstId, 'Alice has the line of the first whisper');
  await sendAgain(alice, danaKey, firstId, first);
  const barrier2 = await whisperBarrier(alice, dana2);
  assert.deepEqual(newSince(await received(dana2, aliceKey), [hello]), [first, second, barrier, barrier2], 'the repeated id was not shown again');

  // ---- expiry: "Not delivered" with Retry; a retried whisper is delivered once ------------
  await dana2.page.close();
  await waitMembersIn(alice, 'lobby', ['Alice']);
  const third = marker('third, left to expire');
  await alice.say(third);
  assert.equal(await lineStatus(alice, third, 'waiting'), 'Waiting for Dana to come online');
  // A day and more later, as a phone waking from sleep finds it (its connection goes quiet and starts over too).
  await alice.page.evaluate(`globalThis.__wispTestClockAhead(${PAST_EXPIRY_MS})`);
  await setVisibility(alice, 'visible');
  assert.equal(await lineStatus(alice, third, 'not-delivered'), 'Not delivered');
  const retry = ownLines(alice, third).first().getByRole('button', { name: 'Retry' });
  await retry.click();
  assert.equal(await lineStatus(alice, third, 'waiting'), 'Waiting for Dana to come online');
  await alice.waitOnline();

  const dana3 = await comeBack(scene, dana, 'Dana once more');
  await waitWhisperDelivered(alice, third);
  await selectWhisper(dana3, aliceKey);
  const barrier3 = await whisperBarrier(alice, dana3);
  assert.deepEqual(newSince(await received(dana3, aliceKey), [hello, first, second, barrier, barrier2]), [third, barrier3], 'the retried whisper arrived once');
  // Delivered whispers no longer wait on the device.
  await waitUntil("Alice's device to keep no whisper", async () => (await keptOnDevice(alice)).length === 0);
});

/** The lines of a conversation after the ones a device may have kept from before; none may repeat. */
function newSince(lines: string[], keptBefore: string[]): string[] {
  assert.equal(new Set(lines).size, lines.length, `no line shows twice: ${JSON.stringify(lines)}`);
  return lines.filter((line) => !keptBefore.includes(line));
}
