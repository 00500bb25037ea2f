// Rooms, membership, batched presence and message relay. Written against a small
// member interface (no ws import), so it can be driven by fakes in tests and benches.
import { LIMITS, type Member, type PresenceEvent, type ServerFrame } from './protocol.ts';

export interface RoomMember {
  readonly id: string;
  readonly key: string;
  name: string;
  /** Sends an already serialised frame. */
  sendRaw(text: string): void;
}

export type RoomsError = { code: 'room-invalid' | 'not-in-room' | 'too-many-rooms'; message: string };

class Room {
  readonly members = new Map<string, RoomMember>();
  pending: PresenceEvent[] = [];
  constructor(
    readonly name: string,
    readonly persistent: boolean,
  ) {}
}

export interface RoomsOptions {
  presenceWindowMs: number;
  persistentRooms: readonly string[];
  maxRoomsPerClient?: number;
}

function memberInfo(member: RoomMember): Member {
  return { id: member.id, name: member.name, key: member.key };
}

export class Rooms {
  private readonly rooms = new Map<string, Room>();
  private readonly roomsOfMember = new Map<string, Set<string>>();
  private readonly dirty = new Set<Room>();
  private flushTimer: NodeJS.Timeout | undefined;
  private nextMessageId = 0;
  private readonly bootId = Date.now().toString(36);

  constructor(private readonly options: RoomsOptions) {
    for (const name of options.persistentRooms) this.rooms.set(name, new Room(name, true));
  }

  /** Adds the member, sends them the snapshot now, and tells the others in the next window. */
  join(member: RoomMember, roomName: string): RoomsError | undefined {
    const mine = this.roomsOf(member);
    if (mine.has(roomName)) {
      this.sendSnapshot(member, this.rooms.get(roomName)!);
      return undefined;
    }
    const max = this.options.maxRoomsPerClient ?? LIMITS.maxRoomsPerClient;
    if (mine.size >= max) return { code: 'too-many-rooms', message: `You can be in at most ${max} rooms at once.` };

    let room = this.rooms.get(roomName);
    if (!room) {
      room = new Room(roomName, false);
      this.rooms.set(roomName, room);
    }
    room.members.set(member.id, member);
    mine.add(roomName);
    this.roomsOfMember.set(member.id, mine);
    this.sendSnapshot(member, room);
    this.queue(room, { k: 'join', member: memberInfo(member) });
    return undefined;
  }

  leave(member: RoomMember, roomName: string, farewell?: string): RoomsError | undefined {
    const room = this.rooms.get(roomName);
    if (!room || !room.members.has(member.id)) return { code: 'not-in-room', message: `You are not in #${roomName}.` };
    this.remove(member, room, farewell);
    member.sendRaw(JSON.stringify({ type: 'left', room: roomName } satisfies ServerFrame));
    return undefined;
  }

  /** On disconnect: removes the member from every room without a confirmation frame. */
  leaveAll(member: RoomMember): void {
    for (const roomName of [...this.roomsOf(member)]) {
      const room = this.rooms.get(roomName);
      if (room) this.remove(member, room);
    }
    this.roomsOfMember.delete(member.id);
  }

  rename(member: RoomMember, name: string): void {
    member.name = name;
    for (const roomName of this.roomsOf(member)) {
      const room = this.rooms.get(roomName);
      if (room) this.queue(room, { k: 'rename', id: member.id, name });
    }
  }

  /** Relays a chat message to the other members; returns the server id and time, or an error. */
  relay(member: RoomMember, roomName: string, text: string, kind: 'text' | 'action'): RoomsError | { id: string; ts: number } {
    const room = this.rooms.get(roomName);
    if (!room || !room.members.has(member.id)) return { code: 'not-in-room', message: `Join #${roomName} before writing there.` };
    const id = `${this.bootId}-${(this.nextMessageId++).toString(36)}`;
    const ts = Date.now();
    const frame = JSON.stringify({ type: 'message', room: roomName, id, from: member.id, name: member.name, ts, text, kind } satisfies ServerFrame);
    for (const other of room.members.values()) {
      if (other !== member) other.sendRaw(frame);
    }
    return { id, ts };
  }

  list(): { name: string; members: number }[] {
    return [...this.rooms.values()]
      .map((room) => ({ name: room.name, members: room.members.size }))
      .sort((a, b) => b.members - a.members || a.name.localeCompare(b.name));
  }

  roomsOf(member: RoomMember): Set<string> {
    return this.roomsOfMember.get(member.id) ?? new Set();
  }

  shareRoom(a: RoomMember, b: RoomMember): boolean {
    const theirs = this.roomsOf(b);
    for (const room of this.roomsOf(a)) if (theirs.has(room)) return true;
    return false;
  }

  has(roomName: string): boolean {
    return this.rooms.has(roomName);
  }

  memberCount(roomName: string): number {
    return this.rooms.get(roomName)?.members.size ?? 0;
  }

  /** Sends every pending presence diff now: one frame per dirty room per member. */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const room of this.dirty) {
      const frame = JSON.stringify({ type: 'presence', room: room.name, events: room.pending } satisfies ServerFrame);
      room.pending = [];
      for (const member of room.members.values()) member.sendRaw(frame);
    }
    this.dirty.clear();
  }

  close(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private remove(member: RoomMember, room: Room, farewell?: string): void {
    room.members.delete(member.id);
    this.roomsOf(member).delete(room.name);
    if (room.members.size === 0 && !room.persistent) {
      this.rooms.delete(room.name);
      this.dirty.delete(room);
      return;
    }
    this.queue(room, farewell ? { k: 'leave', id: member.id, farewell } : { k: 'leave', id: member.id });
  }

  private sendSnapshot(member: RoomMember, room: Room): void {
    const members = [...room.members.values()].map(memberInfo);
    member.sendRaw(JSON.stringify({ type: 'joined', room: room.name, members } satisfies ServerFrame));
  }

  private queue(room: Room, event: PresenceEvent): void {
    room.pending.push(event);
    this.dirty.add(room);
    this.flushTimer ??= setTimeout(() => this.flush(), this.options.presenceWindowMs);
  }
}
