// How the app words moderation and invites, end to end against the real server and build:
// a kick's reason gets its full stop, a room ban says until when and /bans says it the same
// way, /unban says what it lifted, a server-wide ban offers no reconnect and no room says
// "joining…", an invite link pasted into an open tab opens the room and leaves the address
// bar, and a whisper tab's side panel names the room whose people it shows.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, tag, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { joinByPicker } from './support/private-rooms.ts';
import { openByClick } from './support/whisper.ts';
import { ADMIN_TOKEN, joinRoom, rename, waitConnection, waitMembersIn, waitNotice } from './support/moderation.ts';
import { roomAction } from './support/room-menu.ts';

const TEST_TIMEOUT = 240_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('a kick reason ends with a full stop; a room ban says until when, as /bans does; /unban says the ban was lifted', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const olga = await scene.person('Olga');
  const bea = await scene.person('Bea');
  await rename(olga, 'Olga');
  await rename(bea, 'Bea');
  await joinRoom(olga, 'games');
  await joinRoom(bea, 'games');
  await waitMembersIn(olga, 'games', ['Olga', 'Bea']);

  await olga.say('/kick Bea please be nice');
  await waitNotice(bea, 'You were removed from #games by Olga: please be nice. You may join again.');
  await waitUntil("Bea's #games tab to go", async () => !(await bea.tabs()).includes('games'));

  await joinRoom(bea, 'games');
  await waitMembersIn(olga, 'games', ['Olga', 'Bea']);
  await olga.say('/ban Bea 2h cheating');
  const notice = await waitNotice(bea, 'You were banned from #games by Olga until ');
  const until = /until (.+): cheating\./.exec(notice)?.[1];
  assert.ok(until && /\d{4}/.test(until) && /\d\d:\d\d/.test(until), `the first ban notice says until when: "${notice}"`);

  // The owner's ban list says the same time in the same words.
  await olga.say('/bans');
  const list = (await (await olga.waitForLine('Bans in #games')).textContent()) ?? '';
  assert.ok(list.includes(`until ${until}: cheating`), `the list says "until ${until}": "${list}"`);
  const id = /(\S+): Bea,/.exec(list)?.[1];
  assert.ok(id, `the list names the ban's id: "${list}"`);

  await olga.say(`/unban ${id}`);
  await olga.waitForLine('Ban on Bea in #games lifted.');
  await joinRoom(bea, 'games');
  await waitMembersIn(olga, 'games', ['Olga', 'Bea']);
});

test('a server-wide ban says until when, offers no reconnect, and no room claims to be joining', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, { args: ['--admin-token', ADMIN_TOKEN] });
  const ada = await scene.person('Ada');
  const vic = await scene.person('Vic');
  await rename(ada, 'Ada');
  await rename(vic, 'Vic');
  await ada.say(`/admin ${ADMIN_TOKEN}`);
  await waitNotice(ada, 'You are now the server admin.');

  await ada.say('/ban --server Vic 1d trolling');
  const first = await waitConnection(vic, 'stopped');
  assert.match(first, /^You were banned from this server by Ada until .*\d\d:\d\d.*: trolling\.$/);
  const checkNoWayBack = async (when: string): Promise<void> => {
    assert.equal(await vic.connectionStatus.locator('button').count(), 0, `${when}: no "Connect here" that would only repeat the ban`);
    // The header follows the connection's state on its next render: wait for it to say why.
    const header = await waitUntil(`${when}: the room header to say why`, async () => {
      const status = vic.page.locator('wisp-room-header [role=status]').first();
      const text = (await status.count()) ? ((await status.textContent()) ?? '') : '';
      return /banned from this server/.test(text) ? text : undefined;
    });
    assert.doesNotMatch(header, /joining/, `${when}: the room does not claim to be joining`);
    assert.match(header, /banned from this server/, `${when}: the room says why`);
  };
  await checkNoWayBack('after the ban');

  await vic.reload();
  const again = await waitConnection(vic, 'stopped');
  assert.match(again, /^You are banned from this server until .*\d\d:\d\d.*: trolling\.$/);
  assert.equal(again.slice(again.indexOf('until')), first.slice(first.indexOf('until')), 'the same time in the same format as the first notice');
  await checkNoWayBack('after a reload');
});

test('an invite link pasted into an open tab opens the room and leaves the address bar', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const c = await scene.person('C');
  const [aName, cName] = [await a.myName(), await c.myName()];
  const room = `den-${Date.now().toString(36)}`;
  const passphrase = `paper lantern ${tag()}`;
  await joinByPicker(a, room, passphrase);
  await a.waitForMembers([aName]);
  await roomAction(a, 'Invite…');
  const link = await waitUntil('the invite link', async () => (await a.page.locator('wisp-invite-dialog .link').getAttribute('data-invite-link')) ?? undefined);
  await a.page.locator('wisp-invite-dialog button', { hasText: 'Done' }).click();

  // C's tab is open already: the link goes into its address bar.
  await c.page.evaluate((hash) => {
    location.hash = hash;
  }, new URL(link).hash);
  await c.tab(room).waitFor({ timeout: WAIT_MS });
  await c.selectRoom(room);
  await c.waitForMembers([aName, cName]);
  const address = await c.page.evaluate(() => location.href);
  assert.ok(!address.includes('#') && !address.includes(encodeURIComponent(passphrase).slice(0, 5)), `the fragment left the address bar: ${address}`);
});

test("a whisper tab's side panel names the room whose people it shows", { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A');
  const b = await scene.person('B');
  const c = await scene.person('C');
  const names = [await a.myName(), await b.myName(), await c.myName()];
  await c.waitForMembers(names);
  assert.equal(((await c.page.locator('wisp-member-list h2').textContent()) ?? '').trim(), 'People here (3)', "in the room's own tab: here");
  await openByClick(c, names[0]!);
  const heading = await waitUntil('the side panel heading in the whisper tab', async () => {
    const text = ((await c.page.locator('wisp-member-list h2').textContent()) ?? '').trim();
    return text.startsWith('People in') ? text : undefined;
  });
  assert.equal(heading, 'People in #lobby (3)');
});
