// What the nodes of a cluster tell each other about rooms: a room's description, and each
// change made on one node for the others to apply (rooms.ts makes and applies them).
import type { PersistentRoomSpec, Removal } from './room.ts';

/**
 * What every node of a cluster must agree on about a room, shared when it is made and
 * whenever it changes. Two nodes that made the same room at once keep the older one
 * (then the smaller epoch): everyone ends up with the same owner, passphrase and epoch.
 */
export interface RoomDesc {
  epoch: string;
  createdAt: number;
  owners: string[];
  moderators: string[];
  topic?: string;
  /** A private room's verifier hash (hex). */
  verifier?: string;
  persistent?: boolean;
  newMembers?: number;
  purgedAt?: number;
}

/** Whether `a` is the room both nodes keep when two were made under one name. */
export function olderDesc(a: RoomDesc, b: RoomDesc): boolean {
  return a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.epoch < b.epoch);
}

/** A member as the other nodes know them. */
export interface MemberInfo {
  id: string;
  key: string;
  name: string;
  admin: boolean;
}

/**
 * A change made on this node that the other nodes of a cluster apply to their copy of
 * the rooms (members on other nodes included), each telling its own members.
 */
export type RoomChange =
  | { op: 'join'; member: MemberInfo; room: string; desc: RoomDesc; created?: true }
  | { op: 'desc'; room: string; desc: RoomDesc }
  | { op: 'leave'; id: string; room: string; farewell?: string; removal?: Removal }
  | { op: 'rename'; id: string; name: string }
  | { op: 'admin'; id: string; admin: boolean }
  | { op: 'role'; room: string; key: string; role: 'moderator' | 'member' }
  | { op: 'topic'; room: string; topic: string; by: string }
  | { op: 'purge'; room: string; by: string; at: number }
  | { op: 'history'; room: string; newMembers: number; by: string }
  | { op: 'verifier'; room: string; verifier: string; by: string }
  | { op: 'persist'; spec: PersistentRoomSpec }
  | { op: 'delete'; room: string };
