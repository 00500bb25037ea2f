// Identities the server remembers as admin (admins.json): whoever proved the admin token is
// admin again after a restart, until they ask to be forgotten or a new token is set.
import type { Store } from './store.ts';

/**
 * A new admin token makes every remembered admin prove it again. The list is emptied on
 * disk before the new token is written: a crash in between leaves nobody remembered.
 */
export async function forgetEveryAdmin(store: Store, why: string): Promise<void> {
  const count = store.admins.size;
  if (count === 0) return;
  store.admins.clear();
  await store.saveAdmins();
  await store.record({ at: Date.now(), actor: 'server', action: 'admins-forgotten', detail: `${count} remembered admin${count === 1 ? '' : 's'}: ${why}` });
}
