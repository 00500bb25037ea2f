// Per-device preferences.
import { KEYS, read, write } from './db.ts';

export interface Settings {
  /** Raise system notifications for whispers and mentions while Wisp is hidden. */
  notifications: boolean;
  /** Whisper links never use direct paths: TURN, or the server relay (hides local addresses). */
  relayOnly: boolean;
}

export const DEFAULT_SETTINGS: Settings = { notifications: false, relayOnly: false };

export async function loadSettings(): Promise<Settings> {
  const saved = await read<Partial<Settings>>(KEYS.settings);
  return {
    notifications: typeof saved?.notifications === 'boolean' ? saved.notifications : DEFAULT_SETTINGS.notifications,
    relayOnly: typeof saved?.relayOnly === 'boolean' ? saved.relayOnly : DEFAULT_SETTINGS.relayOnly,
  };
}

export function saveSettings(settings: Settings): Promise<void> {
  return write(KEYS.settings, settings);
}
