// Two and three people in real browsers against the real server: names, presence,
// rooms, chat, /me, unread counts, renames and farewells.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, tag, waitUntil, type Person } from './support/browser.ts';
import { describeViolations, watchCsp } from './support/csp.ts';
import { Scene } from './support/scene.ts';
import { waitNoticeSeen } from './support/notices.ts';

const TEST_TIMEOUT = 180_000;

/**
 * An ordering barrier: `sender` says a fresh line in its active room, `receiver` shows it
 * and `sender` sees it acknowledged. The server relays one sender's lines over one
 * connection in order, so once this is back, every line and event the server sent either
 * of them before it has arrived.
 */
async function barrier(sender: Person, receiver: Person): Promise<void> {
  const text = `barrier ${tag()}`;
  await sender.say(text);
  await receiver.waitForLine(text);
  await sender.waitDelivered(text);
}

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('two people get distinct generated names, meet in #lobby and chat', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A', { init: watchCsp });
  const b = await scene.person('B', { init: watchCsp });

  const aName = await a.myName();
  const bName = await b.myName();
  assert.match(aName, /^\p{L}[\p{L}\p{N}_.-]+$/u, 'A got a generated name');
  assert.match(bName, /^\p{L}[\p{L}\p{N}_.-]+$/u, 'B got a generated name');
  assert.notEqual(aName.toLowerCase(), bName.toLowerCase(), 'the generated names differ');

  for (const p of [a, b]) {
    assert.deepEqual(await p.tabs(), ['lobby'], `${p.label} has exactly the #lobby tab`);
    assert.equal(await p.activeTab(), 'lobby', `${p.label} is in #lobby`);
    await p.waitForMembers([aName, bName]);
  }

  const text = `hello from A ${tag()}`;
  await a.say(text);
  const line = await b.waitForLine(text);
  assert.equal((await line.locator('.name').textContent())?.trim(), aName, "B's line names A as the sender");
  assert.equal(await line.evaluate((li) => li.classList.contains('own')), false, 'not marked as B\'s own line');
  await a.waitDelivered(text);
  const own = await a.waitForLine(text);
  assert.equal(await own.evaluate((li) => li.classList.contains('own')), true, "A's line is marked as A's own");
  await barrier(a, b);
  assert.equal(await b.countLines(text), 1, 'B shows the message exactly once');
  assert.equal(await a.countLines(text), 1, 'A shows the message exactly once');

  const action = `waves at everyone ${tag()}`;
  await a.say(`/me ${action}`);
  for (const p of [a, b]) {
    const actionLine = await p.waitForLine(action);
    assert.equal(await actionLine.evaluate((li) => li.classList.contains('action')), true, `${p.label} shows /me as an action line`);
    assert.match((await actionLine.textContent()) ?? '', new RegExp(`\\* ${aName} ${action}`), `${p.label}'s action line reads "* name action"`);
  }
  await a.waitDelivered(action);
  for (const p of [a, b]) assert.deepEqual(describeViolations(await watchCsp(p)), [], `${p.label}: no CSP or Trusted Types violation`);
});

test('a third person joins: the others get a "joined" line and see three members', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const aName = await a.myName();
  const bName = await b.myName();
  await a.waitForMembers([aName, bName]);
  await b.waitForMembers([aName, bName]);

  const c = await scene.person('C');
  const cName = await c.myName();
  assert.equal(new Set([aName, bName, cName].map((n) => n.toLowerCase())).size, 3, 'three distinct names');
  for (const p of [a, b]) {
    const joined = await p.waitForLine(`${cName} joined`);
    assert.equal(await joined.evaluate((li) => li.classList.contains('system')), true, `${p.label}'s "joined" line is a system line`);
  }
  for (const p of [a, b, c]) await p.waitForMembers([aName, bName, cName]);
  assert.equal(await c.countLines(`${cName} joined`), 0, 'C is not told that C joined');

  const text = `three of us ${tag()}`;
  await c.say(text);
  await a.waitForLine(text);
  await b.waitForLine(text);
  await c.waitDelivered(text);
});

test('/join creates a room, the picker joins it, rooms stay separate and unread counts show', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const aName = await a.myName();
  const bName = await b.myName();

  await a.say('/join #music');
  await a.tab('music').waitFor({ timeout: WAIT_MS });
  assert.deepEqual(await a.tabs(), ['lobby', 'music']);
  assert.equal(await a.activeTab(), 'music', '/join switches to the new room');
  await a.waitForMembers([aName]);

  // B uses the "+" button and the dialog instead of a command.
  await b.page.locator('wisp-room-tabs button[aria-label="Join or create a room"]').click();
  const dialog = b.page.locator('wisp-room-picker dialog');
  await dialog.waitFor({ state: 'visible', timeout: WAIT_MS });
  await b.page.locator('wisp-room-picker input#room').fill('music');
  await b.page.locator('wisp-room-picker dialog button[type=submit]', { hasText: 'Join' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
  await b.tab('music').waitFor({ timeout: WAIT_MS });
  assert.deepEqual(await b.tabs(), ['lobby', 'music']);
  assert.equal(await b.activeTab(), 'music');

  await a.waitForLine(`${bName} joined`);
  await a.waitForMembers([aName, bName]);
  await b.waitForMembers([aName, bName]);

  const fromA = `in music from A ${tag()}`;
  const fromB = `in music from B ${tag()}`;
  await a.say(fromA);
  await b.waitForLine(fromA);
  await b.say(fromB);
  await a.waitForLine(fromB);
  await a.waitDelivered(fromA);
  await b.waitDelivered(fromB);

  // #lobby did not get the #music lines, and the other way round.
  await b.selectRoom('lobby');
  assert.equal(await b.countLines(fromA), 0, '#music lines stay out of #lobby');
  const inLobby = `in lobby from B ${tag()}`;
  await b.say(inLobby);
  await b.waitDelivered(inLobby);
  assert.equal(await a.activeTab(), 'music');
  // A has received the #lobby line (it is in A's #lobby), and it is not shown in #music.
  await waitUntil("A to receive B's #lobby line", async () => (await a.state()).rooms.lobby?.lines.some((l) => l.text.includes(inLobby)));
  assert.equal(await a.countLines(inLobby), 0, '#lobby lines stay out of #music');

  // A message in the room B is not looking at: an unread badge on that tab.
  const unseen = `unseen by B ${tag()}`;
  await a.say(unseen);
  const badge = b.tab('music').locator('.badge');
  await badge.waitFor({ timeout: WAIT_MS });
  assert.equal((await badge.textContent())?.trim(), '1');
  assert.equal(await badge.getAttribute('aria-label'), '1 unread');
  assert.equal(await b.tab('lobby').locator('.badge').count(), 0, 'the active tab has no badge');
  await b.selectRoom('music');
  await b.waitForLine(unseen);
  await badge.waitFor({ state: 'detached', timeout: WAIT_MS });

  // A sees B's #lobby line in #lobby, and the #lobby tab counted it while A was away.
  const lobbyBadge = a.tab('lobby').locator('.badge');
  await lobbyBadge.waitFor({ timeout: WAIT_MS });
  assert.equal((await lobbyBadge.textContent())?.trim(), '1');
  await a.selectRoom('lobby');
  await a.waitForLine(inLobby);
  assert.equal(await a.countLines(fromA), 0);
});

test('/nick renames: others see the new name; a taken name (any case) is refused with a notice', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const aOld = await a.myName();
  const bName = await b.myName();
  await b.waitForMembers([aOld, bName]);

  const aNew = `Ada_${tag()}`;
  await a.say(`/nick ${aNew}`);
  await b.waitForMembers([aNew, bName]);
  const renamed = await b.waitForLine(`${aOld} is now known as ${aNew}`);
  assert.equal(await renamed.evaluate((li) => li.classList.contains('system')), true);
  await a.waitForLine(`You are now known as ${aNew}`);
  assert.equal(await a.myName(), aNew, "A's header shows the new name");
  await a.waitForMembers([aNew, bName]);

  // Messages after the rename carry the new name.
  const text = `renamed ${tag()}`;
  await a.say(text);
  const line = await b.waitForLine(text);
  assert.equal((await line.locator('.name').textContent())?.trim(), aNew);

  // B tries A's name in another case: refused, with a notice, nothing changes.
  await b.say(`/nick ${aNew.toUpperCase()}`);
  assert.match(await waitNoticeSeen(b, aNew.toUpperCase()), /taken/i, 'the notice says the name is taken');
  assert.equal(await b.textarea.inputValue(), `/nick ${aNew.toUpperCase()}`, 'the refused command stays in the composer, to be fixed');
  // Anything the server sent about B's rename attempt, to B or to A, came before this.
  await barrier(b, a);
  assert.equal(await b.myName(), bName, "B's name is unchanged");
  await a.waitForMembers([aNew, bName]);
  assert.equal(await a.countLines(`is now known as ${aNew.toUpperCase()}`), 0, 'no rename line for a refused rename');

  // The notice goes by itself.
  await b.notice.waitFor({ state: 'detached', timeout: WAIT_MS });
});

test('/leave with a farewell: the others see the farewell and the member goes', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const aName = await a.myName();
  const bName = await b.myName();
  await a.waitForMembers([aName, bName]);

  const farewell = `see you all ${tag()}`;
  await b.say(`/leave ${farewell}`);
  const line = await a.waitForLine(`${bName} left: “${farewell}”`);
  assert.equal(await line.evaluate((li) => li.classList.contains('system')), true);
  await a.waitForMembers([aName]);

  // B has left its only room: no tabs, and the app offers to join one.
  await b.page.locator('wisp-room-tabs [role=tab]').first().waitFor({ state: 'detached', timeout: WAIT_MS });
  assert.deepEqual(await b.tabs(), []);
  await b.page.locator('wisp-app .empty', { hasText: 'not in any room' }).waitFor({ timeout: WAIT_MS });
});

test('leaving a room and joining it again at once keeps the new tab, and the others still see the person', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const [aName, bName] = [await a.myName(), await b.myName()];
  await a.say('/join #echo');
  await b.say('/join #echo');
  await waitUntil('A to have the #echo tab', async () => (await a.tabs()).includes('echo'));
  await waitUntil('B to have the #echo tab', async () => (await b.tabs()).includes('echo'));
  // Both commands go out before the server's "left" for the first can come back.
  await b.selectRoom('echo');
  await b.page.evaluate(() => {
    const wisp = (window as unknown as { wisp: { submit(text: string): void } }).wisp;
    wisp.submit('/leave back soon');
    wisp.submit('/join #echo');
  });
  await b.selectRoom('echo');
  await b.waitForMembers([aName, bName]);
  await a.selectRoom('echo');
  await a.waitForMembers([aName, bName]);
  // Let the late "left" arrive and be handled, then check nothing was undone.
  await b.say('still here');
  await a.waitForLine('still here');
  assert.ok((await b.tabs()).includes('echo'), 'B keeps the #echo tab it opened again');
});
