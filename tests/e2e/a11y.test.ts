// axe-core on every screen a person sees, at a phone's size and a desktop's, in the light
// and the dark colour scheme: zero violations of any impact. Each world is built once; a
// screen is opened on it for each viewport (a menu or dialog opens where it would at that
// size), then scanned in both schemes. A failure lists every violation by screen, rule,
// impact and selector, all at once, so one run says everything there is to fix.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Person, WAIT_MS, launchBrowser, tag, waitUntil } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { axeViolations, describeAxe, type AxeScan } from './support/axe.ts';
import { TempFiles, card, converse, meet } from './support/files.ts';
import { joinByPicker, passphraseDialog } from './support/private-rooms.ts';
import { watchCsp } from './support/csp.ts';
import { roomAction } from './support/room-menu.ts';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const VIEWPORTS = [
  { name: '360x640', width: 360, height: 640 },
  { name: '1280x800', width: 1280, height: 800 },
] as const;
const SCHEMES = ['light', 'dark'] as const;
type Viewport = (typeof VIEWPORTS)[number];

/** A screen: how to open it at a viewport (the world is already there) and how to leave it. */
interface Screen {
  name: string;
  open: (viewport: Viewport) => Promise<void>;
  close?: () => Promise<void>;
}

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Where the scans leave a picture of each screen (ignored by git): to look at, not compared. */
const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
mkdirSync(SHOTS, { recursive: true });

/** Scans each screen at each viewport in each scheme, and photographs it; returns every scan. */
async function scanAll(page: Page, screens: Screen[]): Promise<AxeScan[]> {
  const scans: AxeScan[] = [];
  for (const screen of screens) {
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      await screen.open(viewport);
      for (const colorScheme of SCHEMES) {
        await page.emulateMedia({ colorScheme });
        const where = `${screen.name} @ ${viewport.name} ${colorScheme}`;
        scans.push({ where, violations: await axeViolations(page) });
        await page.screenshot({ path: `${SHOTS}${screen.name.replace(/[^a-z0-9]+/gi, '-')}-${viewport.name}-${colorScheme}.png` });
      }
      await screen.close?.();
    }
  }
  return scans;
}

/** Every scan was made, and none found anything (else: every violation, by rule, node and screen). */
function assertClean(scans: AxeScan[], expectedScans: number): void {
  assert.equal(scans.length, expectedScans, `scanned ${scans.map((s) => s.where).join(', ')}`);
  const failed = scans.filter((s) => s.violations.length);
  assert.equal(failed.length, 0, `axe-core found violations on ${failed.length} of ${scans.length} scans:\n${describeAxe(failed)}`);
}

test('16 screens of one world (rooms, a private room, a whisper with a file offer, menus, dialogs, offline) have no axe-core violations at 360x640 and 1280x800, light and dark', { timeout: 600_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const a = await scene.person('A');
  const b = await scene.person('B');
  const pair = await meet(a, b);
  const page = a.page;
  const app = page.locator('wisp-app');

  // The world: lines from both in #lobby, a room with a topic, a private room.
  await b.say(`hello from B ${tag()}`);
  await a.say(`hello from A ${tag()}`);
  await a.waitForLine('hello from B');
  await joinByPicker(a, 'plans');
  await a.say('/topic Weekly plans and who brings what');
  await page.locator('wisp-room-header .topic').waitFor();
  await joinByPicker(a, 'vault', `correct horse ${tag()}`);
  await waitUntil('#vault to be end-to-end encrypted', async () => (await page.locator('wisp-room-header [data-readers=members]').count()) === 1, 60_000);
  await a.selectRoom('lobby');

  const escape = async (what: string) => {
    await page.keyboard.press('Escape');
    await page.locator(what).waitFor({ state: 'hidden' });
  };
  const inRoom = (room: string) => async () => {
    if ((await a.activeTab()) !== room) await a.selectRoom(room);
  };
  const drawerOpen = async () => {
    await app.locator('button.members-toggle').click();
    await app.locator('aside#members').waitFor({ state: 'visible' });
  };

  const screens: Screen[] = [
    { name: 'room', open: inRoom('lobby') },
    { name: 'room with a topic', open: inRoom('plans') },
    { name: 'private room', open: inRoom('vault') },
    {
      name: 'passphrase dialog',
      open: async () => {
        await inRoom('vault')();
        await roomAction(a, 'Change passphrase');
        await passphraseDialog(a).waitFor({ state: 'visible' });
      },
      close: () => escape('wisp-passphrase-dialog dialog'),
    },
    {
      name: 'invite dialog',
      open: async () => {
        await inRoom('vault')();
        await roomAction(a, 'Invite');
        await page.locator('wisp-invite-dialog dialog').waitFor({ state: 'visible' });
      },
      close: () => escape('wisp-invite-dialog dialog'),
    },
    {
      name: 'room picker',
      open: async () => {
        await page.locator('wisp-room-tabs').getByRole('button', { name: 'Join or create a room' }).click();
        await page.locator('wisp-room-picker dialog').waitFor({ state: 'visible' });
        await page.locator('wisp-room-picker ul, wisp-room-picker p.muted:not(:has-text("Loading"))').first().waitFor();
      },
      close: () => escape('wisp-room-picker dialog'),
    },
    {
      name: 'settings dialog',
      open: async () => {
        await app.getByRole('button', { name: 'Settings' }).click();
        await page.locator('wisp-settings-dialog dialog').waitFor({ state: 'visible' });
      },
      close: () => escape('wisp-settings-dialog dialog'),
    },
    {
      name: 'composer with command hints',
      open: async () => {
        await inRoom('lobby')();
        await a.textarea.fill('/');
        await page.locator('wisp-composer [role=listbox]').waitFor();
      },
      close: async () => {
        await a.textarea.fill('');
        await page.locator('wisp-composer [role=listbox]').waitFor({ state: 'detached' });
      },
    },
    {
      name: 'member menu',
      open: async (viewport) => {
        await inRoom('lobby')();
        if (viewport.width < 720) await drawerOpen();
        await page.locator('wisp-member-list').getByRole('button', { name: `Actions for ${pair.bName}` }).click();
        await page.locator('wisp-member-menu [role=menu]').waitFor({ state: 'visible' });
      },
      close: async () => {
        await escape('wisp-member-menu [role=menu]');
        if (await app.locator('aside#members.open').count()) await escape('wisp-app aside#members');
      },
    },
    {
      name: 'room menu',
      open: async () => {
        await inRoom('vault')();
        await page.locator('wisp-room-header button.more').click();
        await page.locator('wisp-room-header wisp-member-menu [role=menu]').waitFor({ state: 'visible' });
      },
      close: () => escape('wisp-room-header wisp-member-menu [role=menu]'),
    },
    {
      name: 'room history menu',
      open: async () => {
        await inRoom('plans')();
        await roomAction(a, 'History');
        await page.locator('wisp-room-header wisp-member-menu [role=menu]').waitFor({ state: 'visible' });
      },
      close: () => escape('wisp-room-header wisp-member-menu [role=menu]'),
    },
    {
      name: 'people drawer',
      // A phone's drawer; at 1280x800 it is the same drawer after the window widened.
      open: async (viewport) => {
        await inRoom('lobby')();
        await page.setViewportSize({ width: 360, height: 640 });
        await drawerOpen();
        await page.setViewportSize({ width: viewport.width, height: viewport.height });
      },
      close: () => escape('wisp-app aside#members.open'),
    },
  ];
  const first = await scanAll(page, screens);

  // A whisper with B, then B offers a file.
  await converse(pair);
  const whisper: Screen = { name: 'whisper', open: async () => undefined };
  const verify: Screen = {
    name: 'verify dialog',
    open: async () => {
      await page.locator('wisp-whisper-header').getByRole('button', { name: 'Verify' }).first().click();
      await page.locator('wisp-verify-dialog [data-safety-number]').waitFor();
    },
    close: () => escape('wisp-verify-dialog dialog'),
  };
  const second = await scanAll(page, [whisper, verify]);
  await b.page.locator('wisp-composer input[type=file]').setInputFiles(files.random('notes.bin', 20_000).path);
  await card(a, 'notes.bin').getByRole('button', { name: 'Accept' }).waitFor();
  const third = await scanAll(page, [{ name: 'whisper with a file offer', open: async () => undefined }]);

  // Offline: the server stops; the app says so and keeps trying.
  await a.selectRoom('lobby');
  scene.expectServerDown();
  await scene.server.stop();
  await a.waitForStatus('offline', WAIT_MS);
  const fourth = await scanAll(page, [{ name: 'offline', open: async () => undefined }]);

  assertClean([...first, ...second, ...third, ...fourth], 16 * VIEWPORTS.length * SCHEMES.length);
});

test('the server password dialog, and the screen of someone in no room, have no axe-core violations at 360x640 and 1280x800, light and dark', { timeout: 180_000 }, async (t) => {
  const scene = await Scene.open(t, browser, { args: ['--password', 'club-secret'] });
  // Not newPerson: that waits until the person is online, and the password comes first.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const csp = await watchCsp(context);
  const page = await context.newPage();
  const person = new Person('Guest', context, page, scene.url);
  person.cspViolations = csp;
  scene.people.push(person);
  await page.goto(scene.url, { waitUntil: 'load' });
  await page.locator('wisp-password-dialog dialog[open]').waitFor({ timeout: WAIT_MS });
  const password = await scanAll(page, [{ name: 'password dialog', open: async () => undefined }]);
  // In with the password; then out of every room.
  await page.locator('wisp-password-dialog input#password').fill('club-secret');
  await page.keyboard.press('Enter');
  await person.waitOnline();
  await person.tab('lobby').waitFor();
  await person.say('/leave');
  await page.locator('wisp-app .empty').getByRole('button', { name: 'Join a room' }).waitFor();
  const empty = await scanAll(page, [{ name: 'in no room', open: async () => undefined }]);
  assertClean([...password, ...empty], 2 * VIEWPORTS.length * SCHEMES.length);
});
