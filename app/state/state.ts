// The shape of the application state (plain data, no behaviour) and where it starts.
// The reducers in ./reducers/ change it; ./store.ts holds it.
import type { Member, WireLimits } from '../../signal-server/protocol/protocol.ts';
import type { LinkPath } from '../net/peer-link.ts';
import type { Pins } from '../storage/pins.ts';
import { DEFAULT_SETTINGS, type Settings } from '../storage/settings.ts';
import type { PreviewType } from '../files/magic.ts';

export type ConnectionStatus = 'starting' | 'connecting' | 'online' | 'offline' | 'stopped';

export interface ConnectionState {
  status: ConnectionStatus;
  /** Why we are not online, as a sentence. */
  sentence?: string;
  /** When the next attempt starts (epoch ms). */
  retryAt?: number;
  /** Banned from this server: connecting again cannot help. */
  banned?: true;
}

export type LineKind = 'text' | 'action' | 'system' | 'file';

export interface ChatLine {
  /** Stable key: the server id once known, else the client id. */
  key: string;
  kind: LineKind;
  text: string;
  ts: number;
  from?: string;
  /** The sender's identity key, for trust badges. */
  fromKey?: string;
  name?: string;
  own?: boolean;
  /** Own messages: pending until the server acknowledged them (or, for whispers, until sent). */
  pending?: boolean;
  /** Own whispers: the other app decrypted it. */
  delivered?: boolean;
  /** Own whispers not delivered yet: waiting for the person to come online, or expired ("Not delivered"). */
  undelivered?: 'waiting' | 'expired';
  cid?: string;
  /** Own room messages, once acknowledged: the server's id, so a replay of it is not shown again. */
  serverId?: string;
  /** File lines: the transfer shown (none for a card restored from history: a finished record). */
  transfer?: string;
  /** File lines restored from history: the file's size. */
  size?: number;
  /** Room lines: the server's time, when the time shown is another (a private room's sealed time). */
  serverTs?: number;
}

/** Where a restored conversation starts: the line to scroll to, and the first line the person had not seen. */
export interface RestoredView {
  /** The line that was at the top when the person left it (none: they were at the bottom). */
  anchor?: string;
  /** The "New messages" divider goes before this line. */
  unseenFrom?: string;
  /** This device may hold older lines than the first one here ("Load earlier messages"). */
  earlier?: boolean;
  /** Set by "Load earlier messages": how many lines this conversation holds before the oldest drop off. */
  limit?: number;
}

export type TransferStatus = 'offered' | 'waiting' | 'sending' | 'receiving' | 'checking' | 'done' | 'declined' | 'cancelled' | 'failed';

/** One file going to or coming from a whisper contact. */
export interface TransferState {
  id: string;
  key: string;
  fid: number;
  direction: 'in' | 'out';
  /** Sanitised for incoming files. */
  name: string;
  size: number;
  /** What the sender claims; never used to decide how to show the file. */
  declaredType: string;
  status: TransferStatus;
  bytes: number;
  rate: number;
  remaining: number;
  /** Why it stopped, as a sentence. */
  sentence?: string;
  /** Incoming and done: a blob URL for the download link (and preview). */
  url?: string;
  /** Set only when the first bytes are a PNG, JPEG, GIF or WebP. */
  preview?: PreviewType;
  /** Outgoing and a PNG, JPEG, GIF or WebP by its first bytes: the picked file, typed so, for the sender's thumbnail. */
  thumbnail?: Blob;
  executable?: boolean;
}

export interface RoomState extends RestoredView {
  name: string;
  members: Record<string, Member>;
  lines: ChatLine[];
  unread: number;
  /** True once the server sent the member snapshot on this connection. */
  synced: boolean;
  topic?: string;
  persistent?: boolean;
  /** A passphrase room: its messages are sealed with the room key. */
  private?: boolean;
  /** Out of a private room until the person enters its (new) passphrase. */
  locked?: boolean;
  /** The room key is being derived from a passphrase. */
  unlocking?: boolean;
  /** How many recent messages new members see (0: the room keeps no history); from the server. */
  newMembers?: number;
}

/** The passphrase dialog: to join a private room, or (owner) to change its passphrase. */
export interface PassphrasePrompt {
  room: string;
  mode: 'join' | 'change';
  /** Why it is asked, as a sentence. */
  reason?: string;
  error?: string;
  busy?: boolean;
}

export type LinkStatus = 'idle' | 'connecting' | 'ready' | 'closed';

/** A whisper conversation, keyed by the other person's identity key. */
export interface WhisperState extends RestoredView {
  key: string;
  name: string;
  lines: ChatLine[];
  unread: number;
  link: LinkStatus;
  path?: LinkPath;
  /** Why the link is not up, as a sentence. */
  failure?: string;
  /** The person clicked through a key-change warning for this key. */
  acceptedChange?: boolean;
}

/** Tabs hold room names and whisper conversations; a whisper tab id is "@" + key. */
export function whisperTab(key: string): string {
  return `@${key}`;
}

export function whisperKeyOf(tab: string | undefined): string | undefined {
  return tab?.startsWith('@') ? tab.slice(1) : undefined;
}

export interface AppState {
  connection: ConnectionState;
  me: { id?: string; name?: string; fingerprint?: string; admin?: boolean };
  /** The server wants its password before anything else. */
  passwordPrompt?: { error?: string };
  passphrasePrompt?: PassphrasePrompt;
  rooms: Record<string, RoomState>;
  order: string[];
  active?: string;
  /**
   * `returned`: what the person typed, refused with this notice, for the composer to give back.
   * `info`: it only informs (said politely); every other notice is a refusal or an error (said at once).
   */
  notice?: { id: number; text: string; returned?: string; info?: boolean };
  directory?: { name: string; members: number }[];
  limits?: WireLimits;
  iceServers: RTCIceServer[];
  updateReady: boolean;
  /** The /help panel is open. */
  help: boolean;
  whispers: Record<string, WhisperState>;
  transfers: Record<string, TransferState>;
  /** Files or text shared from another app, waiting for the person to pick a recipient. */
  share?: { files: File[]; text?: string };
  pins: Pins;
  settings: Settings;
}

/** The most lines a room or whisper conversation holds in memory; older ones drop off (the device may keep them). */
export const MAX_LINES_PER_ROOM = 500;
/** Lines one read of the device brings: each open tab's newest at start, and each "Load earlier messages". */
export const HISTORY_WINDOW = 200;
/** The most lines this device keeps per conversation; the oldest beyond it are deleted. */
export const HISTORY_KEPT_PER_CONVERSATION = 5_000;

export function initialState(): AppState {
  return { connection: { status: 'starting' }, me: {}, rooms: {}, order: [], iceServers: [], updateReady: false, help: false, whispers: {}, transfers: {}, pins: {}, settings: DEFAULT_SETTINGS };
}
