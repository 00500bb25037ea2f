// This node's copy of the people connected to the other nodes: added, renamed and removed
// from those nodes' announcements and directories, their room changes applied to the
// local Rooms. So every check here (shared room, name taken, rank, per-address cap) stays
// synchronous and local; only delivery crosses nodes.
import type { Rooms } from '../rooms.ts';
import type { RoomMember } from '../room.ts';
import type { RoomChange, RoomDesc } from '../room-change.ts';
import { RemotePeer, type NodeLink, type PeerRecord } from './remote-peer.ts';

export interface ReplicaHost {
  readonly rooms: Rooms;
  /** Someone on another node: into the lookups by id and key, and the name index. */
  addRemote(peer: RemotePeer): void;
  removeRemote(peer: RemotePeer): void;
  /** A person on another node changed name: the name index follows. */
  renamedRemote(peer: RemotePeer, from: string): void;
  /** A person on this node, by peer id. */
  local(id: string): RoomMember | undefined;
}

export class Replica {
  private readonly peers = new Map<string, RemotePeer>();
  private readonly byNode = new Map<string, Set<string>>();
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly host: ReplicaHost,
    private readonly link: NodeLink,
  ) {}

  get(id: string): RemotePeer | undefined {
    return this.peers.get(id);
  }

  all(): IterableIterator<RemotePeer> {
    return this.peers.values();
  }

  get size(): number {
    return this.peers.size;
  }

  /** People connected from this address on the other nodes. */
  ipCount(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }

  /** The nodes this node knows people of. */
  nodes(): string[] {
    return [...this.byNode.keys()];
  }

  /** A person announced by their node (just admitted, or found in its directory). */
  add(node: string, record: Partial<PeerRecord> & { id: string; key: string }): RemotePeer {
    const known = this.peers.get(record.id);
    if (known) return known;
    const peer = new RemotePeer(node, record.id, record.key, record, this.link);
    this.peers.set(peer.id, peer);
    let ids = this.byNode.get(node);
    if (!ids) this.byNode.set(node, (ids = new Set()));
    ids.add(peer.id);
    if (peer.ip) this.perIp.set(peer.ip, this.ipCount(peer.ip) + 1);
    this.host.addRemote(peer);
    return peer;
  }

  /** A person of another node is gone: they leave every room (presence for this node's people). */
  remove(id: string): void {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.host.rooms.leaveAll(peer);
    this.peers.delete(id);
    const ids = this.byNode.get(peer.node);
    ids?.delete(id);
    if (ids?.size === 0) this.byNode.delete(peer.node);
    if (peer.ip) {
      const count = this.ipCount(peer.ip) - 1;
      if (count > 0) this.perIp.set(peer.ip, count);
      else this.perIp.delete(peer.ip);
    }
    this.host.removeRemote(peer);
  }

  /** A node is gone (stopped, or missed its heartbeats): everyone on it leaves. */
  dropNode(node: string): number {
    const ids = [...(this.byNode.get(node) ?? [])];
    for (const id of ids) this.remove(id);
    return ids.length;
  }

  /** A room change another node made. */
  apply(node: string, change: RoomChange): void {
    if (change.op === 'join') this.add(node, change.member);
    const renamed = change.op === 'rename' ? this.peers.get(change.id) : undefined;
    const from = renamed?.name;
    this.host.rooms.apply(change, (id) => this.peers.get(id) ?? this.host.local(id));
    if (renamed && from !== undefined && from !== renamed.name) this.host.renamedRemote(renamed, from);
  }

  /**
   * A node's whole directory (after a restart of Redis, of that node, or of this one):
   * people, names, admin flags and rooms brought in line with it. `descs`: the rooms
   * this node did not know yet.
   */
  syncNode(node: string, records: readonly PeerRecord[], descs: ReadonlyMap<string, RoomDesc>): void {
    const seen = new Set<string>();
    for (const record of records) {
      seen.add(record.id);
      const peer = this.add(node, record);
      if (peer.name !== record.name) this.apply(node, { op: 'rename', id: peer.id, name: record.name });
      if (peer.admin !== record.admin) this.apply(node, { op: 'admin', id: peer.id, admin: record.admin });
      const now = this.host.rooms.roomsOf(peer);
      for (const room of [...now]) if (!record.rooms.includes(room)) this.apply(node, { op: 'leave', id: peer.id, room });
      for (const room of record.rooms) {
        if (now.has(room)) continue;
        const desc = this.host.rooms.descOf(room) ?? descs.get(room);
        if (desc) this.apply(node, { op: 'join', member: record, room, desc });
      }
    }
    for (const id of [...(this.byNode.get(node) ?? [])]) if (!seen.has(id)) this.remove(id);
  }
}
