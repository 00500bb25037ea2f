// The server restarts (SIGTERM, then started again on the same port): clients say why
// they are offline, keep what was typed meanwhile, reconnect by themselves, rejoin their
// rooms, and every message typed during the outage arrives exactly once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { RECONNECT_WAIT_MS, WAIT_MS, launchBrowser, tag, waitUntil, type Person } from './support/browser.ts';
import { Scene } from './support/scene.ts';

const TEST_TIMEOUT = 300_000;

/**
 * Records every WebSocket the page opens (window.__wispSockets): whether it ever opened and
 * whether it closed. A string, not a function: tsx would wrap a function in helpers the page lacks.
 */
const COUNT_SOCKETS = `(() => {
  const Native = window.WebSocket;
  const sockets = [];
  window.__wispSockets = sockets;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      const record = { opened: false, closed: false };
      sockets.push(record);
      this.addEventListener('open', () => { record.opened = true; });
      this.addEventListener('close', () => { record.closed = true; });
    }
  };
})()`;

function countSockets(context: BrowserContext): Promise<unknown> {
  return context.addInitScript(COUNT_SOCKETS);
}

/** Connection attempts this page made that closed without ever opening. */
function failedAttempts(person: Person): Promise<number> {
  return person.page.evaluate(() => {
    const sockets = (window as unknown as { __wispSockets?: { opened: boolean; closed: boolean }[] }).__wispSockets;
    if (!sockets) throw new Error('no socket counter installed');
    return sockets.filter((s) => s.closed && !s.opened).length;
  });
}

/**
 * An ordering barrier: `sender` says a fresh line in its active room, `receiver` shows it
 * and `sender` sees it acknowledged. The server relays one sender's lines over one
 * connection in order, so once this is back, every line sent before it has arrived.
 */
async function barrier(sender: Person, receiver: Person, timeoutMs = WAIT_MS): Promise<void> {
  const text = `barrier ${tag()}`;
  await sender.say(text);
  await receiver.waitForLine(text, timeoutMs);
  await sender.waitDelivered(text, timeoutMs);
}

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function expectRestartingSentence(person: Person): Promise<void> {
  await person.waitForStatus('offline');
  const sentence = person.page.locator('wisp-connection-status .sentence');
  await sentence.waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.match((await sentence.textContent()) ?? '', /server is restarting/i, `${person.label} says the server is restarting`);
}

async function expectPending(person: Person, text: string): Promise<void> {
  const line = await person.waitForLine(text);
  assert.equal(await line.evaluate((li) => li.classList.contains('own')), true);
  assert.equal(await line.locator('.pending').count(), 1, `${person.label}'s "${text}" shows as pending`);
}

test('a server restart: clients reconnect by themselves, rejoin, and outage messages arrive exactly once', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A', { init: countSockets });
  const b = await scene.person('B', { init: countSockets });
  const aName = await a.myName();
  const bName = await b.myName();

  // Both also sit in a room people created (it vanishes from the server when it stops).
  await a.say('/join #ops');
  await a.waitForMembers([aName]);
  await b.say('/join #ops');
  await b.waitForMembers([aName, bName]);
  await a.waitForMembers([aName, bName]);
  const beforeText = `before the restart ${tag()}`;
  await a.say(beforeText);
  await b.waitForLine(beforeText);
  await a.waitDelivered(beforeText);

  assert.equal(await failedAttempts(a), 0, 'A had no failed connection attempt before the server stopped');
  assert.equal(await failedAttempts(b), 0, 'B had no failed connection attempt before the server stopped');
  scene.expectServerDown(); // stopped on purpose: the app's reconnect attempts are refused until it is back
  assert.equal(await scene.server.stop(), 0, 'the server exits with status 0 on SIGTERM');
  await expectRestartingSentence(a);
  await expectRestartingSentence(b);
  assert.equal(await b.page.locator('wisp-member-list li[data-id]').count(), 0, 'the member list is not shown as known while offline');

  // Both type while the server is down. Whichever of them gets back first must not
  // leave the other without those lines.
  const fromA = [`A typed during the outage 1 ${tag()}`, `A typed during the outage 2 ${tag()}`];
  const fromB = [`B typed during the outage ${tag()}`];
  for (const text of fromA) await a.say(text);
  for (const text of fromB) await b.say(text);
  for (const text of fromA) await expectPending(a, text);
  for (const text of fromB) await expectPending(b, text);
  // Still down until both clients have tried (and failed) to reconnect at least once.
  for (const p of [a, b]) await waitUntil(`${p.label} to try to reconnect while the server is down, and fail`, async () => (await failedAttempts(p)) >= 1);
  assert.notEqual(await a.status(), 'online');
  assert.notEqual(await b.status(), 'online');

  await scene.server.start();
  await a.waitForStatus('online', RECONNECT_WAIT_MS);
  await b.waitForStatus('online', RECONNECT_WAIT_MS);

  // Rejoined: #ops (the active room) has both people again, without anyone clicking anything.
  await a.waitForMembers([aName, bName], RECONNECT_WAIT_MS);
  await b.waitForMembers([aName, bName], RECONNECT_WAIT_MS);
  assert.equal(await a.myName(), aName, 'A kept its name');
  assert.equal(await b.myName(), bName, 'B kept its name');

  // Each side's own lines get acknowledged...
  for (const text of fromA) await a.waitDelivered(text, RECONNECT_WAIT_MS);
  for (const text of fromB) await b.waitDelivered(text, RECONNECT_WAIT_MS);
  // ...and reach the other side, whichever of them reconnected first.
  const missing: string[] = [];
  for (const [receiver, texts] of [[b, fromA], [a, fromB]] as const) {
    for (const text of texts) {
      try {
        await receiver.waitForLine(text, WAIT_MS);
      } catch {
        missing.push(`${receiver.label} never got "${text}"`);
      }
    }
  }
  const order = await Promise.all([a, b].map(async (p) => `${p.label}: ${JSON.stringify(await p.lineTexts())}`));
  assert.deepEqual(missing, [], `every outage message reaches the other person.\n${order.join('\n')}`);

  // Barriers both ways: a copy of an outage line sent before them would have arrived.
  await barrier(a, b);
  await barrier(b, a);
  for (const [receiver, sender, texts] of [[b, a, fromA], [a, b, fromB]] as const) {
    for (const text of texts) {
      assert.equal(await receiver.countLines(text), 1, `${receiver.label} got "${text}" exactly once`);
      assert.equal(await sender.countLines(text), 1, `${sender.label} shows "${text}" once`);
    }
  }
  assert.equal(await b.countLines(beforeText), 1);
  const bTexts = await b.lineTexts();
  assert.ok(bTexts.findIndex((l) => l.includes(fromA[0]!)) < bTexts.findIndex((l) => l.includes(fromA[1]!)), 'in the order they were typed');

  // #lobby was rejoined too.
  for (const p of [a, b]) {
    await p.selectRoom('lobby');
    await p.waitForMembers([aName, bName], RECONNECT_WAIT_MS);
  }
  const afterText = `after the restart ${tag()}`;
  await b.say(afterText);
  await a.waitForLine(afterText);
  await b.waitDelivered(afterText);
});

test('a message typed offline survives a reload while the server is down and is delivered once it is back', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const aName = await a.myName();
  const bName = await b.myName();
  // The reload below happens with the server down, so the page must come from the service worker.
  await a.waitForServiceWorkerControl();
  await a.waitOnline();
  await b.waitForMembers([aName, bName]);
  await a.waitForMembers([aName, bName]);

  scene.expectServerDown(); // stopped on purpose: the app's reconnect attempts are refused until it is back
  assert.equal(await scene.server.stop(), 0);
  await expectRestartingSentence(a);

  const text = `kept across a reload ${tag()}`;
  await a.say(text);
  await expectPending(a, text);

  await a.reload();
  assert.notEqual(await a.status(), 'online');
  await expectPending(a, text);
  assert.equal(await a.countLines(text), 1, 'restored once from the outbox');

  // This test is about the outbox surviving the reload, not about who reconnects first
  // (the test above covers that): A's network stays off until B is back in #lobby.
  a.allowProblems(/^console: WebSocket connection to '[^']+' failed: Error in connection establishment: net::ERR_INTERNET_DISCONNECTED$/); // A's network is off on purpose
  await a.context.setOffline(true);
  await scene.server.start();
  await b.waitForStatus('online', RECONNECT_WAIT_MS);
  await b.waitForMembers([bName], RECONNECT_WAIT_MS);
  assert.notEqual(await a.status(), 'online');
  await expectPending(a, text);
  await a.context.setOffline(false);

  await a.waitForStatus('online', RECONNECT_WAIT_MS);
  await b.waitForMembers([aName, bName], RECONNECT_WAIT_MS);
  await b.waitForLine(text, RECONNECT_WAIT_MS);
  await a.waitDelivered(text, RECONNECT_WAIT_MS);
  await barrier(a, b);
  assert.equal(await b.countLines(text), 1, 'B got it exactly once');
  assert.equal(await a.countLines(text), 1, 'A shows it once');

  // Delivered means gone from the outbox: another reload does not send it again.
  await a.reload();
  await a.waitOnline(RECONNECT_WAIT_MS);
  // A line typed after the reload: a copy still in the outbox would be sent before it.
  await barrier(a, b, RECONNECT_WAIT_MS);
  assert.equal(await b.countLines(text), 1, 'still exactly once after A reloads again');
  assert.equal(await a.linesWith(text).locator('.pending').count(), 0, 'the delivered message is no longer in the outbox');
});
