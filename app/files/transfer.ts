// File transfers over a whisper link: offer -> accept/decline -> chunks -> end, with the
// size limit enforced as bytes arrive and the content hash (content-hash.ts) checked at the
// end. The chunks ride inside the secure channel; this file only knows a FileLink.
import { ContentHasher, HASH_BLOCK_BYTES } from './content-hash.ts';

/** Control frames of the file protocol (sent as JSON inside the secure channel). */
export type FileControl =
  | { t: 'file-offer'; fid: number; name: string; size: number; type: string; hash: string }
  | { t: 'file-accept'; fid: number }
  | { t: 'file-decline'; fid: number; reason: DeclineReason; limit?: number }
  | { t: 'file-cancel'; fid: number; reason: CancelReason }
  | { t: 'file-end'; fid: number }
  | { t: 'file-result'; fid: number; ok: boolean };

export type DeclineReason = 'declined' | 'too-large' | 'relay-limit';
export type CancelReason = 'cancelled' | 'too-large' | 'failed';

export interface FileLink {
  /** Sends a control frame. */
  control(frame: FileControl): void;
  /** Sends one chunk; resolves once it is handed to the transport with room for more. */
  chunk(fid: number, bytes: Uint8Array): Promise<void>;
  /** The largest chunk payload this path carries. */
  readonly maxChunkBytes: number;
}

export interface Progress {
  bytes: number;
  total: number;
  /** Bytes per second since the first byte. */
  rate: number;
  /** Seconds left at that rate. */
  remaining: number;
}

/** At most this many chunks are sealed and in flight at once (pipelining, not stop-and-wait). */
const WINDOW = 16;
/** Progress goes to the screen at most this often: each report re-renders the conversation. */
const PROGRESS_INTERVAL_MS = 250;

export function randomFileId(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

function progressOf(bytes: number, total: number, startedAt: number): Progress {
  const seconds = Math.max((performance.now() - startedAt) / 1000, 0.001);
  const rate = bytes / seconds;
  return { bytes, total, rate, remaining: rate > 0 ? (total - bytes) / rate : Infinity };
}

/**
 * Sends one file once the other side accepts it, from the bytes that were hashed for the
 * offer: read once, so a file changed on disk in between cannot arrive as a mismatch, and
 * no disk read competes with the transfer.
 */
export class OutgoingFile {
  private cancelled = false;
  startedAt = 0;

  constructor(
    readonly fid: number,
    readonly bytes: Uint8Array,
    private readonly link: FileLink,
    private readonly onProgress: (progress: Progress) => void,
  ) {}

  /** Sends the chunks with a window of sealed chunks in flight; then `file-end`. */
  async send(): Promise<void> {
    this.startedAt = performance.now();
    const size = this.bytes.length;
    const chunkSize = this.link.maxChunkBytes;
    const inFlight: Promise<void>[] = [];
    let lastReport = 0;
    for (let offset = 0; offset < size; offset += chunkSize) {
      if (this.cancelled) return;
      inFlight.push(this.link.chunk(this.fid, this.bytes.subarray(offset, offset + chunkSize)));
      if (inFlight.length >= WINDOW) await inFlight.shift();
      const now = performance.now();
      if (now - lastReport > PROGRESS_INTERVAL_MS) {
        lastReport = now;
        this.onProgress(progressOf(Math.min(offset + chunkSize, size), size, this.startedAt));
      }
    }
    await Promise.all(inFlight);
    if (this.cancelled) return;
    this.onProgress(progressOf(size, size, this.startedAt));
    this.link.control({ t: 'file-end', fid: this.fid });
  }

  cancel(): void {
    this.cancelled = true;
  }
}

export type IncomingFailure = 'too-large' | 'short' | 'hash-mismatch';

/** The first bytes of a file, kept to tell its true type by its magic bytes. */
const HEAD_BYTES = 16;

/**
 * Collects one accepted file, refusing a single byte past what was announced or allowed.
 * Bytes gather in one block; each full block is hashed and handed to a Blob at once, so the
 * check at the end waits for the last block only and the file never sits twice in memory.
 */
export class IncomingFile {
  private block: Uint8Array;
  private filled = 0;
  private parts: Blob[] = [];
  private head = new Uint8Array(0);
  private readonly hasher = new ContentHasher();
  private received = 0;
  private readonly startedAt = performance.now();
  private lastReport = 0;

  constructor(
    readonly fid: number,
    readonly size: number,
    readonly hash: string,
    private readonly limit: number,
    private readonly onProgress: (progress: Progress) => void,
  ) {
    this.block = new Uint8Array(Math.min(size, limit, HASH_BLOCK_BYTES));
  }

  get bytes(): number {
    return this.received;
  }

  /** Adds a chunk; returns a failure when it would pass the announced size or the limit. */
  add(chunk: Uint8Array): IncomingFailure | undefined {
    if (this.received + chunk.length > Math.min(this.size, this.limit)) {
      this.discard();
      return 'too-large';
    }
    for (let offset = 0; offset < chunk.length; ) {
      const take = Math.min(this.block.length - this.filled, chunk.length - offset);
      this.block.set(chunk.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.block.length) this.closeBlock();
    }
    this.received += chunk.length;
    const now = performance.now();
    if (now - this.lastReport > PROGRESS_INTERVAL_MS || this.received === this.size) {
      this.lastReport = now;
      this.onProgress(progressOf(this.received, this.size, this.startedAt));
    }
    return undefined;
  }

  /** The sender says it is done: check the size and the hash. */
  async finish(): Promise<{ ok: true; blob: Blob; head: Uint8Array } | { ok: false; failure: IncomingFailure }> {
    if (this.received !== this.size) {
      this.discard();
      return { ok: false, failure: 'short' };
    }
    if (this.filled > 0) this.closeBlock();
    const parts = this.parts;
    const head = this.head;
    const hash = await this.hasher.hex();
    this.discard();
    if (hash !== this.hash) return { ok: false, failure: 'hash-mismatch' };
    return { ok: true, blob: new Blob(parts), head };
  }

  discard(): void {
    this.parts = [];
    this.block = new Uint8Array(0);
    this.filled = 0;
  }

  /** Hashes the block and copies it into a Blob (both copy now), then reuses the buffer. */
  private closeBlock(): void {
    const full = this.block.subarray(0, this.filled);
    if (this.parts.length === 0) this.head = full.slice(0, HEAD_BYTES);
    this.hasher.add(full);
    this.parts.push(new Blob([full as Uint8Array<ArrayBuffer>]));
    this.filled = 0;
  }
}
