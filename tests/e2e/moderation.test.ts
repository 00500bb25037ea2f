// Moderation end to end, people in separate browser contexts against the real server:
// an owner kicks (by command and from the member menu) and the kicked person's whisper
// link with a third person closes on both sides; a room ban refuses a reload's rejoin;
// a server-wide ban by the admin holds across reloads and a server restart; /purge
// empties every member's view; the member menu offers only what the viewer may do.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { RECONNECT_WAIT_MS, WAIT_MS, launchBrowser, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { noticesSeen } from './support/notices.ts';
import { failure, keyOf, marker, openByClick, selectWhisper, waitSecure, waitWhisperDelivered, whisperInfo } from './support/whisper.ts';
import {
  ADMIN_TOKEN,
  appState,
  closeMenu,
  expectMenu,
  joinRoom,
  leaveRoom,
  linkAfterRemoval,
  menu,
  rename,
  roleLabel,
  waitConnection,
  waitMembersIn,
  waitNotice,
  watchRemoval,
} from './support/moderation.ts';

const TEST_TIMEOUT = 240_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('an owner kicks a member: the sentence, the tab gone, whisper links closed on both sides; the menu offers only what is allowed', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const olga = await scene.person('Olga');
  const kim = await scene.person('Kim');
  const tom = await scene.person('Tom');
  await rename(olga, 'Olga');
  await rename(kim, 'Kim');
  await rename(tom, 'Tom');

  // Olga creates #games (and so owns it); Kim and Tom join. Tom leaves the lobby, so
  // #games is the only room Kim and Tom share.
  await joinRoom(olga, 'games');
  await joinRoom(kim, 'games');
  await joinRoom(tom, 'games');
  await leaveRoom(tom, 'lobby');
  await waitMembersIn(olga, 'games', ['Olga', 'Kim', 'Tom']);
  await waitMembersIn(kim, 'games', ['Olga', 'Kim', 'Tom']);
  await kim.selectRoom('games');
  assert.equal(await roleLabel(kim, 'Olga'), 'owner', 'the member list shows the owner');

  // The menu offers the viewer's allowed actions and nothing else.
  const onOwner = await expectMenu(kim, 'Olga', ['whisper']);
  assert.deepEqual(onOwner, [['whisper', 'Whisper with Olga (not verified yet)']]);
  await closeMenu(kim);
  await expectMenu(kim, 'Tom', ['whisper']);
  await closeMenu(kim);
  await olga.selectRoom('games');
  await expectMenu(olga, 'Kim', ['whisper', 'op', 'kick', 'ban']);
  await closeMenu(olga);

  // Kim whispers Tom (his side opens the conversation with the first whisper); the link is up on both sides.
  const tomKey = await openByClick(kim, 'Tom');
  const kimKey = await keyOf(tom, 'Kim');
  await waitSecure(kim);
  const hello = marker('hello Tom');
  await kim.say(hello);
  await waitWhisperDelivered(kim, hello);
  await waitUntil("Tom's side of the link to be ready", async () => (await whisperInfo(tom, kimKey))?.link === 'ready');

  // Olga kicks Kim with a reason, typed in #games.
  await watchRemoval(kim, 'games', { self: true }, tomKey);
  await watchRemoval(tom, 'games', { name: 'Kim' }, kimKey);
  await olga.say('/kick Kim too loud');
  const sentence = await waitNotice(kim, 'You were removed from #games by Olga: too loud.');
  assert.match(sentence, /You may join again/);
  assert.equal((await noticesSeen(kim)).filter((s) => s.startsWith('You were removed from #games')).length, 1, 'one notice for the kick');
  await waitUntil("Kim's #games tab to go", async () => !(await kim.tabs()).includes('games'));
  assert.equal((await appState(kim)).rooms.games, undefined);
  await waitMembersIn(olga, 'games', ['Olga', 'Tom']);

  // The whisper link between Kim and Tom (who shared only #games) is closed on both sides.
  await waitUntil("Kim's link to Tom to close", async () => (await whisperInfo(kim, tomKey))?.link === 'closed');
  await waitUntil("Tom's link to Kim to close", async () => (await whisperInfo(tom, kimKey))?.link === 'closed');
  // At once: already closed right after each side learnt of the kick, not after a grace period.
  assert.equal(await linkAfterRemoval(kim), 'closed', "Kim's link closed as the kick arrived");
  assert.equal(await linkAfterRemoval(tom), 'closed', "Tom's link closed as Kim's removal arrived");
  await selectWhisper(kim, tomKey);
  await failure(kim).waitFor({ timeout: WAIT_MS });
  assert.match((await failure(kim).textContent()) ?? '', /Tom/);
  await selectWhisper(tom, kimKey);
  await failure(tom).waitFor({ timeout: WAIT_MS });
  assert.match((await failure(tom).textContent()) ?? '', /Kim/);

  // A kick is not a ban: Kim may come back. Then Olga kicks again, from the member menu.
  await joinRoom(kim, 'games');
  await waitMembersIn(olga, 'games', ['Olga', 'Kim', 'Tom']);
  await olga.selectRoom('games');
  await expectMenu(olga, 'Kim', ['whisper', 'op', 'kick', 'ban']);
  await menu(olga).locator('[role=menuitem][data-action=kick]').click();
  await waitUntil("Olga's composer to hold /kick Kim", async () => (await olga.textarea.inputValue()) === '/kick Kim ');
  await olga.textarea.press('End');
  await olga.textarea.pressSequentially('spamming');
  await olga.textarea.press('Enter');
  await waitNotice(kim, 'You were removed from #games by Olga: spamming.');
  await waitUntil("Kim's #games tab to go again", async () => !(await kim.tabs()).includes('games'));
  await waitMembersIn(olga, 'games', ['Olga', 'Tom']);
});

test('a person banned from a room who reloads and tries to join again is refused with a sentence', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const olga = await scene.person('Olga');
  const bea = await scene.person('Bea');
  await rename(olga, 'Olga');
  await rename(bea, 'Bea');
  await joinRoom(olga, 'games');
  await joinRoom(bea, 'games');
  await waitMembersIn(olga, 'games', ['Olga', 'Bea']);

  await olga.say('/ban Bea cheating');
  await waitNotice(bea, 'You were banned from #games by Olga for good: cheating.');
  await waitUntil("Bea's #games tab to go", async () => !(await bea.tabs()).includes('games'));
  await waitMembersIn(olga, 'games', ['Olga']);

  await bea.reload();
  await bea.waitOnline();
  assert.ok(!(await bea.tabs()).includes('games'), 'the banned room is not rejoined on reload');
  await bea.say('/join #games');
  await waitNotice(bea, 'You are banned from #games for good: cheating.');
  await waitUntil("Bea's #games tab to go after the refusal", async () => !(await bea.tabs()).includes('games'));
  assert.equal((await appState(bea)).rooms.games, undefined);
  await waitMembersIn(olga, 'games', ['Olga']);
  // The rest of the server is open to her.
  assert.equal(await bea.status(), 'online');
  assert.ok((await bea.tabs()).includes('lobby'));
});

test('a server-wide ban by the admin holds across reloads and a server restart', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, { args: ['--admin-token', ADMIN_TOKEN] });
  const ada = await scene.person('Ada');
  const vic = await scene.person('Vic');
  const wes = await scene.person('Wes');
  await rename(ada, 'Ada');
  await rename(vic, 'Vic');
  await rename(wes, 'Wes');
  await waitMembersIn(ada, 'lobby', ['Ada', 'Vic', 'Wes']);

  // Before logging in, Ada may only whisper; after /admin, everything on a plain member.
  await expectMenu(ada, 'Vic', ['whisper']);
  await closeMenu(ada);
  await ada.say(`/admin ${ADMIN_TOKEN}`);
  await waitNotice(ada, 'You are now the server admin.');
  await waitUntil('Wes to see Ada as admin', async () => (await appState(wes)).rooms.lobby?.members[(await appState(ada)).me.id!]?.admin === true);
  await expectMenu(ada, 'Vic', ['whisper', 'op', 'kick', 'ban', 'server-ban', 'userinfo']);
  // A plain member's menu on the admin: only a whisper.
  await expectMenu(wes, 'Ada', ['whisper']);
  await closeMenu(wes);
  // User info (admin only) shows the address.
  await menu(ada).locator('[role=menuitem][data-action=userinfo]').click();
  await ada.waitForLine('Vic: address 127.0.0.1');

  await ada.say('/ban --server Vic trolling');
  const stopped = await waitConnection(vic, 'stopped');
  assert.equal(stopped, 'You were banned from this server by Ada for good: trolling.');
  assert.match((await vic.connectionStatus.locator('.sentence').textContent()) ?? '', /banned from this server by Ada for good: trolling\./);
  await waitMembersIn(wes, 'lobby', ['Ada', 'Wes']);

  // A reload does not get Vic back in: refused at hello, and the app stays disconnected.
  await vic.reload();
  assert.equal(await waitConnection(vic, 'stopped'), 'You are banned from this server for good: trolling.');

  // The ban is on disk: after a restart it still holds.
  scene.expectServerDown(); // stopped on purpose: the app's reconnect attempts are refused until it is back
  assert.equal(await scene.server.stop(), 0);
  await scene.server.start();
  await wes.waitOnline(RECONNECT_WAIT_MS);
  await ada.waitOnline(RECONNECT_WAIT_MS);
  assert.equal(await vic.status(), 'stopped', 'Vic did not reconnect by itself');
  await vic.reload();
  assert.equal(await waitConnection(vic, 'stopped'), 'You are banned from this server for good: trolling.');
  assert.match((await vic.connectionStatus.locator('.sentence').textContent()) ?? '', /You are banned from this server for good: trolling\./);
  await waitMembersIn(wes, 'lobby', ['Ada', 'Wes']);
});

test('/purge by the owner empties the room for everyone', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const olga = await scene.person('Olga');
  const pia = await scene.person('Pia');
  const max = await scene.person('Max');
  await rename(olga, 'Olga');
  await rename(pia, 'Pia');
  await rename(max, 'Max');
  await joinRoom(olga, 'games');
  await joinRoom(pia, 'games');
  await joinRoom(max, 'games');
  await waitMembersIn(olga, 'games', ['Olga', 'Pia', 'Max']);
  const before = `before the purge ${Date.now()}`;
  await pia.say(before);
  await pia.waitDelivered(before);
  await max.waitForLine(before);
  await olga.waitForLine(before);

  await olga.selectRoom('games');
  await olga.say('/purge');
  for (const person of [olga, pia, max]) {
    await waitNotice(person, 'Olga cleared #games for everyone.');
    await waitUntil(`${person.label}'s #games tab to go`, async () => !(await person.tabs()).includes('games'));
    assert.equal((await appState(person)).rooms.games, undefined, `${person.label}'s view of #games is gone`);
    assert.equal(await person.status(), 'online', 'a purge is not a disconnect');
  }

  // The room is gone: joining again starts a new, empty one, owned by whoever comes first.
  await joinRoom(max, 'games');
  await waitMembersIn(max, 'games', ['Max']);
  assert.equal(await roleLabel(max, 'Max'), 'owner');
  assert.equal(await max.countLines(before), 0, 'nothing from before the purge');
});
