// Private rooms on the page's side: derive the room's secrets in a worker, and seal and
// open room messages with the room key. A sealed message is bound to its room and its
// sender's identity key (associated data), and carries inside the ciphertext the
// sender's client id, time, stream and sequence number. A receiver refuses what it has
// seen before or what is older than the replay window, and notices a gap in a sender's
// sequence, so a server can neither read, alter, re-attribute nor replay a message, and
// cannot withhold one unnoticed.
import workerUrl from './room-kdf.worker.ts?worker&url';
import type { KdfRequest, KdfResponse } from './room-kdf.worker.ts';
import { deriveRoomSecretsHere, type RoomSecrets } from './room-kdf.ts';
import { concat, fromBase64Url, fromUtf8, randomBytes, toBase64Url, toHex, utf8, type Bytes } from './bytes.ts';

export type { RoomSecrets } from './room-kdf.ts';

/** 2: the body carries the sender's stream and sequence number. */
const VERSION = 2;
const IV_BYTES = 12;
const STREAM_BYTES = 8;
/** kind, time, stream, sequence number, client id length. */
const HEAD_BYTES = 1 + 8 + STREAM_BYTES + 4 + 1;
const KINDS = ['text', 'action'] as const;
export type RoomMessageKind = (typeof KINDS)[number];
/** A sealed message older (or further in the future) than this is refused as a replay. */
export const REPLAY_WINDOW_MS = 10 * 60_000;

export type RoomSealFailure = 'malformed' | 'tampered' | 'replayed';

export class RoomSealError extends Error {
  constructor(
    readonly code: RoomSealFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface RoomMessage {
  cid: string;
  /** The sender's clock when it was sealed (ms). */
  ts: number;
  /**
   * The sender's stream (hex, new with each page load) and the message's number in it,
   * counted per room from 0: a receiver that sees a number skipped knows a message from
   * that sender did not reach it.
   */
  stream: string;
  seq: number;
  kind: RoomMessageKind;
  text: string;
}

/** A new sender stream id. */
export function newStreamId(): string {
  return toHex(randomBytes(STREAM_BYTES));
}

// ---- deriving, in a worker ---------------------------------------------------------

type ScriptUrlPolicy = { createScriptURL(url: string): string };
let workerPolicy: ScriptUrlPolicy | undefined;

/** The worker's URL as a Trusted Type: the page requires them, and this policy allows exactly one URL. */
function workerScriptUrl(): string {
  const trustedTypes = (globalThis as unknown as { trustedTypes?: { createPolicy(name: string, rules: ScriptUrlPolicy): ScriptUrlPolicy } }).trustedTypes;
  if (!trustedTypes) return workerUrl;
  workerPolicy ??= trustedTypes.createPolicy('wisp-worker', {
    createScriptURL: (url) => {
      if (url !== workerUrl) throw new TypeError(`unexpected worker URL ${url}`);
      return url;
    },
  });
  return workerPolicy.createScriptURL(workerUrl);
}

/** The worker itself failed (it did not load, say): the derivation can still run here. */
class WorkerFailed extends Error {}

let worker: Worker | undefined;
let nextRequest = 0;
const waiting = new Map<number, { resolve: (secrets: RoomSecrets) => void; reject: (error: Error) => void }>();

function kdfWorker(): Worker {
  if (worker) return worker;
  const created = new Worker(workerScriptUrl(), { type: 'module', name: 'wisp-room-kdf' });
  created.onmessage = (event: MessageEvent<KdfResponse>) => {
    const reply = event.data;
    const pending = waiting.get(reply.id);
    if (!pending) return;
    waiting.delete(reply.id);
    if (reply.ok) pending.resolve({ verifier: reply.verifier, key: reply.key, server: reply.server });
    else pending.reject(new Error(reply.message));
  };
  created.onerror = (event) => {
    event.preventDefault();
    for (const pending of waiting.values()) pending.reject(new WorkerFailed());
    waiting.clear();
    worker = undefined;
  };
  worker = created;
  return created;
}

/** Derives a private room's verifier and key from its passphrase and the server's id, off the page's thread. */
export function deriveRoomSecrets(passphrase: string, room: string, server: string): Promise<RoomSecrets> {
  let target: Worker;
  try {
    target = kdfWorker();
  } catch (error) {
    // No module workers here: the derivation still runs (WebCrypto is asynchronous), only on this thread.
    console.warn('wisp: deriving the room key without a worker:', error);
    return deriveRoomSecretsHere(passphrase, room, server);
  }
  const derived = new Promise<RoomSecrets>((resolve, reject) => {
    const id = nextRequest++;
    waiting.set(id, { resolve, reject });
    target.postMessage({ id, passphrase, room, server } satisfies KdfRequest);
  });
  return derived.catch((error: unknown) => {
    if (!(error instanceof WorkerFailed)) throw error;
    console.warn('wisp: the key derivation worker failed; deriving the room key without a worker.');
    return deriveRoomSecretsHere(passphrase, room, server);
  });
}

// ---- sealing and opening -----------------------------------------------------------

function associatedData(room: string, senderKey: string): Bytes {
  return utf8(`wisp-room-msg-v1|${room}|${senderKey}`);
}

/** [kind][ts: u64][stream: 8 bytes][seq: u32][cid length][cid][text, UTF-8] */
function encodeBody(message: RoomMessage): Bytes {
  const cid = utf8(message.cid);
  if (cid.length > 255) throw new RangeError('client id too long');
  const stream = Uint8Array.from(message.stream.match(/../g) ?? [], (b) => parseInt(b, 16));
  if (stream.length !== STREAM_BYTES) throw new RangeError('bad stream id');
  const head = new Uint8Array(HEAD_BYTES);
  const view = new DataView(head.buffer);
  head[0] = KINDS.indexOf(message.kind);
  view.setBigUint64(1, BigInt(Math.max(0, Math.floor(message.ts))));
  head.set(stream, 9);
  view.setUint32(9 + STREAM_BYTES, message.seq);
  head[HEAD_BYTES - 1] = cid.length;
  return concat(head, cid, utf8(message.text));
}

function decodeBody(bytes: Uint8Array): RoomMessage {
  if (bytes.length < HEAD_BYTES) throw new RoomSealError('malformed', 'The sealed message is too short.');
  const kind = KINDS[bytes[0]];
  const cidLength = bytes[HEAD_BYTES - 1];
  if (!kind || bytes.length < HEAD_BYTES + cidLength) throw new RoomSealError('malformed', 'The sealed message is malformed.');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ts = Number(view.getBigUint64(1));
  const stream = toHex(bytes.subarray(9, 9 + STREAM_BYTES));
  const seq = view.getUint32(9 + STREAM_BYTES);
  try {
    const cid = fromUtf8(bytes.subarray(HEAD_BYTES, HEAD_BYTES + cidLength));
    const text = fromUtf8(bytes.subarray(HEAD_BYTES + cidLength));
    if (!cid || !text) throw new Error('empty');
    return { cid, ts, stream, seq, kind, text };
  } catch {
    throw new RoomSealError('malformed', 'The sealed message is malformed.');
  }
}

/** Seals one room message: base64url of [version][IV][AES-GCM ciphertext and tag]. */
export async function sealRoomMessage(key: CryptoKey, room: string, senderKey: string, message: RoomMessage): Promise<string> {
  const iv = randomBytes(IV_BYTES);
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: associatedData(room, senderKey) }, key, encodeBody(message));
  return toBase64Url(concat(new Uint8Array([VERSION]), iv, new Uint8Array(sealed)));
}

/** Opens a sealed room message, or throws a RoomSealError (tampered, other key, malformed). */
export async function openRoomMessage(key: CryptoKey, room: string, senderKey: string, sealed: string): Promise<RoomMessage> {
  let bytes: Bytes;
  try {
    bytes = fromBase64Url(sealed);
  } catch {
    throw new RoomSealError('malformed', 'The sealed message is not base64url.');
  }
  if (bytes.length < 1 + IV_BYTES + 16 || bytes[0] !== VERSION) throw new RoomSealError('malformed', 'The sealed message has an unknown format.');
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bytes.subarray(1, 1 + IV_BYTES), additionalData: associatedData(room, senderKey) },
      key,
      bytes.subarray(1 + IV_BYTES),
    );
  } catch {
    throw new RoomSealError('tampered', 'The sealed message failed its integrity check.');
  }
  return decodeBody(new Uint8Array(plain));
}

/**
 * Remembers which (sender, client id) pairs a room has shown, to refuse replays. It
 * forgets by age, never by count: an id is kept as long as its time is inside the
 * window, so however busy the room, nothing still fresh enough to be accepted is forgotten.
 */
export class ReplayGuard {
  /** id -> the sender's time. */
  private readonly seen = new Map<string, number>();
  /** The size at which the next sweep of expired ids runs. */
  private sweepAt = 256;

  constructor(
    private readonly now: () => number = Date.now,
    remembered: readonly [string, number][] = [],
  ) {
    for (const [id, ts] of remembered) this.seen.set(id, ts);
  }

  /**
   * Throws a RoomSealError when this message was seen already or is outside the window.
   * `recovered`: the server replays it from the room's history (to a member coming back, or
   * a new one), so its age is no reason to refuse it; having been seen still is.
   */
  check(senderKey: string, message: RoomMessage, recovered = false): void {
    const id = `${senderKey}|${message.cid}`;
    if (this.seen.has(id)) throw new RoomSealError('replayed', 'This message was delivered before.');
    if (!recovered && Math.abs(this.now() - message.ts) > REPLAY_WINDOW_MS) throw new RoomSealError('replayed', 'This message is too old to be new.');
    this.seen.set(id, message.ts);
    if (this.seen.size >= this.sweepAt) this.sweep();
  }

  /** How many ids it holds (all inside the window after a sweep). */
  get size(): number {
    return this.seen.size;
  }

  /** What to keep across a reload: the ids still inside the window (older ones are refused by age anyway). */
  remembered(): [string, number][] {
    this.sweep();
    return [...this.seen];
  }

  /** Drops ids whose time left the window; sweeps again when the live set has doubled (amortised O(1)). */
  private sweep(): void {
    const cutoff = this.now() - REPLAY_WINDOW_MS;
    for (const [id, ts] of this.seen) if (ts < cutoff) this.seen.delete(id);
    this.sweepAt = Math.max(256, this.seen.size * 2);
  }
}
