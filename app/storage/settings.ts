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
  /** How long room lines and whisper conversations are kept on this device ('off': nothing is written). */
  history: HistoryRetention;
}

/** "Keep history on this device": the choices, each with how long a line is kept (ms; Infinity: always). */
export const HISTORY_RETENTION = {
  off: 0,
  '1d': 24 * 60 * 60 * 1000,
  '7d': 7 * 24 * 60 * 60 * 1000,
  '30d': 30 * 24 * 60 * 60 * 1000,
  always: Infinity,
} as const;

export type HistoryRetention = keyof typeof HISTORY_RETENTION;

function isRetention(value: unknown): value is HistoryRetention {
  return typeof value === 'string' && Object.hasOwn(HISTORY_RETENTION, value);
}

/**
 * History defaults to 7 days: a phone that reloads the app keeps what was read this week,
 * and a copied profile or lost device holds no more than a week of it.
 */
export const DEFAULT_SETTINGS: Settings = { notifications: false, relayOnly: false, maxFileMb: 0, showLinks: true, history: '7d' };

export async function loadSettings(): Promise<Settings> {
  const saved = await read<Partial<Settings>>(KEYS.settings);
  return {
    notifications: typeof saved?.notifications === 'boolean' ? saved.notifications : DEFAULT_SETTINGS.notifications,
    relayOnly: typeof saved?.relayOnly === 'boolean' ? saved.relayOnly : DEFAULT_SETTINGS.relayOnly,
    showLinks: typeof saved?.showLinks === 'boolean' ? saved.showLinks : DEFAULT_SETTINGS.showLinks,
    history: isRetention(saved?.history) ? saved.history : DEFAULT_SETTINGS.history,
    maxFileMb: Number.isSafeInteger(saved?.maxFileMb) && saved!.maxFileMb! >= 0 ? saved!.maxFileMb! : DEFAULT_SETTINGS.maxFileMb,
  };
}

export function saveSettings(settings: Settings): Promise<void> {
  return write(KEYS.settings, settings);
}
