// One link to one remote person: a WebRTC data channel (direct-channel.ts) or, when none
// opens in time, the server relay; over either, the secure channel.
//
// The link is a state machine; each state holds what exists in it:
//
//   signalling ─begin()─▶ starting ─our hello made─▶ hello-sent ─their hello─▶ confirm-sent ─their confirm─▶ open
//   (no transport yet)    (transport fixed)          {handshake}               {handshake}                   {channel, path}
//   any state ─close()─▶ closed {failure}
// (confirm-sent -> open waits for the path: a data channel's selected ICE pair says direct or TURN.)
//
// Order guarantees:
// - Incoming frames are handled one after another in arrival order (the `incoming` chain);
//   our hello is made in that chain before any of their frames is looked at.
// - Nothing but handshake frames leaves before the handshake has succeeded: sealed frames
//   exist only in the open state; what is sent earlier waits in the outbox.
// - The initiator picks the transport (the data channel on "connect", else the relay when
//   the channel fails or the fallback timer fires); the responder follows the first
//   handshake frame it gets, and frames on the other transport are ignored.
// - Signalling that never arrives (a server dropping every `signal` frame) must not leave
//   the responder stranded: after twice the fallback time without a handshake it starts on
//   the relay itself, and an initiator still signalling follows a hello on the relay. A
//   responder that started on its own follows the initiator's hello on the data channel.
import type { SignalData } from 'simple-peer/simplepeer.min.js';
import type { Identity } from '../crypto/identity.ts';
import { fromBase64Url, toBase64Url, type Bytes } from '../crypto/bytes.ts';
import { debug } from './debug.ts';
import { DirectChannel } from './direct-channel.ts';
import { LIMITS } from '../../signal-server/protocol/protocol.ts';
import { TokenBucket } from '../../signal-server/protocol/token-bucket.ts';
import { FrameKind, Handshake, HandshakeError, ChannelError, encodeHandshake, isHandshakeFrame, type SecureChannel } from '../crypto/secure-channel.ts';
import { CHUNK } from './peer-frames.ts';

export type LinkPath = 'direct' | 'turn' | 'relay';

export type LinkFailureCode =
  | 'key-mismatch'
  | 'tampered'
  | 'handshake-failed'
  | 'room-refused'
  | 'timeout'
  | 'connection-lost'
  | 'channel-broken'
  | 'closed'
  /** The other side claims our role (an offer to the initiator, a hello without a room to the responder…): the server showed us different keys. */
  | 'role-conflict'
  /** No handshake completed while the server said the person was there: signalling or the relay was withheld. */
  | 'unanswered'
  /** The person left every room we share (or the server says so): not an error, they are away. */
  | 'away'
  /** The server refused a frame to them (their connection is slow): the channel cannot skip one. */
  | 'receiver-busy';

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
type Timer = ReturnType<typeof setTimeout>;

type LinkState =
  /** No transport yet: the data channel is being negotiated; the fallback to the relay is armed (the responder's later). */
  | { name: 'signalling'; fallback?: Timer }
  /** The transport is fixed; our hello is being made. */
  | { name: 'starting'; transport: Transport }
  /** Our hello is out; theirs comes next. */
  | { name: 'hello-sent'; transport: Transport; handshake: Handshake }
  /** Our signature over the transcript is out; theirs comes next. */
  | { name: 'confirm-sent'; transport: Transport; handshake: Handshake }
  | { name: 'open'; transport: Transport; channel: SecureChannel; path: LinkPath }
  | { name: 'closed'; failure: LinkFailure };

function transportOf(state: LinkState): Transport | undefined {
  return 'transport' in state ? state.transport : undefined;
}

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

/** The responder waits this many fallback times before starting on the relay itself: the initiator's choice comes first. */
const RESPONDER_FALLBACK_FACTOR = 2;

/** A role conflict, or a link that never came up while the person was there: what someone interfering looks like. */
export function interferenceFailure(code: 'role-conflict' | 'unanswered', name: string): LinkFailure {
  return { code, sentence: `The connection to ${name} could not be verified: the server may be interfering.` };
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
      case 'role-conflict':
        return interferenceFailure('role-conflict', name);
      default:
        return { code: 'handshake-failed', sentence: `The secure channel with ${name} could not be set up. Nothing was sent.` };
    }
  }
  if (error instanceof ChannelError) return { code: 'channel-broken', sentence: `A message from ${name} failed its integrity check; the link was closed.` };
  return { code: 'handshake-failed', sentence: `The secure channel with ${name} could not be set up. Nothing was sent.` };
}

export class PeerLink {
  private state: LinkState = { name: 'signalling' };
  private readonly direct: DirectChannel;
  /** From start() until the link is open or closed: fails a link that never opens. */
  private deadline?: Timer;
  /** The responder started on the relay on its own (nothing came from the initiator in time). */
  private fellBack = false;
  /** Incoming frames, handled strictly in order. */
  private incoming: Promise<void> = Promise.resolve();
  /** What send() got before the link was open. */
  private outbox: { plaintext: Uint8Array | readonly Uint8Array[]; resolve: () => void; reject: (error: Error) => void }[] = [];
  /** Sealed frames are written strictly in order, each after there is room for it. */
  private writeChain: Promise<void> = Promise.resolve();
  private readonly relayPacer = new TokenBucket(LIMITS.relayFramesPerMinute, LIMITS.relayFramesBurst);
  readonly startedAt = performance.now();

  constructor(private readonly options: PeerLinkOptions) {
    this.direct = new DirectChannel({
      initiator: options.initiator,
      iceServers: options.iceServers,
      relayOnly: options.relayOnly,
      label: options.peerKey.slice(-8),
      onSignal: (data) => options.sendSignal({ k: 'sp', d: data }),
      onConnect: () => {
        if (options.initiator) this.begin('dc');
      },
      onLost: (error) => this.directLost(error),
      onMessage: (bytes) => this.receive('dc', bytes),
    });
  }

  get ready(): boolean {
    return this.state.name === 'open';
  }

  get isClosed(): boolean {
    return this.state.name === 'closed';
  }

  get path(): LinkPath | undefined {
    return this.state.name === 'open' ? this.state.path : undefined;
  }

  /** The largest plaintext one sealed frame may carry on this path. */
  get maxPlaintextBytes(): number {
    if (transportOf(this.state) === 'relay') return Math.floor((LIMITS.relayMaxLength * 3) / 4) - FRAME_OVERHEAD_BYTES;
    return messageBytesFor(this.direct.remoteMaxMessageSize) - FRAME_OVERHEAD_BYTES;
  }

  async start(): Promise<void> {
    await this.direct.start();
    if (this.state.name === 'closed') return;
    if (this.state.name === 'signalling') {
      const { initiator, fallbackMs } = this.options;
      const fallback = initiator ? () => this.begin('relay') : () => this.responderFallback();
      this.state = { name: 'signalling', fallback: setTimeout(fallback, initiator ? fallbackMs : fallbackMs * RESPONDER_FALLBACK_FACTOR) };
    }
    if (this.state.name === 'open') return;
    this.deadline = setTimeout(() => {
      if (this.state.name !== 'open') this.close({ code: 'timeout', sentence: `${this.options.peerName()} did not answer in time. Try again in a moment.` });
    }, this.options.fallbackMs + this.options.handshakeTimeoutMs);
  }

  /** A signalling payload from the other side (through the server). */
  signal(data: SignalData): void {
    debug('signal in', data.type ?? 'candidate', this.isClosed ? '(closed)' : '', this.options.peerKey.slice(-8));
    if (!this.isClosed) this.direct.signal(data);
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

  /**
   * Encrypts and sends (queued until the link is open). Resolves once the frame is
   * written; a caller that awaits it gets backpressure, one that does not just sends.
   */
  send(plaintext: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const state = this.state;
    if (state.name === 'closed') return Promise.reject(new Error('link closed'));
    if (state.name !== 'open') return new Promise((resolve, reject) => this.outbox.push({ plaintext, resolve, reject }));
    const { channel, transport } = state;
    const sealed = channel.seal(plaintext);
    const written = this.writeChain.then(async () => {
      const frame = await sealed;
      await this.roomToWrite(transport);
      if (this.isClosed) throw new Error('link closed');
      if (this.write(transport, frame)) channel.recycle(frame);
    });
    this.writeChain = written.catch(() => undefined);
    return written;
  }

  /**
   * A file chunk (its parts sent as one): on a data channel, in a `dtls` frame, which DTLS
   * alone protects (secure-channel.ts says why that is enough); anywhere else, sealed.
   */
  sendChunk(parts: readonly Uint8Array[]): Promise<void> {
    const state = this.state;
    if (state.name !== 'open' || state.transport !== 'dc' || !state.channel.dtlsFrames) return this.send(parts);
    const { channel } = state;
    const written = this.writeChain.then(async () => {
      await this.direct.roomToWrite();
      if (this.isClosed) throw new Error('link closed');
      // Not copied yet (cannot happen once open, but then the frame must keep its bytes).
      if (!this.write('dc', channel.dtlsFrame(parts))) channel.releaseScratch();
    });
    this.writeChain = written.catch(() => undefined);
    return written;
  }

  close(failure: LinkFailure = { code: 'closed', sentence: 'The link was closed.' }): void {
    const state = this.state;
    if (state.name === 'closed') return;
    debug('link close', failure.code, this.options.peerKey.slice(-8));
    if (state.name === 'signalling') clearTimeout(state.fallback);
    clearTimeout(this.deadline);
    this.state = { name: 'closed', failure };
    this.direct.destroy();
    for (const queued of this.outbox.splice(0)) queued.reject(new Error('link closed'));
    this.options.onClosed(failure);
  }

  // ---- transitions ----

  /** Nothing came from the initiator in time: the responder starts on the relay (the initiator follows its hello). */
  private responderFallback(): void {
    if (this.state.name !== 'signalling') return;
    debug('responder falls back to the relay', this.options.peerKey.slice(-8));
    this.fellBack = true;
    this.begin('relay');
  }

  /**
   * signalling -> starting: fixes the transport; our hello is made (then hello-sent) before
   * any incoming frame is handled. `restart`: the responder that fell back to the relay
   * follows the initiator's hello on the data channel instead (starting or hello-sent).
   */
  private begin(transport: Transport, restart = false): void {
    const state = this.state;
    if (state.name !== 'signalling' && !restart) return;
    if (state.name === 'signalling') clearTimeout(state.fallback);
    const starting: LinkState = { name: 'starting', transport };
    this.state = starting;
    debug('handshake begins over', transport, this.options.peerKey.slice(-8));
    const started = Handshake.start({
      identity: this.options.identity,
      role: this.options.initiator ? 'initiator' : 'responder',
      // Fingerprints are bound on the data channel only: the relay fallback may begin before
      // the answer (and its fingerprint) arrived, and nothing on the relay depends on DTLS.
      transport: transport === 'dc' ? 'datachannel' : 'relay',
      localFingerprint: this.direct.localFingerprint,
      remoteFingerprint: this.direct.remoteFingerprint,
      expectedPeerKey: this.options.peerKey,
      room: this.options.room,
      acceptRoom: this.options.acceptRoom,
    });
    // Incoming frames wait until our hello is out, so hs1 always precedes hs2.
    this.incoming = this.incoming
      .then(async () => {
        const { handshake, hello } = await started;
        if (this.state !== starting) return;
        this.state = { name: 'hello-sent', transport, handshake };
        this.write(transport, hello);
      })
      .catch((error: unknown) => this.abort(transport, error));
  }

  /** One incoming frame, in order: a message once open, else the next handshake step. */
  private async step(transport: Transport, bytes: Uint8Array): Promise<void> {
    const state = this.state;
    if (state.name === 'closed') return;
    if (state.name === 'open') {
      this.options.onMessage(await state.channel.open(bytes));
      return;
    }
    let channel: SecureChannel;
    try {
      if (state.name !== 'hello-sent' && state.name !== 'confirm-sent') throw new HandshakeError('bad-message', 'A frame arrived before the handshake.');
      if (state.name === 'hello-sent') {
        // hello-sent -> confirm-sent
        const confirm = await state.handshake.receiveHello(bytes);
        if (this.state !== state) return;
        this.state = { name: 'confirm-sent', transport, handshake: state.handshake };
        this.write(transport, confirm);
        return;
      }
      channel = await state.handshake.receiveConfirm(bytes);
    } catch (error) {
      this.abort(transport, error);
      return;
    }
    await this.opened(state, channel);
  }

  /** confirm-sent -> open: the channel is verified; learn the path, then release the outbox. */
  private async opened(state: Extract<LinkState, { name: 'confirm-sent' }>, channel: SecureChannel): Promise<void> {
    clearTimeout(this.deadline);
    const { transport } = state;
    const path = transport === 'relay' ? 'relay' : await this.direct.path();
    if (this.state !== state) return;
    this.state = { name: 'open', transport, channel, path };
    if (transport === 'relay') this.direct.destroy();
    this.options.onReady(path);
    for (const queued of this.outbox.splice(0)) this.send(queued.plaintext).then(queued.resolve, queued.reject);
  }

  /** A failed handshake step: the other side is told why (even if we closed meanwhile), then the link closes. */
  private abort(transport: Transport, error: unknown): void {
    this.write(transport, encodeHandshake({ t: 'abort', code: error instanceof HandshakeError ? error.code : 'bad-message' }));
    this.close(failureFor(error, this.options.peerName()));
  }

  private directLost(error?: Error): void {
    debug('dc lost', transportOf(this.state), error?.message, this.options.peerKey.slice(-8));
    if (transportOf(this.state) === 'dc') this.close({ code: 'connection-lost', sentence: `The direct link to ${this.options.peerName()} was lost.` });
    // A direct link that failed before the handshake falls back to the relay at once.
    else if (this.options.initiator) this.begin('relay');
  }

  // ---- frames in and out ----

  private receive(transport: Transport, bytes: Uint8Array): void {
    if (this.isClosed || bytes.length === 0) return;
    if (isHandshakeFrame(bytes)) this.follow(transport, bytes[0] === FrameKind.handshake);
    const state = this.state;
    if (transport !== transportOf(state)) return;
    if (state.name === 'open' && bytes[0] === FrameKind.dtls) {
      // Only a data channel's DTLS protects these, and only file chunks come this way: on the
      // relay (or as anything else) it is a forgery, refused like a frame that fails to open.
      if (transport !== 'dc' || bytes[1] !== CHUNK) {
        this.close(failureFor(new ChannelError('bad-frame', 'An unsealed frame arrived where only sealed ones may.'), this.options.peerName()));
        return;
      }
      const chunk = bytes.subarray(1) as Bytes;
      this.incoming = this.incoming.then(() => this.options.onMessage(chunk)).catch((error: unknown) => this.close(failureFor(error, this.options.peerName())));
      return;
    }
    if (state.name === 'open' && !isHandshakeFrame(bytes)) {
      // Decryption starts now (the counter is checked at once); delivery stays in order.
      const opened = state.channel.open(bytes);
      opened.catch(() => undefined);
      this.incoming = this.incoming.then(async () => this.options.onMessage(await opened)).catch((error: unknown) => this.close(failureFor(error, this.options.peerName())));
      return;
    }
    this.incoming = this.incoming.then(() => this.step(transport, bytes)).catch((error: unknown) => this.close(failureFor(error, this.options.peerName())));
  }

  /**
   * A handshake frame arrived: which transport to start on. The initiator picks it; the
   * responder follows the first handshake frame it gets. Two exceptions for signalling that
   * never got through: an initiator still signalling follows a hello on the relay (the
   * responder fell back), and a responder that fell back follows the initiator's hello on
   * the data channel (the initiator's choice wins).
   */
  private follow(transport: Transport, hello: boolean): void {
    const state = this.state;
    if (state.name === 'signalling') {
      if (!this.options.initiator || (hello && transport === 'relay')) this.begin(transport);
      return;
    }
    const switchable = state.name === 'starting' || state.name === 'hello-sent';
    if (!this.options.initiator && this.fellBack && hello && switchable && state.transport === 'relay' && transport === 'dc') {
      debug('responder follows the initiator to the data channel', this.options.peerKey.slice(-8));
      this.fellBack = false;
      this.begin('dc', true);
    }
  }

  /** Waits while the data channel holds too much, or while the relay pace is used up. */
  private async roomToWrite(transport: Transport): Promise<void> {
    if (transport === 'dc') return this.direct.roomToWrite();
    for (let wait = this.relayPacer.take(); wait > 0; wait = this.relayPacer.take()) await new Promise((r) => setTimeout(r, wait));
  }

  /** Writes a frame; true when the transport has copied it (or dropped it), so its buffer may be reused. */
  private write(transport: Transport, frame: Uint8Array): boolean {
    // A closed link still tells the other side why the handshake stopped.
    if (this.isClosed && frame[0] !== FrameKind.abort) return true;
    if (transport === 'dc') return this.direct.send(frame);
    this.options.sendRelay(toBase64Url(frame));
    return true;
  }
}
