// Someone connected to this node (a Connection) or, in a cluster, to another node (a
// RemotePeer): what routing and moderation need of either.
import type { CloseCode, ServerFrame } from './protocol/protocol.ts';
import type { RoomMember } from './room.ts';

export interface Peer extends RoomMember {
  readonly ip: string;
  readonly connectedAt: number;
  readonly welcomed: boolean;
  /** A frame for this person alone (a kick or ban notice, say), wherever its socket is. */
  send(frame: ServerFrame): void;
  close(code: CloseCode, reason: string): void;
}
