// Who this person is here and where they were: name, joined rooms, whisper tabs (with
// the contact's name) and the active tab survive a reload.
import { KEYS, read, write } from './db.ts';

export interface WhisperTabEntry {
  key: string;
  name: string;
}

export interface Profile {
  /** The last name the server accepted, asked for again on the next hello. */
  name?: string;
  rooms: string[];
  /** Whisper conversations open as tabs (only while history is kept on this device). */
  whispers: WhisperTabEntry[];
  /** Every tab in order: room names and "@" + key. Absent in profiles saved before whisper tabs were kept. */
  tabs?: string[];
  active?: string;
}

function isWhisperTab(entry: unknown): entry is WhisperTabEntry {
  const e = entry as WhisperTabEntry | undefined;
  return typeof e?.key === 'string' && typeof e.name === 'string';
}

export async function loadProfile(): Promise<Profile> {
  const saved = await read<Partial<Profile>>(KEYS.profile);
  if (!saved || !Array.isArray(saved.rooms)) return { rooms: [], whispers: [] };
  return {
    name: typeof saved.name === 'string' ? saved.name : undefined,
    rooms: saved.rooms.filter((r) => typeof r === 'string'),
    whispers: Array.isArray(saved.whispers) ? saved.whispers.filter(isWhisperTab) : [],
    tabs: Array.isArray(saved.tabs) ? saved.tabs.filter((t) => typeof t === 'string') : undefined,
    active: typeof saved.active === 'string' ? saved.active : undefined,
  };
}

export function saveProfile(profile: Profile): Promise<void> {
  return write(KEYS.profile, profile);
}
