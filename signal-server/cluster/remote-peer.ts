// A person connected to another node of the cluster, as this node knows them: in the
// rooms (presence), for names, bans and moderation. Room frames for them are that node's
// to send; frames for them alone go through its channel.
import type { CloseCode, ServerFrame } from '../protocol/protocol.ts';
import type { Peer } from '../peer.ts';

/** A person's entry in the cluster's directory (`wisp:peers:<node>`). */
export interface PeerRecord {
  id: string;
  key: string;
  name: string;
  admin: boolean;
  ip: string;
  at: number;
  rooms: string[];
}

/** Frames and closes for someone on another node. */
export interface NodeLink {
  toPeer(node: string, id: string, frame: string): void;
  closePeer(node: string, id: string, code: CloseCode, reason: string): void;
}

export class RemotePeer implements Peer {
  readonly remote = true;
  readonly welcomed = true;
  name: string;
  admin: boolean;
  ip: string;
  connectedAt: number;

  constructor(
    readonly node: string,
    readonly id: string,
    readonly key: string,
    record: Partial<PeerRecord>,
    private readonly link: NodeLink,
  ) {
    this.name = record.name ?? '';
    this.admin = record.admin ?? false;
    this.ip = record.ip ?? '';
    this.connectedAt = record.at ?? 0;
  }

  /** Room frames: the person's own node sends them. */
  sendRaw(): void {}

  send(frame: ServerFrame): void {
    this.link.toPeer(this.node, this.id, JSON.stringify(frame));
  }

  close(code: CloseCode, reason: string): void {
    this.link.closePeer(this.node, this.id, code, reason);
  }
}
