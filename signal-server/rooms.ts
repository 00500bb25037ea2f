// Rooms, membership, batched presence and chat messages to a room's members. Written
// against a small member interface (no ws import), so it can be driven by fakes in tests
// and benches.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, LIMITS, type HistoryCursor, type PresenceEvent, type Role, type ServerFrame } from './protocol/protocol.ts';
import { RoomHistory } from './room-history.ts';
import { Room, hashVerifier, type MessageBody, type PersistentRoomSpec, type Removal, type RoomMember, type RoomsError } from './room.ts';
import { olderDesc, type RoomChange, type RoomDesc } from './room-change.ts';

export interface RoomsOptions {
  presenceWindowMs: number;
  persistentRooms: readonly PersistentRoomSpec[];
  /** A user room ended (its last member left): what was tied to it can go. */
  onRoomEnded?: (roomName: string) => void;
  /** Cluster mode: every change made here, for the other nodes (not called while applying theirs). */
  onChange?: (change: RoomChange) => void;
  maxRoomsPerClient?: number;
  /** The rings of recent messages (default: none kept). */
  history?: RoomHistory;
}

/** What a joining member is sent after its snapshot. */
interface Recovery {
  frames: string[];
  missed: boolean;
}

export class Rooms {
  private readonly rooms = new Map<string, Room>();
  private readonly roomsOfMember = new Map<string, Set<string>>();
  private readonly dirty = new Set<Room>();
  private flushTimer: NodeJS.Timeout | undefined;
  private nextMessageId = 0;
  /** Unique across restarts and across the nodes of a cluster. */
  private readonly bootId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  /** Applying another node's change: not passed on again. */
  private applying = false;
  readonly history: RoomHistory;
  /** Purge times of rooms that ended, by name, oldest first (bounded). */
  private readonly purgeMarks = new Map<string, number>();

  constructor(private readonly options: RoomsOptions) {
    this.history = options.history ?? new RoomHistory({ maxMessages: 0, maxAgeMs: 0, maxBytes: 0 });
    // Every node reads the same persistent rooms: nothing to pass on.
    this.applying = true;
    for (const spec of options.persistentRooms) this.addPersistent(spec);
    this.applying = false;
  }

  private emit(change: RoomChange): void {
    if (!this.applying) this.options.onChange?.(change);
  }

  /**
   * Applies a change another node made: this node's members are told as if it happened
   * here. `memberOf` finds a member by peer id (someone on another node, or here).
   */
  apply(change: RoomChange, memberOf: (id: string) => RoomMember | undefined): void {
    this.applying = true;
    try {
      this.applyChange(change, memberOf);
    } finally {
      this.applying = false;
    }
  }

  private applyChange(change: RoomChange, memberOf: (id: string) => RoomMember | undefined): void {
    switch (change.op) {
      case 'join': {
        const member = memberOf(change.member.id);
        if (member) this.joinRemote(member, change.room, change.desc);
        return;
      }
      case 'leave': {
        const member = memberOf(change.id);
        const room = this.rooms.get(change.room);
        if (member && room?.members.has(member.id)) this.remove(member, room, change.farewell, change.removal);
        return;
      }
      case 'rename': {
        const member = memberOf(change.id);
        if (member) this.rename(member, change.name);
        return;
      }
      case 'admin': {
        const member = memberOf(change.id);
        if (!member) return;
        member.admin = change.admin;
        this.adminChanged(member);
        return;
      }
      case 'role':
        return this.setRole(change.room, change.key, change.role);
      case 'topic':
        return this.setTopic(change.room, change.topic, change.by);
      case 'purge':
        this.purge(change.room, change.by, change.at);
        return;
      case 'history': {
        const room = this.rooms.get(change.room);
        if (room) this.applyNewMembers(room, change.newMembers, change.by);
        return;
      }
      case 'verifier': {
        const room = this.rooms.get(change.room);
        const by = room?.members.get(change.by);
        if (room?.verifierHash && by) this.rekey(room, Buffer.from(change.verifier, 'hex'), by);
        return;
      }
      case 'desc':
        this.adoptDesc(change.room, change.desc);
        return;
      case 'persist':
        return this.addPersistent(change.spec);
      case 'delete':
        this.deleteRoom(change.room);
        return;
    }
  }

  /** A member of another node joined: the room (as that node made it, if it is new here) and presence for this node's members. */
  private joinRemote(member: RoomMember, roomName: string, desc: RoomDesc): void {
    const room = this.adoptDesc(roomName, desc);
    if (room.members.has(member.id)) return;
    room.members.set(member.id, member);
    const mine = this.roomsOf(member);
    mine.add(roomName);
    this.roomsOfMember.set(member.id, mine);
    this.queue(room, { k: 'join', member: room.info(member) });
  }

  /** What the other nodes need to know about a room. */
  descOf(roomOrName: Room | string): RoomDesc | undefined {
    const room = typeof roomOrName === 'string' ? this.rooms.get(roomOrName) : roomOrName;
    if (!room) return undefined;
    const desc: RoomDesc = { epoch: room.epoch, createdAt: room.createdAt, owners: [...room.owners], moderators: [...room.moderators] };
    if (room.topic) desc.topic = room.topic;
    if (room.verifierHash) desc.verifier = room.verifierHash.toString('hex');
    if (room.persistent) desc.persistent = true;
    if (room.chosenNewMembers !== undefined) desc.newMembers = room.chosenNewMembers;
    if (room.purgedAt !== undefined) desc.purgedAt = room.purgedAt;
    return desc;
  }

  /** How many recent messages the room shows new members (0: it keeps none). */
  newMembersOf(roomName: string): number {
    return this.rooms.get(roomName)?.newMembers ?? 0;
  }

  membersOf(roomName: string): RoomMember[] {
    return [...(this.rooms.get(roomName)?.members.values() ?? [])];
  }

  /** Fills an empty ring with another node's messages (oldest first), for people who come back here. */
  primeRing(roomName: string, frames: readonly { seq: number; frame: string }[]): void {
    const room = this.rooms.get(roomName);
    if (!room || room.ring.size > 0 || room.newMembers === 0) return;
    for (const { seq, frame } of frames) this.history.append(room.ring, seq, frame);
    const last = frames.at(-1)?.seq ?? 0;
    if (last > room.seq) room.seq = last;
  }

  /** Rooms of this node: names, for the cluster to re-announce. */
  names(): string[] {
    return [...this.rooms.keys()];
  }

  /** The room's newest message number. */
  seqOf(roomName: string): number {
    return this.rooms.get(roomName)?.seq ?? 0;
  }

  /**
   * Takes another node's view of a room: makes the room if it is new here; if both made it,
   * the older one is kept on every node (owners, passphrase and epoch with it: members who
   * got in with the other passphrase must enter this one). `seq`: the room's newest number.
   */
  adoptDesc(roomName: string, desc: RoomDesc, seq = 0): Room {
    let room = this.rooms.get(roomName);
    if (!room) {
      room = this.createRoom(roomName, desc.persistent ?? false);
      this.takeDesc(room, desc);
    } else if (room.epoch !== desc.epoch && olderDesc(desc, this.descOf(room)!)) {
      const before = new Map([...room.members.values()].map((m) => [m.id, room!.roleOf(m.key)]));
      const oldVerifier = room.verifierHash;
      this.takeDesc(room, desc);
      for (const member of room.members.values()) {
        if (room.roleOf(member.key) !== before.get(member.id)) this.queue(room, this.roleEvent(room, member));
      }
      if (oldVerifier && room.verifierHash && !timingSafeEqual(oldVerifier, room.verifierHash)) {
        const frame = JSON.stringify({ type: 'passphrase-changed', room: room.name, by: '' } satisfies ServerFrame);
        for (const member of [...room.members.values()].filter((m) => !m.remote)) {
          this.remove(member, room, undefined, { kind: 'rekeyed', by: '' });
          member.sendRaw(frame);
        }
      }
    }
    if (seq > room.seq) room.seq = seq;
    return room;
  }

  private takeDesc(room: Room, desc: RoomDesc): void {
    room.epoch = desc.epoch;
    room.createdAt = desc.createdAt;
    room.owners.clear();
    for (const key of desc.owners) room.owners.add(key);
    room.moderators.clear();
    for (const key of desc.moderators) room.moderators.add(key);
    room.topic = desc.topic;
    room.verifierHash = desc.verifier ? Buffer.from(desc.verifier, 'hex') : undefined;
    room.persistent = desc.persistent ?? room.persistent;
    room.chosenNewMembers = desc.newMembers;
    room.purgedAt = desc.purgedAt ?? room.purgedAt;
  }

  /** A new room: a new epoch, an empty ring, and the purge time of an earlier room of its name. */
  private createRoom(name: string, persistent: boolean): Room {
    const room = new Room(name, persistent, this.history.ring(), this.history.perRoom);
    room.purgedAt = this.purgeMarks.get(name);
    this.rooms.set(name, room);
    return room;
  }

  /** A room is gone: its messages go at once, its purge time is remembered by name. */
  private endRoom(room: Room): void {
    this.rooms.delete(room.name);
    this.dirty.delete(room);
    room.awaitingSnapshot.clear();
    this.history.clear(room.ring);
    if (room.purgedAt === undefined) return;
    this.purgeMarks.delete(room.name);
    this.purgeMarks.set(room.name, room.purgedAt);
    if (this.purgeMarks.size > LIMITS.historyPurgeMarks) this.purgeMarks.delete(this.purgeMarks.keys().next().value!);
  }

  /** Makes a room persistent (creating it if needed): it stays when empty. */
  addPersistent(spec: PersistentRoomSpec): void {
    const room = this.rooms.get(spec.name) ?? this.createRoom(spec.name, true);
    room.persistent = true;
    room.chosenNewMembers = spec.newMembers ?? room.chosenNewMembers;
    room.purgedAt = spec.purgedAt ?? room.purgedAt;
    // A persistent room is the admin's: its creator (if it was a live user room) is not
    // its owner any more, and the people in it must hear so.
    const formerOwners = new Set(room.owners);
    room.owners.clear();
    room.topic = spec.topic;
    for (const key of spec.moderators) room.moderators.add(key);
    for (const member of room.members.values()) {
      if (formerOwners.has(member.key)) this.queue(room, this.roleEvent(room, member));
    }
    this.emit({ op: 'persist', spec });
  }

  /** Ends a room: everyone in it is removed (with a `left` frame) and it is gone. */
  deleteRoom(roomName: string): RoomMember[] {
    const room = this.rooms.get(roomName);
    if (!room) return [];
    const members = [...room.members.values()];
    for (const member of members) {
      room.members.delete(member.id);
      this.roomsOf(member).delete(roomName);
      member.sendRaw(JSON.stringify({ type: 'left', room: roomName } satisfies ServerFrame));
    }
    this.endRoom(room);
    this.emit({ op: 'delete', room: roomName });
    return members;
  }

  isPrivate(roomName: string): boolean {
    return this.rooms.get(roomName)?.verifierHash !== undefined;
  }

  /**
   * A private room's owner (or the admin) set a new passphrase: only the new verifier
   * admits anyone from now on. Everyone else (an owner too, when the admin changed it)
   * leaves the room and is told to enter the new passphrase; roles stay with their keys.
   */
  changeVerifier(roomName: string, verifier: string, by: RoomMember): RoomMember[] {
    const room = this.rooms.get(roomName);
    if (!room?.verifierHash) return [];
    const hash = hashVerifier(verifier);
    // The same passphrase again changes nothing: nobody needs to enter it anew.
    if (timingSafeEqual(hash, room.verifierHash)) {
      by.sendRaw(JSON.stringify({ type: 'passphrase-changed', room: roomName, by: by.name } satisfies ServerFrame));
      return [];
    }
    this.emit({ op: 'verifier', room: roomName, verifier: hash.toString('hex'), by: by.id });
    return this.rekey(room, hash, by);
  }

  /** A new verifier: everyone but `by` leaves and must enter the new passphrase. */
  private rekey(room: Room, hash: Buffer, by: RoomMember): RoomMember[] {
    const frame = JSON.stringify({ type: 'passphrase-changed', room: room.name, by: by.name } satisfies ServerFrame);
    room.verifierHash = hash;
    // What was sealed under the old passphrase opens for nobody who enters the new one.
    this.history.clear(room.ring);
    const others = [...room.members.values()].filter((m) => m !== by);
    for (const member of others) {
      this.remove(member, room, undefined, { kind: 'rekeyed', by: by.name });
      member.sendRaw(frame);
    }
    by.sendRaw(frame);
    return others;
  }

  isPersistent(roomName: string): boolean {
    return this.rooms.get(roomName)?.persistent ?? false;
  }

  roleOf(roomName: string, key: string): Role | undefined {
    return this.rooms.get(roomName)?.roleOf(key);
  }

  moderatorsOf(roomName: string): string[] {
    return [...(this.rooms.get(roomName)?.moderators ?? [])];
  }

  topicOf(roomName: string): string | undefined {
    return this.rooms.get(roomName)?.topic;
  }

  setRole(roomName: string, key: string, role: 'moderator' | 'member'): void {
    const room = this.rooms.get(roomName);
    if (!room) return;
    this.emit({ op: 'role', room: roomName, key, role });
    if (role === 'moderator') room.moderators.add(key);
    else room.moderators.delete(key);
    for (const member of room.members.values()) {
      if (member.key === key) this.queue(room, this.roleEvent(room, member));
    }
  }

  /** Tells every room of this member about a changed admin flag. */
  adminChanged(member: RoomMember): void {
    this.emit({ op: 'admin', id: member.id, admin: member.admin });
    for (const roomName of this.roomsOf(member)) {
      const room = this.rooms.get(roomName);
      if (room) this.queue(room, this.roleEvent(room, member));
    }
  }

  setTopic(roomName: string, topic: string, by: string): void {
    const room = this.rooms.get(roomName);
    if (!room) return;
    this.emit({ op: 'topic', room: roomName, topic, by });
    room.topic = topic || undefined;
    this.queue(room, { k: 'topic', topic, by });
  }

  /** A moderator removed this member from the room: the others learn who and why. */
  removeBy(member: RoomMember, roomName: string, removal: Removal): boolean {
    const room = this.rooms.get(roomName);
    if (!room || !room.members.has(member.id)) return false;
    this.emit({ op: 'leave', id: member.id, room: roomName, removal });
    this.remove(member, room, undefined, removal);
    return true;
  }

  /**
   * Empties a room for everyone: its kept messages go, each member gets `purged`, and the
   * room ends unless persistent. Later joins under its name carry the purge time, so
   * devices that were away delete what they kept from before it.
   */
  purge(roomName: string, by: string, at = Date.now()): RoomMember[] {
    const room = this.rooms.get(roomName);
    if (!room) return [];
    this.emit({ op: 'purge', room: roomName, by, at });
    const members = [...room.members.values()];
    room.purgedAt = at;
    this.history.clear(room.ring);
    const frame = JSON.stringify({ type: 'purged', room: roomName, by, at } satisfies ServerFrame);
    for (const member of members) {
      room.members.delete(member.id);
      this.roomsOf(member).delete(roomName);
      member.sendRaw(frame);
    }
    room.pending = [];
    room.awaitingSnapshot.clear();
    this.dirty.delete(room);
    if (!room.persistent) {
      this.endRoom(room);
      this.options.onRoomEnded?.(roomName);
    }
    return members;
  }

  /** For rooms.json: what the owner chose for new members (absent: the default), and the last purge. */
  historySettingsOf(roomName: string): { newMembers?: number; purgedAt?: number } | undefined {
    const room = this.rooms.get(roomName);
    return room && { newMembers: room.chosenNewMembers, purgedAt: room.purgedAt };
  }

  /**
   * Sets how many recent messages new members see (at most what a ring keeps; 0 drops what
   * the room kept and keeps nothing more) and tells the members, and the one who set it
   * when not in the room. Returns the value set.
   */
  setNewMembers(roomName: string, newMembers: number, by: RoomMember): number | undefined {
    const room = this.rooms.get(roomName);
    if (!room) return undefined;
    this.emit({ op: 'history', room: roomName, newMembers, by: by.name });
    const frame = this.applyNewMembers(room, newMembers, by.name);
    if (!room.members.has(by.id)) by.sendRaw(frame);
    return room.newMembers;
  }

  private applyNewMembers(room: Room, newMembers: number, by: string): Buffer {
    room.chosenNewMembers = Math.min(newMembers, this.history.perRoom);
    if (room.newMembers === 0) this.history.clear(room.ring);
    const frame = Buffer.from(JSON.stringify({ type: 'room-history', room: room.name, newMembers: room.newMembers, by } satisfies ServerFrame));
    for (const member of room.members.values()) member.sendRaw(frame);
    return frame;
  }

  private roleEvent(room: Room, member: RoomMember): PresenceEvent {
    const info = room.info(member);
    return info.admin ? { k: 'role', id: member.id, role: info.role, admin: true } : { k: 'role', id: member.id, role: info.role };
  }

  /**
   * Adds the member and tells the others in the next presence window. The member gets the
   * snapshot now, or with that window's batch when one is already pending: in a join storm
   * a snapshot per joiner (each the size of the room) was most of the server's work.
   * A join with a verifier creates a private room, or must match the private room's.
   * The snapshot is followed by what the member missed since `since`, or without it by
   * the messages the room shows new members.
   */
  join(member: RoomMember, roomName: string, verifier?: string, since?: HistoryCursor): RoomsError | undefined {
    const mine = this.roomsOf(member);
    const existing = this.rooms.get(roomName);
    // Already in (a second join after a reconnect race, say): the snapshot again, and what it missed.
    if (existing && mine.has(roomName)) {
      if (existing.awaitingSnapshot.has(member)) existing.awaitingSnapshot.set(member, since);
      else this.sendSnapshot(existing, member, since);
      return undefined;
    }
    if (existing) {
      const refused = this.admits(existing, verifier);
      if (refused) return refused;
    }
    const max = this.options.maxRoomsPerClient ?? LIMITS.maxRoomsPerClient;
    if (mine.size >= max) return { code: ErrorCode.tooManyRooms, message: `You can be in at most ${max} rooms at once.` };

    let room = existing;
    if (!room) {
      room = this.createRoom(roomName, false);
      room.owners.add(member.key);
      if (verifier !== undefined) room.verifierHash = hashVerifier(verifier);
    }
    room.members.set(member.id, member);
    mine.add(roomName);
    this.roomsOfMember.set(member.id, mine);
    if (this.dirty.has(room)) room.awaitingSnapshot.set(member, since);
    else this.sendSnapshot(room, member, since);
    this.queue(room, { k: 'join', member: room.info(member) });
    const info = { id: member.id, key: member.key, name: member.name, admin: member.admin };
    this.emit(existing ? { op: 'join', member: info, room: roomName, desc: this.descOf(room)! } : { op: 'join', member: info, room: roomName, desc: this.descOf(room)!, created: true });
    return undefined;
  }

  leave(member: RoomMember, roomName: string, farewell?: string): RoomsError | undefined {
    const room = this.rooms.get(roomName);
    if (!room || !room.members.has(member.id)) return { code: ErrorCode.notInRoom, message: `You are not in #${roomName}.` };
    this.emit({ op: 'leave', id: member.id, room: roomName, farewell });
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
    this.emit({ op: 'rename', id: member.id, name });
    member.name = name;
    for (const roomName of this.roomsOf(member)) {
      const room = this.rooms.get(roomName);
      if (room) this.queue(room, { k: 'rename', id: member.id, name });
    }
  }

  /** Sends a chat message to the other members; returns the server id and time, or an error. */
  broadcastMessage(member: RoomMember, roomName: string, body: MessageBody): RoomsError | { id: string; ts: number; seq: number } {
    const prepared = this.prepareMessage(member, roomName, body);
    if ('code' in prepared) return prepared;
    const seq = this.rooms.get(roomName)!.seq + 1;
    this.deliver(roomName, seq, `${prepared.head}${seq}}`, member.id);
    return { id: prepared.id, ts: prepared.ts, seq };
  }

  /**
   * A message frame without its number: `head` ends in `"seq":`, so the number and a closing
   * brace complete it (in a cluster, Redis numbers it, one order per room for every node).
   */
  prepareMessage(member: RoomMember, roomName: string, body: MessageBody): RoomsError | { head: string; id: string; ts: number } {
    const room = this.rooms.get(roomName);
    if (!room || !room.members.has(member.id)) return { code: ErrorCode.notInRoom, message: `Join #${roomName} before writing there.` };
    const sealed = 'sealed' in body;
    if (room.verifierHash && !sealed) return { code: ErrorCode.sealedOnly, message: `#${roomName} is private: its messages must be encrypted with the room key.` };
    if (!room.verifierHash && sealed) return { code: ErrorCode.notPrivate, message: `#${roomName} is not a private room.` };
    const id = `${this.bootId}-${(this.nextMessageId++).toString(36)}`;
    const ts = Date.now();
    const head = { type: 'message', room: roomName, id, from: member.id, name: member.name, ts } as const;
    const frame = (sealed ? { ...head, sealed: body.sealed, key: member.key } : { ...head, text: body.text, kind: body.kind }) satisfies Omit<Extract<ServerFrame, { type: 'message' }>, 'seq'>;
    return { head: `${JSON.stringify(frame).slice(0, -1)},"seq":`, id, ts };
  }

  /** A numbered message to the room's members here (not its sender), and into the room's ring. */
  deliver(roomName: string, seq: number, text: string, fromId: string): void {
    const room = this.rooms.get(roomName);
    if (!room) return;
    // Everyone sees who is in the room before what they say: a joiner's first message
    // must not reach members whose list does not have the joiner yet.
    if (this.dirty.has(room)) this.flushRoom(room);
    if (seq > room.seq) room.seq = seq;
    let frame: Buffer | undefined;
    for (const other of room.members.values()) {
      if (other.id !== fromId && !other.remote) other.sendRaw((frame ??= Buffer.from(text)));
    }
    // The very frame relayed: a private room's ring holds only its ciphertext.
    if (room.newMembers > 0) this.history.append(room.ring, seq, text);
  }

  /** The listed rooms: private rooms are unlisted. */
  list(): { name: string; members: number }[] {
    return [...this.rooms.values()]
      .filter((room) => !room.verifierHash)
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

  /**
   * Sends the pending presence of the rooms two members share. Before one passes the other
   * a signal: a joiner who signals at once must already be in the receiver's member list,
   * or the receiver cannot tell who it is and drops the frame.
   */
  flushShared(a: RoomMember, b: RoomMember): void {
    const theirs = this.roomsOf(b);
    for (const name of this.roomsOf(a)) {
      const room = this.rooms.get(name);
      if (room && theirs.has(name) && this.dirty.has(room)) this.flushRoom(room);
    }
  }

  has(roomName: string): boolean {
    return this.rooms.has(roomName);
  }

  /** Sends every pending presence batch now: one frame per dirty room per member. */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const room of this.dirty) this.flushRoom(room);
  }

  /**
   * The room's batch to its members, and its snapshot to those who joined during the batch
   * (serialised once, or twice when some of them missed messages), each followed by its recovery.
   */
  private flushRoom(room: Room): void {
    this.dirty.delete(room);
    const batch = Buffer.from(JSON.stringify({ type: 'presence', room: room.name, events: room.pending } satisfies ServerFrame));
    const snapshots: Partial<Record<'whole' | 'missed', Buffer>> = {};
    // In a storm of members coming back, most get the same recent messages: encode each once.
    const encoded = new Map<string, Buffer>();
    const bytesOf = (frame: string) => encoded.get(frame) ?? encoded.set(frame, Buffer.from(frame)).get(frame)!;
    room.pending = [];
    for (const member of room.members.values()) {
      if (!room.awaitingSnapshot.has(member)) {
        member.sendRaw(batch);
        continue;
      }
      const recovery = this.recover(room, room.awaitingSnapshot.get(member));
      const variant = recovery.missed ? 'missed' : 'whole';
      member.sendRaw((snapshots[variant] ??= Buffer.from(this.snapshotOf(room, recovery.missed))));
      for (const frame of recovery.frames) member.sendRaw(bytesOf(frame));
    }
    room.awaitingSnapshot.clear();
  }

  close(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.history.close();
  }

  /** The snapshot now, then what this member missed (or what new members see). */
  private sendSnapshot(room: Room, member: RoomMember, since: HistoryCursor | undefined): void {
    const recovery = this.recover(room, since);
    member.sendRaw(this.snapshotOf(room, recovery.missed));
    for (const frame of recovery.frames) member.sendRaw(frame);
  }

  /**
   * What a joiner gets from the ring: without a cursor, the newest `newMembers`; with one
   * in this epoch, everything after it (missed when the ring no longer reaches back); with
   * another epoch's, everything of this epoch (missed when the ring no longer holds its
   * first message). What that other epoch held after the cursor only the app can judge:
   * it knows whether it was there when that server stopped.
   */
  private recover(room: Room, since: HistoryCursor | undefined): Recovery {
    if (!since) return { frames: room.newMembers > 0 ? this.history.last(room.ring, room.newMembers) : [], missed: false };
    const from = since.epoch === room.epoch ? since.seq : 0;
    if (from >= room.seq) return { frames: [], missed: false };
    const after = this.history.after(room.ring, from, room.seq);
    return { frames: after.frames, missed: !after.complete };
  }

  private remove(member: RoomMember, room: Room, farewell?: string, removal?: Removal): void {
    room.members.delete(member.id);
    room.awaitingSnapshot.delete(member);
    this.roomsOf(member).delete(room.name);
    if (room.members.size === 0 && !room.persistent) {
      this.endRoom(room);
      this.options.onRoomEnded?.(room.name);
      return;
    }
    const event: PresenceEvent = { k: 'leave', id: member.id };
    if (farewell) event.farewell = farewell;
    if (removal) event.removed = removal.reason ? { kind: removal.kind, by: removal.by, reason: removal.reason } : { kind: removal.kind, by: removal.by };
    this.queue(room, event);
  }

  /** Whether this verifier (or none) opens this existing room. */
  private admits(room: Room, verifier: string | undefined): RoomsError | undefined {
    if (!room.verifierHash) {
      return verifier === undefined ? undefined : { code: ErrorCode.notPrivate, message: `#${room.name} is a public room; it has no passphrase.` };
    }
    if (verifier === undefined) return { code: ErrorCode.passphraseRequired, message: `#${room.name} is private: you need its passphrase or an invite link.` };
    if (!timingSafeEqual(hashVerifier(verifier), room.verifierHash)) return { code: ErrorCode.passphraseWrong, message: `That passphrase does not open #${room.name}.` };
    return undefined;
  }

  private snapshotOf(room: Room, missed = false): string {
    const members = [...room.members.values()].map((m) => room.info(m));
    const history: Extract<ServerFrame, { type: 'joined' }>['history'] = { epoch: room.epoch, seq: room.seq, newMembers: room.newMembers };
    if (missed) history.missed = true;
    if (room.purgedAt !== undefined) history.purgedAt = room.purgedAt;
    const frame: Extract<ServerFrame, { type: 'joined' }> = { type: 'joined', room: room.name, members, history };
    if (room.topic) frame.topic = room.topic;
    if (room.persistent) frame.persistent = true;
    if (room.verifierHash) frame.private = true;
    return JSON.stringify(frame);
  }

  private queue(room: Room, event: PresenceEvent): void {
    room.pending.push(event);
    this.dirty.add(room);
    this.flushTimer ??= setTimeout(() => this.flush(), this.options.presenceWindowMs);
  }
}
