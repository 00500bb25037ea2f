// A hostile server against a private room, in real browsers: a rewriting proxy between
// them and the real server withholds a sealed message from one member, re-attributes one
// to another member, injects a plaintext line, and answers a rejoin after a dropped
// connection as if the room were public. Each is refused and said; no plaintext of the
// room ever reaches the server; what was typed during the downgrade goes out sealed once
// the server answers honestly again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, tag, waitUntil, type Person } from './support/browser.ts';
import { joinByPicker } from './support/private-rooms.ts';
import { frameType } from './support/proxy.ts';
import { Scene } from './support/scene.ts';

const TEST_TIMEOUT = 240_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

interface MessageFrame {
  type: 'message';
  room: string;
  id: string;
  from: string;
  name: string;
  ts: number;
  sealed?: string;
  text?: string;
  key?: string;
}

async function memberId(p: Person, room: string, name: string): Promise<string> {
  const state = await p.state<{ rooms: Record<string, { members: Record<string, { id: string; name: string }> }> }>();
  const member = Object.values(state.rooms[room]?.members ?? {}).find((m) => m.name === name);
  assert.ok(member, `${p.label} sees ${name} in #${room}`);
  return member.id;
}

test('a hostile server cannot withhold, re-attribute or inject a private room message, nor downgrade the room after a reconnect', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.behindProxy(t, browser);
  const { proxy } = scene;
  const [a, b, c] = [await scene.person('A'), await scene.person('B'), await scene.person('C')];
  const [aName, bName, cName] = [await a.myName(), await b.myName(), await c.myName()];
  const room = `cellar-${Date.now().toString(36)}`;
  const passphrase = `quiet lantern ${tag()}`;
  for (const p of [a, b, c]) await joinByPicker(p, room, passphrase);
  for (const p of [a, b, c]) await p.waitForMembers([aName, bName, cName]);
  const welcomeOf = (name: string) => proxy.framesOfType('welcome', 'down').find((f) => (JSON.parse(f.text) as { name: string }).name === name);
  const bKey = welcomeOf(bName)?.key;
  assert.ok(bKey, "B's identity key, from its hello");
  const toB = (conn: { key?: string }, direction: string, json: unknown): json is MessageFrame =>
    direction === 'down' && conn.key === bKey && (json as MessageFrame | undefined)?.type === 'message' && (json as MessageFrame).room === room;
  const notDelivered = `A message from ${aName} was not delivered to you.`;

  // 1. Withheld: the server drops A's next message to B only. B learns of it from A's next one
  // (a stream's first message B sees sets where B starts counting).
  const first = `hello from A ${tag()}`;
  await a.say(first);
  await b.waitForLine(first);
  let withheld = 0;
  proxy.hooks.push(({ json, conn, direction }) => {
    if (withheld || !toB(conn, direction, json) || json.name !== aName || !json.sealed) return undefined;
    withheld++;
    return null;
  });
  const dropped = `this one never reaches B ${tag()}`;
  await a.say(dropped);
  await c.waitForLine(dropped);
  const afterDrop = `and this one does ${tag()}`;
  await a.say(afterDrop);
  await b.waitForLine(afterDrop);
  await c.waitForLine(afterDrop);
  assert.equal(withheld, 1, 'the hostile hook withheld one message');
  assert.equal(await b.countLines(notDelivered), 1, 'B is told a message from A did not reach it');
  assert.equal(await b.countLines(dropped), 0);
  // C got everything: lines show in order, so a gap line would stand before the later message.
  assert.equal(await c.countLines('was not delivered to you'), 0, 'C, who got both, is told of no gap');
  proxy.clearHooks();

  // 2. Re-attributed: A's genuine sealed message is delivered to B as C's.
  const cId = await memberId(b, room, cName);
  let reattributed = 0;
  proxy.hooks.push(({ json, conn, direction }) => {
    if (reattributed || !toB(conn, direction, json) || json.name !== aName || !json.sealed) return undefined;
    reattributed++;
    return JSON.stringify({ ...json, from: cId, name: cName });
  });
  const fromA = `A wrote this, not C ${tag()}`;
  await a.say(fromA);
  await b.waitForLine(`A message shown as from ${cName} was refused: the server attributed it to someone who did not seal it.`);
  const honest = `an honest line after that ${tag()}`;
  await a.say(honest);
  const honestLine = await b.waitForLine(honest);
  assert.equal(reattributed, 1, 'the hostile hook re-attributed one message');
  assert.equal(await b.countLines(fromA), 0, 'the re-attributed message is not shown under anyone');
  assert.match((await honestLine.textContent()) ?? '', new RegExp(aName), 'the honest line shows under its sender');
  proxy.clearHooks();

  // 3. Injected: the server turns A's next message to B into a plaintext line of its own.
  const contradiction = `The server treated #${room} as public`;
  const injectedText = `an injected plaintext line ${tag()}`;
  let injected = 0;
  proxy.hooks.push(({ json, conn, direction }) => {
    if (injected || !toB(conn, direction, json) || json.name !== aName || !json.sealed) return undefined;
    injected++;
    const { sealed: _sealed, key: _key, ...plain } = json;
    return JSON.stringify({ ...plain, text: injectedText });
  });
  const carrier = `the message the server replaces ${tag()}`;
  await a.say(carrier);
  await c.waitForLine(carrier);
  await b.waitForLine(contradiction);
  const afterInjection = `after the injection ${tag()}`;
  await a.say(afterInjection);
  await b.waitForLine(afterInjection);
  assert.equal(injected, 1, 'the hostile hook injected one plaintext line');
  assert.equal(await b.countLines(injectedText), 0, 'the plaintext line is not shown in the private room');
  assert.equal(await b.countLines(contradiction), 1, 'said once');
  proxy.clearHooks();

  // 4. Downgrade: B's connection drops; the server answers B's rejoin as if the room were public.
  let downgraded = 0;
  proxy.hooks.push(({ json, conn, direction }) => {
    const frame = json as { type?: string; room?: string; private?: boolean } | undefined;
    if (direction !== 'down' || conn.key !== bKey || frame?.type !== 'joined' || frame.room !== room) return undefined;
    downgraded++;
    const { private: _private, ...publicJoined } = frame;
    return JSON.stringify(publicJoined);
  });
  const connectionsBefore = proxy.framesOfType('welcome', 'down').filter((f) => f.key === bKey).length;
  assert.equal(proxy.disconnect(bKey), 1, "B's connection was cut");
  await waitUntil('B to rejoin and get the downgraded answer', async () => downgraded === 1);
  await waitUntil('B to say the server treated the room as public, again after the reconnect', async () => (await b.countLines(contradiction)) === 2);
  const welcomes = proxy.framesOfType('welcome', 'down').filter((f) => f.key === bKey).length;
  assert.equal(welcomes, connectionsBefore + 1, 'B reconnected once');
  const typedDuringDowngrade = `typed while the server calls the room public ${tag()}`;
  await b.say(typedDuringDowngrade);
  await b.page.locator('wisp-message-list li.own .pending').first().waitFor();
  // A message from A reaches C but not B (B's room is not joined as far as its app is concerned)...
  const barrier = `a barrier from A ${tag()}`;
  await a.say(barrier);
  await c.waitForLine(barrier);
  // ...and B sent nothing to the room since it reconnected: not as text, not sealed.
  const bConnections = new Set(proxy.frames.filter((f) => f.key === bKey).map((f) => f.conn));
  const latest = Math.max(...bConnections);
  const saysSince = proxy.frames.filter((f) => f.conn === latest && f.direction === 'up' && frameType(f.text) === 'say');
  assert.deepEqual(saysSince.map((f) => f.text.slice(0, 100)), [], 'B sent no message to a room the server called public');
  assert.equal(await b.countLines(barrier), 0, 'nothing unsealed or unjoined is shown');

  // The server answers honestly again: B's queued message goes out, sealed, once.
  proxy.clearHooks();
  assert.equal(proxy.disconnect(bKey), 1);
  await a.waitForLine(typedDuringDowngrade);
  await c.waitForLine(typedDuringDowngrade);
  await b.waitDelivered(typedDuringDowngrade);
  const last = `the last word ${tag()}`;
  await b.say(last);
  await a.waitForLine(last);
  assert.equal(await a.countLines(typedDuringDowngrade), 1, 'the queued message arrived once');

  // Nothing of the room's plaintext ever passed the server, in any frame, either way.
  const secrets = [first, dropped, afterDrop, fromA, honest, carrier, afterInjection, typedDuringDowngrade, barrier, last, passphrase];
  const leaked = proxy.allTexts().filter((text) => secrets.some((s) => text.includes(s)));
  assert.deepEqual(leaked.map((text) => text.slice(0, 120)), [], 'no frame contains a message of the private room or its passphrase');
  for (const p of [a, b, c]) assert.deepEqual(p.problems, [], `${p.label}: no page errors`);
});
