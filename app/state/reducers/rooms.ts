// The rooms: members (from snapshots and presence), lines, unread counts, and what the
// server and this device know about each (topic, persistent, private, locked).
import type { PresenceEvent } from '../../../signal-server/protocol/protocol.ts';
import type { ChatLine, RoomState } from '../state.ts';
import { historySetLine } from '../history-setting.ts';
import { addAbovePending, appendLines, leftView, systemLine, withEntry, withHistory, type SliceReducer } from './slice.ts';

function emptyRoom(name: string): RoomState {
  return { name, members: {}, lines: [], unread: 0, synced: false };
}

const ROLE_WORDS = { owner: 'the owner', moderator: 'a moderator', member: 'a member' } as const;

function leaveLine(name: string, event: Extract<PresenceEvent, { k: 'leave' }>): string {
  if (event.removed?.kind === 'rekeyed') return `${name} must enter the new passphrase to come back`;
  if (event.removed) {
    const verb = event.removed.kind === 'banned' ? 'was banned' : 'was removed';
    return `${name} ${verb} by ${event.removed.by}${event.removed.reason ? `: ${event.removed.reason}` : ''}`;
  }
  return event.farewell ? `${name} left: “${event.farewell}”` : `${name} left`;
}

/**
 * Applies presence events idempotently and adds the system lines they deserve, keyed
 * `${id}-0`, `${id}-1`… from the action's id.
 */
function applyPresence(room: RoomState, events: PresenceEvent[], me: string | undefined, ts: number, id: string): RoomState {
  const members = { ...room.members };
  const lines: ChatLine[] = [];
  const line = (text: string) => lines.push(systemLine(`${id}-${lines.length}`, text, ts));
  let topic = room.topic;
  for (const event of events) {
    if (event.k === 'join') {
      const known = members[event.member.id];
      members[event.member.id] = event.member;
      if (!known && event.member.id !== me) line(`${event.member.name} joined`);
    } else if (event.k === 'leave') {
      const known = members[event.id];
      if (!known) continue;
      delete members[event.id];
      line(leaveLine(known.name, event));
    } else if (event.k === 'rename') {
      const known = members[event.id];
      if (!known || known.name === event.name) continue;
      members[event.id] = { ...known, name: event.name };
      line(event.id === me ? `You are now known as ${event.name}` : `${known.name} is now known as ${event.name}`);
    } else if (event.k === 'role') {
      const known = members[event.id];
      if (!known) continue;
      const updated = { ...known, role: event.role, admin: event.admin };
      if (!event.admin) delete updated.admin;
      members[event.id] = updated;
      const who = event.id === me ? 'You are' : `${known.name} is`;
      if (event.admin && !known.admin) line(`${who} now the server admin`);
      else if (known.role !== event.role) line(`${who} now ${ROLE_WORDS[event.role]}`);
    } else {
      topic = event.topic || undefined;
      line(event.topic ? `${event.by} set the topic: ${event.topic}` : `${event.by} cleared the topic`);
    }
  }
  return { ...room, members, topic, ...(lines.length ? addAbovePending(room, lines) : {}) };
}

function withoutRoom(rooms: Record<string, RoomState>, name: string): Record<string, RoomState> {
  if (!rooms[name]) return rooms;
  const next = { ...rooms };
  delete next[name];
  return next;
}

function read(room: RoomState): RoomState {
  return room.unread ? { ...room, unread: 0 } : room;
}

export const rooms: SliceReducer<'rooms'> = (slice, action, state) => {
  switch (action.t) {
    case 'connection':
      // Off the server, member lists are unknown until the next snapshot.
      if (action.status === 'online') return slice;
      return Object.fromEntries(Object.entries(slice).map(([k, r]) => [k, r.synced ? { ...r, synced: false } : r]));
    case 'open-room': {
      const next = slice[action.room] ? slice : { ...slice, [action.room]: emptyRoom(action.room) };
      // Opening a room makes it active when asked to, or when nothing is.
      return action.activate || !state.active ? withEntry(next, action.room, read) : next;
    }
    case 'joined':
      return withEntry(slice, action.room, (room) => ({
        ...room,
        synced: true,
        topic: action.topic,
        persistent: action.persistent,
        private: action.private,
        locked: false,
        unlocking: false,
        newMembers: action.newMembers,
        members: Object.fromEntries(action.members.map((m) => [m.id, m])),
      }));
    case 'room-history':
      return withEntry(slice, action.room, (room) => ({
        ...room,
        newMembers: action.newMembers,
        ...addAbovePending(room, [systemLine(action.id, historySetLine(action.by, action.newMembers), action.ts)]),
      }));
    case 'room-locked':
      return withEntry(slice, action.room, (room) => ({
        ...room,
        synced: false,
        locked: true,
        members: {},
        ...addAbovePending(room, [systemLine(action.id, action.sentence, action.ts)]),
      }));
    case 'room-unlocking':
      return withEntry(slice, action.room, (room) => ({ ...room, unlocking: action.unlocking }));
    case 'left':
    case 'removed':
      return withoutRoom(slice, action.room);
    case 'presence':
      return withEntry(slice, action.room, (room) => applyPresence(room, action.events, state.me.id, action.ts, action.id));
    case 'message':
      return withEntry(slice, action.room, (room) => {
        // Shown already: live, or (an own message) under its client id with the server's id from the ack.
        if (room.lines.some((l) => l.key === action.id || l.serverId === action.id)) return room;
        const fromKey = action.fromKey ?? room.members[action.from]?.key;
        const line: ChatLine = { key: action.id, kind: action.kind, text: action.text, ts: action.ts, from: action.from, fromKey, name: action.name };
        if (action.serverTs !== undefined && action.serverTs !== action.ts) line.serverTs = action.serverTs;
        return { ...room, ...addAbovePending(room, [line]), unread: state.active === action.room ? room.unread : room.unread + 1 };
      });
    case 'pending':
      return withEntry(slice, action.room, (room) => {
        if (room.lines.some((l) => l.cid === action.cid)) return room;
        const line: ChatLine = { key: action.cid, cid: action.cid, kind: action.kind, text: action.text, ts: action.at, own: true, pending: true, name: state.me.name };
        return { ...room, ...appendLines(room, [line]) };
      });
    case 'ack': {
      const name = Object.keys(slice).find((r) => slice[r].lines.some((l) => l.cid === action.cid));
      if (!name) return slice;
      // A replay of this own message that came before the ack (a resend after a reconnect) goes: the own line stays.
      return withEntry(slice, name, (room) => ({
        ...room,
        lines: room.lines.filter((l) => l.key !== action.id).map((l) => (l.cid === action.cid ? { ...l, pending: false, ts: action.ts, serverId: action.id } : l)),
      }));
    }
    case 'activate': {
      const left = state.active !== action.room && state.active ? withEntry(slice, state.active, leftView) : slice;
      return withEntry(left, action.room, read);
    }
    case 'history-restore':
    case 'history-earlier':
    case 'history-cleared':
      return withEntry(slice, action.tab, (room) => withHistory(room, action, state.active === action.tab));
    case 'history-purged':
      return withEntry(slice, action.room, (room) => {
        const lines = room.lines.filter((l) => l.pending || (l.serverTs ?? l.ts) > action.at);
        return lines.length === room.lines.length ? room : { ...room, lines };
      });
    case 'system': {
      const target = action.room ?? state.active;
      if (!target) return slice;
      return withEntry(slice, target, (room) => ({ ...room, ...addAbovePending(room, [systemLine(action.id, action.text, action.ts)]) }));
    }
    default:
      return slice;
  }
};
