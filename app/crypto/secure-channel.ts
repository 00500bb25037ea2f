// The authenticated secure channel for whispers and files, run over any ordered
// transport (a WebRTC data channel, or the server relay as a fallback).
//
// Each side sends `hs1` (identity key, ephemeral ECDH key, nonce), then `hs2`: its
// identity signature over a transcript binding the transport the handshake runs over,
// both DTLS fingerprints as seen in the SDP (on a data channel only: the relay has no
// DTLS, and a relay fallback may begin before one side has seen the other's SDP), both
// identity keys, both ephemeral keys, both nonces and the room. A server that swapped a
// fingerprint or a key, or made the sides disagree on the transport, makes the two
// transcripts differ, so a signature fails and nothing is sent. Keys: HKDF-SHA-256 over
// the ECDH secret, one AES-256-GCM key per direction; IV = direction + counter; a frame
// out of order is rejected.
//
// File chunks on a data channel go in `dtls` frames, not sealed: DTLS already encrypts and
// authenticates every message end to end between the two certificates whose fingerprints
// both identity keys signed in the transcript, so a second AES-GCM adds only CPU (the README's
// threat model). Only a data channel carries them, only once this channel is up, and only to
// an app whose hello says it takes them; on the relay everything is sealed.
import type { Identity } from './identity.ts';
import { hkdfAesKey } from './hkdf.ts';
import { concat, fromBase64Url, fromUtf8, lengthPrefixed, randomBytes, toBase64Url, utf8, type Bytes } from './bytes.ts';

export type Role = 'initiator' | 'responder';

/** What the handshake runs over; part of the transcript, so both sides must agree on it. */
export type ChannelTransport = 'datachannel' | 'relay';

/** The first byte of every secure-channel frame; `dtls`: a file chunk as it is, on a data channel only. */
export const FrameKind = { handshake: 0, sealed: 1, abort: 2, dtls: 3 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** `role-conflict`: the other side claims the role we hold (both initiators, or both responders), impossible unless the server gave us different keys. */
export type HandshakeFailure = 'bad-message' | 'key-mismatch' | 'bad-signature' | 'room-refused' | 'aborted' | 'role-conflict';

/** A handshake that did not produce a channel; `code` says why, for the UI. */
export class HandshakeError extends Error {
  constructor(
    readonly code: HandshakeFailure,
    message: string,
  ) {
    super(message);
  }
}

export type ChannelFailure = 'bad-frame' | 'replayed-or-reordered' | 'auth-failed';

export class ChannelError extends Error {
  constructor(
    readonly code: ChannelFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface HandshakeParams {
  identity: Identity;
  role: Role;
  transport: ChannelTransport;
  /**
   * DTLS fingerprints from the local and remote SDP, as captured when the handshake began.
   * Bound into the transcript on the data channel only; on the relay they are ignored.
   */
  localFingerprint: string;
  remoteFingerprint: string;
  /** The identity key the server announced for this peer; the peer must prove it holds it. */
  expectedPeerKey: string;
  /** Initiator: the room both share. Responder: decides whether the initiator's room is acceptable. */
  room?: string;
  acceptRoom?: (room: string) => boolean;
}

/** The hello's version: 2 since the transcript binds the transport (an older app reports a bad message, not tampering). */
const HELLO_VERSION = 2;

interface Hello1 {
  t: 'hs1';
  v: typeof HELLO_VERSION;
  key: string;
  eph: string;
  nonce: string;
  room?: string;
  /** 1: this app takes file chunks in `dtls` frames on a data channel (older apps leave it out). */
  dtls?: 1;
}
interface Hello2 {
  t: 'hs2';
  sig: string;
}

const ECDH: EcKeyGenParams = { name: 'ECDH', namedCurve: 'P-256' };
const ECDSA_VERIFY: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const LABEL = 'wisp-whisper-v2';
const DIRECTION = { initiator: utf8('i2r\0'), responder: utf8('r2i\0') } as const;
const MAX_HANDSHAKE_BYTES = 4096;
const POOLED_FRAME_MIN_BYTES = 16 * 1024;

function frame(kind: FrameKind, body: Uint8Array): Bytes {
  return concat(new Uint8Array([kind]), body);
}

export function encodeHandshake(message: Hello1 | Hello2 | { t: 'abort'; code: HandshakeFailure }): Bytes {
  return frame(message.t === 'abort' ? FrameKind.abort : FrameKind.handshake, utf8(JSON.stringify(message)));
}

function decodeJson(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.length > MAX_HANDSHAKE_BYTES) throw new HandshakeError('bad-message', 'The handshake message is too large.');
  try {
    const value: unknown = JSON.parse(fromUtf8(bytes.subarray(1)));
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HandshakeError('bad-message', 'The handshake message is malformed.');
}

const B64 = /^[A-Za-z0-9_-]{1,400}$/;

function parseHello1(bytes: Uint8Array): Hello1 {
  if (bytes[0] === FrameKind.abort) throw new HandshakeError('aborted', 'The other side stopped the handshake.');
  const m = decodeJson(bytes);
  const ok = m.t === 'hs1' && m.v === HELLO_VERSION && typeof m.key === 'string' && B64.test(m.key) && typeof m.eph === 'string' && B64.test(m.eph) && typeof m.nonce === 'string' && B64.test(m.nonce) && (m.room === undefined || (typeof m.room === 'string' && m.room.length <= 128));
  if (!ok) throw new HandshakeError('bad-message', 'The handshake message is malformed.');
  return m as unknown as Hello1;
}

function parseHello2(bytes: Uint8Array): Hello2 {
  if (bytes[0] === FrameKind.abort) throw new HandshakeError('aborted', 'The other side stopped the handshake.');
  const m = decodeJson(bytes);
  if (m.t !== 'hs2' || typeof m.sig !== 'string' || !B64.test(m.sig)) throw new HandshakeError('bad-message', 'The handshake message is malformed.');
  return m as unknown as Hello2;
}

/** What each side signs: the transcript and the signer's role, so a signature cannot be reflected. */
function signingInput(transcript: Bytes, signer: Role): Bytes {
  return concat(utf8(`${LABEL}|sig|${signer}|`), transcript);
}

/**
 * The transcript, in role order: identical on both sides exactly when both ran over the
 * same transport and saw the same fingerprints (data channel only), keys, nonces and room.
 */
export async function transcriptHash(parts: {
  transport: ChannelTransport;
  room: string;
  fingerprints: { initiator: string; responder: string };
  keys: { initiator: string; responder: string };
  ephemeral: { initiator: string; responder: string };
  nonces: { initiator: string; responder: string };
}): Promise<Bytes> {
  // The relay carries no DTLS: what either side captured of the SDP means nothing there.
  const fingerprints = parts.transport === 'datachannel' ? parts.fingerprints : { initiator: '', responder: '' };
  const encoded = lengthPrefixed(
    utf8(LABEL),
    utf8(parts.transport),
    utf8(parts.room),
    utf8(fingerprints.initiator.toUpperCase()),
    utf8(fingerprints.responder.toUpperCase()),
    fromBase64Url(parts.keys.initiator),
    fromBase64Url(parts.keys.responder),
    fromBase64Url(parts.ephemeral.initiator),
    fromBase64Url(parts.ephemeral.responder),
    fromBase64Url(parts.nonces.initiator),
    fromBase64Url(parts.nonces.responder),
  );
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoded));
}

/** One side of a handshake: start() -> send hello; receiveHello() -> send confirm; receiveConfirm() -> channel. */
export class Handshake {
  private transcript?: Bytes;
  private peerHello?: Hello1;
  private room = '';

  private constructor(
    private readonly params: HandshakeParams,
    private readonly ephemeral: CryptoKeyPair,
    private readonly ownHello: Hello1,
  ) {}

  static async start(params: HandshakeParams): Promise<{ handshake: Handshake; hello: Bytes }> {
    const ephemeral = await crypto.subtle.generateKey(ECDH, false, ['deriveBits']);
    const eph = toBase64Url(await crypto.subtle.exportKey('raw', ephemeral.publicKey));
    const hello: Hello1 = { t: 'hs1', v: HELLO_VERSION, key: params.identity.spki, eph, nonce: toBase64Url(randomBytes(32)), dtls: 1 };
    if (params.role === 'initiator') hello.room = params.room ?? '';
    return { handshake: new Handshake(params, ephemeral, hello), hello: encodeHandshake(hello) };
  }

  /** Checks the peer's hello and returns our signature over the transcript. */
  async receiveHello(bytes: Uint8Array): Promise<Bytes> {
    const peer = parseHello1(bytes);
    // Only the initiator names the room. Checked before the key: both sides then report the same cause.
    if ((peer.room !== undefined) === (this.params.role === 'initiator')) {
      throw new HandshakeError('role-conflict', 'The other app claims the same role as this one: the two were shown different keys.');
    }
    if (peer.key !== this.params.expectedPeerKey) {
      throw new HandshakeError('key-mismatch', "The other app's identity key is not the one the server announced.");
    }
    const { role } = this.params;
    this.room = role === 'initiator' ? (this.ownHello.room ?? '') : (peer.room ?? '');
    if (role === 'responder' && !(this.params.acceptRoom?.(this.room) ?? false)) {
      throw new HandshakeError('room-refused', 'The whisper names a room you do not share.');
    }
    this.peerHello = peer;
    const mine = this.ownHello;
    const pick = <T>(own: T, theirs: T) => (role === 'initiator' ? { initiator: own, responder: theirs } : { initiator: theirs, responder: own });
    this.transcript = await transcriptHash({
      transport: this.params.transport,
      room: this.room,
      fingerprints: pick(this.params.localFingerprint, this.params.remoteFingerprint),
      keys: pick(mine.key, peer.key),
      ephemeral: pick(mine.eph, peer.eph),
      nonces: pick(mine.nonce, peer.nonce),
    });
    const signature = await crypto.subtle.sign(ECDSA_VERIFY, this.params.identity.privateKey, signingInput(this.transcript, role));
    return encodeHandshake({ t: 'hs2', sig: toBase64Url(signature) });
  }

  /** Verifies the peer's signature and derives the channel keys. */
  async receiveConfirm(bytes: Uint8Array): Promise<SecureChannel> {
    if (!this.transcript || !this.peerHello) throw new HandshakeError('bad-message', 'The handshake arrived out of order.');
    const confirm = parseHello2(bytes);
    const peerRole: Role = this.params.role === 'initiator' ? 'responder' : 'initiator';
    let valid = false;
    try {
      const peerKey = await crypto.subtle.importKey('spki', fromBase64Url(this.peerHello.key), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      valid = await crypto.subtle.verify(ECDSA_VERIFY, peerKey, fromBase64Url(confirm.sig), signingInput(this.transcript, peerRole));
    } catch {
      valid = false;
    }
    if (!valid) {
      throw new HandshakeError('bad-signature', 'The secure channel could not be verified: the connection may have been tampered with.');
    }
    const peerEph = await crypto.subtle.importKey('raw', fromBase64Url(this.peerHello.eph), ECDH, false, []);
    const secret = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: peerEph }, this.ephemeral.privateKey, 256));
    const keyFor = (direction: Role, usage: 'encrypt' | 'decrypt') =>
      hkdfAesKey(secret, this.transcript!, concat(utf8(`${LABEL}|key|`), DIRECTION[direction]), usage);
    const own = this.params.role;
    const [sendKey, receiveKey] = await Promise.all([keyFor(own, 'encrypt'), keyFor(peerRole, 'decrypt')]);
    const channel = new SecureChannel(sendKey, receiveKey, DIRECTION[own], DIRECTION[peerRole], this.peerHello.key, this.room);
    // Only on a data channel, whose DTLS fingerprints the transcript binds: never on the relay.
    channel.dtlsFrames = this.params.transport === 'datachannel' && this.peerHello.dtls === 1;
    return channel;
  }
}

/** Sealed frames handed back by recycle(), kept for reuse (a file needs a few in flight). */
const FRAME_POOL_SIZE = 32;

/**
 * An established channel: seal() and open() keep strict counters per direction.
 * Big frames reuse their buffers: a fresh 256 KiB buffer per file chunk costs more (zeroing
 * and page faults) than the copy into it.
 */
export class SecureChannel {
  private sendCounter = 0n;
  private receiveCounter = 0n;
  private sendChain: Promise<unknown> = Promise.resolve();
  private broken = false;
  /** Where plaintext parts are joined: WebCrypto copies its input when encrypt() is called. */
  private scratch = new Uint8Array(0);
  private readonly framePool: ArrayBuffer[] = [];
  private largestFrame = 0;
  /** File chunks may go in `dtls` frames: a data channel, to an app that takes them. */
  dtlsFrames = false;

  constructor(
    private readonly sendKey: CryptoKey,
    private readonly receiveKey: CryptoKey,
    private readonly sendDirection: Bytes,
    private readonly receiveDirection: Bytes,
    readonly peerKey: string,
    readonly room: string,
  ) {}

  /**
   * Encrypts in call order (the returned frames resolve in the order seal was called).
   * The plaintext may come in parts (a header and a body), sealed as one.
   */
  seal(plaintext: Uint8Array | readonly Uint8Array[]): Promise<Bytes> {
    const counter = this.sendCounter++;
    const header = counterBytes(counter);
    const iv = concat(this.sendDirection, header);
    // Encryptions run in parallel; the results are handed out in call order.
    const encrypted = crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: header }, this.sendKey, this.joined(plaintext));
    const result = this.sendChain.then(async () => {
      const sealed = new Uint8Array(await encrypted);
      const out = this.frameOf(1 + header.length + sealed.length);
      out[0] = FrameKind.sealed;
      out.set(header, 1);
      out.set(sealed, 1 + header.length);
      return out;
    });
    this.sendChain = result.catch(() => undefined);
    return result;
  }

  /** A frame from seal() that the transport has copied (or dropped): its buffer may be reused. */
  recycle(frame: Uint8Array): void {
    const buffer = frame.buffer;
    if (this.framePool.length < FRAME_POOL_SIZE && frame.byteOffset === 0 && buffer instanceof ArrayBuffer && buffer.byteLength >= POOLED_FRAME_MIN_BYTES) this.framePool.push(buffer);
  }

  /**
   * A file chunk (its parts sent as one) in a `dtls` frame, for a data channel that copies it
   * when written: it is laid out in the scratch buffer, which the next seal or frame reuses.
   */
  dtlsFrame(parts: readonly Uint8Array[]): Bytes {
    const frame = this.joined(parts, 1);
    frame[0] = FrameKind.dtls;
    return frame;
  }

  /** A frame from the scratch buffer was kept, not copied: the next one gets a new buffer. */
  releaseScratch(): void {
    this.scratch = new Uint8Array(0);
  }

  /** The parts joined in the scratch buffer after `lead` spare bytes (one part and none spare: as it is). */
  private joined(plaintext: Uint8Array | readonly Uint8Array[], lead = 0): Bytes {
    if (plaintext instanceof Uint8Array && lead === 0) return plaintext as Bytes;
    const parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext;
    const length = parts.reduce((n, part) => n + part.length, lead);
    if (this.scratch.length < length) this.scratch = new Uint8Array(length);
    let offset = lead;
    for (const part of parts) {
      this.scratch.set(part, offset);
      offset += part.length;
    }
    return this.scratch.subarray(0, length) as Bytes;
  }

  private frameOf(length: number): Bytes {
    // Only frames of a file chunk's size are worth keeping; small ones are cheap to make.
    if (length < POOLED_FRAME_MIN_BYTES) return new Uint8Array(length);
    this.largestFrame = Math.max(this.largestFrame, length);
    const index = this.framePool.findIndex((buffer) => buffer.byteLength >= length);
    const buffer = index >= 0 ? this.framePool.splice(index, 1)[0]! : new ArrayBuffer(this.largestFrame);
    return new Uint8Array(buffer, 0, length);
  }

  /** Decrypts a frame; any frame but the next expected one is rejected, and then so is the channel. */
  async open(bytes: Uint8Array): Promise<Bytes> {
    if (this.broken) throw new ChannelError('auth-failed', 'The secure channel is closed after a bad frame.');
    if (bytes.length < 1 + 8 + 16 || bytes[0] !== FrameKind.sealed) throw new ChannelError('bad-frame', 'Not an encrypted frame.');
    const header = Uint8Array.prototype.slice.call(bytes, 1, 9) as Bytes;
    const counter = new DataView(header.buffer, header.byteOffset, 8).getBigUint64(0);
    if (counter !== this.receiveCounter) {
      throw new ChannelError('replayed-or-reordered', counter < this.receiveCounter ? 'A frame was replayed.' : 'A frame arrived out of order.');
    }
    this.receiveCounter++;
    try {
      const iv = concat(this.receiveDirection, header);
      return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: header }, this.receiveKey, bytes.subarray(9) as Bytes));
    } catch {
      this.broken = true;
      throw new ChannelError('auth-failed', 'A frame failed authentication.');
    }
  }
}

function counterBytes(counter: bigint): Bytes {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, counter);
  return bytes;
}

/** True for frames that belong to the handshake (before the channel exists). */
export function isHandshakeFrame(bytes: Uint8Array): boolean {
  return bytes[0] === FrameKind.handshake || bytes[0] === FrameKind.abort;
}
