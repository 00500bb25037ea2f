// Plain application state and the one reducer that changes it. No I/O here: the
// Session turns network frames and commands into actions.
import type { Member, PresenceEvent, WireLimits } from '../../signal-server/protocol.ts';

export type ConnectionStatus = 'starting' | 'connecting' | 'online' | 'offline' | 'stopped';

export interface ConnectionState {
  status: ConnectionStatus;
  /** Why we are not online, as a sentence. */
  sentence?: string;
  /** When the next attempt starts (epoch ms). */
  retryAt?: number;
}

export type LineKind = 'text' | 'action' | 'system';

export interface ChatLine {
  /** Stable key: the server id once known, else the client id. */
  key: string;
  kind: LineKind;
  text: string;
  ts: number;
  from?: string;
  name?: string;
  own?: boolean;
  /** Own messages: pending until the server acknowledged them. */
  pending?: boolean;
  cid?: string;
}

export interface RoomState {
  name: string;
  members: Record<string, Member>;
  lines: ChatLine[];
  unread: number;
  /** True once the server sent the member snapshot on this connection. */
  synced: boolean;
}

export interface AppState {
  connection: ConnectionState;
  me: { id?: string; name?: string; fingerprint?: string };
  rooms: Record<string, RoomState>;
  order: string[];
  active?: string;
  notice?: { id: number; text: string };
  directory?: { name: string; members: number }[];
  limits?: WireLimits;
  updateReady: boolean;
}

export const MAX_LINES_PER_ROOM = 500;

export type Action =
  | { t: 'connection'; status: ConnectionStatus; sentence?: string; retryAt?: number }
  | { t: 'identity'; fingerprint: string }
  | { t: 'welcome'; id: string; name: string; limits: WireLimits }
  | { t: 'name'; name: string }
  | { t: 'open-room'; room: string; activate: boolean }
  | { t: 'joined'; room: string; members: Member[] }
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
  | { t: 'update-ready' };

export function initialState(): AppState {
  return { connection: { status: 'starting' }, me: {}, rooms: {}, order: [], updateReady: false };
}

function emptyRoom(name: string): RoomState {
  return { name, members: {}, lines: [], unread: 0, synced: false };
}

function appendLines(room: RoomState, lines: ChatLine[]): ChatLine[] {
  const all = [...room.lines, ...lines];
  return all.length > MAX_LINES_PER_ROOM ? all.slice(all.length - MAX_LINES_PER_ROOM) : all;
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
function applyPresence(room: RoomState, events: PresenceEvent[], me: string | undefined, ts: number): RoomState {
  const members = { ...room.members };
  const lines: ChatLine[] = [];
  for (const event of events) {
    if (event.k === 'join') {
      const known = members[event.member.id];
      members[event.member.id] = event.member;
      if (!known && event.member.id !== me) lines.push(systemLine(`${event.member.name} joined`, ts));
    } else if (event.k === 'leave') {
      const known = members[event.id];
      if (!known) continue;
      delete members[event.id];
      lines.push(systemLine(event.farewell ? `${known.name} left: “${event.farewell}”` : `${known.name} left`, ts));
    } else {
      const known = members[event.id];
      if (!known || known.name === event.name) continue;
      members[event.id] = { ...known, name: event.name };
      lines.push(systemLine(event.id === me ? `You are now known as ${event.name}` : `${known.name} is now known as ${event.name}`, ts));
    }
  }
  return { ...room, members, lines: lines.length ? appendLines(room, lines) : room.lines };
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
      return { ...state, me: { ...state.me, id: action.id, name: action.name }, limits: action.limits };
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
        members: Object.fromEntries(action.members.map((m) => [m.id, m])),
      }));
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
        const line: ChatLine = { key: action.id, kind: action.kind, text: action.text, ts: action.ts, from: action.from, name: action.name };
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
    case 'activate':
      if (!state.rooms[action.room]) return state;
      return withRoom({ ...state, active: action.room }, action.room, (room) => (room.unread ? { ...room, unread: 0 } : room));
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
