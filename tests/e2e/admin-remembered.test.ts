// Remembered admins end to end: whoever typed the admin token is admin again after a server
// restart (admin-only commands work, others see the admin), until /admin forget; after
// that and a restart, the same person is a plain member.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { RECONNECT_WAIT_MS, launchBrowser, waitUntil, type Person } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { ADMIN_TOKEN, appState, closeMenu, expectMenu, rename, waitMembersIn, waitNotice } from './support/moderation.ts';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Stops the server and starts it again on the same data directory; waits until everyone is back in #lobby. */
async function restart(scene: Scene, people: Person[], names: string[]): Promise<void> {
  assert.equal(await scene.server.stop(), 0);
  await scene.server.start();
  for (const p of people) await p.waitOnline(RECONNECT_WAIT_MS);
  for (const p of people) await waitMembersIn(p, 'lobby', names);
}

/** /userinfo (admin only): resolves with how many userinfo lines about `name` the active room shows. */
async function userinfoLines(p: Person, name: string): Promise<number> {
  return p.countLines(`${name}: address 127.0.0.1`);
}

test('the admin is still admin after a server restart, and not after /admin forget and a restart', { timeout: 240_000 }, async (t) => {
  const scene = await Scene.open(t, browser, { args: ['--admin-token', ADMIN_TOKEN] });
  scene.expectServerDown(); // the server is restarted on purpose: reconnect attempts are refused until it is back
  const ada = await scene.person('Ada');
  const wes = await scene.person('Wes');
  await rename(ada, 'Ada');
  await rename(wes, 'Wes');
  await waitMembersIn(ada, 'lobby', ['Ada', 'Wes']);

  await ada.say(`/admin ${ADMIN_TOKEN}`);
  await waitNotice(ada, 'You are now the server admin.');

  // ---- restart: Ada is admin again without the token -------------------------------
  await restart(scene, [ada, wes], ['Ada', 'Wes']);
  await waitNotice(ada, 'You are the server admin (this server remembers you).');
  assert.equal((await appState(ada)).me.admin, true);
  await waitUntil('Wes to see Ada as admin', async () => {
    const state = await appState(wes);
    return Object.values(state.rooms.lobby?.members ?? {}).find((m) => m.name === 'Ada')?.admin === true;
  });
  // Admin-only actions work in the UI: the member menu offers them, and /userinfo answers.
  await expectMenu(ada, 'Wes', ['whisper', 'op', 'kick', 'ban', 'server-ban', 'userinfo']);
  await closeMenu(ada);
  await ada.say('/userinfo Wes');
  await ada.waitForLine('Wes: address 127.0.0.1');

  // ---- /admin forget: admin on this connection still, not after a restart --------------
  await ada.say('/admin forget');
  await waitNotice(ada, 'This server will no longer remember you as admin after a restart.');
  const before = await userinfoLines(ada, 'Wes');
  await ada.say('/userinfo Wes');
  await waitUntil('a second userinfo line on the same connection', async () => (await userinfoLines(ada, 'Wes')) === before + 1);

  await restart(scene, [ada, wes], ['Ada', 'Wes']);
  // The server's admin grant would come right after welcome, before any answer to a command:
  // once /userinfo is refused, no grant is on its way.
  await ada.say('/userinfo Wes');
  await waitNotice(ada, 'Only the server admin can see who is behind a name.');
  assert.notEqual((await appState(ada)).me.admin, true, 'Ada is not admin after forget and a restart');
  assert.equal(await userinfoLines(ada, 'Wes'), before + 1, 'no new userinfo line');
  await expectMenu(ada, 'Wes', ['whisper']);
  await closeMenu(ada);
  const ada2 = Object.values((await appState(wes)).rooms.lobby?.members ?? {}).find((m) => m.name === 'Ada');
  assert.ok(ada2 && !ada2.admin, 'Wes does not see Ada as admin');
});
