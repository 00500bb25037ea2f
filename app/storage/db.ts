// The app's one IndexedDB database, through idb-keyval. Every durable client value
// lives here under a key listed in this file.
import { createStore, get, set, del, type UseStore } from 'idb-keyval';

export const KEYS = {
  identity: 'identity',
  profile: 'profile',
  outbox: 'outbox',
  pins: 'pins',
  settings: 'settings',
  /** Files shared to Wisp from another app (share target), until sent or dismissed. */
  shared: 'shared',
  /** Private rooms' verifiers and non-extractable room keys, so a reload does not ask again. */
  roomKeys: 'room-keys',
  /** Recently shown sealed messages per private room (ids only), to refuse replays after a reload. */
  roomSeen: 'room-seen',
  /** Per room, where this device's copy of its history ends (epoch and sequence number), to recover the rest on the next join. */
  roomCursors: 'room-cursors',
  /** History epochs whose server this device saw stop while connected: it missed nothing of them. */
  closedEpochs: 'closed-epochs',
  /** The non-extractable AES-GCM key that seals kept chat lines (the lines are in ./history.ts). */
  historyKey: 'history-key',
  /** Per conversation: where the person left it (scroll anchor) and the last line they saw. */
  historyViews: 'history-views',
  /** Whispers not yet delivered (waiting for their person, or expired), so a reload keeps them. */
  whisperOutbox: 'whisper-outbox',
} as const;

let store: UseStore | undefined;

function db(): UseStore {
  store ??= createStore('wisp', 'kv');
  return store;
}

export function read<T>(key: string): Promise<T | undefined> {
  return get<T>(key, db());
}

export function write<T>(key: string, value: T): Promise<void> {
  return set(key, value, db());
}

/** A writer for one key whose writes land in call order, so the last value written wins. */
export function orderedWriter<T>(key: string): (value: T) => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  return (value) => (last = last.then(() => write(key, value)));
}

export function remove(key: string): Promise<void> {
  return del(key, db());
}

/** Asks the browser not to evict our data under storage pressure. */
export async function requestPersistence(): Promise<boolean> {
  try {
    return (await navigator.storage?.persist?.()) ?? false;
  } catch {
    return false;
  }
}
