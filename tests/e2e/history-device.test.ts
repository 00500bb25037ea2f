// History on the device (issue 15, part 3): room lines and whisper conversations come back
// with their tabs after a reload, where the person left them and with "New messages"
// marked; "Off" writes nothing; expired lines are gone after a restart; "Clear this
// conversation" lasts; /purge reaches online members at once and offline ones when they
// come back; a long conversation restores only its newest window, and "Load earlier
// messages" brings the rest, window by window. Real server, real build, real WebRTC;
// IndexedDB is read from the page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, tag, waitUntil, type Person } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { openByClick, waitWhisperDelivered, whisperPair } from './support/whisper.ts';
import { TempFiles, accept, attach, showConversation, waitTransfer } from './support/files.ts';
import { joinRoom, waitNotice } from './support/moderation.ts';
import { keptCount, kvValue, lineTop, moveClock, rawRecords, roomTexts, setRetention, shownKeys, waitView } from './support/history.ts';
import { roomAction } from './support/room-menu.ts';

const TEST_TIMEOUT = 240_000;
/**
 * The server keeps no room history here (--history-messages 0), so whatever comes back
 * after a reload came from the device, not from the server's ring.
 */
const NO_SERVER_HISTORY = ['--history-messages', '0'];
const HOUR = 60 * 60 * 1000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Says each line and waits until the server took it. */
async function sayAll(p: Person, texts: string[]): Promise<void> {
  for (const text of texts) {
    await p.say(text);
    await p.waitDelivered(text);
  }
}

/** The state's key of the line with exactly this text in a room. */
async function keyOf(p: Person, room: string, text: string): Promise<string> {
  return waitUntil(`${p.label}'s line "${text}" in #${room}`, async () => (await p.state()).rooms[room]?.lines.find((l) => l.text === text)?.key);
}

test('a reload restores room lines and whisper conversations with their tabs, where they were left, with New messages marked', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, { args: [...NO_SERVER_HISTORY, '--rate-per-minute', '600', '--rate-burst', '100'] });
  const files = new TempFiles();
  t.after(() => files.dispose());
  const { a, b, bName, aKey, bKey } = await whisperPair(scene, { probes: false });
  const id = tag();

  // A long #lobby, read to the end by A; markup in it must come back as text.
  const markup = `<img src=x onerror="window.__historyPwned=1"><b>bold?</b> ${id}`;
  const early = [markup, ...Array.from({ length: 30 }, (_, i) => `lobby ${id} line ${i + 1}`)];
  await sayAll(b, early);
  await a.waitForLine(early.at(-1)!);
  const own = `A's own line ${id}`;
  await sayAll(a, [own]);
  const lastKey = await keyOf(a, 'lobby', own);
  await waitView(a, 'lobby', (v) => v.seen === lastKey);

  // A scrolls up: the line at the top is where #lobby was left.
  await a.page.evaluate(`(() => {
    const list = document.querySelector('wisp-app').shadowRoot.querySelector('wisp-message-list');
    const li = [...list.shadowRoot.querySelectorAll('li[data-key]')][9];
    list.scrollTop += li.getBoundingClientRect().top - list.getBoundingClientRect().top;
  })()`);
  const left = await waitView(a, 'lobby', (v) => v.anchor !== undefined);
  assert.equal(left.seen, lastKey, 'scrolling back up does not unread anything');

  // A whisper conversation with a file in it.
  await openByClick(a, bName);
  const whisperOut = `whisper from A ${id}`;
  await a.say(whisperOut);
  await waitWhisperDelivered(a, whisperOut);
  await showConversation(b, aKey);
  const whisperIn = `whisper from B ${id}`;
  await b.say(whisperIn);
  await a.waitForLine(whisperIn);
  const file = files.random(`notes-${id}.bin`, 2048);
  await attach(a, file);
  await accept(b, file.name);
  await waitTransfer(a, file.name, 'out', ['done']);
  await waitTransfer(b, file.name, 'in', ['done']);

  // While A is in the whisper tab, #lobby gets lines A has not seen.
  const unseen = [`unseen one ${id}`, `unseen two ${id}`];
  await b.selectRoom('lobby');
  await sayAll(b, unseen);
  await waitUntil("A's state to hold the unseen lines", async () => (await roomTexts(a, 'lobby')).includes(unseen[1]));
  const unseenKey = await keyOf(a, 'lobby', unseen[0]);
  // Kept: 31 + 1 + 2 lobby lines, and two whispers and a file card.
  assert.equal(await keptCount(a, 'lobby'), 34);
  assert.equal(await keptCount(a, `@${bKey}`), 3);

  await a.reload();
  await a.waitOnline();
  const state = await a.state<{ order: string[]; active?: string; rooms: Record<string, { unread: number }>; whispers: Record<string, { name: string; lines: { text: string; kind: string; own?: boolean }[] }> }>();
  assert.deepEqual(state.order, ['lobby', `@${bKey}`], 'both tabs are back, in order');
  assert.equal(state.rooms.lobby.unread, 2, "#lobby's tab counts the two lines A had not seen");
  assert.equal(state.active, `@${bKey}`, 'the whisper tab is active again');
  const whisper = state.whispers[bKey];
  assert.equal(whisper?.name, bName, "the contact's name is back");
  assert.deepEqual(
    whisper.lines.map((l) => [l.kind, l.text, Boolean(l.own)]),
    [['text', whisperOut, true], ['text', whisperIn, false], ['file', file.name, true]],
    'the conversation is back',
  );
  await a.waitForLine(whisperIn);
  const record = a.page.locator('wisp-message-list .file-record[data-file-record=sent]');
  assert.equal(((await record.textContent()) ?? '').trim(), `Sent ${file.name} (2.0 kB)`, 'a sent file shows as a record with its size');
  assert.equal(await a.page.locator('wisp-file-card').count(), 0, 'a restored file is a record, not a download');

  await a.selectRoom('lobby');
  await a.waitForLine(unseen[1]);
  const keys = await shownKeys(a);
  assert.equal(keys.filter((k) => k === '|divider|').length, 1, 'one New messages divider');
  assert.equal(keys[keys.indexOf('|divider|') + 1], unseenKey, 'the divider is before the first unseen line');
  assert.equal(keys.filter((k) => k !== '|divider|').length, 34, 'every kept line is back');
  assert.equal(await a.countLines(markup), 1, 'restored markup shows as text');
  assert.equal(await a.page.evaluate('window.__historyPwned'), undefined, 'and never runs');
  assert.equal(await a.page.locator('wisp-message-list img, wisp-message-list b').count(), 0, 'no element made from a restored line');
  // Where A left #lobby: the anchor line is the first on screen.
  const top = await a.page.evaluate(`(() => {
    const list = document.querySelector('wisp-app').shadowRoot.querySelector('wisp-message-list');
    const box = list.getBoundingClientRect();
    const first = [...list.shadowRoot.querySelectorAll('li[data-key]')].find((li) => li.getBoundingClientRect().top >= box.top - 1);
    return { key: first && first.dataset.key, atBottom: list.scrollHeight - list.scrollTop - list.clientHeight < 48 };
  })()`);
  assert.deepEqual(top, { key: left.anchor, atBottom: false }, '#lobby opens where A left it');
});

test('with "Off" IndexedDB holds no line, and switching to Off deletes what was kept', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, { args: NO_SERVER_HISTORY });
  const a = await scene.person('A');
  const b = await scene.person('B');
  const id = tag();
  const kept = `kept for now ${id}`;
  await sayAll(b, [kept]);
  await a.waitForLine(kept);
  assert.equal(await keptCount(a), 1, 'the default keeps lines');

  await setRetention(a, 'off');
  await waitUntil("A's kept lines to be deleted", async () => (await keptCount(a)) === 0);
  assert.equal(Object.keys((await kvValue<object>(a, 'history-views')) ?? {}).length, 0, 'no view is kept either');

  const notKept = [`not kept ${id}`, `mine, not kept ${id}`];
  await sayAll(b, [notKept[0]]);
  await a.waitForLine(notKept[0]);
  await sayAll(a, [notKept[1]]);
  assert.deepEqual(await rawRecords(a), [], 'IndexedDB holds no line');

  await a.reload();
  await a.waitOnline();
  await a.waitForMembers([await a.myName(), await b.myName()]);
  assert.equal((await a.state<{ settings: { history: string } }>()).settings.history, 'off');
  const texts = await roomTexts(a, 'lobby');
  for (const text of [kept, ...notKept]) assert.ok(!texts.includes(text), `"${text}" is not back after a reload`);
  assert.deepEqual(await rawRecords(a), []);
});

test('retention: lines older than the setting are gone after a restart of the app', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, { args: NO_SERVER_HISTORY });
  const a = await scene.person('A');
  const b = await scene.person('B');
  await setRetention(a, '1d');
  const id = tag();
  const lines = [`from yesterday ${id}`, `also old ${id}`];
  await sayAll(b, [lines[0]]);
  await sayAll(a, [lines[1]]);
  await a.waitForLine(lines[0]);
  assert.equal(await keptCount(a, 'lobby'), 2);

  // Twelve hours later they are still within a day.
  await moveClock(a, 12 * HOUR);
  await a.reload();
  await a.waitForLine(lines[1]);
  assert.equal(await keptCount(a, 'lobby'), 2, 'not expired yet');

  // Two days later they are gone, from the screen and from the device.
  await moveClock(a, 36 * HOUR);
  await a.reload();
  await a.waitOnline();
  assert.equal(await keptCount(a, 'lobby'), 0, 'expired lines are deleted');
  const texts = await roomTexts(a, 'lobby');
  for (const text of lines) assert.ok(!texts.includes(text), `"${text}" is not shown`);
});

test('"Clear this conversation" empties a room or a whisper conversation, and it stays empty after a reload', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, { args: NO_SERVER_HISTORY });
  const { a, b, bName, bKey } = await whisperPair(scene, { probes: false });
  const id = tag();
  const lines = [`clear me ${id}`, `and me ${id}`];
  await sayAll(b, lines);
  await a.waitForLine(lines[1]);
  assert.equal(await keptCount(a, 'lobby'), 2);

  await roomAction(a, 'Clear this conversation');
  await waitUntil("A's #lobby to be empty", async () => (await roomTexts(a, 'lobby')).length === 0);
  assert.equal(await keptCount(a, 'lobby'), 0, 'nothing of it is kept');
  assert.deepEqual(await a.tabs(), ['lobby'], 'the tab stays');

  await openByClick(a, bName);
  const whispered = `a whisper to clear ${id}`;
  await a.say(whispered);
  await waitWhisperDelivered(a, whispered);
  assert.equal(await keptCount(a, `@${bKey}`), 1);
  await a.page.locator('wisp-whisper-header button.more').click();
  await a.page.locator('wisp-whisper-header wisp-member-menu [role=menuitem][data-action=clear-conversation]').click();
  await waitUntil("A's whisper conversation to be empty", async () => (await a.state<{ whispers: Record<string, { lines: unknown[] }> }>()).whispers[bKey]?.lines.length === 0);
  assert.equal(await keptCount(a, `@${bKey}`), 0, 'nothing of the whispers is kept');

  await a.reload();
  await a.waitOnline();
  await a.selectRoom('lobby');
  await a.waitForMembers([await a.myName(), bName]);
  const texts = await roomTexts(a, 'lobby');
  for (const text of lines) assert.ok(!texts.includes(text), `"${text}" is not back`);
  const reloaded = await a.state<{ order: string[]; whispers: Record<string, { lines: unknown[] }> }>();
  assert.ok(reloaded.order.includes(`@${bKey}`), 'the whisper tab stays');
  assert.deepEqual(reloaded.whispers[bKey]?.lines, [], 'the cleared whispers are not back');
  // A new line is kept again: clearing is not switching off.
  const after = `after the clear ${id}`;
  await sayAll(b, [after]);
  await a.waitForLine(after);
  assert.equal(await keptCount(a, 'lobby'), 1);
});

test('/purge removes the lines on an online member at once and on an offline member when they come back', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, { args: NO_SERVER_HISTORY });
  const owner = await scene.person('Owner');
  const online = await scene.person('Online');
  const away = await scene.person('Away');
  const room = `club${tag()}`;
  for (const p of [owner, online, away]) await joinRoom(p, room);
  const before = [`before the purge ${room}`, `also before ${room}`];
  await sayAll(online, [before[0]]);
  await sayAll(away, [before[1]]);
  for (const p of [owner, online, away]) {
    await p.waitForLine(before[1]);
    await p.waitForLine(before[0]);
    assert.equal(await keptCount(p, room), 2, `${p.label} keeps the room's lines`);
  }

  // Away closes the app (the page goes elsewhere); its device still holds the lines.
  await away.page.goto('about:blank');
  await owner.say('/purge');
  await waitNotice(online, `cleared #${room} for everyone`);
  await waitUntil(`Online's #${room} to go`, async () => !(await online.state()).order.includes(room));
  assert.equal(await keptCount(online, room), 0, "the online member's device forgot the room's lines");

  // Away comes back: the tab is restored from the device, the join says the room was purged.
  await away.page.goto(away.url, { waitUntil: 'load' });
  await away.waitOnline();
  await waitUntil(`Away to be in #${room} again`, async () => {
    const state = await away.state();
    return Boolean(state.me.id && state.rooms[room]?.members[state.me.id]);
  });
  await waitUntil(`Away's #${room} to lose the purged lines`, async () => {
    const texts = await roomTexts(away, room);
    return before.every((text) => !texts.includes(text));
  }, WAIT_MS);
  assert.equal(await keptCount(away, room), 0, "the offline member's device forgot them too");
});

test('a long conversation restores its newest 200 lines; "Load earlier messages" brings the rest above, keeping the line in view', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser, { args: NO_SERVER_HISTORY });
  const a = await scene.person('A');
  await a.waitOnline();
  const id = tag();
  const texts = Array.from({ length: 450 }, (_, i) => `long ${id} ${String(i).padStart(3, '0')}`);
  // Written through the app's own line store (sealed as the app seals them): 450 lines
  // through the server take minutes on this machine. One second apart, oldest first.
  await a.page.evaluate(`(async (all) => {
    const start = Date.now() - all.length * 1000;
    for (const [i, text] of all.entries()) {
      const ts = start + i * 1000;
      await window.wisp.history.lines.append('lobby', { key: 'k' + String(i).padStart(3, '0'), kind: 'text', text, ts, time: ts, name: 'Ada', from: 'p1' });
    }
  })(${JSON.stringify(texts)})`);
  assert.equal(await keptCount(a, 'lobby'), 450, 'the device keeps all of them');

  await a.reload();
  await a.waitOnline();
  await a.waitForLine(texts.at(-1)!);
  const earlier = a.page.locator('wisp-message-list').getByRole('button', { name: 'Load earlier messages' });
  /** The texts shown, in order, each with its key. */
  const shown = async () => {
    const byKey = new Map((await a.state()).rooms.lobby!.lines.map((l) => [l.key, l.text]));
    return (await shownKeys(a)).map((key) => ({ key, text: byKey.get(key) }));
  };
  let lines = await shown();
  assert.deepEqual(lines.map((l) => l.text), texts.slice(250), 'exactly the newest 200');
  await earlier.waitFor({ state: 'visible' });

  for (const from of [50, 0]) {
    // The person scrolls to the top and asks for more: the line at the top stays where it is.
    const held = lines[0].key;
    await a.page.evaluate(`document.querySelector('wisp-app').shadowRoot.querySelector('wisp-message-list').scrollTop = 0`);
    const top = await lineTop(a, held);
    await earlier.click();
    await waitUntil(`lines from ${from} to show`, async () => (await shown())[0]?.text === texts[from]);
    lines = await shown();
    assert.deepEqual(lines.map((l) => l.text), texts.slice(from), 'the previous window went above, in order');
    assert.equal(new Set(lines.map((l) => l.key)).size, lines.length, 'no line repeats');
    const after = await lineTop(a, held);
    assert.ok(top !== undefined && after !== undefined && Math.abs(after - top) < 2, `the line in view stays put (${top} then ${after})`);
  }
  await earlier.waitFor({ state: 'detached' });
});
