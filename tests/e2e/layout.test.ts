// The phone-first layout, in real Chromium against the real server: at 320 to 1280 px wide, with
// 24-character names, the top bar, the tabs and the room or whisper header each stay one line with
// nothing cut off (an ellipsis with the whole text in a title is the one way to shorten), and on a
// phone the chrome above the messages stays within 120 px, in a room and in a whisper (not verified
// yet, and verified). And the everyday actions there: × on a tab,
// the room menu, and renaming by tapping one's own name.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, waitUntil, type Person } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { appState, joinRoom, rename } from './support/moderation.ts';
import { joinByPicker } from './support/private-rooms.ts';
import { header, memberButton, waitSecure, whisperTab } from './support/whisper.ts';
import { measureChrome, memberProblems, nameRoom, tabGeometry, type ChromeReport } from './support/layout.ts';

/** The chrome above the message list on a 640 px tall phone. */
const PHONE_CHROME_PX = 120;
const PHONES = [320, 360, 390];
const WIDTHS = [...PHONES, 768, 1280];
// Tabs are placed at fractional pixels while the strip scrolls by whole ones: "in view" allows 1 px of rounding.
const heightFor = (width: number) => (PHONES.includes(width) ? 640 : 800);

// 24 characters each: the longest a name may be.
const OWNER = 'Maximiliane-Wolkenstein1';
const MEMBER = 'Bartholomew-Featherstone';
const PLAIN = 'garden-club-weekly-plans';
const TOPICAL = 'neighbourhood-bike-repai';
const SECRET = 'family-holiday-secret-xy';
const TOPIC = 'Saturday morning repairs in the old fire station yard: bring your own tubes, tyre levers and a good mood.';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

function menuButton(p: Person) {
  return p.page.locator('wisp-room-header button.more');
}

function menuItems(p: Person) {
  return p.page.locator('wisp-room-header wisp-member-menu [role=menuitem]');
}

/** The deep focused element, described by tag and class or label. */
function focused(p: Person): Promise<string> {
  return p.page.evaluate(`(() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    return el ? el.localName + '.' + el.className + '|' + (el.getAttribute('aria-label') || '') : '';
  })()`) as Promise<string>;
}

function assertFits(report: ChromeReport, where: string, phone: boolean): void {
  assert.equal(report.pageOverflow <= 0, true, `${where}: the page scrolls sideways by ${report.pageOverflow}px`);
  for (const bar of report.bars) {
    assert.deepEqual(bar.clipped, [], `${where}: nothing in the ${bar.bar} is cut off`);
    assert.deepEqual(bar.wrapped, [], `${where}: no text in the ${bar.bar} wraps`);
    assert.deepEqual(bar.offscreen, [], `${where}: nothing in the ${bar.bar} sticks out of the window`);
    assert.deepEqual(bar.offLine, [], `${where}: the ${bar.bar} is one line`);
    assert.equal(bar.extraHeight <= 0, true, `${where}: the ${bar.bar} is as tall as one line (${bar.extraHeight}px more)`);
  }
  if (phone) assert.equal(report.chrome <= PHONE_CHROME_PX, true, `${where}: the chrome above the messages is ${report.chrome}px (at most ${PHONE_CHROME_PX})`);
}

test('at 320, 360, 390, 768 and 1280 px wide, with 24-character names, every bar is one line and nothing is cut off', { timeout: 300_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const owner = await scene.person('Owner', { viewport: { width: 1280, height: 800 } });
  const member = await scene.person('Member', { viewport: { width: 1280, height: 800 } });
  await rename(owner, OWNER);
  await rename(member, MEMBER);
  for (const room of [PLAIN, TOPICAL]) {
    await joinRoom(owner, room);
    await joinRoom(member, room);
  }
  await owner.selectRoom(TOPICAL);
  await owner.say(`/topic ${TOPIC}`);
  await waitUntil('the topic to show', async () => (await owner.page.locator('wisp-room-header .topic').textContent()) === TOPIC);
  const passphrase = 'seven lanterns over the quiet harbour';
  await joinByPicker(owner, SECRET, passphrase);
  await joinByPicker(member, SECRET, passphrase);
  await waitUntil('the private room to be joined', async () => (await appState(owner)).rooms[SECRET]?.members !== undefined && (await owner.page.locator('wisp-room-header [data-readers=members]').count()) === 1);
  // A whisper tab, named after the other person.
  await owner.selectRoom(PLAIN);
  const memberKey = (await member.page.evaluate(`window.wisp.state.rooms['${PLAIN}'] && Object.values(window.wisp.state.rooms['${PLAIN}'].members).find((m) => m.name === '${MEMBER}').key`)) as string;
  await memberButton(owner, MEMBER).click();
  await whisperTab(owner, memberKey).waitFor({ state: 'visible', timeout: WAIT_MS });
  // Its normal state once the link is up: encrypted, not verified yet, and how it travels.
  await waitSecure(owner);
  assert.equal((await header(owner).locator('[data-trust]').getAttribute('data-trust')), 'unverified');

  const scenes: [string, () => Promise<void>][] = [
    ['a plain room', () => owner.selectRoom(PLAIN)],
    ['a room with a long topic', () => owner.selectRoom(TOPICAL)],
    ['a private room', () => owner.selectRoom(SECRET)],
    ['a whisper', async () => whisperTab(owner, memberKey).click()],
  ];
  // The page may draw under a notch; the bars keep their content inside the safe area (env(safe-area-inset-*)).
  assert.match((await owner.page.locator('meta[name=viewport]').getAttribute('content')) ?? '', /viewport-fit=cover/);
  let checked = 0;
  for (const width of WIDTHS) {
    await owner.page.setViewportSize({ width, height: heightFor(width) });
    for (const [what, open] of scenes) {
      await open();
      await owner.page.locator('wisp-message-list').waitFor({ state: 'visible', timeout: WAIT_MS });
      await owner.page.locator(what === 'a whisper' ? 'wisp-whisper-header .line' : 'wisp-room-header .line').waitFor({ timeout: WAIT_MS });
      const report = await measureChrome(owner.page);
      t.diagnostic(`${what} at ${width}px: chrome ${report.chrome}px, bars ${report.bars.map((b) => `${b.bar} ${b.height}px`).join(', ')}`);
      assert.equal(report.bars.length, 3, `${what} at ${width}px: top bar, tabs and the conversation's header are measured`);
      assertFits(report, `${what} at ${width}px`, PHONES.includes(width));
      checked++;
    }
    // The people in the room: in the side panel, or in the drawer on a phone.
    await owner.selectRoom(PLAIN);
    const toggle = owner.page.locator('wisp-app button.members-toggle');
    const phone = await toggle.isVisible();
    if (phone) await toggle.click();
    await owner.waitForMembers([OWNER, MEMBER]);
    assert.deepEqual(await memberProblems(owner.page), [], `the member list at ${width}px`);
    if (phone) await owner.page.keyboard.press('Escape');
    await owner.page.locator('wisp-app aside#members').waitFor({ state: phone ? 'hidden' : 'visible', timeout: WAIT_MS });
  }

  // The whisper once the member is verified: "Verified · End-to-end encrypted · …" still fits one line.
  await whisperTab(owner, memberKey).click();
  await header(owner).locator('.line button.verify').click();
  const verifyDialog = owner.page.locator('wisp-verify-dialog dialog');
  await verifyDialog.getByRole('button', { name: 'Mark as verified' }).click();
  await verifyDialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
  await header(owner).locator('[data-trust="verified"]').waitFor({ timeout: WAIT_MS });
  await waitSecure(owner);
  for (const width of WIDTHS) {
    await owner.page.setViewportSize({ width, height: heightFor(width) });
    const report = await measureChrome(owner.page);
    t.diagnostic(`a verified whisper at ${width}px: chrome ${report.chrome}px, bars ${report.bars.map((b) => `${b.bar} ${b.height}px`).join(', ')}`);
    assert.equal(report.bars.length, 3);
    assertFits(report, `a verified whisper at ${width}px`, PHONES.includes(width));
    checked++;
  }

  // Offline: the top bar says so in a word (the sentence in its title) and keeps the name.
  await owner.selectRoom(PLAIN);
  scene.expectServerDown(); // stopped on purpose: reconnect attempts are refused meanwhile
  assert.equal(await scene.server.stop(), 0);
  await owner.waitForStatus('offline');
  for (const width of WIDTHS) {
    await owner.page.setViewportSize({ width, height: heightFor(width) });
    const report = await measureChrome(owner.page);
    t.diagnostic(`offline at ${width}px: chrome ${report.chrome}px, bars ${report.bars.map((b) => `${b.bar} ${b.height}px`).join(', ')}`);
    assertFits(report, `offline at ${width}px`, PHONES.includes(width));
    const retry = owner.connectionStatus.locator('button[aria-label="Retry now"]');
    assert.equal(await retry.isVisible(), true, `offline at ${width}px: Retry now is there`);
    const room = await nameRoom(owner.page);
    assert.ok(room.button > room.fourChars, `offline at ${width}px: the name shows more than its first four characters (${room.button}px for ${room.fourChars}px)`);
    checked++;
  }
  assert.equal(checked, WIDTHS.length * (scenes.length + 2));
});

test('× on a room tab leaves the room, × on a whisper tab closes it, and the active tab is scrolled into view', { timeout: 240_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A', { viewport: { width: 360, height: 640 } });
  const b = await scene.person('B');
  const [aName, bName] = [await a.myName(), await b.myName()];
  const rooms = Array.from({ length: 7 }, (_, i) => `tab-room-number-${i + 1}`);
  for (const room of rooms) await joinRoom(a, room);
  await joinRoom(b, rooms[6]);
  assert.equal((await a.tabs()).length, 8, 'lobby and seven rooms');

  // The last tab is active (just joined): in view, with a hint that more wait on the left, and "+" on screen.
  let geometry = await tabGeometry(a.page);
  assert.ok(geometry.active.left >= geometry.strip.left - 1 && geometry.active.right <= geometry.strip.right + 1, `the active last tab is in view: ${JSON.stringify(geometry)}`);
  assert.deepEqual(geometry.hints, ['left'], 'a hint says more tabs wait on the left');
  assert.ok(geometry.add.right <= geometry.width && geometry.add.left >= 0, '"+" is on screen');
  // Alt+1 goes to the first tab: it scrolls into view, and the hint moves to the right.
  await a.textarea.focus();
  await a.page.keyboard.press('Alt+1');
  await waitUntil('lobby to be active', async () => (await a.activeTab()) === 'lobby');
  geometry = await waitUntil('the first tab to be in view', async () => {
    const g = await tabGeometry(a.page);
    return g.active.left >= g.strip.left - 1 && g.active.right <= g.strip.right + 1 && g.hints.join() === 'right' ? g : undefined;
  });
  assert.ok(geometry.add.right <= geometry.width, '"+" is still on screen');

  // × on a room tab: "Leave #room", and B sees A leave.
  await a.selectRoom(rooms[6]);
  await waitUntil(`B to see ${aName} in #${rooms[6]}`, async () => Object.values((await appState(b)).rooms[rooms[6]]?.members ?? {}).some((m) => m.name === aName));
  const leave = a.page.locator(`wisp-room-tabs button[aria-label="Leave #${rooms[6]}"]`);
  // Keyboard: from the active tab, Tab reaches its ×.
  await a.tab(rooms[6]).focus();
  await a.page.keyboard.press('Tab');
  assert.match(await focused(a), new RegExp(`^button\\.close\\|Leave #${rooms[6]}$`), 'Tab from the active tab reaches its ×');
  await a.page.keyboard.press('Enter');
  await waitUntil('the tab to go', async () => !(await a.tabs()).includes(rooms[6]));
  await waitUntil(`B to see ${aName} leave`, async () => !Object.values((await appState(b)).rooms[rooms[6]]?.members ?? {}).some((m) => m.name === aName));
  assert.equal(await leave.count(), 0);

  // × on a whisper tab closes the conversation.
  await a.selectRoom('lobby');
  const bKey = (await b.page.evaluate(`Object.values(window.wisp.state.rooms.lobby.members).find((m) => m.name === ${JSON.stringify(bName)}).key`)) as string;
  await a.page.locator('wisp-app button.members-toggle').click();
  await memberButton(a, bName).click();
  await whisperTab(a, bKey).waitFor({ state: 'visible', timeout: WAIT_MS });
  await a.page.locator(`wisp-room-tabs button[aria-label="Close whisper with ${bName}"]`).click();
  await whisperTab(a, bKey).waitFor({ state: 'detached', timeout: WAIT_MS });
  assert.equal((await a.tabs()).includes(''), false, 'no whisper tab is left');
});

test('the room menu offers what each person may do, and gives focus back', { timeout: 180_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const owner = await scene.person('Owner', { viewport: { width: 360, height: 640 } });
  const member = await scene.person('Member', { viewport: { width: 360, height: 640 } });
  const room = `menu-${Date.now().toString(36)}`;
  await joinRoom(owner, room);
  await joinRoom(member, room);

  const labels = async (p: Person) => {
    await menuButton(p).click();
    await menuItems(p).first().waitFor({ state: 'visible', timeout: WAIT_MS });
    return (await menuItems(p).allTextContents()).map((s) => s.trim());
  };
  assert.deepEqual(await labels(owner), ['Invite…', 'Set topic…', 'History…', 'Clear this conversation', `Leave #${room}`], 'the owner');
  // Escape closes it and focus goes back to the menu button.
  await owner.page.keyboard.press('Escape');
  await menuItems(owner).first().waitFor({ state: 'detached', timeout: WAIT_MS });
  assert.match(await focused(owner), /^button\.more\|Actions for #/, 'focus is back on the menu button');
  assert.deepEqual(await labels(member), ['Invite…', 'Clear this conversation', `Leave #${room}`], 'a member');
  await member.page.keyboard.press('Escape');

  // "Set topic…" puts /topic and the current topic in the composer.
  await labels(owner);
  await menuItems(owner).filter({ hasText: 'Set topic…' }).click();
  await waitUntil('the composer to hold /topic', async () => (await owner.textarea.inputValue()) === '/topic ');
  await owner.textarea.fill('/topic Plans for the spring fair.');
  await owner.textarea.press('Enter');
  await waitUntil('the member to see the topic', async () => (await member.page.locator('wisp-room-header .summary').textContent())?.trim() === 'Plans for the spring fair.');
  // A tap on the (shortened) topic shows it whole below the line, with who can read the room.
  const details = member.page.locator('wisp-room-header #details');
  await member.page.locator('wisp-room-header .summary').click();
  await waitUntil('the details to open', async () => (await member.page.locator('wisp-room-header .summary').getAttribute('aria-expanded')) === 'true');
  assert.equal(await details.evaluate((el) => getComputedStyle(el).clip), 'auto', 'the details are shown, not only to screen readers');
  assert.equal((await details.locator('.topic').textContent())?.trim(), 'Plans for the spring fair.');
  assert.equal((await details.locator('[data-readers]').textContent())?.trim(), 'the server operator can read this room');

  // History… opens the history choices in the same place.
  await labels(owner);
  await menuItems(owner).filter({ hasText: 'History…' }).click();
  await menuItems(owner).filter({ hasText: 'None' }).click();
  await waitUntil('the room to keep no history', async () => /keeps no history/.test((await owner.page.locator('wisp-room-header [data-history]').textContent()) ?? ''));

  // A private room: the owner may change the passphrase, everyone may forget it.
  const secret = `vault-${Date.now().toString(36)}`;
  const passphrase = 'granite owls at midnight';
  await joinByPicker(owner, secret, passphrase);
  await joinByPicker(member, secret, passphrase);
  await waitUntil('the owner in the private room', async () => (await owner.page.locator('wisp-room-header [data-readers=members]').count()) === 1);
  await waitUntil('the member in the private room', async () => (await member.page.locator('wisp-room-header [data-readers=members]').count()) === 1);
  const ownerItems = await labels(owner);
  assert.deepEqual(ownerItems, ['Invite…', 'Set topic…', 'History…', 'Change passphrase…', 'Forget this room', 'Clear this conversation', `Leave #${secret}`], 'the owner of a private room');
  await owner.page.keyboard.press('Escape');
  assert.deepEqual(await labels(member), ['Invite…', 'Forget this room', 'Clear this conversation', `Leave #${secret}`], 'a member of a private room');

  // Leave from the menu: the member is gone for the owner too.
  await menuItems(member).filter({ hasText: `Leave #${secret}` }).click();
  await waitUntil('the member to leave', async () => !(await member.tabs()).includes(secret));
  await waitUntil('the owner to see the member leave', async () => Object.keys((await appState(owner)).rooms[secret]?.members ?? {}).length === 1);
});

test('tapping one’s own name renames; a taken name is said in the dialog and the composer keeps its draft', { timeout: 120_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const a = await scene.person('A', { viewport: { width: 360, height: 640 } });
  const b = await scene.person('B');
  const bName = await b.myName();
  const draft = 'a half-written message';
  await a.textarea.fill(draft);

  const nameButton = a.page.locator('wisp-app header button.rename');
  const dialog = a.page.locator('wisp-rename-dialog dialog');
  const input = a.page.locator('wisp-rename-dialog input#name');
  await nameButton.click();
  await dialog.waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.equal(await input.inputValue(), await a.myName(), 'the dialog starts with the current name');

  // Escape closes it, and focus goes back to the name.
  await a.page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
  await waitUntil('focus back on the name', async () => (await focused(a)).startsWith('button.rename'));

  // A taken name: the server's sentence in the dialog, not in the composer.
  await a.page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'visible', timeout: WAIT_MS });
  await input.fill(bName);
  await input.press('Enter');
  const error = a.page.locator('wisp-rename-dialog .error');
  const sentence = await waitUntil('the refusal in the dialog', async () => ((await error.textContent()) ?? '').trim() || undefined);
  assert.match(sentence, new RegExp(`${bName}.*taken.*\\.$`), 'the dialog says the name is taken, in a sentence');
  assert.equal(await a.textarea.inputValue(), draft, 'the composer keeps its draft');
  assert.equal(await dialog.isVisible(), true, 'the dialog stays open to try another name');

  // Another name goes through: the dialog closes and the top bar says it.
  const wanted = `Newname${Date.now().toString(36).slice(-5)}`;
  await input.fill(wanted);
  await a.page.locator('wisp-rename-dialog button[type=submit]').click();
  await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
  await waitUntil('the new name in the top bar', async () => (await a.myName()) === wanted);
  await waitUntil('focus back on the name', async () => (await focused(a)).startsWith('button.rename'));
  await waitUntil('B to see the new name', async () => Object.values((await appState(b)).rooms.lobby?.members ?? {}).some((m) => m.name === wanted));
  assert.equal(await a.textarea.inputValue(), draft, 'the composer still keeps its draft');
});
