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
  /** How long a whisper waits for its person to come online before it shows "Not delivered". */
  whisperExpiryMs: number;
  /** "Whisper only with verified people": nothing goes to, or is shown from, a contact whose safety number was not compared. */
  verifiedOnly: boolean;
  /** Colours: follow the system's light or dark preference, or always one of them. */
  theme: Theme;
}

/** The theme choices, in the order Settings offers them. */
export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

export function isTheme(value: unknown): value is Theme {
  return typeof value === 'string' && (THEMES as readonly string[]).includes(value);
}

/**
 * The theme is mirrored here, in localStorage: public/theme.js reads it synchronously before
 * the page paints (IndexedDB answers too late), so a chosen theme shows without a flash of the other.
 * That script cannot import: it spells the key out, and tests/app/theme-help.test.ts runs it against this one.
 */
export const THEME_STORAGE_KEY = 'wisp.theme';

function mirrorTheme(theme: Theme): void {
  try {
    localStorage.setItem(THEME_STORAGE_KEY, theme);
  } catch {
    // Storage blocked: the theme still applies from IndexedDB once the settings load.
  }
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

const HOUR_MS = 3_600_000;
/** The choices for how long undelivered whispers wait, with their labels. */
export const WHISPER_EXPIRY_CHOICES: readonly { ms: number; label: string }[] = [
  { ms: HOUR_MS, label: '1 hour' },
  { ms: 24 * HOUR_MS, label: '1 day' },
  { ms: 7 * 24 * HOUR_MS, label: '7 days' },
];

/**
 * History defaults to 7 days: a phone that reloads the app keeps what was read this week,
 * and a copied profile or lost device holds no more than a week of it. An undelivered
 * whisper waits a day: long enough for someone away for the night, short enough not to
 * arrive days later as if it were new. Whispering only with verified people is off: it
 * asks both people to compare safety numbers before their first whisper.
 */
export const DEFAULT_SETTINGS: Settings = { notifications: false, relayOnly: false, maxFileMb: 0, showLinks: true, whisperExpiryMs: 24 * HOUR_MS, history: '7d', verifiedOnly: false, theme: 'system' };

/**
 * Scanning a safety number's QR code with the camera: how often a frame is read (a frame
 * every 150 ms finds a code within a moment without keeping a phone's CPU busy) and how
 * wide it is scaled for decoding (a code filling part of the view stays readable).
 */
export const QR_SCAN = { frameIntervalMs: 150, maxFrameWidth: 800 } as const;

export async function loadSettings(): Promise<Settings> {
  const saved = await read<Partial<Settings>>(KEYS.settings);
  const settings: Settings = {
    notifications: typeof saved?.notifications === 'boolean' ? saved.notifications : DEFAULT_SETTINGS.notifications,
    relayOnly: typeof saved?.relayOnly === 'boolean' ? saved.relayOnly : DEFAULT_SETTINGS.relayOnly,
    showLinks: typeof saved?.showLinks === 'boolean' ? saved.showLinks : DEFAULT_SETTINGS.showLinks,
    verifiedOnly: typeof saved?.verifiedOnly === 'boolean' ? saved.verifiedOnly : DEFAULT_SETTINGS.verifiedOnly,
    history: isRetention(saved?.history) ? saved.history : DEFAULT_SETTINGS.history,
    maxFileMb: Number.isSafeInteger(saved?.maxFileMb) && saved!.maxFileMb! >= 0 ? saved!.maxFileMb! : DEFAULT_SETTINGS.maxFileMb,
    theme: isTheme(saved?.theme) ? saved.theme : DEFAULT_SETTINGS.theme,
    whisperExpiryMs: WHISPER_EXPIRY_CHOICES.some((c) => c.ms === saved?.whisperExpiryMs) ? saved!.whisperExpiryMs! : DEFAULT_SETTINGS.whisperExpiryMs,
  };
  // IndexedDB is the record; the mirror catches up if it was cleared on its own.
  mirrorTheme(settings.theme);
  return settings;
}

export function saveSettings(settings: Settings): Promise<void> {
  mirrorTheme(settings.theme);
  return write(KEYS.settings, settings);
}

/**
 * Lines from one person within 5 minutes of the first of them read as one group: their
 * name, picture and time show once. Longer, and the time shown at the top would mislead.
 */
export const LINE_GROUP_MS = 5 * 60_000;

/** How long a notice that asks for nothing stays on screen: long enough to read a sentence twice. */
export const NOTICE_MS = 6000;
