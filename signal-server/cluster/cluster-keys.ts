// Every key and channel Wisp uses in Redis, in one place. Nothing here holds a message
// in plain text except a public room's ring (as relayed); a private room's is ciphertext.
import { createHash } from 'node:crypto';

export const KEYS = {
  /** ZSET node id -> time its entry expires (ms): the node registry. */
  nodes: 'wisp:nodes',
  /** HASH peer id -> PeerRecord JSON: who is connected to that node, and in which rooms. */
  peers: (node: string) => `wisp:peers:${node}`,
  /** HASH `desc` (RoomDesc JSON) and `seq` (the room's newest message number). */
  room: (room: string) => `wisp:room:${room}`,
  /** STREAM of the room's newest message frames (`s` seq, `f` frame): the recovery ring. */
  ring: (room: string) => `wisp:ring:${room}`,
  /** Channel: every node's room changes, presence and numbered messages, in one order. */
  events: 'wisp:events',
  /** Channel: frames for people on one node (signal, relay, notices, closes). */
  nodeChannel: (node: string) => `wisp:node:${node}`,
} as const;

/** STRING "id ts seq" of a message already sent with this client id, for a resend after reconnecting to another node. */
export function cidKey(identityKey: string, cid: string): string {
  const who = createHash('sha256').update(identityKey).digest('base64url').slice(0, 22);
  return `wisp:cid:${who}:${cid}`;
}
