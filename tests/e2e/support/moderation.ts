// Moderation helpers for the end-to-end tests: names, rooms and the member action menu,
// driven through the real UI, with the app state (window.wisp) read to check outcomes.
import assert from 'node:assert/strict';
import type { Locator } from 'playwright-core';
import { WAIT_MS, waitUntil, type Person } from './browser.ts';
import { waitNoticeSeen } from './notices.ts';

/** The admin token the moderation scenes start their server with (--admin-token). */
export const ADMIN_TOKEN = 'e2e-moderation-admin-token-7f3a';

interface RoomState {
  members: Record<string, { id: string; name: string; key: string; role: string; admin?: true }>;
  lines: { text: string }[];
}

interface State {
  me: { id?: string; name?: string; admin?: boolean };
  rooms: Record<string, RoomState>;
  order: string[];
  connection: { status: string; sentence?: string };
  notice?: { text: string };
  whispers: Record<string, { link: string; failure?: string }>;
}

export function appState(p: Person): Promise<State> {
  return p.state<State>();
}

/** Renames with /nick and waits until the header shows the new name. */
export async function rename(p: Person, name: string): Promise<void> {
  await p.say(`/nick ${name}`);
  await waitUntil(`${p.label} to be called ${name}`, async () => (await p.myName()) === name);
}

/** `/join #room` and waits for the member snapshot (the room is synced). */
export async function joinRoom(p: Person, room: string): Promise<void> {
  await p.say(`/join #${room}`);
  await waitUntil(`${p.label} to be in #${room}`, async () => {
    const state = await appState(p);
    return Boolean(state.me.id && state.rooms[room]?.members[state.me.id]);
  });
  await p.selectRoom(room);
}

/** Leaves `room` with /leave in its tab. */
export async function leaveRoom(p: Person, room: string): Promise<void> {
  await p.selectRoom(room);
  await p.say('/leave');
  await waitUntil(`${p.label} to have left #${room}`, async () => !(await p.tabs()).includes(room));
}

/** Waits until a notice (recorded as shown: it goes by itself) contains `text`; returns its sentence. */
export async function waitNotice(p: Person, text: string, timeoutMs = WAIT_MS): Promise<string> {
  return waitNoticeSeen(p, text, { timeoutMs });
}

/** Waits until the member list of `room` (as `p` sees it) is exactly these names. */
export async function waitMembersIn(p: Person, room: string, names: string[]): Promise<void> {
  const want = [...names].sort().join(', ');
  let seen = '';
  await waitUntil(`${p.label}'s #${room} to hold [${want}] (seen [${seen}])`, async () => {
    const state = await appState(p);
    seen = Object.values(state.rooms[room]?.members ?? {})
      .map((m) => m.name)
      .sort()
      .join(', ');
    return seen === want;
  });
}

/** The role `p` sees for `name` in `room`, as the member list labels it ('' for none). */
export async function roleLabel(p: Person, name: string): Promise<string> {
  const row = p.page.locator('wisp-member-list li[data-id]').filter({ has: p.page.locator('.name', { hasText: new RegExp(`^${name}$`) }) });
  await row.first().waitFor({ timeout: WAIT_MS });
  const label = row.first().locator('.role');
  return (await label.count()) ? ((await label.getAttribute('data-role')) ?? '') : '';
}

export function actionsButton(p: Person, name: string): Locator {
  return p.page.locator(`wisp-member-list button[aria-label="Actions for ${name}"]`);
}

export function menu(p: Person): Locator {
  return p.page.locator('wisp-member-menu');
}

/** Opens the action menu on `name` (the "⋯" button) and returns its items as [action, label]. */
export async function openMenu(p: Person, name: string): Promise<[string, string][]> {
  await actionsButton(p, name).click();
  const items = menu(p).locator('[role=menuitem]');
  await items.first().waitFor({ timeout: WAIT_MS });
  return items.evaluateAll((buttons) => buttons.map((b) => [(b as HTMLElement).dataset.action ?? '', (b.textContent ?? '').trim()] as [string, string]));
}

export async function closeMenu(p: Person): Promise<void> {
  await p.page.keyboard.press('Escape');
  await menu(p).waitFor({ state: 'detached', timeout: WAIT_MS });
}

/** Opens the menu on `name` and asserts it offers exactly these actions. */
export async function expectMenu(p: Person, name: string, actions: string[]): Promise<[string, string][]> {
  const items = await openMenu(p, name);
  assert.deepEqual(
    items.map(([action]) => action),
    actions,
    `${p.label}'s menu on ${name}: ${JSON.stringify(items)}`,
  );
  return items;
}

/** Waits until `p`'s connection has this status; returns the sentence it shows. */
export async function waitConnection(p: Person, status: string, timeoutMs = WAIT_MS): Promise<string> {
  await p.waitForStatus(status as 'stopped', timeoutMs);
  return (await appState(p)).connection.sentence ?? '';
}

/**
 * Watches for the moment `p` first sees a removal from `room` (its own, or `name`'s), and
 * records the whisper link with `key` one task later. Links closed "at once" on a kick or
 * ban are closed by then; links left to time out (a reconnect grace) are still open. An
 * ordering check, not a timing threshold.
 */
export async function watchRemoval(p: Person, room: string, who: { self: true } | { name: string }, key: string): Promise<void> {
  const args = JSON.stringify({ room, key, self: 'self' in who, name: 'name' in who ? who.name : '' });
  // A string, not a function: tsx would wrap named helpers in a __name() the page lacks.
  await p.page.evaluate(`(() => {
    const win = window;
    const args = ${args};
    const probe = { seen: false, linkAfter: undefined };
    const stop = win.wisp.store.subscribe((state) => {
      if (probe.seen) return;
      const room = state.rooms[args.room];
      const gone = args.self ? !room : Boolean(room) && !Object.values(room.members).some((m) => m.name === args.name);
      if (!gone) return;
      probe.seen = true;
      setTimeout(() => {
        const link = win.wisp.state.whispers[args.key];
        probe.linkAfter = link ? link.link : 'none';
        stop();
      }, 0);
    });
    win.__wispRemovalProbe = probe;
  })()`);
}

/** The link state `watchRemoval` recorded (waits until it has). */
export async function linkAfterRemoval(p: Person): Promise<string> {
  return waitUntil(`${p.label}'s removal probe`, () =>
    p.page.evaluate(() => (window as unknown as { __wispRemovalProbe?: { linkAfter?: string } }).__wispRemovalProbe?.linkAfter),
  );
}
