// /help opens a panel of the commands this person may use, in groups: a member sees no
// moderation, the owner of the active room sees its moderation, the server admin sees the
// server's commands too. It is used with the keyboard and closes with Escape, focus back
// in the emptied composer.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WAIT_MS, launchBrowser, waitUntil, type Person } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { ADMIN_TOKEN, joinRoom, rename, waitNotice } from './support/moderation.ts';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** The focused element, looking through shadow roots. */
function deepFocus(page: Page): Promise<string> {
  return page.evaluate(() => {
    let el: Element | null = document.activeElement;
    const path: string[] = [];
    while (el) {
      path.push(el.tagName.toLowerCase() + (el.id ? `#${el.id}` : ''));
      el = el.shadowRoot?.activeElement ?? null;
    }
    return path.join(' > ');
  });
}

function panel(p: Person) {
  return p.page.locator('wisp-help-panel dialog');
}

/** Types /help, waits for the panel; returns its group headings and every usage it lists. */
async function openHelp(p: Person): Promise<{ groups: string[]; usages: string[] }> {
  await p.say('/help');
  await panel(p).waitFor({ state: 'visible', timeout: WAIT_MS });
  return readPanel(p);
}

async function readPanel(p: Person): Promise<{ groups: string[]; usages: string[] }> {
  const groups = (await panel(p).locator('section h3').allTextContents()).map((s) => s.trim());
  const usages = (await panel(p).locator('dt code').allTextContents()).map((s) => s.trim());
  return { groups, usages };
}

/** Escape closes the panel; focus is back in the composer, which is empty. */
async function closeWithEscape(p: Person): Promise<void> {
  await p.page.keyboard.press('Escape');
  await panel(p).waitFor({ state: 'hidden', timeout: WAIT_MS });
  await waitUntil(`${p.label}'s focus back in the composer`, async () => /wisp-composer > textarea#input$/.test(await deepFocus(p.page)));
  assert.equal(await p.textarea.inputValue(), '', 'the /help line was taken: the composer is empty');
}

test('/help shows a member only what a member may do, the owner of the room its moderation, the admin the server commands; Escape closes it back to the composer', { timeout: 180_000 }, async (t) => {
  const scene = await Scene.open(t, browser, { args: ['--admin-token', ADMIN_TOKEN] });
  const mia = await scene.person('Mia');
  const ada = await scene.person('Ada');
  await rename(mia, 'Mia');
  await rename(ada, 'Ada');

  // A member of #lobby: chat, rooms and whispers, nothing to moderate with.
  const member = await openHelp(mia);
  assert.deepEqual(member.groups, ['Chat', 'Rooms', 'Whispers']);
  assert.ok(member.usages.includes('/w <name> <message>') && member.usages.includes('/join #room'), `the everyday commands: ${member.usages.join(' | ')}`);
  for (const usage of member.usages) assert.doesNotMatch(usage, /^\/(ban|kick|op|purge|topic|shutdown|userinfo)\b/, 'no command a member may not use');
  assert.equal(await panel(mia).getByText('/ban').count(), 0, 'no /ban anywhere in the panel');
  // The keyboard is in the panel: focus went into it, and Tab stays on its controls.
  assert.match(await deepFocus(mia.page), /wisp-help-panel > /, 'focus moved into the panel');
  await mia.page.keyboard.press('Tab');
  assert.match(await deepFocus(mia.page), /wisp-help-panel > /, 'Tab stays in the panel');
  await closeWithEscape(mia);

  // The owner of #games (she made it) sees the room's moderation there, and not the server's.
  await joinRoom(mia, 'games');
  const owner = await openHelp(mia);
  assert.deepEqual(owner.groups, ['Chat', 'Rooms', 'Whispers', 'Moderation']);
  for (const usage of ['/kick <name> [reason]', '/op <name>', '/purge', '/topic [text]']) assert.ok(owner.usages.includes(usage), `the owner sees ${usage}`);
  assert.ok(!owner.usages.some((u) => u.includes('--server')), 'no server-wide command for a room owner');
  // Close by keyboard too: the Close button.
  await panel(mia).getByRole('button', { name: 'Close' }).focus();
  await mia.page.keyboard.press('Enter');
  await panel(mia).waitFor({ state: 'hidden', timeout: WAIT_MS });
  await waitUntil("Mia's focus back in the composer", async () => /wisp-composer > textarea#input$/.test(await deepFocus(mia.page)));

  // The server admin, in #lobby where no one is owner: everything, the server's commands included.
  await ada.say(`/admin ${ADMIN_TOKEN}`);
  await waitNotice(ada, 'You are now the server admin.');
  const admin = await openHelp(ada);
  assert.deepEqual(admin.groups, ['Chat', 'Rooms', 'Whispers', 'Moderation', 'Server admin']);
  assert.ok(admin.usages.some((u) => u.startsWith('/ban --server')), `the admin sees /ban --server: ${admin.usages.join(' | ')}`);
  assert.ok(admin.usages.includes('/shutdown'));
  await closeWithEscape(ada);

  // Settings has a way in too, for someone who does not know /help.
  await ada.page.getByRole('button', { name: 'Settings' }).click();
  await ada.page.locator('wisp-settings-dialog').getByRole('button', { name: 'Commands' }).click();
  await panel(ada).waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.deepEqual((await readPanel(ada)).groups, admin.groups);
  assert.equal(await ada.page.locator('wisp-settings-dialog dialog').isVisible(), false, 'Settings closed behind it');
  await closeWithEscape(ada);
});
