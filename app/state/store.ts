// Plain application state and the one reducer that changes it. No I/O here: the
// Session turns network frames and commands into actions.
import type { Member, PresenceEvent, WireLimits } from '../../signal-server/protocol/protocol.ts';
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
  cid?: string;
  /** File lines: the transfer shown. */
  transfer?: string;
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
  executable?: boolean;
}

export interface RoomState {
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
export interface WhisperState {
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
  notice?: { id: number; text: string };
  directory?: { name: string; members: number }[];
  limits?: WireLimits;
  iceServers: RTCIceServer[];
  updateReady: boolean;
  whispers: Record<string, WhisperState>;
  transfers: Record<string, TransferState>;
  /** Files or text shared from another app, waiting for the person to pick a recipient. */
  share?: { files: File[]; text?: string };
  pins: Pins;
  settings: Settings;
}

export const MAX_LINES_PER_ROOM = 500;

export type Action =
  | { t: 'connection'; status: ConnectionStatus; sentence?: string; retryAt?: number }
  | { t: 'identity'; fingerprint: string }
  | { t: 'welcome'; id: string; name: string; limits: WireLimits; iceServers: RTCIceServer[] }
  | { t: 'name'; name: string }
  | { t: 'open-room'; room: string; activate: boolean }
  | { t: 'joined'; room: string; members: Member[]; topic?: string; persistent?: boolean; private?: boolean }
  /** Out of a private room (its passphrase changed): the tab stays, waiting for the new one. */
  | { t: 'room-locked'; room: string; sentence: string }
  | { t: 'room-unlocking'; room: string; unlocking: boolean }
  | { t: 'passphrase-prompt'; prompt?: PassphrasePrompt }
  /** Kicked, banned or purged: the room goes, with a sentence saying why. */
  | { t: 'removed'; room: string; sentence: string }
  | { t: 'admin' }
  | { t: 'password-required'; error?: string }
  | { t: 'password-accepted' }
  | { t: 'left'; room: string }
  | { t: 'presence'; room: string; events: PresenceEvent[] }
  | { t: 'message'; room: string; id: string; from: string; name: string; ts: number; text: string; kind: 'text' | 'action' }
  | { t: 'pending'; room: string; cid: string; text: string; kind: 'text' | 'action'; at: number }
  | { t: 'ack'; cid: string; id: string; ts: number }
  | { t: 'activate'; room: string }
  | { t: 'system'; room?: string; text: string; ts: number }
  | { t: 'notice'; text: string }
  | { t: 'dismiss-notice' }
  | { t: 'directory'; rooms: { name: string; members: number }[] }
  | { t: 'update-ready' }
  | { t: 'whisper-open'; key: string; name: string; activate: boolean }
  | { t: 'whisper-close'; key: string }
  | { t: 'whisper-link'; key: string; link: LinkStatus; path?: LinkPath; failure?: string }
  | { t: 'whisper-in'; key: string; id: string; text: string; kind: 'text' | 'action'; ts: number }
  | { t: 'whisper-out'; key: string; id: string; text: string; kind: 'text' | 'action'; ts: number }
  | { t: 'whisper-sent'; key: string; id: string }
  | { t: 'whisper-delivered'; key: string; id: string }
  | { t: 'whisper-system'; key: string; text: string; ts: number }
  | { t: 'accept-change'; key: string }
  | { t: 'share'; share?: { files: File[]; text?: string } }
  | { t: 'transfer'; transfer: TransferState }
  | { t: 'transfer-update'; id: string; change: Partial<TransferState> }
  | { t: 'pins'; pins: Pins }
  | { t: 'settings'; settings: Settings };

export function initialState(): AppState {
  return { connection: { status: 'starting' }, me: {}, rooms: {}, order: [], iceServers: [], updateReady: false, whispers: {}, transfers: {}, pins: {}, settings: DEFAULT_SETTINGS };
}

function emptyRoom(name: string): RoomState {
  return { name, members: {}, lines: [], unread: 0, synced: false };
}

function appendLines(room: { lines: ChatLine[] }, lines: ChatLine[]): ChatLine[] {
  const all = [...room.lines, ...lines];
  return all.length > MAX_LINES_PER_ROOM ? all.slice(all.length - MAX_LINES_PER_ROOM) : all;
}

function withWhisper(state: AppState, key: string, change: (w: WhisperState) => WhisperState): AppState {
  const whisper = state.whispers[key];
  if (!whisper) return state;
  return { ...state, whispers: { ...state.whispers, [key]: change(whisper) } };
}

function updateLine(lines: ChatLine[], id: string, change: Partial<ChatLine>): ChatLine[] {
  return lines.map((l) => (l.key === id ? { ...l, ...change } : l));
}

function withRoom(state: AppState, name: string, change: (room: RoomState) => RoomState): AppState {
  const room = state.rooms[name];
  if (!room) return state;
  return { ...state, rooms: { ...state.rooms, [name]: change(room) } };
}

let systemCounter = 0;
function systemLine(text: string, ts: number): ChatLine {
  return { key: `sys-${ts}-${systemCounter++}`, kind: 'system', text, ts };
}

/** Applies presence events idempotently and returns the system lines they deserve. */
const ROLE_WORDS = { owner: 'the owner', moderator: 'a moderator', member: 'a member' } as const;

function leaveLine(name: string, event: Extract<PresenceEvent, { k: 'leave' }>): string {
  if (event.removed?.kind === 'rekeyed') return `${name} must enter the new passphrase to come back`;
  if (event.removed) {
    const verb = event.removed.kind === 'banned' ? 'was banned' : 'was removed';
    return `${name} ${verb} by ${event.removed.by}${event.removed.reason ? `: ${event.removed.reason}` : ''}`;
  }
  return event.farewell ? `${name} left: “${event.farewell}”` : `${name} left`;
}

/** Applies presence events idempotently and returns the system lines they deserve. */
function applyPresence(room: RoomState, events: PresenceEvent[], me: string | undefined, ts: number): RoomState {
  const members = { ...room.members };
  const lines: ChatLine[] = [];
  let topic = room.topic;
  for (const event of events) {
    if (event.k === 'join') {
      const known = members[event.member.id];
      members[event.member.id] = event.member;
      if (!known && event.member.id !== me) lines.push(systemLine(`${event.member.name} joined`, ts));
    } else if (event.k === 'leave') {
      const known = members[event.id];
      if (!known) continue;
      delete members[event.id];
      lines.push(systemLine(leaveLine(known.name, event), ts));
    } else if (event.k === 'rename') {
      const known = members[event.id];
      if (!known || known.name === event.name) continue;
      members[event.id] = { ...known, name: event.name };
      lines.push(systemLine(event.id === me ? `You are now known as ${event.name}` : `${known.name} is now known as ${event.name}`, ts));
    } else if (event.k === 'role') {
      const known = members[event.id];
      if (!known) continue;
      const updated = { ...known, role: event.role, admin: event.admin };
      if (!event.admin) delete updated.admin;
      members[event.id] = updated;
      const who = event.id === me ? 'You are' : `${known.name} is`;
      if (event.admin && !known.admin) lines.push(systemLine(`${who} now the server admin`, ts));
      else if (known.role !== event.role) lines.push(systemLine(`${who} now ${ROLE_WORDS[event.role]}`, ts));
    } else {
      topic = event.topic || undefined;
      lines.push(systemLine(event.topic ? `${event.by} set the topic: ${event.topic}` : `${event.by} cleared the topic`, ts));
    }
  }
  return { ...room, members, topic, lines: lines.length ? appendLines(room, lines) : room.lines };
}

export function reduce(state: AppState, action: Action): AppState {
  switch (action.t) {
    case 'connection': {
      const connection: ConnectionState = { status: action.status, sentence: action.sentence, retryAt: action.retryAt };
      if (action.status === 'online') return { ...state, connection };
      // Off the server, member lists are unknown until the next snapshot.
      const rooms = Object.fromEntries(Object.entries(state.rooms).map(([k, r]) => [k, r.synced ? { ...r, synced: false } : r]));
      return { ...state, connection, rooms };
    }
    case 'identity':
      return { ...state, me: { ...state.me, fingerprint: action.fingerprint } };
    case 'welcome':
      // Every connection starts without admin rights: /admin is per connection.
      return { ...state, me: { ...state.me, id: action.id, name: action.name, admin: undefined }, limits: action.limits, iceServers: action.iceServers };
    case 'name':
      return { ...state, me: { ...state.me, name: action.name } };
    case 'open-room': {
      const rooms = state.rooms[action.room] ? state.rooms : { ...state.rooms, [action.room]: emptyRoom(action.room) };
      const order = state.order.includes(action.room) ? state.order : [...state.order, action.room];
      const next = { ...state, rooms, order };
      return action.activate || !state.active ? reduce(next, { t: 'activate', room: action.room }) : next;
    }
    case 'joined':
      return withRoom(state, action.room, (room) => ({
        ...room,
        synced: true,
        topic: action.topic,
        persistent: action.persistent,
        private: action.private,
        locked: false,
        unlocking: false,
        members: Object.fromEntries(action.members.map((m) => [m.id, m])),
      }));
    case 'room-locked':
      return withRoom(state, action.room, (room) => ({
        ...room,
        synced: false,
        locked: true,
        members: {},
        lines: appendLines(room, [systemLine(action.sentence, Date.now())]),
      }));
    case 'room-unlocking':
      return withRoom(state, action.room, (room) => ({ ...room, unlocking: action.unlocking }));
    case 'passphrase-prompt':
      return { ...state, passphrasePrompt: action.prompt };
    case 'removed':
      return reduce(reduce(state, { t: 'left', room: action.room }), { t: 'notice', text: action.sentence });
    case 'admin':
      return { ...state, me: { ...state.me, admin: true } };
    case 'password-required':
      return { ...state, passwordPrompt: { error: action.error } };
    case 'password-accepted':
      return state.passwordPrompt ? { ...state, passwordPrompt: undefined } : state;
    case 'left': {
      if (!state.rooms[action.room]) return state;
      const rooms = { ...state.rooms };
      delete rooms[action.room];
      const order = state.order.filter((r) => r !== action.room);
      const index = state.order.indexOf(action.room);
      const active = state.active === action.room ? order[Math.min(index, order.length - 1)] : state.active;
      return { ...state, rooms, order, active };
    }
    case 'presence':
      return withRoom(state, action.room, (room) => applyPresence(room, action.events, state.me.id, Date.now()));
    case 'message':
      return withRoom(state, action.room, (room) => {
        if (room.lines.some((l) => l.key === action.id)) return room;
        const line: ChatLine = { key: action.id, kind: action.kind, text: action.text, ts: action.ts, from: action.from, fromKey: room.members[action.from]?.key, name: action.name };
        return { ...room, lines: appendLines(room, [line]), unread: state.active === action.room ? room.unread : room.unread + 1 };
      });
    case 'pending':
      return withRoom(state, action.room, (room) => {
        if (room.lines.some((l) => l.cid === action.cid)) return room;
        const line: ChatLine = { key: action.cid, cid: action.cid, kind: action.kind, text: action.text, ts: action.at, own: true, pending: true, name: state.me.name };
        return { ...room, lines: appendLines(room, [line]) };
      });
    case 'ack': {
      const name = Object.keys(state.rooms).find((r) => state.rooms[r].lines.some((l) => l.cid === action.cid));
      if (!name) return state;
      return withRoom(state, name, (room) => ({
        ...room,
        lines: room.lines.map((l) => (l.cid === action.cid ? { ...l, pending: false, ts: action.ts } : l)),
      }));
    }
    case 'activate': {
      const key = whisperKeyOf(action.room);
      if (key) {
        if (!state.whispers[key]) return state;
        return withWhisper({ ...state, active: action.room }, key, (w) => (w.unread ? { ...w, unread: 0 } : w));
      }
      if (!state.rooms[action.room]) return state;
      return withRoom({ ...state, active: action.room }, action.room, (room) => (room.unread ? { ...room, unread: 0 } : room));
    }
    case 'system': {
      const target = action.room ?? state.active;
      if (!target) return { ...state, notice: { id: Date.now(), text: action.text } };
      return withRoom(state, target, (room) => ({ ...room, lines: appendLines(room, [systemLine(action.text, action.ts)]) }));
    }
    case 'notice':
      return { ...state, notice: { id: (state.notice?.id ?? 0) + 1, text: action.text } };
    case 'dismiss-notice':
      return state.notice ? { ...state, notice: undefined } : state;
    case 'directory':
      return { ...state, directory: action.rooms };
    case 'update-ready':
      return { ...state, updateReady: true };
    case 'whisper-open': {
      const tab = whisperTab(action.key);
      const existing = state.whispers[action.key];
      const whisper: WhisperState = existing ? { ...existing, name: action.name } : { key: action.key, name: action.name, lines: [], unread: 0, link: 'idle' };
      const next = { ...state, whispers: { ...state.whispers, [action.key]: whisper }, order: state.order.includes(tab) ? state.order : [...state.order, tab] };
      return action.activate ? reduce(next, { t: 'activate', room: tab }) : next;
    }
    case 'whisper-close': {
      const tab = whisperTab(action.key);
      const order = state.order.filter((r) => r !== tab);
      const index = state.order.indexOf(tab);
      const active = state.active === tab ? order[Math.max(0, Math.min(index, order.length - 1))] : state.active;
      return { ...state, order, active };
    }
    case 'whisper-link':
      return withWhisper(state, action.key, (w) => ({ ...w, link: action.link, path: action.path ?? (action.link === 'ready' ? w.path : undefined), failure: action.failure }));
    case 'whisper-in':
      return withWhisper(state, action.key, (w) => {
        if (w.lines.some((l) => l.key === action.id && !l.own)) return w;
        const line: ChatLine = { key: action.id, kind: action.kind, text: action.text, ts: action.ts, name: w.name, fromKey: w.key };
        const visible = state.active === whisperTab(action.key);
        return { ...w, lines: appendLines(w, [line]), unread: visible ? w.unread : w.unread + 1 };
      });
    case 'whisper-out':
      return withWhisper(state, action.key, (w) => ({
        ...w,
        lines: appendLines(w, [{ key: action.id, cid: action.id, kind: action.kind, text: action.text, ts: action.ts, own: true, pending: true, name: state.me.name }]),
      }));
    case 'whisper-sent':
      return withWhisper(state, action.key, (w) => ({ ...w, lines: updateLine(w.lines, action.id, { pending: false }) }));
    case 'whisper-delivered':
      return withWhisper(state, action.key, (w) => ({ ...w, lines: updateLine(w.lines, action.id, { pending: false, delivered: true }) }));
    case 'whisper-system':
      return withWhisper(state, action.key, (w) => ({ ...w, lines: appendLines(w, [systemLine(action.text, action.ts)]) }));
    case 'share':
      return { ...state, share: action.share };
    case 'transfer': {
      const transfer = action.transfer;
      const next = { ...state, transfers: { ...state.transfers, [transfer.id]: transfer } };
      if (state.transfers[transfer.id]) return next;
      // A new transfer gets a line in the conversation.
      const own = transfer.direction === 'out';
      return withWhisper(next, transfer.key, (w) => ({
        ...w,
        lines: appendLines(w, [{ key: transfer.id, kind: 'file', text: transfer.name, ts: Date.now(), own, name: own ? state.me.name : w.name, fromKey: own ? undefined : w.key, transfer: transfer.id }]),
        unread: own || state.active === whisperTab(transfer.key) ? w.unread : w.unread + 1,
      }));
    }
    case 'transfer-update': {
      const existing = state.transfers[action.id];
      if (!existing) return state;
      return { ...state, transfers: { ...state.transfers, [action.id]: { ...existing, ...action.change } } };
    }
    case 'accept-change':
      return withWhisper(state, action.key, (w) => ({ ...w, acceptedChange: true }));
    case 'pins':
      return { ...state, pins: action.pins };
    case 'settings':
      return { ...state, settings: action.settings };
  }
}

type Listener = (state: AppState) => void;

/** Holds the state; components subscribe through StoreController. */
export class Store {
  private listeners = new Set<Listener>();

  constructor(public state: AppState = initialState()) {}

  dispatch(action: Action): void {
    const next = reduce(this.state, action);
    if (next === this.state) return;
    this.state = next;
    for (const listener of this.listeners) listener(next);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
