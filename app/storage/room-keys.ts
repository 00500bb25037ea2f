// Private rooms' derived secrets, kept so that a reload does not ask for the passphrase
// again. The room key is a non-extractable CryptoKey (IndexedDB stores it as such); the
// verifier is what the server checks on every join. "Forget this room" deletes both.
// Entries saved by Wisp before keys named the server have no server id: they load as
// stale (server ''), which keeps the room private on this device and asks for the
// passphrase once more.
import type { RoomSecrets } from '../crypto/room-kdf.ts';
import { KEYS, orderedWriter, read } from './db.ts';

export type RoomKeys = Record<string, RoomSecrets>;

const VERIFIER = /^[A-Za-z0-9_-]{43}$/;

function valid(entry: unknown): entry is Omit<RoomSecrets, 'server'> & { server?: unknown } {
  const e = entry as Partial<RoomSecrets> | undefined;
  return typeof e?.verifier === 'string' && VERIFIER.test(e.verifier) && e.key instanceof CryptoKey && e.key.algorithm.name === 'AES-GCM';
}

export async function loadRoomKeys(): Promise<RoomKeys> {
  const saved = await read<Record<string, unknown>>(KEYS.roomKeys);
  const keys: RoomKeys = {};
  if (!saved || typeof saved !== 'object') return keys;
  for (const [room, entry] of Object.entries(saved)) {
    if (valid(entry)) keys[room] = { verifier: entry.verifier, key: entry.key, server: typeof entry.server === 'string' ? entry.server : '' };
  }
  return keys;
}

/** Writes the whole set (the last write wins). */
export const saveRoomKeys: (keys: RoomKeys) => Promise<void> = orderedWriter(KEYS.roomKeys);
