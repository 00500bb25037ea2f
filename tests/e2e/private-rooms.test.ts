// Private rooms in real browsers against the real server: passphrase rooms whose
// messages the server only ever sees sealed (checked on every frame a recording proxy
// saw), wrong passphrases refused, a passphrase change that shuts the old one out, a
// reload that keeps the room, and joining by invite link in a fresh browser context.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, newPerson, tag, waitUntil } from './support/browser.ts';
import { dialogError, enterPassphrase, joinByPicker, passphraseDialog, readers } from './support/private-rooms.ts';
import { describeViolations, watchCsp } from './support/csp.ts';
import { Scene } from './support/scene.ts';
import { roomAction } from './support/room-menu.ts';

const TEST_TIMEOUT = 240_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('two people chat in a private room: the server relays only ciphertext, the room is unlisted, a wrong passphrase is refused', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.behindProxy(t, browser);
  const { proxy } = scene;
  const [a, b, c] = [await scene.person('A', { init: watchCsp }), await scene.person('B', { init: watchCsp }), await scene.person('C')];
  const [aName, bName] = [await a.myName(), await b.myName()];
  const room = `hideout-${tag().toLowerCase()}`.slice(0, 32).replace(/[^a-z0-9_-]/g, '');
  const passphrase = `river stone ${tag()}`;

  assert.match(await readers(a), /server operator can read/, 'a public room says the operator can read it');
  const warnings: string[] = [];
  a.page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
  await joinByPicker(a, room, passphrase);
  await a.waitForMembers([aName]);
  await waitUntil('A to see the room as private', async () => /end-to-end encrypted/.test(await readers(a)));

  // Unlisted: the room list B gets does not name it.
  await b.page.evaluate(() => (window as unknown as { wisp: { requestDirectory(): void } }).wisp.requestDirectory());
  const directory = await waitUntil('B to get the room list', async () => (await b.state<{ directory?: { name: string }[] }>()).directory);
  assert.ok(directory.some((r) => r.name === 'lobby'), 'the room list has the lobby');
  assert.ok(!directory.some((r) => r.name === room), 'the private room is not listed');

  await joinByPicker(b, room, passphrase);
  await b.waitForMembers([aName, bName]);
  await a.waitForMembers([aName, bName]);
  assert.match(await readers(b), /end-to-end encrypted/);
  assert.deepEqual(warnings.filter((w) => /without a worker/.test(w)), [], 'the key was derived in the worker (its URL passed Trusted Types)');
  for (const p of [a, b]) assert.deepEqual(describeViolations(await watchCsp(p)), [], `${p.label}: no Content-Security-Policy or Trusted Types violation`);
  assert.deepEqual(a.problems, [], 'no page errors');

  const fromA = `the treasure is under the oak ${tag()}`;
  const fromB = `and the map is in the attic ${tag()}`;
  await a.say(fromA);
  await b.waitForLine(fromA);
  await a.waitDelivered(fromA);
  await b.say(`/me ${fromB}`);
  const action = await a.waitForLine(fromB);
  assert.equal(await action.evaluate((li) => li.classList.contains('action')), true, '/me stays an action inside the seal');

  // C has the name but the wrong passphrase: refused with a sentence, and never in the room.
  await joinByPicker(c, room, 'not the passphrase');
  assert.match(await dialogError(c), new RegExp(`does not open #${room}`));
  await c.page.locator('wisp-passphrase-dialog button', { hasText: 'Cancel' }).click();
  await waitUntil("C's tab for the room to go", async () => (await c.tabs()).includes(room) === false);
  // Without any passphrase, C is asked for it.
  await c.say(`/join #${room}`);
  await passphraseDialog(c).waitFor({ state: 'visible' });
  assert.match(((await c.page.locator('wisp-passphrase-dialog p').first().textContent()) ?? ''), /is private/);
  await a.waitForMembers([aName, bName]);

  // What the server relayed: every frame, both ways, on every connection.
  const leaked = proxy.frames.filter((f) => f.text.includes(fromA) || f.text.includes(fromB) || f.text.includes(passphrase));
  assert.deepEqual(leaked.map((f) => f.text.slice(0, 120)), [], 'no frame the server saw contains the plaintext or the passphrase');
  const says = proxy.framesOfType('say', 'up').map((f) => JSON.parse(f.text) as { room: string; text?: string; sealed?: string }).filter((f) => f.room === room);
  assert.equal(says.length, 2, 'both messages went up');
  assert.ok(says.every((f) => f.sealed && f.text === undefined), 'each as ciphertext only');
  const relayed = proxy.framesOfType('message', 'down').map((f) => JSON.parse(f.text) as { room: string; sealed?: string; text?: string }).filter((f) => f.room === room);
  assert.ok(relayed.length >= 2 && relayed.every((f) => f.sealed && f.text === undefined), 'the server relayed ciphertext only');
  console.log(`# private room: ${proxy.frames.length} frames recorded, ${says.length} sealed says, ${relayed.length} sealed messages relayed, 0 with plaintext`);
});

test('a passphrase change shuts the old one out; a reload keeps the room; an invite link joins from a fresh browser', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const [aName, bName] = [await a.myName(), await b.myName()];
  const room = `family-${Date.now().toString(36)}`;
  const first = `first passphrase ${tag()}`;
  const second = `second passphrase ${tag()}`;

  await joinByPicker(a, room, first);
  await a.waitForMembers([aName]);
  await joinByPicker(b, room, first);
  await b.waitForMembers([aName, bName]);

  // A reload keeps the room without asking again.
  await b.reload();
  await b.waitOnline();
  await b.tab(room).waitFor();
  await b.selectRoom(room);
  await b.waitForMembers([aName, bName]);
  assert.equal(await passphraseDialog(b).isVisible(), false, 'no passphrase asked after the reload');
  const afterReload = `still here after a reload ${tag()}`;
  await b.say(afterReload);
  await a.waitForLine(afterReload);

  // The invite link carries the room and the passphrase in its fragment.
  await roomAction(a, 'Invite…');
  const link = await waitUntil('the invite link', async () => (await a.page.locator('wisp-invite-dialog .link').getAttribute('data-invite-link')) ?? undefined);
  assert.ok(link.startsWith(`${scene.url}/#`), `the link is for this server: ${link}`);
  assert.equal(new URL(link).searchParams.size, 0, 'nothing in the query string (it would reach the server)');
  assert.equal(new URLSearchParams(new URL(link).hash.slice(1)).get('passphrase'), first, 'the passphrase is in the fragment');
  const qrDark = await waitUntil('the QR code to be drawn', () =>
    a.page.locator('wisp-invite-dialog canvas').evaluate((canvas: HTMLCanvasElement) => {
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let dark = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] < 64) dark++;
      return canvas.width >= 100 && dark > 1000 ? dark : undefined;
    }),
  );
  assert.ok(qrDark > 1000, 'the invite shows a QR code');
  await a.page.locator('wisp-invite-dialog button', { hasText: 'Done' }).click();
  const d = await newPerson(browser, link, { label: 'D' });
  scene.people.push(d);
  const dName = await d.myName();
  await d.tab(room).waitFor();
  await d.selectRoom(room);
  await d.waitForMembers([aName, bName, dName]);
  assert.equal(await d.page.evaluate(() => location.hash), '', 'the fragment left the address bar');
  const fromD = `hello from the invite ${tag()}`;
  await d.say(fromD);
  await a.waitForLine(fromD);

  // The owner changes the passphrase: the others are out until they enter the new one.
  await roomAction(a, 'Change passphrase…');
  await passphraseDialog(a).waitFor({ state: 'visible' });
  await a.page.locator('wisp-passphrase-dialog input#passphrase').fill(second);
  await a.page.locator('wisp-passphrase-dialog input#again').fill(second);
  await a.page.locator('wisp-passphrase-dialog button[type=submit]').click();
  await a.waitForLine('You changed the passphrase');
  await a.waitForMembers([aName]);
  for (const p of [b, d]) {
    await passphraseDialog(p).waitFor({ state: 'visible' });
    assert.match(((await p.page.locator('wisp-passphrase-dialog p').first().textContent()) ?? ''), new RegExp(`${aName} changed the passphrase`));
  }
  // The old passphrase admits nobody now.
  await enterPassphrase(b, first);
  assert.match(await dialogError(b), /does not open/);
  const e = await scene.person('E');
  await joinByPicker(e, room, first);
  assert.match(await dialogError(e), /does not open/);
  // The new one does.
  await enterPassphrase(b, second);
  await passphraseDialog(b).waitFor({ state: 'hidden' });
  await b.waitForMembers([aName, bName]);
  await a.waitForMembers([aName, bName]);
  const afterChange = `under the new key ${tag()}`;
  await a.say(afterChange);
  await b.waitForLine(afterChange);

  // "Forget this room" leaves it and deletes its keys: coming back asks for the passphrase.
  await roomAction(b, 'Forget this room');
  await waitUntil("B's tab for the room to go", async () => (await b.tabs()).includes(room) === false);
  await a.waitForMembers([aName]);
  await b.reload();
  await b.waitOnline();
  assert.equal((await b.tabs()).includes(room), false, 'the forgotten room does not come back after a reload');
  await b.say(`/join #${room}`);
  await passphraseDialog(b).waitFor({ state: 'visible' });
  assert.match(((await b.page.locator('wisp-passphrase-dialog p').first().textContent()) ?? ''), /is private/, 'the keys are gone: the passphrase is asked again');
});

test('a hostile server: a sealed message it altered and one it replayed are refused and shown as such', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.behindProxy(t, browser);
  const { proxy } = scene;
  const [a, b] = [await scene.person('A'), await scene.person('B')];
  const [aName, bName] = [await a.myName(), await b.myName()];
  const room = `vault-${Date.now().toString(36)}`;
  const passphrase = `deep cellar ${tag()}`;
  await joinByPicker(a, room, passphrase);
  await a.waitForMembers([aName]);
  await joinByPicker(b, room, passphrase);
  await b.waitForMembers([aName, bName]);

  const sealedMessagesTo = (name: string) =>
    proxy.framesOfType('message', 'down').map((f) => JSON.parse(f.text) as { room: string; name: string; sealed?: string }).filter((m) => m.room === room && m.name === name && m.sealed);
  const first = `the first message ${tag()}`;
  await a.say(first);
  await b.waitForLine(first);
  const [original] = sealedMessagesTo(aName);
  assert.ok(original?.sealed, 'the first message went down sealed');

  // The "server" flips one byte of the next sealed message, and swaps the one after for a replay of the first.
  let next: 'tamper' | 'replay' | 'done' = 'tamper';
  proxy.hooks.push(({ json, direction }) => {
    const frame = json as { type?: string; room?: string; sealed?: string } | undefined;
    if (direction !== 'down' || frame?.type !== 'message' || frame.room !== room || !frame.sealed || frame.sealed === original.sealed) return undefined;
    if (next === 'tamper') {
      next = 'replay';
      const bytes = Buffer.from(frame.sealed, 'base64url');
      bytes[bytes.length - 20] ^= 0x01;
      return JSON.stringify({ ...frame, sealed: bytes.toString('base64url') });
    }
    if (next === 'replay') {
      next = 'done';
      return JSON.stringify({ ...frame, sealed: original.sealed });
    }
    return undefined;
  });
  const altered = `this one gets altered ${tag()}`;
  await a.say(altered);
  await b.waitForLine(`A message from ${aName} was rejected: it was altered on the way`);
  const replaced = `this one is swapped for a replay ${tag()}`;
  await a.say(replaced);
  await b.waitForLine(`A message from ${aName} was rejected: it repeats an earlier message`);
  const last = `an honest one after that ${tag()}`;
  await a.say(last);
  await b.waitForLine(last);
  assert.equal(await b.countLines(first), 1, 'the replayed message shows once only');
  assert.equal(await b.countLines(altered), 0, 'the altered message never shows');
  assert.equal(await b.countLines(replaced), 0, 'nor does the one the replay replaced');
  assert.equal(next, 'done', 'the hostile hook acted twice');

  // B reloads (the first message comes back once, from B's own history): a replay of it is
  // still refused, because the ids B has shown are kept on the device for the replay window.
  await waitUntil('B to keep the ids it has shown', () =>
    b.page.evaluate(
      () =>
        new Promise<boolean>((resolve) => {
          const open = indexedDB.open('wisp');
          open.onsuccess = () => {
            const get = open.result.transaction('kv').objectStore('kv').get('room-seen');
            get.onsuccess = () => resolve(Object.values((get.result ?? {}) as Record<string, unknown[]>).some((ids) => ids.length >= 2));
            get.onerror = () => resolve(false);
          };
          open.onerror = () => resolve(false);
        }),
    ),
  );
  await b.reload();
  await b.waitOnline();
  await b.selectRoom(room);
  await b.waitForMembers([aName, bName]);
  let replayAgain = true;
  proxy.hooks.push(({ json, direction }) => {
    const frame = json as { type?: string; room?: string; sealed?: string } | undefined;
    if (!replayAgain || direction !== 'down' || frame?.type !== 'message' || frame.room !== room || !frame.sealed) return undefined;
    replayAgain = false;
    return JSON.stringify({ ...frame, sealed: original.sealed });
  });
  const afterReload = `swapped for a replay after the reload ${tag()}`;
  await a.say(afterReload);
  await b.waitForLine(`A message from ${aName} was rejected: it repeats an earlier message`);
  assert.equal(await b.countLines(first), 1, 'after the reload the first message shows once: kept on the device, its replay refused');
  assert.equal(replayAgain, false, 'the replay was attempted');
});

test('a room key saved by an older Wisp (not tied to this server) asks for the passphrase once, and never joins with the old verifier', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.behindProxy(t, browser);
  const { proxy } = scene;
  const [a, b] = [await scene.person('A'), await scene.person('B')];
  const [aName, bName] = [await a.myName(), await b.myName()];
  const room = `attic-${Date.now().toString(36)}`;
  const passphrase = `old key ${tag()}`;
  await joinByPicker(a, room, passphrase);
  await a.waitForMembers([aName]);
  await joinByPicker(b, room, passphrase);
  await b.waitForMembers([aName, bName]);

  // What an older Wisp saved: the same entry without the server's id.
  const saved = await b.page.evaluate(
    (room) =>
      new Promise<string>((resolve, reject) => {
        const open = indexedDB.open('wisp');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const store = open.result.transaction('kv', 'readwrite').objectStore('kv');
          const get = store.get('room-keys');
          get.onsuccess = () => {
            const keys = get.result as Record<string, { verifier: string; server?: string }>;
            const server = keys[room]?.server ?? 'none';
            delete keys[room]!.server;
            const put = store.put(keys, 'room-keys');
            put.onsuccess = () => resolve(server);
            put.onerror = () => reject(put.error);
          };
        };
      }),
    room,
  );
  assert.match(saved, /^[A-Za-z0-9_-]{16,64}$/, 'the saved key names the server it was made for');
  const joinsBefore = proxy.framesOfType('join', 'up').length;
  await b.reload();
  await b.waitOnline();
  // The room was open: the dialog asks at once.
  await passphraseDialog(b).waitFor({ state: 'visible' });
  assert.match((await b.page.locator('wisp-passphrase-dialog p').first().textContent()) ?? '', /once more/, 'the dialog says why it asks again');
  assert.match(await b.page.locator('wisp-room-header').evaluate((el) => el.shadowRoot?.textContent ?? ''), /needs the passphrase/);
  const joinsWhileAsking = proxy.framesOfType('join', 'up').slice(joinsBefore).map((f) => JSON.parse(f.text) as { room: string; verifier?: string });
  assert.deepEqual(joinsWhileAsking.filter((j) => j.room === room), [], 'no join with the stale verifier');

  await enterPassphrase(b, passphrase);
  await passphraseDialog(b).waitFor({ state: 'hidden' });
  await b.waitForMembers([aName, bName]);
  const again = `back in after entering it once more ${tag()}`;
  await b.say(again);
  await a.waitForLine(again);
  // Saved for this server now: the next reload asks nothing.
  await b.reload();
  await b.waitOnline();
  await b.selectRoom(room);
  await b.waitForMembers([aName, bName]);
  assert.equal(await passphraseDialog(b).isVisible(), false, 'asked once only');
});
