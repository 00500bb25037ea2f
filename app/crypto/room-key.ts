// Private rooms on the page's side: derive the room's secrets in a worker, and seal and
// open room messages with the room key. A sealed message is bound to its room and its
// sender's identity key (associated data), carries the sender's client id and time
// inside the ciphertext, and a receiver rejects what it has seen before or what is
// older than the replay window, so a server can neither read, alter, re-attribute nor
// replay a message.
import workerUrl from './room-kdf.worker.ts?worker&url';
import type { KdfRequest, KdfResponse } from './room-kdf.worker.ts';
import { deriveRoomSecretsHere, type RoomSecrets } from './room-kdf.ts';
import { concat, fromBase64Url, fromUtf8, randomBytes, toBase64Url, utf8, type Bytes } from './bytes.ts';

export type { RoomSecrets } from './room-kdf.ts';

const VERSION = 1;
const IV_BYTES = 12;
const KINDS = ['text', 'action'] as const;
export type RoomMessageKind = (typeof KINDS)[number];
/** A sealed message older (or further in the future) than this is refused as a replay. */
export const REPLAY_WINDOW_MS = 10 * 60_000;
/** Per room, how many (sender, client id) pairs are remembered to spot replays. */
const REMEMBERED_IDS = 5000;

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
  kind: RoomMessageKind;
  text: string;
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
    if (reply.ok) pending.resolve({ verifier: reply.verifier, key: reply.key });
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

/** Derives a private room's verifier and key from its passphrase, off the page's thread. */
export function deriveRoomSecrets(passphrase: string, room: string): Promise<RoomSecrets> {
  let target: Worker;
  try {
    target = kdfWorker();
  } catch (error) {
    // No module workers here: the derivation still runs (WebCrypto is asynchronous), only on this thread.
    console.warn('wisp: deriving the room key without a worker:', error);
    return deriveRoomSecretsHere(passphrase, room);
  }
  const derived = new Promise<RoomSecrets>((resolve, reject) => {
    const id = nextRequest++;
    waiting.set(id, { resolve, reject });
    target.postMessage({ id, passphrase, room } satisfies KdfRequest);
  });
  return derived.catch((error: unknown) => {
    if (!(error instanceof WorkerFailed)) throw error;
    console.warn('wisp: the key derivation worker failed; deriving the room key without a worker.');
    return deriveRoomSecretsHere(passphrase, room);
  });
}

// ---- sealing and opening -----------------------------------------------------------

function associatedData(room: string, senderKey: string): Bytes {
  return utf8(`wisp-room-msg-v1|${room}|${senderKey}`);
}

/** [kind][ts: u64][cid length][cid][text, UTF-8] */
function encodeBody(message: RoomMessage): Bytes {
  const cid = utf8(message.cid);
  if (cid.length > 255) throw new RangeError('client id too long');
  const head = new Uint8Array(1 + 8 + 1);
  head[0] = KINDS.indexOf(message.kind);
  new DataView(head.buffer).setBigUint64(1, BigInt(Math.max(0, Math.floor(message.ts))));
  head[9] = cid.length;
  return concat(head, cid, utf8(message.text));
}

function decodeBody(bytes: Uint8Array): RoomMessage {
  if (bytes.length < 10) throw new RoomSealError('malformed', 'The sealed message is too short.');
  const kind = KINDS[bytes[0]];
  const cidLength = bytes[9];
  if (!kind || bytes.length < 10 + cidLength) throw new RoomSealError('malformed', 'The sealed message is malformed.');
  const ts = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(1));
  try {
    const cid = fromUtf8(bytes.subarray(10, 10 + cidLength));
    const text = fromUtf8(bytes.subarray(10 + cidLength));
    if (!cid || !text) throw new Error('empty');
    return { cid, ts, kind, text };
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

/** Remembers which (sender, client id) pairs a room has shown, to refuse replays. */
export class ReplayGuard {
  /** id -> the sender's time, oldest first. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    remembered: readonly [string, number][] = [],
  ) {
    for (const [id, ts] of remembered) this.seen.set(id, ts);
  }

  /** Throws a RoomSealError when this message was seen already or is outside the window. */
  check(senderKey: string, message: RoomMessage): void {
    const id = `${senderKey}|${message.cid}`;
    if (this.seen.has(id)) throw new RoomSealError('replayed', 'This message was delivered before.');
    if (Math.abs(this.now() - message.ts) > REPLAY_WINDOW_MS) throw new RoomSealError('replayed', 'This message is too old to be new.');
    this.seen.set(id, message.ts);
    if (this.seen.size > REMEMBERED_IDS) this.seen.delete(this.seen.keys().next().value!);
  }

  /** What to keep across a reload: the ids still inside the window (older ones are refused by age anyway). */
  remembered(): [string, number][] {
    const cutoff = this.now() - REPLAY_WINDOW_MS;
    return [...this.seen].filter(([, ts]) => ts >= cutoff);
  }
}
