// Private rooms through the UI, as a person does it: the "+" dialog with a passphrase,
// the passphrase dialog, and what the room header says about who can read the room.
import type { Person } from './browser.ts';

export function passphraseDialog(p: Person) {
  return p.page.locator('wisp-passphrase-dialog dialog');
}

/** Joins (or creates) a room through the "+" dialog, with a passphrase when given. */
export async function joinByPicker(p: Person, room: string, passphrase?: string): Promise<void> {
  await p.page.locator('wisp-room-tabs button[aria-label="Join or create a room"]').click();
  const dialog = p.page.locator('wisp-room-picker dialog');
  await dialog.waitFor({ state: 'visible' });
  await p.page.locator('wisp-room-picker input#room').fill(room);
  if (passphrase) await p.page.locator('wisp-room-picker input#room-passphrase').fill(passphrase);
  await p.page.locator('wisp-room-picker dialog button[type=submit]', { hasText: 'Join' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await p.tab(room).waitFor();
}

/** Answers the passphrase dialog (it must be open). */
export async function enterPassphrase(p: Person, passphrase: string): Promise<void> {
  await passphraseDialog(p).waitFor({ state: 'visible' });
  await p.page.locator('wisp-passphrase-dialog input#passphrase').fill(passphrase);
  await p.page.locator('wisp-passphrase-dialog button[type=submit]').click();
}

export async function dialogError(p: Person): Promise<string> {
  const error = p.page.locator('wisp-passphrase-dialog .error');
  await error.waitFor({ state: 'visible' });
  return ((await error.textContent()) ?? '').trim();
}

export async function readers(p: Person): Promise<string> {
  const label = p.page.locator('wisp-room-header [data-readers]');
  await label.waitFor();
  return ((await label.textContent()) ?? '').trim();
}
