// A reload is the same person: same identity key, same chosen name, same rooms and
// active room, and the server treats it as that person coming back (no duplicate).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, tag, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('a reload keeps identity, chosen name, rooms and active room; others see the same person', { timeout: 180_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const bName = await b.myName();

  const before = await a.state();
  const fingerprint = before.me.fingerprint;
  assert.ok(fingerprint && fingerprint.length >= 16, `A has an identity fingerprint (${fingerprint})`);

  const chosen = `Ada_${tag()}`;
  await a.say(`/nick ${chosen}`);
  await waitForName(a, chosen);
  await a.say('/join #garden');
  await a.tab('garden').waitFor({ timeout: WAIT_MS });
  await a.waitForMembers([chosen]);
  assert.equal(await a.activeTab(), 'garden');
  await b.waitForMembers([chosen, bName]);

  await a.reload();
  await a.waitOnline();

  const afterReload = await a.state();
  assert.equal(afterReload.me.fingerprint, fingerprint, 'same identity key after the reload');
  assert.equal(await a.myName(), chosen, 'the chosen name is back');
  assert.deepEqual(await a.tabs(), ['lobby', 'garden'], 'the joined rooms are back as tabs');
  assert.equal(await a.activeTab(), 'garden', 'the active room is back');
  assert.deepEqual(afterReload.order, ['lobby', 'garden']);
  assert.equal(afterReload.active, 'garden');
  await a.waitForMembers([chosen]);
  await a.selectRoom('lobby');
  await a.waitForMembers([chosen, bName]);

  // It still works as that person. A's line, sent on the new connection after A rejoined
  // #lobby, is also the barrier: every presence event the server sent B about A's reload
  // came before it.
  const text = `back again ${tag()}`;
  await a.say(text);
  const line = await b.waitForLine(text);
  assert.equal((await line.locator('.name').textContent())?.trim(), chosen);
  await a.waitDelivered(text);

  // The server sees the same person again: one entry, with the chosen name.
  await b.waitForMembers([chosen, bName]);
  const bState = await b.state();
  const lobbyMembers = Object.values(bState.rooms.lobby!.members).map((m) => m.name);
  assert.deepEqual(lobbyMembers.sort(), [chosen, bName].sort(), "B's state has A exactly once");

  // A second reload, with the chosen name still free, gives the same result.
  await a.reload();
  await a.waitOnline();
  assert.equal(await a.myName(), chosen);
  assert.equal((await a.state()).me.fingerprint, fingerprint);
  await b.waitForMembers([chosen, bName]);
});

async function waitForName(person: { myName(): Promise<string> }, name: string): Promise<void> {
  let seen = '';
  try {
    await waitUntil(`the header to show "${name}"`, async () => (seen = await person.myName()) === name);
  } catch {
    assert.fail(`the header shows "${seen}", expected "${name}"`);
  }
}
