// All whisper links, one per remote identity key. Routes the server's `signal` and
// `relay` frames to the right link and decides who initiates (the smaller key).
//
// Both sides derive the roles from the same two keys, so a frame that only the other role
// sends cannot arrive honestly: an `open` (only responders send it) at a responder, an
// offer at the initiator, an answer at a responder (it never offered). Such a frame means
// the server showed the two sides different keys; the link that is not yet up closes with
// a role conflict (nothing was sent on it), and one already up stays: its handshake proved
// who is on the other end.
import type { ClientFrame } from '../../signal-server/protocol/protocol.ts';
import type { Identity } from '../crypto/identity.ts';
import type { Bytes } from '../crypto/bytes.ts';
import { PeerLink, interferenceFailure, type LinkFailure, type LinkPath, type SignalPayload } from './peer-link.ts';
import { debug } from './debug.ts';
import { fromBase64Url } from '../crypto/bytes.ts';
import { FrameKind } from '../crypto/secure-channel.ts';

export interface MeshPeer {
  id: string;
  key: string;
  name: string;
}

export interface PeerMeshOptions {
  identity: Identity;
  send(frame: ClientFrame): boolean;
  iceServers(): RTCIceServer[];
  relayOnly(): boolean;
  /** The person the server says is behind a peer id, if they share a room with us. */
  peerById(id: string): MeshPeer | undefined;
  peerByKey(key: string): MeshPeer | undefined;
  /** The rooms we share with this identity (by the server's presence). */
  sharedRooms(key: string): string[];
  fallbackMs?: number;
  /** How long a link may take, after the fallback time, to complete its handshake. */
  handshakeTimeoutMs?: number;
  onReady(key: string, path: LinkPath): void;
  onMessage(key: string, plaintext: Bytes): void;
  onClosed(key: string, failure: LinkFailure): void;
}

export const DEFAULT_FALLBACK_MS = 4000;
const HANDSHAKE_TIMEOUT_MS = 15_000;

function parsePayload(data: string): SignalPayload | undefined {
  try {
    const value = JSON.parse(data) as SignalPayload;
    if (value && (value.k === 'open' || (value.k === 'sp' && typeof value.d === 'object' && value.d !== null))) return value;
  } catch {
    // ignored: not ours
  }
  return undefined;
}

/** True when a relayed frame (base64url) is a handshake frame, the only kind that may open a link. */
function startsHandshake(data: string): boolean {
  try {
    return fromBase64Url(data.slice(0, 4))[0] === FrameKind.handshake;
  } catch {
    return false;
  }
}

export class PeerMesh {
  private readonly links = new Map<string, PeerLink>();

  constructor(private readonly options: PeerMeshOptions) {}

  get(key: string): PeerLink | undefined {
    return this.links.get(key);
  }

  /** Gets or opens the link to an identity; undefined when we share no room with them. */
  connect(key: string): PeerLink | undefined {
    const existing = this.links.get(key);
    if (existing && !existing.isClosed) return existing;
    const peer = this.options.peerByKey(key);
    if (!peer || !this.sharedRoom(key)) return undefined;
    const link = this.create(peer, this.isInitiator(key));
    // Only the initiator makes the offer; ask it to start.
    if (!this.isInitiator(key)) this.sendSignal(peer.key, { k: 'open' });
    return link;
  }

  send(key: string, plaintext: Uint8Array): boolean {
    const link = this.connect(key);
    if (!link) return false;
    link.send(plaintext);
    return true;
  }

  onSignal(fromId: string, data: string): void {
    const peer = this.options.peerById(fromId);
    const payload = parsePayload(data);
    if (!peer || !payload || !this.sharedRoom(peer.key)) return;
    const existing = this.links.get(peer.key);
    const initiator = this.isInitiator(peer.key);
    const type = payload.k === 'sp' ? payload.d.type : undefined;
    if ((payload.k === 'open' && !initiator) || (type === 'offer' && initiator) || (type === 'answer' && !initiator)) {
      return this.roleConflict(peer, payload.k === 'open' ? 'open' : String(type));
    }
    if (payload.k === 'open') {
      // The other side (re)started its link: start a fresh one as initiator.
      if (existing && !existing.ready && !existing.isClosed) return;
      existing?.close({ code: 'closed', sentence: 'Reconnecting.' });
      this.create(peer, true);
      return;
    }
    let link = existing && !existing.isClosed ? existing : undefined;
    if (payload.d.type === 'offer' && link?.ready) {
      // A new offer for a link we consider up: the initiator started over.
      link.close({ code: 'closed', sentence: 'Reconnecting.' });
      link = undefined;
    }
    link ??= initiator ? undefined : this.create(peer, false);
    link?.signal(payload.d);
  }

  onRelay(fromId: string, data: string): void {
    const peer = this.options.peerById(fromId);
    if (!peer || !this.sharedRoom(peer.key)) return;
    let link = this.links.get(peer.key);
    if (!link || link.isClosed) {
      // Only a handshake hello starts a link; a late abort or a stray frame for a closed link does not.
      // At the initiator it is a responder that heard nothing (its `open` was lost): the link starts on the relay.
      if (!startsHandshake(data)) return;
      link = this.create(peer, this.isInitiator(peer.key));
    }
    link.relay(data);
  }

  close(key: string, failure?: LinkFailure): void {
    this.links.get(key)?.close(failure);
    this.links.delete(key);
  }

  keys(): string[] {
    return [...this.links.keys()];
  }

  closeAll(): void {
    for (const key of [...this.links.keys()]) this.close(key);
  }

  /** A frame only the other role sends: the server showed us different keys. */
  private roleConflict(peer: MeshPeer, what: string): void {
    const key = peer.key;
    debug('role conflict:', what, 'from', key.slice(-8));
    const link = this.links.get(key);
    if (link?.ready) return;
    const failure = interferenceFailure('role-conflict', this.options.peerByKey(key)?.name ?? peer.name);
    if (link && !link.isClosed) link.close(failure);
    else this.options.onClosed(key, failure);
  }

  private isInitiator(peerKey: string): boolean {
    return this.options.identity.spki < peerKey;
  }

  private sendSignal(key: string, payload: SignalPayload): void {
    // The peer id can change when either side reconnects; look it up at send time.
    const peer = this.options.peerByKey(key);
    if (peer) this.options.send({ type: 'signal', to: peer.id, data: JSON.stringify(payload) });
  }

  private create(peer: MeshPeer, initiator: boolean): PeerLink {
    const key = peer.key;
    const link: PeerLink = new PeerLink({
      identity: this.options.identity,
      peerKey: key,
      peerName: () => this.options.peerByKey(key)?.name ?? peer.name,
      initiator,
      iceServers: this.options.iceServers(),
      relayOnly: this.options.relayOnly(),
      room: initiator ? this.sharedRoom(key) : undefined,
      acceptRoom: (room) => this.options.sharedRooms(key).includes(room),
      fallbackMs: this.options.fallbackMs ?? DEFAULT_FALLBACK_MS,
      handshakeTimeoutMs: this.options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      sendSignal: (payload) => this.sendSignal(key, payload),
      sendRelay: (data) => {
        const current = this.options.peerByKey(key);
        if (current) this.options.send({ type: 'relay', to: current.id, data });
      },
      onReady: (path) => this.options.onReady(key, path),
      onMessage: (plaintext) => this.options.onMessage(key, plaintext),
      onClosed: (failure) => {
        if (this.links.get(key) === link) this.links.delete(key);
        // No handshake completed while the server listed them with us: it withheld something.
        const unanswered = failure.code === 'timeout' && this.sharedRoom(key) !== undefined;
        this.options.onClosed(key, unanswered ? interferenceFailure('unanswered', this.options.peerByKey(key)?.name ?? peer.name) : failure);
      },
    });
    this.links.set(key, link);
    void link.start();
    return link;
  }

  private sharedRoom(key: string): string | undefined {
    return this.options.sharedRooms(key)[0];
  }
}
