// Browser hardening, end to end: real Chromium pages in separate contexts against the real
// server serving the real build. A corpus of XSS and filter-evasion payloads
// (support/xss-payloads.ts) goes into every place user text appears: chat messages, /me
// actions, whispers over a real WebRTC channel, farewells, kick reasons, room topics,
// display names and room names (refused with a sentence; their legal remainders used),
// and names of files sent peer to peer. Nothing may run (the trap `__xss(n)`, dialogs,
// CSP and Trusted Types violations, popups, navigations, frames, stray requests, page
// errors) and every payload must show as text: the DOM node for node as the app's token
// renderer makes it, and the same visible text.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { checkName, checkRoomName, LIMITS } from '../../signal-server/protocol/protocol.ts';
import { sanitizeFilename } from '../../app/files/sanitize.ts';
import { reasonClause } from '../../app/state/sentences.ts';
import { WAIT_MS, launchBrowser, waitUntil, type Person } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { noticesSeen } from './support/notices.ts';
import { keyOf, openByClick, selectWhisper, waitSecure, whisperTab } from './support/whisper.ts';
import { ADMIN_TOKEN, joinRoom, rename, waitMembersIn } from './support/moderation.ts';
import { TempFiles, acceptTogether, attach, card, converse, meet, save, waitTransfer } from './support/files.ts';
import { PAYLOADS, checkCorpus, type Payload } from './support/xss-payloads.ts';
import { Pacer, asChatLine, typeKeys, typeLine, typeLines, assertNothingRan, assertScanCanFail, assertShownAsText, evidenceOf, injectedElements, installTraps, shownLines } from './support/xss.ts';

const TEST_TIMEOUT = 300_000;
/** The say limits out of the way (the per-connection frame limit still holds: see Pacer). */
const FAST_SAY = ['--rate-per-minute', '100000', '--rate-burst', '10000'];

let browser: Browser;
before(async () => {
  checkCorpus();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const traps = { init: installTraps };

/** Asserts nothing ran and nothing was injected, for each person. */
async function assertClean(people: Person[], where: string): Promise<void> {
  for (const p of people) {
    assertNothingRan(p, where);
    assert.deepEqual(await injectedElements(p), [], `${p.label} (${where}): injected markup in the page`);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A few payloads of every family, for the places each payload costs a round trip. */
function eachFamily(count: number): Payload[] {
  const families = [...new Set(PAYLOADS.map((p) => p.family))];
  return families.flatMap((family) => PAYLOADS.filter((p) => p.family === family).slice(0, count));
}

/** The system lines of the active room: each must be one text node; returns their texts. */
async function systemLines(p: Person): Promise<string[]> {
  const lines = (await shownLines(p)).filter((l) => l.kind === 'system');
  for (const line of lines) {
    assert.ok(line.nodes.length <= 1 && line.nodes.every((n) => typeof n === 'string'), `${p.label}: a system line is plain text: ${JSON.stringify(line.nodes)}`);
  }
  return lines.map((l) => l.textContent);
}

/** The last notice's sentence (recorded as shown: a notice goes by itself), or '' before any. */
async function noticeText(p: Person): Promise<string> {
  return (await noticesSeen(p)).at(-1) ?? '';
}

test('the corpus: at least 100 payloads, each calling its own trap', () => {
  checkCorpus();
  assert.ok(PAYLOADS.length >= 100, `${PAYLOADS.length} payloads`);
  console.log(`# xss corpus: ${PAYLOADS.length} payloads in ${new Set(PAYLOADS.map((p) => p.family)).size} families`);
});

test('payloads as chat messages, /me actions and whispers over WebRTC show as text and never run', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, { args: FAST_SAY });
  const mal = await scene.person('Mal', traps);
  const max = await scene.person('Max', traps);
  const wes = await scene.person('Wes', traps);
  const vic = await scene.person('Vic', traps);
  const people = [mal, max, wes, vic];
  const [malName, maxName, wesName, vicName] = await Promise.all(people.map((p) => p.myName()));
  for (const p of people) await p.waitForMembers([malName, maxName, wesName, vicName]);
  const texts = PAYLOADS.map((p) => p.text);
  const whisperedActions = texts.slice(0, 30);

  // Wes opens a whisper conversation with Vic (a real WebRTC data channel).
  await openByClick(wes, vicName);
  await waitSecure(wes);
  const wesKey = await keyOf(vic, wesName);

  // At once: Mal sends every payload as a chat message and Max each as a /me action in
  // #lobby, each within the server's frame limit; Wes whispers every payload to Vic.
  const started = Date.now();
  await Promise.all([
    typeLines(mal, texts.map(asChatLine), new Pacer()),
    typeLines(max, texts.map((text) => `/me ${text}`), new Pacer()),
    typeLines(wes, [...texts.map(asChatLine), ...whisperedActions.map((text) => `/me ${text}`)]),
  ]);
  const bodies = async (who: Person) => (await shownLines(who)).filter((l) => l.kind === 'text' || l.kind === 'action');
  await waitUntil('Vic to show every message and action', async () => (await bodies(vic)).length >= 2 * texts.length, 60_000);
  for (const p of [mal, max]) {
    await waitUntil(`${p.label}'s lines to be delivered`, async () => (await p.state()).rooms.lobby.lines.every((l) => !l.pending), 60_000);
  }
  console.log(`# xss: ${2 * texts.length} room lines and ${texts.length + whisperedActions.length} whispers sent in ${Date.now() - started} ms`);

  for (const who of [vic, mal, max]) {
    const lines = await bodies(who);
    const name = (n: string, self: Person) => (who === self ? 'You' : n);
    const messages = lines.filter((l) => l.kind === 'text');
    const actions = lines.filter((l) => l.kind === 'action');
    assert.ok(messages.every((l) => l.name === name(malName, mal) && l.own === (who === mal)), `${who.label}: every message is Mal's`);
    assert.ok(actions.every((l) => l.name === name(maxName, max) && l.own === (who === max)), `${who.label}: every action is Max's`);
    assertShownAsText(messages, texts, { who: `${who.label}'s messages` });
    assertShownAsText(actions, texts, { who: `${who.label}'s actions`, prefix: `* ${maxName} ` });
    // What arrived is the payload itself, not something a filter changed on the way.
    const arrived = (await who.state()).rooms.lobby.lines;
    assert.deepEqual(arrived.filter((l) => l.kind === 'text').map((l) => l.text), texts, `${who.label}: the messages arrived unchanged`);
    assert.deepEqual(arrived.filter((l) => l.kind === 'action').map((l) => l.text), texts, `${who.label}: the actions arrived unchanged`);
  }
  await assertScanCanFail(vic);

  // The whispers, in Vic's conversation with Wes and in Wes's.
  await whisperTab(vic, wesKey).waitFor({ timeout: WAIT_MS });
  await selectWhisper(vic, wesKey);
  const whisperCount = texts.length + whisperedActions.length;
  await waitUntil('Vic to show every whisper', async () => (await bodies(vic)).length >= whisperCount, 60_000);
  for (const who of [vic, wes]) {
    const lines = await bodies(who);
    assert.equal(lines.length, whisperCount, `${who.label}: every whisper once`);
    assert.ok(lines.every((l) => l.own === (who === wes) && l.name === (who === wes ? 'You' : wesName)), `${who.label}: the whispers are Wes's`);
    assertShownAsText(lines.filter((l) => l.kind === 'text'), texts, { who: `${who.label}'s whispers` });
    assertShownAsText(lines.filter((l) => l.kind === 'action'), whisperedActions, { who: `${who.label}'s whispered actions`, prefix: `* ${wesName} ` });
  }
  await assertClean(people, 'messages, actions and whispers');
});

/** Records every text the room header's topic shows, and whether it ever held markup. */
const TOPIC_RECORDER = `(() => {
  const header = document.querySelector('wisp-app').shadowRoot.querySelector('wisp-room-header');
  const seen = [];
  let markup = 0;
  const look = () => {
    const topic = header.shadowRoot.querySelector('.topic');
    const text = topic ? topic.textContent : '';
    if (topic && topic.children.length) markup++;
    if (seen[seen.length - 1] !== text) seen.push(text);
  };
  new MutationObserver(look).observe(header.shadowRoot, { subtree: true, childList: true, characterData: true });
  look();
  window.__topics = { seen, markup: () => markup };
})()`;

test('payloads as farewells, kick and ban reasons and room topics show as text and never run', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, { args: [...FAST_SAY, '--admin-token', ADMIN_TOKEN] });
  const olga = await scene.person('Olga', traps);
  const kim = await scene.person('Kim', traps);
  const kit = await scene.person('Kit', traps);
  const vic = await scene.person('Vic', traps);
  const people = [olga, kim, kit, vic];
  await rename(olga, 'Olga');
  await rename(kim, 'Kim');
  await rename(kit, 'Kit');
  await rename(vic, 'Vic');
  const texts = PAYLOADS.map((p) => p.text);
  for (const text of texts) assert.ok([...text].length <= Math.min(LIMITS.farewellMaxLength, LIMITS.topicMaxLength, LIMITS.reasonMaxLength), `fits as a farewell, topic and reason: ${text}`);

  // Farewells: Kim and Kit (half the payloads each, at once) join a room and leave it with
  // a payload as the last word. Two rooms in turn, and each join waited for: the server's
  // "left" for a room can arrive after a quick rejoin of that same room, and the app then
  // closes the new tab.
  const farewellRooms = ['farewell-a', 'farewell-b'];
  for (const room of farewellRooms) await joinRoom(vic, room);
  const farewellStarted = Date.now();
  const leavers = [kim, kit] as const;
  const farewellsOf = (who: number) => texts.filter((_, i) => i % 2 === who);
  await Promise.all(
    leavers.map(async (leaver, who) => {
      const pacer = new Pacer();
      await leaver.textarea.focus();
      for (const [i, text] of farewellsOf(who).entries()) {
        const room = farewellRooms[i % 2];
        await pacer.take();
        await typeKeys(leaver, `/join #${room}`);
        await leaver.page.waitForFunction((r) => (window as unknown as { wisp: { state: { rooms: Record<string, { synced: boolean }> } } }).wisp.state.rooms[r]?.synced === true, room, { timeout: WAIT_MS, polling: 'raf' });
        await pacer.take();
        await typeKeys(leaver, `/leave ${text}`);
      }
    }),
  );
  for (const [r, room] of farewellRooms.entries()) {
    await vic.selectRoom(room);
    for (const [who, name] of ['Kim', 'Kit'].entries()) {
      const expected = farewellsOf(who).filter((_, i) => i % 2 === r).flatMap((text) => [`${name} joined`, `${name} left: “${text}”`]);
      const theirs = async () => (await systemLines(vic)).filter((l) => l.startsWith(`${name} `));
      await waitUntil(`Vic's #${room} to show every farewell of ${name}`, async () => (await theirs()).length >= expected.length, 60_000);
      assert.deepEqual(await theirs(), expected, `Vic's #${room} shows each of ${name}'s farewells as text`);
    }
  }
  console.log(`# xss: ${texts.length} farewells in ${Date.now() - farewellStarted} ms`);

  // Topics: Olga creates #stage (she owns it) and sets each payload as its topic. She claims
  // the admin role first: the admin is not held to the topic limit (5 a minute) that would
  // otherwise refuse most of these ~200 changes.
  await olga.say(`/admin ${ADMIN_TOKEN}`);
  await waitUntil('Olga to be the admin', async () => (await noticeText(olga)).startsWith('You are now the server admin.'));
  await joinRoom(olga, 'stage');
  await joinRoom(vic, 'stage');
  await vic.page.evaluate(TOPIC_RECORDER);
  const topicStarted = Date.now();
  await typeLines(olga, texts.map((text) => `/topic ${text}`), new Pacer());
  const topicLines = texts.map((text) => `Olga set the topic: ${text}`);
  const stageLines = async () => (await systemLines(vic)).filter((l) => l.startsWith('Olga set the topic: '));
  await waitUntil('Vic to show every topic', async () => (await stageLines()).length >= topicLines.length, 60_000);
  assert.deepEqual(await stageLines(), topicLines, "Vic's #stage shows each topic change as text");
  const topics = (await vic.page.evaluate('({ seen: window.__topics.seen, markup: window.__topics.markup() })')) as { seen: string[]; markup: number };
  assert.equal(topics.markup, 0, 'the header topic never held markup');
  const shownTopics = topics.seen.filter((s) => s !== '');
  let at = 0;
  for (const seen of shownTopics) {
    at = texts.indexOf(seen, at);
    assert.ok(at >= 0, `the header showed a topic that is exactly a payload, in order: ${JSON.stringify(seen)}`);
  }
  assert.equal(shownTopics[shownTopics.length - 1], texts[texts.length - 1], 'the header shows the last topic');
  // One topic of every family at a time: the header shows each exactly.
  for (const p of eachFamily(1)) {
    await typeLine(olga, `/topic ${p.text}`);
    await waitUntil(`Vic's header to show topic ${p.n}`, async () => (await vic.page.locator('wisp-room-header .topic').textContent()) === p.text);
  }
  console.log(`# xss: ${texts.length + eachFamily(1).length} topics in ${Date.now() - topicStarted} ms (the header showed ${shownTopics.length} of the fast ones)`);

  // Kick reasons: Olga kicks Kim from #court with a payload as the reason, Kim comes back.
  await joinRoom(olga, 'court');
  await joinRoom(vic, 'court');
  const kicks = eachFamily(1);
  const kickStarted = Date.now();
  for (const p of kicks) {
    await kim.say('/join #court');
    await waitMembersIn(olga, 'court', ['Olga', 'Vic', 'Kim']);
    await olga.say(`/kick Kim ${p.text}`);
    // The reason as typed, with a full stop when it has no closing mark of its own.
    const sentence = `You were removed from #court by Olga${reasonClause(p.text)} You may join again.`;
    await waitUntil(`Kim's notice for kick ${p.n}`, async () => (await noticeText(kim)) === sentence);
  }
  // And two bans with payload reasons: the notice, the line, and the list of bans.
  const bans = eachFamily(1).slice(0, 2);
  for (const p of bans) {
    await kim.say('/join #court');
    await waitMembersIn(olga, 'court', ['Olga', 'Vic', 'Kim']);
    await olga.say(`/ban Kim ${p.text}`);
    await waitUntil(`Kim's notice for ban ${p.n}`, async () => (await noticeText(kim)) === `You were banned from #court by Olga for good${reasonClause(p.text)}`);
    await waitMembersIn(olga, 'court', ['Olga', 'Vic']);
    const banLists = async () => (await systemLines(olga)).filter((l) => l.startsWith('Bans in #court'));
    const before = (await banLists()).length;
    await olga.say('/bans');
    const listed = await waitUntil('the list of bans', async () => (await banLists())[before]);
    const id = /^(\S+): Kim,/m.exec(listed)?.[1];
    assert.ok(id && listed.includes(`: ${p.text}`), `the ban list shows the reason as text: ${listed}`);
    await olga.say(`/unban ${id}`);
  }
  const removals = [...kicks.map((p) => `Kim was removed by Olga: ${p.text}`), ...bans.map((p) => `Kim was banned by Olga: ${p.text}`)];
  await waitUntil("Vic's #court to show every removal", async () => (await systemLines(vic)).filter((l) => l.startsWith('Kim was ')).length >= removals.length);
  assert.deepEqual((await systemLines(vic)).filter((l) => l.startsWith('Kim was ')), removals, "Vic's #court shows each reason as text");
  // The admin's audit trail lists the kicks with their reasons.
  await olga.say('/audit 100');
  const audit = await waitUntil('the audit trail', async () => (await systemLines(olga)).find((l) => / ban Kim \(/.test(l)));
  for (const [action, list] of [['kick', kicks], ['ban', bans]] as const) {
    for (const p of list) {
      const entry = new RegExp(` Olga \\([0-9a-f]+\\) ${action} Kim \\([0-9a-f]+\\) in #court \\(${escapeRegExp(p.text)}\\)(?:\\n|$)`);
      assert.match(audit, entry, `the audit trail shows ${action} reason ${p.n} as text`);
    }
  }
  console.log(`# xss: ${kicks.length} kicks and ${bans.length} bans in ${Date.now() - kickStarted} ms`);

  await assertClean(people, 'farewells, topics, kick and ban reasons');
});

/** The payload with the characters a name may not hold taken out, cut to the name limit. */
function legalName(text: string): string {
  const chars = [...text.normalize('NFC')].filter((c) => /[\p{L}\p{M}\p{N}_.-]/u.test(c));
  while (chars.length && !/[\p{L}\p{N}]/u.test(chars[0])) chars.shift();
  return chars.slice(0, LIMITS.nameMaxLength).join('');
}

/** The same for a room name (lower case; letters, marks, digits, "_" and "-"). */
function legalRoom(text: string): string {
  const chars = [...text.normalize('NFC').toLowerCase()].filter((c) => /[\p{Ll}\p{Lo}\p{M}\p{N}_-]/u.test(c));
  while (chars.length && !/[\p{Ll}\p{Lo}\p{M}\p{N}]/u.test(chars[0])) chars.shift();
  return chars.slice(0, LIMITS.roomNameMaxLength).join('');
}

/** Sends raw frames through the app's own connection, as a modified app could; paced in the page. */
const RAW_SENDER = `(async (frames) => {
  const client = window.wisp.client;
  for (const [i, frame] of frames.entries()) {
    if (i >= 90) await new Promise((r) => setTimeout(r, 65));
    client.send(frame);
  }
})`;

test('names and room names: a payload is refused with a sentence (by the app and by the server); the legal remainders show as text', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, { args: FAST_SAY });
  const mal = await scene.person('Mal', traps);
  const vic = await scene.person('Vic', traps);
  const people = [mal, vic];
  await rename(vic, 'Vic');
  const malStart = await mal.myName();
  await mal.waitForMembers([malStart, 'Vic']);
  for (const p of PAYLOADS) {
    assert.equal(checkName(p.text).ok, false, `payload ${p.n} is no legal name`);
    assert.equal(checkRoomName(p.text).ok, false, `payload ${p.n} is no legal room name`);
  }

  // Typed: /nick and the room picker refuse at once, each with the rule as a sentence.
  for (const p of eachFamily(1)) {
    const before = (await noticesSeen(mal)).length;
    await mal.say(`/nick ${p.text}`);
    await waitUntil(`the refusal of name ${p.n}`, async () => (await noticesSeen(mal)).slice(before).includes((checkName(p.text) as { reason: string }).reason));
    await mal.page.locator('wisp-room-tabs button[aria-label="Join or create a room"]').click();
    await mal.page.locator('wisp-room-picker dialog').waitFor({ state: 'visible' });
    await mal.page.locator('wisp-room-picker input#room').fill(p.text);
    await mal.page.locator('wisp-room-picker dialog button[type=submit]', { hasText: 'Join' }).click();
    const error = mal.page.locator('wisp-room-picker .error[role=alert]');
    await waitUntil(`the picker's refusal of room ${p.n}`, async () => (await error.textContent()) === (checkRoomName(p.text) as { reason: string }).reason);
    await mal.page.keyboard.press('Escape');
    await mal.page.locator('wisp-room-picker dialog').waitFor({ state: 'hidden' });
  }
  // A refused /nick stays in the composer to be fixed: Mal clears the last one.
  await mal.textarea.fill('');

  // Sent raw past the app's own check (a modified app): the server refuses every one with
  // an error, and the app shows the server's sentence. The frame schema caps a name at
  // 96 and a room at 128 characters; longer ones would be malformed frames, not names.
  // Mal sends the names, Vic the rooms, at once.
  const names = PAYLOADS.filter((p) => p.text.length <= LIMITS.nameMaxLength * 4);
  const rooms = PAYLOADS.filter((p) => p.text.length <= LIMITS.roomNameMaxLength * 4);
  const reasonOf = (check: ReturnType<typeof checkName>) => (check.ok ? '(accepted)' : check.reason);
  await Promise.all(
    [
      { p: mal, frames: names.map((x) => ({ type: 'rename', name: x.text })), expected: names.map((x) => reasonOf(checkName(x.text))) },
      { p: vic, frames: rooms.map((x) => ({ type: 'join', room: x.text })), expected: rooms.map((x) => reasonOf(checkRoomName(x.text))) },
    ].map(async ({ p, frames, expected }) => {
      const before = (await noticesSeen(p)).length;
      await p.page.evaluate(`${RAW_SENDER}(${JSON.stringify(frames)})`);
      const notices = await waitUntil(`${p.label}: every refusal from the server`, async () => {
        const seen = (await noticesSeen(p)).slice(before);
        return seen.length >= expected.length ? seen : undefined;
      }, 60_000);
      assert.deepEqual(notices, expected, `${p.label}: the server's refusals, each shown as its sentence`);
    }),
  );
  assert.equal(await mal.myName(), malStart, "Mal's name did not change");
  assert.deepEqual(await vic.tabs(), ['lobby'], 'Vic joined no room');
  await vic.waitForMembers([malStart, 'Vic']);
  console.log(`# xss: ${names.length} names and ${rooms.length} room names refused by the server`);

  // The legal remainders: Mal takes each as a name in turn; Vic sees every rename.
  const legalNames = [...new Map(PAYLOADS.map((p) => legalName(p.text)).filter((n) => checkName(n).ok && n.toLowerCase() !== 'vic').map((n) => [n.toLowerCase(), n])).values()];
  assert.ok(legalNames.length >= 100, `${legalNames.length} distinct legal names`);
  // Mal's frame bucket (burst 120, 20 a second) may still be drained by the raw renames above.
  const pacer = new Pacer(20, 12);
  await typeLines(mal, legalNames.map((name) => `/nick ${name}`), pacer);
  const renames = legalNames.map((name, i) => `${i === 0 ? malStart : legalNames[i - 1]} is now known as ${name}`);
  const renameLines = async () => (await systemLines(vic)).filter((l) => l.includes(' is now known as '));
  await waitUntil('Vic to see every rename', async () => (await renameLines()).length >= renames.length, 60_000);
  assert.deepEqual(await renameLines(), renames, "Vic's #lobby shows each rename as text");
  const ownRenames = (await systemLines(mal)).filter((l) => l.startsWith('You are now known as '));
  assert.deepEqual(ownRenames, legalNames.map((n) => `You are now known as ${n}`), "Mal's own rename lines");
  const last = legalNames[legalNames.length - 1];
  await vic.waitForMembers([last, 'Vic']);
  assert.equal(await mal.myName(), last, "Mal's header shows the name");
  // A few of them one at a time: the member list, the header and a message's sender show each.
  for (const p of eachFamily(1).filter((_, i) => i % 3 === 0)) {
    const name = legalName(p.text);
    await mal.say(`/nick ${name}`);
    await vic.waitForMembers([name, 'Vic']);
    await waitUntil(`Mal's header to show ${name}`, async () => (await mal.myName()) === name);
    const text = `from ${p.n}`;
    await mal.say(text);
    const line = await vic.waitForLine(text);
    assert.equal(await line.locator('.meta .name').textContent(), name, `Vic's line names Mal ${name}`);
  }
  console.log(`# xss: ${legalNames.length} legal name variants, e.g. ${legalNames.slice(0, 3).join(', ')}`);

  // Legal room remainders: joined, and shown as text in the tab and the room header.
  const legalRooms = [...new Set(eachFamily(1).map((p) => legalRoom(p.text)).filter((r) => checkRoomName(r).ok))];
  for (const room of legalRooms) {
    await joinRoom(mal, room);
    assert.equal((await mal.tab(room).textContent())?.trim(), `#${room}`, `the tab reads #${room}`);
    assert.equal(await mal.page.locator('wisp-room-header .name').textContent(), `#${room}`, `the header reads #${room}`);
    await mal.say('/leave');
    await waitUntil(`Mal to leave #${room}`, async () => !(await mal.tabs()).includes(room));
  }
  console.log(`# xss: legal room variants: ${legalRooms.join(', ')}`);

  await assertClean(people, 'names and room names');
});

/** A's page offers a file over the real link with a name of its choosing (a modified app). */
const OFFER_SCRIPT = `(async ({ key, offers }) => {
  const link = window.wisp.whispers.mesh.get(key);
  if (!link || !link.ready) throw new Error('no ready link');
  for (const offer of offers) {
    const json = new TextEncoder().encode(JSON.stringify({ t: 'file-offer', type: 'application/octet-stream', hash: 'ab'.repeat(32), ...offer }));
    const bytes = new Uint8Array(1 + json.length);
    bytes[0] = 0;
    bytes.set(json, 1);
    await link.send(bytes);
  }
})`;

test('payloads as names of files sent over WebRTC: sanitised and shown as text on both sides', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await scene.person('A', traps), await scene.person('B', traps));
  const { a, b, bKey } = pair;
  await converse(pair);

  // Real files on disk whose names are payloads (a file name cannot hold "/").
  const named = eachFamily(2).filter((p) => !p.text.includes('/') && Buffer.byteLength(p.text) <= 200 && !p.text.includes('\n')).slice(0, 10);
  assert.ok(named.length >= 8, `${named.length} payloads usable as file names`);
  const sent = named.map((p, i) => files.random(p.text, 1000 + i));
  await attach(a, ...sent);
  const shownNames = sent.map((f) => sanitizeFilename(f.name));
  for (const [i, f] of sent.entries()) {
    const offered = await waitTransfer(b, shownNames[i], 'in', ['offered']);
    assert.equal(offered.name, shownNames[i], `${f.name}: the offer's name is sanitised`);
  }
  await acceptTogether(b, shownNames);
  for (const name of shownNames) assert.equal((await waitTransfer(b, name, 'in', ['done', 'failed', 'cancelled'])).status, 'done', name);

  // Names crafted past the sender's own sanitising: paths, bidi overrides, control characters.
  const crafted = [
    '../../<img src=x onerror=__xss(901)>.exe',
    '..\\..\\<script>__xss(902)</script>.bat',
    'invoice\u202egpj.<svg onload=__xss(903)>.exe',
    '<iframe srcdoc="<script>__xss(904)</script>">\u0000\u0007.html',
    '\u200b<a href="javascript:__xss(905)">x</a>',
    'CON.<img src=x onerror=__xss(906)>',
  ];
  await a.page.evaluate(`${OFFER_SCRIPT}(${JSON.stringify({ key: bKey, offers: crafted.map((name, i) => ({ fid: 0x7000 + i, name, size: 10 + i })) })})`);
  const craftedNames = crafted.map((name) => sanitizeFilename(name));
  for (const name of craftedNames) await waitTransfer(b, name, 'in', ['offered']);

  // Every card on B names its file exactly as sanitised, as text; so do A's cards.
  const cardNames = (p: Person) => p.page.locator('wisp-file-card .name').evaluateAll((els) => els.map((el) => ({ text: el.textContent, children: el.children.length })));
  const onB = await cardNames(b);
  assert.deepEqual(onB.map((c) => c.text?.trim()).sort(), [...shownNames, ...craftedNames].sort(), "B's cards show the sanitised names");
  assert.ok(onB.every((c) => c.children === 0), "B's card names are plain text");
  for (const name of [...shownNames, ...craftedNames]) assert.doesNotMatch(name, /[<>"/\\:*?|\u0000-\u001f\u202e]/, `no markup or path characters survive: ${name}`);
  const onA = await cardNames(a);
  assert.deepEqual(onA.map((c) => c.text?.trim()).sort(), [...shownNames].sort(), "A's cards show the sanitised names");
  // Saving uses the sanitised name too.
  const saved = await save(b, shownNames[0]);
  assert.equal(saved.suggestedFilename, shownNames[0]);
  assert.equal(saved.sha256, sent[0].sha256);
  assert.equal(await card(b, shownNames[0]).locator('a.save').getAttribute('download'), shownNames[0]);
  console.log(`# xss: ${sent.length} payload file names sent, ${crafted.length} crafted offers; e.g. ${JSON.stringify(shownNames[0])}`);

  await assertClean([a, b], 'file names');
});

/** Opens Settings and sets "Show links in messages". */
async function setShowLinks(p: Person, on: boolean): Promise<void> {
  await p.page.locator('wisp-app header button[aria-label="Settings"]').click();
  const dialog = p.page.locator('wisp-settings-dialog dialog');
  await dialog.waitFor({ state: 'visible' });
  const box = p.page.locator('wisp-settings-dialog input[name=show-links]');
  if ((await box.isChecked()) !== on) await box.click();
  await waitUntil(`${p.label}'s show-links setting to be ${on}`, async () => (await p.state<{ settings: { showLinks: boolean } }>()).settings.showLinks === on);
  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'hidden' });
}

test('links in messages: http(s) and mailto become <a target=_blank rel="noopener noreferrer">; with "Show links" off they are plain text', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A', traps);
  const b = await scene.person('B', traps);
  await b.waitForMembers([await a.myName(), await b.myName()]);
  const text = 'see https://example.org/a?b=1, **https://example.org/bold** and mailto:ann@example.org; not javascript:__xss(990) nor data:text/html,x nor vbscript:y';
  await a.say(text);
  await b.waitForLine('mailto:ann@example.org');
  const line = async () => (await shownLines(b)).filter((l) => l.kind === 'text');

  // On (the default): three links, each with exactly href, target and rel.
  assertShownAsText(await line(), [text], { who: "B's line, links shown" });
  const links = await b.linesWith('mailto:').locator('.text a').evaluateAll((els) =>
    els.map((el) => ({ text: el.textContent, attrs: Object.fromEntries([...el.attributes].map((x) => [x.name, x.value])) })),
  );
  const attrs = (href: string) => ({ href, target: '_blank', rel: 'noopener noreferrer' });
  assert.deepEqual(links, [
    { text: 'https://example.org/a?b=1', attrs: attrs('https://example.org/a?b=1') },
    { text: 'https://example.org/bold', attrs: attrs('https://example.org/bold') },
    { text: 'mailto:ann@example.org', attrs: attrs('mailto:ann@example.org') },
  ]);
  assert.equal(await b.linesWith('mailto:').locator('.text strong a').count(), 1, 'the bold link is a link inside <strong>');

  // Off: the same line re-renders without any link, the text unchanged; it stays off after a reload.
  await setShowLinks(b, false);
  await waitUntil('the links to go', async () => (await b.linesWith('mailto:').locator('.text a').count()) === 0);
  assertShownAsText(await line(), [text], { who: "B's line, links hidden", showLinks: false });
  const after = `a new one: https://example.org/after`;
  await a.say(after);
  await b.waitForLine(after);
  assert.equal(await b.linesWith(after).locator('a').count(), 0, 'a new message with a URL has no link either');
  await b.reload();
  await b.waitOnline();
  assert.equal((await b.state<{ settings: { showLinks: boolean } }>()).settings.showLinks, false, 'the setting is kept on the device');
  const again = `after the reload: https://example.org/again`;
  await a.say(again);
  await b.waitForLine(again);
  assert.equal(await b.linesWith(again).locator('a').count(), 0, 'still no link after a reload');
  // On again: links come back.
  await setShowLinks(b, true);
  await b.linesWith(again).locator('.text a[href="https://example.org/again"][target=_blank][rel="noopener noreferrer"]').waitFor();
  await assertClean([a, b], 'links');
});

test('the page is served with a strict CSP, and Trusted Types are enforced in it; the detectors catch what they should', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const p = await scene.person('P', traps);

  // The headers of the document the browser loaded (tests/server/http.test.ts checks part
  // of the policy on a test build; here: all of it, on the real build's page).
  const response = await p.page.reload();
  assert.ok(response, 'the reload got a response');
  await p.waitOnline();
  const headers = response.headers();
  const csp = headers['content-security-policy'] ?? '';
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values.join(' ')]));
  for (const [name, value] of [
    ['default-src', "'self'"],
    ['script-src', "'self'"],
    ['object-src', "'none'"],
    ['base-uri', "'none'"],
    ['frame-ancestors', "'none'"],
    ['form-action', "'none'"],
    ['connect-src', "'self'"],
    ['require-trusted-types-for', "'script'"],
  ]) {
    assert.equal(directives.get(name), value, `CSP ${name} ${value} (the policy: ${csp})`);
  }
  assert.doesNotMatch(directives.get('script-src') ?? '', /unsafe-inline|unsafe-eval|\*|data:/, "scripts: no 'unsafe-inline', 'unsafe-eval', wildcard or data:");
  assert.match(directives.get('trusted-types') ?? '', /\blit-html\b/, 'Trusted Types allow Lit\'s policy');
  assert.doesNotMatch(directives.get('trusted-types') ?? '', /'allow-duplicates'|\*/, 'and no wildcard');
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  assert.ok(headers['permissions-policy'], 'a Permissions-Policy comes with it');
  assert.match(headers['permissions-policy'], /(^|, )camera=\(self\)(,|$)/, 'the camera for the app itself only (scanning a safety number)');

  // Nothing was refused while the app loaded and got online.
  assertNothingRan(p, 'loading the app');
  assert.deepEqual(await injectedElements(p), []);

  // Provoked below on purpose, and allowed: the five refused sinks (the console says so
  // for each; the CSP listener reports each by sink, so nothing else slips through).
  p.allowProblems(
    /^console: This document requires 'Trusted(HTML|Script)' assignment\. The action has been blocked\.$/,
    /^csp: require-trusted-types-for blocked trusted-types-sink "(Element innerHTML\|<b>x<\/b>|Element insertAdjacentHTML\|<b>x<\/b>|HTMLScriptElement textContent\|__xss\(991\)|eval\|__xss\(992\)|Function\|[^"]*__xss\(993\)[^"]*)"/,
  );
  // In the page: HTML sinks refuse plain strings, and string-to-code is blocked.
  // Run from a timer, a task of the page's own: code that DevTools evaluates directly is
  // exempt from the eval rule. A string, not a function: tsx would wrap the named helper
  // in a __name() the page lacks.
  const refused = await p.page.evaluate(`new Promise((resolve) => setTimeout(() => {
    const attempt = (what) => {
      try {
        what();
        return 'allowed';
      } catch (e) {
        return e.name;
      }
    };
    const div = document.createElement('div');
    resolve({
      innerHTML: attempt(() => (document.body.innerHTML = '<b>x</b>')),
      insertAdjacentHTML: attempt(() => div.insertAdjacentHTML('beforeend', '<b>x</b>')),
      scriptText: attempt(() => (document.createElement('script').textContent = '__xss(991)')),
      eval: attempt(() => (0, eval)('__xss(992)')),
      newFunction: attempt(() => new Function('__xss(993)')),
    });
  }, 0))`);
  assert.deepEqual(refused, { innerHTML: 'TypeError', insertAdjacentHTML: 'TypeError', scriptText: 'TypeError', eval: 'EvalError', newFunction: 'EvalError' });
  assert.equal(await p.page.locator('wisp-app').count(), 1, 'the app is still there');

  // The detectors themselves: each of these must be caught.
  await p.page.evaluate(() => (window as unknown as { __xss(n: number): void }).__xss(0));
  await p.page.evaluate(() => setTimeout(() => alert('dialog check'), 0));
  const found = evidenceOf(p);
  await waitUntil('the checks to be recorded', () => found.trap.length === 1 && found.dialogs.length === 1 && found.csp.length === 5);
  assert.deepEqual(found.trap.map((h) => h.n), [0], 'the trap records a call');
  assert.deepEqual(found.dialogs, ['alert: dialog check'], 'a dialog is recorded');
  // Trusted Types stop all five (eval and Function take a string too) and say which sink.
  assert.deepEqual(
    found.csp.map((v) => `${v.directive} ${v.sample.split('|')[0]}`),
    ['require-trusted-types-for Element innerHTML', 'require-trusted-types-for Element insertAdjacentHTML', 'require-trusted-types-for HTMLScriptElement textContent', 'require-trusted-types-for eval', 'require-trusted-types-for Function'],
    'the refusals above were reported as violations',
  );
  assert.throws(() => assertNothingRan(p, 'after the checks'), /trap/, 'assertNothingRan fails on them');
});
