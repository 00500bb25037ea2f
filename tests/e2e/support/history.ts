// History on the device, read from the page: the kept lines in IndexedDB (after the app's
// disk work settled), where each conversation was left, and the settings that govern it.
import { waitUntil, type Person } from './browser.ts';

export type Retention = 'off' | '1d' | '7d' | '30d' | 'always';

/**
 * How many lines the device keeps (in one conversation, or all), read from the raw
 * database once every write and delete the app had queued has landed: a barrier, since
 * the app queues a line's write in the same turn the line reaches its state.
 */
export async function keptCount(p: Person, conv?: string): Promise<number> {
  return (await p.page.evaluate(`(async (conv) => {
    await window.wisp.history.disk.settled();
    const dbs = await indexedDB.databases();
    if (!dbs.some((d) => d.name === 'wisp-history')) return 0;
    return await new Promise((resolve, reject) => {
      const request = indexedDB.open('wisp-history');
      request.onerror = () => reject(request.error);
      request.onsuccess = () => {
        const db = request.result;
        const store = db.transaction('lines').objectStore('lines');
        const query = conv === null ? store.count() : store.index('conv-time').count(IDBKeyRange.bound([conv, -Infinity], [conv, Infinity]));
        query.onsuccess = () => (db.close(), resolve(query.result));
        query.onerror = () => reject(query.error);
      };
    });
  })(${JSON.stringify(conv ?? null)})`)) as number;
}

/** Every raw record the device keeps (after the app's disk work settled). */
export async function rawRecords(p: Person): Promise<{ conv: string; key: string; data: number[] }[]> {
  return (await p.page.evaluate(`(async () => {
    await window.wisp.history.disk.settled();
    const dbs = await indexedDB.databases();
    if (!dbs.some((d) => d.name === 'wisp-history')) return [];
    return await new Promise((resolve, reject) => {
      const request = indexedDB.open('wisp-history');
      request.onerror = () => reject(request.error);
      request.onsuccess = () => {
        const db = request.result;
        const all = db.transaction('lines').objectStore('lines').getAll();
        all.onsuccess = () => (db.close(), resolve(all.result.map((r) => ({ conv: r.conv, key: r.key, data: [...new Uint8Array(r.data)] }))));
        all.onerror = () => reject(all.error);
      };
    });
  })()`)) as { conv: string; key: string; data: number[] }[];
}

/** A value the app keeps in its key-value store ('wisp' database, 'kv' store). */
export async function kvValue<T>(p: Person, key: string): Promise<T | undefined> {
  return (await p.page.evaluate(`new Promise((resolve, reject) => {
    const request = indexedDB.open('wisp');
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const get = db.transaction('kv').objectStore('kv').get(${JSON.stringify(key)});
      get.onsuccess = () => (db.close(), resolve(get.result));
      get.onerror = () => reject(get.error);
    };
  })`)) as T | undefined;
}

/** Waits until the device recorded `want` for a conversation's view (scroll anchor, last line seen). */
export async function waitView(p: Person, tab: string, want: (view: { anchor?: string; seen?: string }) => boolean): Promise<{ anchor?: string; seen?: string }> {
  return waitUntil(`${p.label}'s saved view of ${tab}`, async () => {
    const view = (await kvValue<Record<string, { anchor?: string; seen?: string }>>(p, 'history-views'))?.[tab];
    return view && want(view) ? view : undefined;
  });
}

/** Picks "Keep history on this device" in Settings and waits until the app applied it. */
export async function setRetention(p: Person, value: Retention): Promise<void> {
  await p.page.locator('wisp-app header button.settings').click();
  const dialog = p.page.locator('wisp-settings-dialog');
  await dialog.locator('select[name=history]').selectOption(value);
  await waitUntil(`${p.label}'s history setting to be ${value}`, async () => (await p.state<{ settings: { history: string } }>()).settings.history === value);
  await dialog.getByRole('button', { name: 'Done' }).click();
}

/** The keys of the active conversation's lines, in order, with "|divider|" where "New messages" shows. */
export async function shownKeys(p: Person): Promise<string[]> {
  return p.page.locator('wisp-message-list [role=log] > ol > li:not([data-day])').evaluateAll((items) => items.map((li) => ((li as HTMLElement).dataset.divider !== undefined ? '|divider|' : ((li as HTMLElement).dataset.key ?? ''))));
}

/** Text lines of a room as the state holds them. */
export async function roomTexts(p: Person, room: string): Promise<string[]> {
  const state = await p.state();
  return (state.rooms[room]?.lines ?? []).map((l) => l.text);
}

/** Moves this person's page clock forward by `ms` from the next page load on (Date.now only). */
export async function moveClock(p: Person, ms: number): Promise<void> {
  await p.context.addInitScript(`(() => { const real = Date.now.bind(Date); Date.now = () => real() + ${ms}; })()`);
}

/** Where a line of the active conversation is, from the top of the list (none: not rendered). */
export async function lineTop(p: Person, key: string): Promise<number | undefined> {
  return (await p.page.evaluate(`(() => {
    const list = document.querySelector('wisp-app').shadowRoot.querySelector('wisp-message-list');
    const li = [...list.shadowRoot.querySelectorAll('li[data-key]')].find((l) => l.dataset.key === ${JSON.stringify(key)});
    return li ? li.getBoundingClientRect().top - list.getBoundingClientRect().top : null;
  })()`)) ?? undefined;
}
