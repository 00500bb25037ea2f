// Which sealed messages each private room has shown lately (sender and client id, with
// the sender's time), so that a server cannot replay one to a device that just reloaded.
// Only ids inside the replay window are kept; nothing of the messages themselves.
import { KEYS, orderedWriter, read } from './db.ts';

/** Per room: [sender key + "|" + client id, the sender's time (ms)]. */
export type SeenIds = Record<string, [string, number][]>;

export async function loadSeenIds(): Promise<SeenIds> {
  const saved = await read<unknown>(KEYS.roomSeen);
  const seen: SeenIds = {};
  if (!saved || typeof saved !== 'object') return seen;
  for (const [room, entries] of Object.entries(saved as Record<string, unknown>)) {
    if (!Array.isArray(entries)) continue;
    seen[room] = entries.filter((e): e is [string, number] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number');
  }
  return seen;
}

export const saveSeenIds: (seen: SeenIds) => Promise<void> = orderedWriter(KEYS.roomSeen);
