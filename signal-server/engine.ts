// The seam between this node and everything shared with other nodes. The memory engine
// is the default: one process, nothing shared, no Redis module loaded. The Redis engine
// (cluster/redis-engine.ts, loaded only with --redis) shares rooms, presence, messages
// and the peer directory between nodes.
import type { CloseCode } from './protocol/protocol.ts';
import type { Peer } from './peer.ts';
import type { RoomChange } from './room-change.ts';
import type { ReplicaHost } from './cluster/replica.ts';

/** What a node offers its engine: its rooms, its people, and the lookups people of other nodes join. */
export interface EngineHost extends ReplicaHost {
  /** The people connected to this node (welcomed). */
  localPeers(): Iterable<Peer>;
  /** A frame for someone on this node, sent by another node; `from` is the sender's peer id for signal and relay. */
  deliverLocal(to: string, frame: string, from?: string): void;
  closeLocal(to: string, code: CloseCode, reason: string): void;
}

/** What `say` answers: the message's number, or those of an earlier message with the same client id. */
export interface Sent {
  id: string;
  ts: number;
  seq: number;
}

export interface Engine {
  readonly kind: 'memory' | 'redis';
  /** 'degraded': shared state is out of reach, this node serves its own people only. */
  readonly health: 'ok' | 'degraded';
  start(host: EngineHost): Promise<void>;
  stop(): Promise<void>;
  /** A change to the rooms made on this node. */
  changed(change: RoomChange): void;
  /** A session began or ended on this node. */
  admitted(peer: Peer): void;
  dropped(peer: Peer): void;
  /** People from this address on other nodes. */
  remoteConnections(ip: string): number;
  remotePeers(): Iterable<Peer>;
  /**
   * Numbers and fans out a room message through the shared engine; undefined when this
   * node must do it alone (memory engine, or the shared one is out of reach).
   */
  say(room: string, head: string, from: Peer, cid: string, ringMessages: number, sent: { id: string; ts: number }): Promise<Sent> | undefined;
  /** A signal or relay frame for someone on another node; false when it cannot go now. */
  forward(from: Peer, to: Peer, frame: string): boolean;
}

export const memoryEngine: Engine = {
  kind: 'memory',
  health: 'ok',
  start: async () => {},
  stop: async () => {},
  changed: () => {},
  admitted: () => {},
  dropped: () => {},
  remoteConnections: () => 0,
  remotePeers: () => [],
  say: () => undefined,
  forward: () => false,
};
