// Who this person is here and where they were: name and joined rooms survive a reload.
import { KEYS, read, write } from './db.ts';

export interface Profile {
  /** The last name the server accepted, asked for again on the next hello. */
  name?: string;
  rooms: string[];
  active?: string;
}

export async function loadProfile(): Promise<Profile> {
  const saved = await read<Profile>(KEYS.profile);
  if (!saved || !Array.isArray(saved.rooms)) return { rooms: [] };
  return { name: typeof saved.name === 'string' ? saved.name : undefined, rooms: saved.rooms.filter((r) => typeof r === 'string'), active: saved.active };
}

export function saveProfile(profile: Profile): Promise<void> {
  return write(KEYS.profile, profile);
}
