// One room: its members, pending presence, roles, passphrase hash and history position,
// and what a member is and may be told. Rooms (rooms.ts) holds them all.
import { createHash, randomBytes } from 'node:crypto';
import { ErrorCode, LIMITS, type HistoryCursor, type Member, type PresenceEvent, type Role } from './protocol/protocol.ts';
import type { Ring } from './room-history.ts';

export interface RoomMember {
  readonly id: string;
  readonly key: string;
  name: string;
  /** The server admin: outranks every room role. */
  admin: boolean;
  /** Connected to another node of the cluster: that node sends its frames (sendRaw here does nothing). */
  readonly remote?: boolean;
  /**
   * Sends an already serialised frame: its text, or its UTF-8 bytes when the same frame
   * goes to many members (encoded once, not once per socket).
   */
  sendRaw(frame: string | Buffer): void;
}

export interface PersistentRoomSpec {
  name: string;
  topic?: string;
  moderators: readonly string[];
  /** How many recent messages new members see (absent: the default). */
  newMembers?: number;
  /** When the room was last purged (server time). */
  purgedAt?: number;
}

export type Removal = { kind: 'kicked' | 'banned' | 'rekeyed'; by: string; reason?: string };

export type RoomsError = {
  code: (typeof ErrorCode)['notInRoom' | 'tooManyRooms' | 'passphraseRequired' | 'passphraseWrong' | 'notPrivate' | 'sealedOnly'];
  message: string;
};

/** A room message: plain text in a public room, ciphertext in a private one. */
export type MessageBody = { text: string; kind: 'text' | 'action' } | { sealed: string };

/** Only a hash of a private room's verifier is kept, and compared in constant time. */
export function hashVerifier(verifier: string): Buffer {
  return createHash('sha256').update(verifier, 'utf8').digest();
}

export class Room {
  readonly members = new Map<string, RoomMember>();
  pending: PresenceEvent[] = [];
  /**
   * Joined while a presence batch was pending: they get the room's snapshot with that
   * batch (one snapshot for all of them) instead of one each at once and then the batch,
   * followed by what they missed since their cursor (or what new members see).
   */
  readonly awaitingSnapshot = new Map<RoomMember, HistoryCursor | undefined>();
  /** Roles by identity key: the creator of a user room owns it; persistent rooms are the admin's. */
  readonly owners = new Set<string>();
  readonly moderators = new Set<string>();
  topic?: string;
  /** Set for a private (passphrase) room: the hash of its verifier. */
  verifierHash?: Buffer;
  /** History: a new epoch when the room is made (or the server starts); messages are numbered 1, 2, … within it. */
  epoch = randomBytes(6).toString('base64url');
  createdAt = Date.now();
  seq = 0;
  /** What the owner chose for new members (absent: the default). */
  chosenNewMembers?: number;
  /** The room's last purge (server time), also of an earlier room of the same name. */
  purgedAt?: number;
  constructor(
    readonly name: string,
    public persistent: boolean,
    readonly ring: Ring,
    /** The most a ring keeps: what new members may see at most. */
    private readonly perRoom: number,
  ) {}

  /** How many of the ring's newest messages a new member gets; 0: the room keeps none. */
  get newMembers(): number {
    return Math.min(this.chosenNewMembers ?? LIMITS.historyNewMembersDefault, this.perRoom);
  }

  roleOf(key: string): Role {
    return this.owners.has(key) ? 'owner' : this.moderators.has(key) ? 'moderator' : 'member';
  }

  info(member: RoomMember): Member {
    const info: Member = { id: member.id, name: member.name, key: member.key, role: this.roleOf(member.key) };
    if (member.admin) info.admin = true;
    return info;
  }
}
