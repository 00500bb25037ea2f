// One link to one remote person: a WebRTC data channel (simple-peer, loaded lazily)
// or, when none opens in time, the server relay; over either, the secure channel.
// Nothing but handshake frames leaves before the handshake has succeeded.
import type { Instance as SimplePeerInstance, SignalData } from 'simple-peer/simplepeer.min.js';
import type { Identity } from '../crypto/identity.ts';
import { fromBase64Url, toBase64Url, type Bytes } from '../crypto/bytes.ts';
import { debug } from './debug.ts';
import { LIMITS } from '../../signal-server/protocol/protocol.ts';
import { TokenBucket } from '../../signal-server/protocol/token-bucket.ts';
import { Handshake, HandshakeError, ChannelError, encodeHandshake, isHandshakeFrame, type SecureChannel } from '../crypto/secure-channel.ts';

export type LinkPath = 'direct' | 'turn' | 'relay';

export type LinkFailureCode =
  | 'key-mismatch'
  | 'tampered'
  | 'handshake-failed'
  | 'room-refused'
  | 'timeout'
  | 'connection-lost'
  | 'channel-broken'
  | 'closed';

export interface LinkFailure {
  code: LinkFailureCode;
  sentence: string;
}

/** Signalling payloads, opaque to the server. */
export type SignalPayload = { k: 'sp'; d: SignalData } | { k: 'open' };

export interface PeerLinkOptions {
  identity: Identity;
  peerKey: string;
  peerName: () => string;
  initiator: boolean;
  iceServers: RTCIceServer[];
  /** Relay-only ICE: never reveal local addresses; TURN or the server relay only. */
  relayOnly: boolean;
  /** Initiator: the room both share, bound into the handshake. */
  room?: string;
  acceptRoom: (room: string) => boolean;
  /** How long the initiator waits for a data channel before using the server relay. */
  fallbackMs: number;
  handshakeTimeoutMs: number;
  sendSignal(payload: SignalPayload): void;
  sendRelay(data: string): void;
  onReady(path: LinkPath): void;
  onMessage(plaintext: Bytes): void;
  onClosed(failure: LinkFailure): void;
}

type Transport = 'dc' | 'relay';

/** Backpressure: stop writing above HIGH buffered bytes, resume below LOW (never stop-and-wait). */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
const LOW_WATER_BYTES = 1024 * 1024;
/** Kind byte, counter and GCM tag around every sealed frame, plus the file chunk header. */
const FRAME_OVERHEAD_BYTES = 1 + 8 + 16 + 5;
const DEFAULT_MESSAGE_BYTES = 16 * 1024;
/** Chromium and Safari announce 256 KiB; Firefox more. Bigger messages mean less work per byte. */
const MAX_MESSAGE_BYTES = 256 * 1024;

/** The largest message to send: 16 KiB unless the other side announced more, never above what it announced. */
export function messageBytesFor(remoteMaxMessageSize: number | undefined): number {
  if (remoteMaxMessageSize === undefined) return DEFAULT_MESSAGE_BYTES;
  return remoteMaxMessageSize === 0 ? MAX_MESSAGE_BYTES : Math.min(remoteMaxMessageSize, MAX_MESSAGE_BYTES);
}

/** The remote SDP's a=max-message-size (0 means no limit), if it says one. */
export function sdpMaxMessageSize(sdp: string): number | undefined {
  const match = /^a=max-message-size:(\d+)\s*$/m.exec(sdp);
  return match ? Number(match[1]) : undefined;
}

let simplePeerModule: Promise<typeof import('simple-peer/simplepeer.min.js')> | undefined;
function loadSimplePeer() {
  simplePeerModule ??= import('simple-peer/simplepeer.min.js');
  return simplePeerModule;
}

/** The DTLS fingerprints an SDP announces, normalised, for the transcript. */
export function sdpFingerprints(sdp: string): string {
  const found = new Set<string>();
  for (const match of sdp.matchAll(/^a=fingerprint:(\S+) (\S+)\s*$/gm)) found.add(`${match[1].toLowerCase()} ${match[2].toUpperCase()}`);
  return [...found].sort().join(',');
}

function failureFor(error: unknown, name: string): LinkFailure {
  if (error instanceof HandshakeError) {
    switch (error.code) {
      case 'key-mismatch':
        return { code: 'key-mismatch', sentence: `The server announced a different key for ${name} than ${name}'s app holds. Someone may be interfering; nothing was sent.` };
      case 'bad-signature':
        return { code: 'tampered', sentence: `The secure channel with ${name} could not be verified: the connection may have been tampered with. Nothing was sent.` };
      case 'room-refused':
        return { code: 'room-refused', sentence: `${name} no longer shares a room with you.` };
      default:
        return { code: 'handshake-failed', sentence: `The secure channel with ${name} could not be set up. Nothing was sent.` };
    }
  }
  if (error instanceof ChannelError) return { code: 'channel-broken', sentence: `A message from ${name} failed its integrity check; the link was closed.` };
  return { code: 'handshake-failed', sentence: `The secure channel with ${name} could not be set up. Nothing was sent.` };
}

export class PeerLink {
  path?: LinkPath;
  private peer?: SimplePeerInstance;
  private transport?: Transport;
  private handshake?: Handshake;
  private channel?: SecureChannel;
  private localFingerprint = '';
  private remoteFingerprint = '';
  private incoming: Promise<void> = Promise.resolve();
  private pendingSignals: SignalData[] = [];
  private outbox: { plaintext: Uint8Array | readonly Uint8Array[]; resolve: () => void; reject: (error: Error) => void }[] = [];
  /** Sealed frames are written strictly in order, each after there is room for it. */
  private writeChain: Promise<void> = Promise.resolve();
  private remoteMaxMessageSize?: number;
  private readonly relayPacer = new TokenBucket(LIMITS.relayFramesPerMinute, LIMITS.relayFramesBurst);
  /** Frames written before the data channel reported "connect". */
  private unsent: Uint8Array[] = [];
  private timers: ReturnType<typeof setTimeout>[] = [];
  private closed = false;
  private confirmSent = false;
  readonly startedAt = performance.now();

  constructor(private readonly options: PeerLinkOptions) {}

  get ready(): boolean {
    return Boolean(this.channel) && !this.closed;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The data channel, for backpressure, once the link runs over one. */
  get dataChannel(): RTCDataChannel | undefined {
    return this.transport === 'dc' ? this.peer?._channel : undefined;
  }

  async start(): Promise<void> {
    const { default: SimplePeer } = await loadSimplePeer();
    if (this.closed) return;
    const peer = new SimplePeer({
      initiator: this.options.initiator,
      trickle: true,
      config: { iceServers: this.options.iceServers, iceTransportPolicy: this.options.relayOnly ? 'relay' : 'all' },
      channelConfig: { ordered: true },
    });
    this.peer = peer;
    peer.on('signal', (data) => {
      if (data.sdp && (data.type === 'offer' || data.type === 'answer')) this.localFingerprint = sdpFingerprints(data.sdp);
      this.options.sendSignal({ k: 'sp', d: data });
    });
    debug('link start', this.options.initiator ? 'initiator' : 'responder', this.options.peerKey.slice(-8));
    peer.on('connect', () => {
      debug('dc connect', this.options.peerKey.slice(-8));
      // The other side's first frame can arrive before simple-peer reports "connect" here.
      for (const frame of this.unsent.splice(0)) peer.send(frame);
      if (this.options.initiator && !this.transport) void this.begin('dc');
    });
    // Messages come straight from the data channel: simple-peer would wrap each one in a
    // Buffer and push it through a Node-style stream shim, which a file pays per chunk.
    peer._onChannelMessage = (event) => {
      if (!peer.destroyed && event.data instanceof ArrayBuffer) this.receive('dc', new Uint8Array(event.data));
    };
    const lost = (error?: Error) => {
      debug('dc lost', this.transport, error?.message, this.options.peerKey.slice(-8));
      if (this.transport === 'dc') this.fail({ code: 'connection-lost', sentence: `The direct link to ${this.options.peerName()} was lost.` });
      // A direct link that failed before the handshake falls back to the relay at once.
      else if (!this.transport && this.options.initiator) void this.begin('relay');
    };
    peer.on('close', lost);
    peer.on('error', lost);
    for (const data of this.pendingSignals.splice(0)) peer.signal(data);
    if (this.options.initiator) {
      this.timers.push(setTimeout(() => !this.transport && void this.begin('relay'), this.options.fallbackMs));
    }
    this.timers.push(
      setTimeout(() => {
        if (!this.channel) this.fail({ code: 'timeout', sentence: `${this.options.peerName()} did not answer in time. Try again in a moment.` });
      }, this.options.fallbackMs + this.options.handshakeTimeoutMs),
    );
  }

  /** A signalling payload from the other side (through the server). */
  signal(data: SignalData): void {
    debug('signal in', data.type ?? 'candidate', this.closed ? '(closed)' : '', this.options.peerKey.slice(-8));
    if (this.closed) return;
    if (data.sdp && (data.type === 'offer' || data.type === 'answer')) {
      this.remoteFingerprint = sdpFingerprints(data.sdp);
      this.remoteMaxMessageSize = sdpMaxMessageSize(data.sdp);
    }
    if (!this.peer) this.pendingSignals.push(data);
    else if (!this.peer.destroyed) this.peer.signal(data);
  }

  /** A relayed secure-channel frame from the other side. */
  relay(data: string): void {
    let bytes: Bytes;
    try {
      bytes = fromBase64Url(data);
    } catch {
      return;
    }
    this.receive('relay', bytes);
  }

  /** The largest plaintext one sealed frame may carry on this path. */
  get maxPlaintextBytes(): number {
    if (this.transport === 'relay') return Math.floor((LIMITS.relayMaxLength * 3) / 4) - FRAME_OVERHEAD_BYTES;
    return messageBytesFor(this.remoteMaxMessageSize) - FRAME_OVERHEAD_BYTES;
  }

  /**
   * Encrypts and sends (queued until the channel is ready). Resolves once the frame is
   * written; a caller that awaits it gets backpressure, one that does not just sends.
   */
  send(plaintext: Uint8Array | readonly Uint8Array[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('link closed'));
    const channel = this.channel;
    if (!channel) return new Promise((resolve, reject) => this.outbox.push({ plaintext, resolve, reject }));
    const sealed = channel.seal(plaintext);
    const written = this.writeChain.then(async () => {
      const frame = await sealed;
      await this.roomToWrite();
      if (this.closed) throw new Error('link closed');
      if (this.write(frame)) channel.recycle(frame);
    });
    this.writeChain = written.catch(() => undefined);
    return written;
  }

  /** Waits while the data channel holds too much, or while the relay pace is used up. */
  private async roomToWrite(): Promise<void> {
    if (this.transport === 'relay') {
      for (let wait = this.relayPacer.take(); wait > 0; wait = this.relayPacer.take()) await new Promise((r) => setTimeout(r, wait));
      return;
    }
    const channel = this.peer?._channel;
    if (!channel || channel.readyState !== 'open' || channel.bufferedAmount <= HIGH_WATER_BYTES) return;
    channel.bufferedAmountLowThreshold = LOW_WATER_BYTES;
    await new Promise<void>((resolve) => {
      const done = () => {
        channel.removeEventListener('bufferedamountlow', done);
        channel.removeEventListener('close', done);
        resolve();
      };
      channel.addEventListener('bufferedamountlow', done);
      channel.addEventListener('close', done);
    });
  }

  close(failure: LinkFailure = { code: 'closed', sentence: 'The link was closed.' }): void {
    if (this.closed) return;
    debug('link close', failure.code, this.options.peerKey.slice(-8));
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.peer?.destroy();
    for (const queued of this.outbox.splice(0)) queued.reject(new Error('link closed'));
    this.options.onClosed(failure);
  }

  private fail(failure: LinkFailure): void {
    this.close(failure);
  }

  /** Fixes the transport and sends our hello on it. */
  private async begin(transport: Transport): Promise<void> {
    if (this.transport || this.closed) return;
    this.transport = transport;
    debug('handshake begins over', transport, this.options.peerKey.slice(-8));
    const started = Handshake.start({
      identity: this.options.identity,
      role: this.options.initiator ? 'initiator' : 'responder',
      // Fingerprints are bound on the data channel only: the relay fallback may begin before
      // the answer (and its fingerprint) arrived, and nothing on the relay depends on DTLS.
      transport: transport === 'dc' ? 'datachannel' : 'relay',
      localFingerprint: this.localFingerprint,
      remoteFingerprint: this.remoteFingerprint,
      expectedPeerKey: this.options.peerKey,
      room: this.options.room,
      acceptRoom: this.options.acceptRoom,
    });
    // Incoming frames wait until our hello is out, so hs1 always precedes hs2.
    this.incoming = this.incoming.then(async () => {
      const { handshake, hello } = await started;
      this.handshake = handshake;
      this.write(hello);
    });
    await this.incoming;
  }

  private receive(transport: Transport, bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    // The initiator picks the transport; the responder follows the first handshake frame it gets.
    if (!this.transport && !this.options.initiator && isHandshakeFrame(bytes)) void this.begin(transport);
    if (transport !== this.transport) return;
    if (this.channel && !isHandshakeFrame(bytes)) {
      // Decryption starts now (the counter is checked at once); delivery stays in order.
      const opened = this.channel.open(bytes);
      opened.catch(() => undefined);
      this.incoming = this.incoming.then(async () => this.options.onMessage(await opened)).catch((error: unknown) => this.fail(failureFor(error, this.options.peerName())));
      return;
    }
    this.incoming = this.incoming.then(() => this.process(bytes)).catch((error: unknown) => {
      if (!this.channel) this.write(encodeHandshake({ t: 'abort', code: error instanceof HandshakeError ? error.code : 'bad-message' }));
      this.fail(failureFor(error, this.options.peerName()));
    });
  }

  private async process(bytes: Uint8Array): Promise<void> {
    if (this.closed) return;
    if (this.channel) {
      this.options.onMessage(await this.channel.open(bytes));
      return;
    }
    if (!this.handshake) throw new HandshakeError('bad-message', 'A frame arrived before the handshake.');
    if (!this.confirmSent) {
      this.confirmSent = true;
      this.write(await this.handshake.receiveHello(bytes));
      return;
    }
    this.channel = await this.handshake.receiveConfirm(bytes);
    this.path = this.transport === 'relay' ? 'relay' : await this.dataChannelPath();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
    if (this.transport === 'relay') this.peer?.destroy();
    this.options.onReady(this.path);
    for (const queued of this.outbox.splice(0)) this.send(queued.plaintext).then(queued.resolve, queued.reject);
  }

  /** Writes a frame; true when the transport has copied it (or dropped it), so its buffer may be reused. */
  private write(frame: Uint8Array): boolean {
    if (this.closed && frame[0] !== 2) return true;
    if (this.transport === 'relay') this.options.sendRelay(toBase64Url(frame));
    else if (!this.peer || this.peer.destroyed) return true;
    // RTCDataChannel.send() copies the bytes before it returns.
    else if (this.peer.connected) this.peer.send(frame);
    else {
      this.unsent.push(frame);
      return false;
    }
    return true;
  }

  /** Direct or via TURN, from the selected ICE candidate pair. */
  private async dataChannelPath(): Promise<LinkPath> {
    try {
      const stats = await this.peer!._pc.getStats();
      let pairId: string | undefined;
      stats.forEach((report) => {
        if (report.type === 'transport' && report.selectedCandidatePairId) pairId = report.selectedCandidatePairId;
      });
      const pair = pairId ? stats.get(pairId) : [...stats.values()].find((r) => r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded');
      const local = pair ? stats.get(pair.localCandidateId) : undefined;
      const remote = pair ? stats.get(pair.remoteCandidateId) : undefined;
      return local?.candidateType === 'relay' || remote?.candidateType === 'relay' ? 'turn' : 'direct';
    } catch {
      return 'direct';
    }
  }
}
