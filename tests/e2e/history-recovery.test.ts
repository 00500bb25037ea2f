// Room history on the server (memory only) as people live it: what was said while someone
// was away reaches them when they are back, in order and once; the outbox of someone who
// reconnected first reaches someone who reconnects later; a late joiner sees the last N
// messages when the room allows it and none when it keeps no history, in a public and in a
// private room; and a gap larger than the server keeps shows one line saying so.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { Person, RECONNECT_WAIT_MS, WAIT_MS, launchBrowser, tag, waitUntil } from './support/browser.ts';
import { joinByPicker } from './support/private-rooms.ts';
import type { WsProxy } from './support/proxy.ts';
import { Scene } from './support/scene.ts';
import { noticesSeen, waitNoticeSeen } from './support/notices.ts';
import { roomAction } from './support/room-menu.ts';

const TEST_TIMEOUT = 300_000;
const NOTICE = 'Some messages from while you were away are no longer available.';
/** Chromium's console error for each reconnect attempt while a person's network is off on purpose. */
const NETWORK_OFF = /^console: WebSocket connection to '[^']+' failed: Error in connection establishment: net::ERR_INTERNET_DISCONNECTED$/;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** The texts of the chat messages in the active room, in display order (system lines left out). */
function messageTexts(p: Person): Promise<string[]> {
  return p.page.locator('wisp-message-list [role=log] > ol > li:not([data-day]):not(.system) .text').allTextContents();
}

function noticeCount(p: Person): Promise<number> {
  return p.page.locator('wisp-message-list [role=log] > ol > li:not([data-day]).system', { hasText: NOTICE }).count();
}

/** Says each line and waits until the server acknowledged it (so the server numbered them in this order). */
async function sayAll(p: Person, texts: string[]): Promise<void> {
  for (const text of texts) {
    await p.say(text);
    await p.waitDelivered(text);
  }
}

/** Waits until the active room's chat messages are exactly `want`, in order. */
async function expectMessages(p: Person, want: string[], timeoutMs = WAIT_MS): Promise<void> {
  let seen: string[] = [];
  try {
    await waitUntil(`${p.label}'s messages`, async () => {
      seen = await messageTexts(p);
      return JSON.stringify(seen) === JSON.stringify(want);
    }, timeoutMs);
  } catch {
    assert.deepEqual(seen, want, `${p.label} shows exactly these messages, in this order`);
  }
}

function historyLabel(p: Person): Promise<string> {
  return p.page.locator('wisp-room-header [data-history]').innerText();
}

/** In-page: the app's saved history cursors, read straight from its IndexedDB (a string: tsx would wrap a function). */
const READ_CURSORS = `new Promise((resolve, reject) => {
  const open = indexedDB.open('wisp');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const get = open.result.transaction('kv').objectStore('kv').get('room-cursors');
    get.onerror = () => reject(get.error);
    get.onsuccess = () => { open.result.close(); resolve(get.result ?? {}); };
  };
})`;

async function savedCursor(p: Person, room: string): Promise<{ epoch: string; seq: number } | undefined> {
  const cursors = (await p.page.evaluate(READ_CURSORS)) as Record<string, { epoch: string; seq: number }>;
  return cursors[room];
}

/** The identity key a person's app announced through the proxy (from the welcome to its name). */
function keyOf(proxy: WsProxy, name: string): string {
  const welcome = proxy.framesOfType('welcome', 'down').find((f) => (JSON.parse(f.text) as { name?: string }).name === name);
  assert.ok(welcome?.key, `${name}'s identity key, from its hello`);
  return welcome.key;
}

/** Takes a person off the network: no new connection can open, and the proxy cuts the open one. */
async function dropConnection(p: Person, proxy: WsProxy, key: string): Promise<void> {
  p.allowProblems(NETWORK_OFF); // their network is off on purpose
  await p.context.setOffline(true);
  assert.equal(proxy.disconnect(key), 1, `${p.label}'s connection was cut`);
  await p.waitForStatus('offline');
}

test('a server restart: both type while it is down, reconnect at different times, and each ends with every message once, in the same order', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const c = await scene.person('C');
  const [aName, bName, cName] = [await a.myName(), await b.myName(), await c.myName()];
  await a.waitForMembers([aName, bName, cName]);
  await b.waitForMembers([aName, bName, cName]);
  const before = [`before the restart from A ${tag()}`, `before the restart from B ${tag()}`];
  await sayAll(a, [before[0]!]);
  await b.waitForLine(before[0]!);
  await c.waitForLine(before[0]!);
  await sayAll(b, [before[1]!]);
  await a.waitForLine(before[1]!);
  await c.waitForLine(before[1]!);
  // C closes the app before the server stops: C cannot know what that server said after.
  await c.page.close();
  await a.waitForMembers([aName, bName]);

  scene.expectServerDown(); // stopped on purpose: reconnect attempts are refused until it is back
  assert.equal(await scene.server.stop(), 0);
  await a.waitForStatus('offline');
  await b.waitForStatus('offline');
  const fromA = `A typed while the server was down ${tag()}`;
  const fromB = `B typed while the server was down ${tag()}`;
  await a.say(fromA);
  await b.say(fromB);

  // A stays off the network until B is back and B's message was numbered: A rejoins later than B sent.
  a.allowProblems(NETWORK_OFF); // A's network is off on purpose
  await a.context.setOffline(true);
  await scene.server.start();
  await b.waitForStatus('online', RECONNECT_WAIT_MS);
  await b.waitForMembers([bName], RECONNECT_WAIT_MS);
  await b.waitDelivered(fromB, RECONNECT_WAIT_MS);
  assert.notEqual(await a.status(), 'online', 'A is still away when B is back');
  await a.context.setOffline(false);
  await a.waitForStatus('online', RECONNECT_WAIT_MS);
  await a.waitDelivered(fromA, RECONNECT_WAIT_MS);

  // Barriers both ways: anything sent before them (a second copy, say) would have arrived.
  const barrierA = `barrier from A ${tag()}`;
  const barrierB = `barrier from B ${tag()}`;
  await sayAll(a, [barrierA]);
  await b.waitForLine(barrierA);
  await sayAll(b, [barrierB]);
  await a.waitForLine(barrierB);
  // The server numbered B's queued message first (A was not back yet): both read it so.
  const want = [...before, fromB, fromA, barrierA, barrierB];
  await expectMessages(a, want);
  await expectMessages(b, want);
  // Both were there when the server said it was stopping: nothing of that server was missed, and no line says otherwise.
  assert.equal(await noticeCount(a), 0, 'A missed nothing');
  assert.equal(await noticeCount(b), 0, 'B missed nothing');

  // C opens the app again: it gets what the new server has, and says once that what the old one said after C left may be gone.
  const page = await c.context.newPage();
  const c2 = new Person('C again', c.context, page, c.url);
  c2.cspViolations = c.cspViolations;
  scene.people.push(c2);
  await page.goto(c.url, { waitUntil: 'load' });
  await c2.waitOnline();
  const after = [fromB, fromA, barrierA, barrierB];
  await waitUntil("C's messages from the new server", async () => JSON.stringify((await messageTexts(c2)).filter((m) => !before.includes(m))) === JSON.stringify(after));
  const shown = await messageTexts(c2);
  assert.equal(new Set(shown).size, shown.length, 'no message shows twice');
  assert.equal(await noticeCount(c2), 1, 'C says once that some messages are no longer available');
});

test('a dropped connection while others talk: the missed messages appear once, in order, with no notice', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.behindProxy(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const [aName, bName] = [await a.myName(), await b.myName()];
  await a.waitForMembers([aName, bName]);
  const first = `before the drop ${tag()}`;
  await sayAll(b, [first]);
  await a.waitForLine(first);

  const aKey = keyOf(scene.proxy, aName);
  await dropConnection(a, scene.proxy, aKey);
  await b.waitForMembers([bName]);
  const missed = [1, 2, 3].map((n) => `said while A was away ${n} ${tag()}`);
  await sayAll(b, missed);

  await a.context.setOffline(false);
  await a.waitForStatus('online', RECONNECT_WAIT_MS);
  await b.waitForMembers([aName, bName], RECONNECT_WAIT_MS);
  const barrier = `after A is back ${tag()}`;
  await sayAll(b, [barrier]);
  await expectMessages(a, [first, ...missed, barrier]);
  assert.equal(await noticeCount(a), 0, 'nothing was lost: no notice');
  // A came back as a member who says what it has seen, not as a new member shown the room's latest.
  const joins = scene.proxy.framesOfType('join', 'up').filter((f) => f.key === aKey).map((f) => JSON.parse(f.text) as { room: string; since?: { seq: number } });
  assert.equal(joins.length, 2, "A's first join and its rejoin");
  assert.equal(joins[0]!.since, undefined, 'the first join is a new member');
  assert.ok(joins[1]!.since && joins[1]!.since.seq >= 1, 'the rejoin says how far A had seen');
});

test('a reload resumes where the device was: the join says what it had seen, and what was said meanwhile arrives once, with no notice', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.behindProxy(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const [aName, bName] = [await a.myName(), await b.myName()];
  await a.waitForMembers([aName, bName]);
  const first = `before A left the page ${tag()}`;
  await sayAll(b, [first]);
  await a.waitForLine(first);
  const aKey = keyOf(scene.proxy, aName);
  const firstSeq = scene.proxy
    .framesOfType('message', 'down')
    .filter((f) => f.key === aKey)
    .map((f) => JSON.parse(f.text) as { text?: string; seq: number })
    .find((m) => m.text === first)?.seq;
  assert.ok(firstSeq, 'the number the server gave the last message A saw');

  // The page goes once the device has kept how far it got (the app writes that as messages arrive).
  await waitUntil("A's device to keep how far it has seen #lobby", async () => (await savedCursor(a, 'lobby'))?.seq === firstSeq);
  await a.page.goto('about:blank');
  await b.waitForMembers([bName]);
  const missed = [1, 2].map((n) => `said while A's page was closed ${n} ${tag()}`);
  await sayAll(b, missed);
  await a.page.goto(scene.url, { waitUntil: 'load' });
  await a.waitOnline();
  const barrier = `after A is back ${tag()}`;
  await sayAll(b, [barrier]);
  await a.waitForLine(barrier);
  const shown = (await messageTexts(a)).filter((text) => [...missed, barrier].includes(text));
  assert.deepEqual(shown, [...missed, barrier], 'what was said meanwhile, once each, in order');
  assert.equal(await noticeCount(a), 0, 'nothing was lost: no notice');
  const joins = scene.proxy.framesOfType('join', 'up').filter((f) => f.key === aKey).map((f) => JSON.parse(f.text) as { since?: { seq: number } });
  assert.equal(joins.at(-1)?.since?.seq, firstSeq, 'the join after the reload starts from the last message A saw');
});

test('an own message whose ack was lost with the connection comes back in the replay and still shows once', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.behindProxy(t, browser);
  const { proxy } = scene;
  const a = await scene.person('A');
  const b = await scene.person('B');
  const [aName, bName] = [await a.myName(), await b.myName()];
  await a.waitForMembers([aName, bName]);
  const aKey = keyOf(proxy, aName);
  let ackDropped = 0;
  proxy.hooks.push(({ json, conn, direction }) => {
    if (direction !== 'down' || conn.key !== aKey || (json as { type?: string } | undefined)?.type !== 'ack') return undefined;
    ackDropped++;
    return null;
  });
  const text = `the ack of this one is lost ${tag()}`;
  await a.say(text);
  await b.waitForLine(text);
  await waitUntil("the server's ack to A to be dropped", () => ackDropped === 1);
  proxy.clearHooks();
  const connections = new Set(proxy.frames.filter((f) => f.key === aKey).map((f) => f.conn));
  assert.equal(proxy.disconnect(aKey), 1, "A's connection was cut");

  await a.waitDelivered(text, RECONNECT_WAIT_MS);
  const barrier = `after A is back ${tag()}`;
  await sayAll(b, [barrier]);
  await a.waitForLine(barrier);
  const replayed = proxy.framesOfType('message', 'down').filter((f) => f.key === aKey && !connections.has(f.conn) && (JSON.parse(f.text) as { text?: string }).text === text);
  assert.equal(replayed.length, 1, 'the server replayed it to A (its cursor was behind it)');
  assert.equal(await a.countLines(text), 1, 'A shows it once, as its own');
  assert.equal(await a.page.locator('wisp-message-list li.own', { hasText: text }).count(), 1);
  assert.equal(await b.countLines(text), 1, 'B got it once (the resend was deduplicated)');
});

test('a late joiner of a public room sees the last N messages, or none when the room keeps no history', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const aName = await a.myName();
  const room = `club-${tag()}`;
  await a.say(`/join #${room}`);
  await a.waitForMembers([aName]);
  assert.equal(await historyLabel(a), 'New members see the last 50 messages', 'the default, in the header');
  await a.say('/history 3');
  await a.waitForLine(`${aName} set: new members see the last 3 messages`);
  assert.equal(await historyLabel(a), 'New members see the last 3 messages');
  const said = [1, 2, 3, 4, 5].map((n) => `message ${n} ${tag()}`);
  await sayAll(a, said);

  const c = await scene.person('C');
  await c.say(`/join #${room}`);
  await c.waitForMembers([aName, await c.myName()]);
  const barrier = `after C joined ${tag()}`;
  await sayAll(a, [barrier]);
  await expectMessages(c, [...said.slice(2), barrier]);
  assert.equal(await historyLabel(c), 'New members see the last 3 messages');
  assert.equal(await noticeCount(c), 0, 'a new member is not told that something is missing');

  // The owner turns history off from the header's menu: nobody new sees anything now.
  await roomAction(a, 'History…');
  await a.page.locator('wisp-room-header wisp-member-menu [role=menuitem]', { hasText: 'None' }).click();
  await c.waitForLine(`${aName} set: this room keeps no history`);
  assert.equal(await historyLabel(c), 'This room keeps no history');
  await sayAll(a, [`unkept ${tag()}`]);
  const d = await scene.person('D');
  await d.say(`/join #${room}`);
  await d.waitForMembers([aName, await c.myName(), await d.myName()]);
  assert.equal(await historyLabel(d), 'This room keeps no history');
  const barrier2 = `after D joined ${tag()}`;
  await sayAll(a, [barrier2]);
  await expectMessages(d, [barrier2]);

  // Someone who is not the owner is told so, as a sentence.
  const before = (await noticesSeen(c)).length;
  await c.say('/history 10');
  assert.match(await waitNoticeSeen(c, '', { since: before }), /owner|admin/i, 'the refusal says who may change it');
});

test('a late joiner of a private room with the passphrase sees the last N messages opened, or none', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const aName = await a.myName();
  const room = `vault-${tag()}`;
  const passphrase = `amber kettle ${tag()}`;
  const b = await scene.person('B');
  const bName = await b.myName();
  await joinByPicker(a, room, passphrase);
  await a.waitForMembers([aName]);
  await joinByPicker(b, room, passphrase);
  await a.waitForMembers([aName, bName]);
  await a.say('/history 3');
  await a.waitForLine(`${aName} set: new members see the last 3 messages`);
  const said = [1, 2, 3, 4].map((n) => `sealed ${n} ${tag()}`);
  await sayAll(a, said);
  // B says something and leaves: a new member still sees it, under B's name (the key it was sealed with).
  const fromB = `sealed by B, who then left ${tag()}`;
  await sayAll(b, [fromB]);
  await b.say('/leave');
  await a.waitForMembers([aName]);

  const c = await scene.person('C');
  const cName = await c.myName();
  await joinByPicker(c, room, passphrase);
  await c.waitForMembers([aName, cName]);
  const barrier = `after C joined ${tag()}`;
  await sayAll(a, [barrier]);
  await expectMessages(c, [...said.slice(2), fromB, barrier]);
  assert.equal((await c.linesWith(fromB).locator('.name').innerText()).trim(), bName, "B's message shows under B's name");
  assert.equal(await c.countLines('was not delivered'), 0, 'history does not look like a gap');
  assert.equal(await c.countLines('was refused'), 0, 'a sender who left is not taken for a forgery');
  assert.equal(await c.countLines('was rejected'), 0, 'history is not refused');
  assert.equal(await historyLabel(c), 'New members see the last 3 messages');

  await a.say('/history off');
  await c.waitForLine(`${aName} set: this room keeps no history`);
  await sayAll(a, [`unkept ${tag()}`]);
  const d = await scene.person('D');
  await joinByPicker(d, room, passphrase);
  await d.waitForMembers([aName, cName, await d.myName()]);
  assert.equal(await historyLabel(d), 'This room keeps no history');
  const barrier2 = `after D joined ${tag()}`;
  await sayAll(a, [barrier2]);
  await expectMessages(d, [barrier2]);
});

test('a gap larger than the server keeps: exactly one notice, then the last messages it kept', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.behindProxy(t, browser, { args: ['--history-messages', '5', '--rate-burst', '12'] });
  const a = await scene.person('A');
  const b = await scene.person('B');
  const [aName, bName] = [await a.myName(), await b.myName()];
  await a.waitForMembers([aName, bName]);
  const first = `before the drop ${tag()}`;
  await sayAll(b, [first]);
  await a.waitForLine(first);

  await dropConnection(a, scene.proxy, keyOf(scene.proxy, aName));
  await b.waitForMembers([bName]);
  const missed = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => `said while A was away ${n} ${tag()}`);
  await sayAll(b, missed);

  await a.context.setOffline(false);
  await a.waitForStatus('online', RECONNECT_WAIT_MS);
  await b.waitForMembers([aName, bName], RECONNECT_WAIT_MS);
  const barrier = `after A is back ${tag()}`;
  await sayAll(b, [barrier]);
  await expectMessages(a, [first, ...missed.slice(3), barrier]);
  assert.equal(await noticeCount(a), 1, 'one notice line');
  const lines = await a.lineTexts();
  assert.ok(lines.indexOf(NOTICE) < lines.findIndex((l) => l.includes(missed[3]!)), 'the notice comes before what was kept');
});
