// Per-device preferences.
import { KEYS, read, write } from './db.ts';

export interface Settings {
  /** Raise system notifications for whispers and mentions while Wisp is hidden. */
  notifications: boolean;
  /** Whisper links never use direct paths: TURN, or the server relay (hides local addresses). */
  relayOnly: boolean;
  /** The largest file this person accepts, in MiB (0: the server's limit). */
  maxFileMb: number;
  /** Show links in messages as links; off shows them as plain text. */
  showLinks: boolean;
}

export const DEFAULT_SETTINGS: Settings = { notifications: false, relayOnly: false, maxFileMb: 0, showLinks: true };

export async function loadSettings(): Promise<Settings> {
  const saved = await read<Partial<Settings>>(KEYS.settings);
  return {
    notifications: typeof saved?.notifications === 'boolean' ? saved.notifications : DEFAULT_SETTINGS.notifications,
    relayOnly: typeof saved?.relayOnly === 'boolean' ? saved.relayOnly : DEFAULT_SETTINGS.relayOnly,
    showLinks: typeof saved?.showLinks === 'boolean' ? saved.showLinks : DEFAULT_SETTINGS.showLinks,
    maxFileMb: Number.isSafeInteger(saved?.maxFileMb) && saved!.maxFileMb! >= 0 ? saved!.maxFileMb! : DEFAULT_SETTINGS.maxFileMb,
  };
}

export function saveSettings(settings: Settings): Promise<void> {
  return write(KEYS.settings, settings);
}
