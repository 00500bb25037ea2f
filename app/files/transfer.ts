// File transfers over a whisper link: offer -> accept/decline -> chunks -> end, with the
// size limit enforced as bytes arrive and the SHA-256 checked at the end. The chunks ride
// inside the secure channel; this file only knows a FileLink.
import { toHex } from '../crypto/bytes.ts';

/** Control frames of the file protocol (sent as JSON inside the secure channel). */
export type FileControl =
  | { t: 'file-offer'; fid: number; name: string; size: number; type: string; sha256: string }
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
  /** Sends one chunk (given in pieces); resolves once it is handed to the transport with room for more. */
  chunk(fid: number, pieces: readonly Uint8Array[]): Promise<void>;
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

export async function sha256Hex(data: Blob | BufferSource): Promise<string> {
  const buffer = data instanceof Blob ? await data.arrayBuffer() : data;
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', buffer)));
}

export function randomFileId(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

function progressOf(bytes: number, total: number, startedAt: number): Progress {
  const seconds = Math.max((performance.now() - startedAt) / 1000, 0.001);
  const rate = bytes / seconds;
  return { bytes, total, rate, remaining: rate > 0 ? (total - bytes) / rate : Infinity };
}

/** Sends one file once the other side accepts it. */
export class OutgoingFile {
  private cancelled = false;
  startedAt = 0;

  constructor(
    readonly fid: number,
    readonly file: Blob,
    private readonly link: FileLink,
    private readonly onProgress: (progress: Progress) => void,
  ) {}

  /**
   * Streams the file in chunks with a window of sealed chunks in flight; then `file-end`.
   * The file is read as a stream (several times faster than reading slices as ArrayBuffers
   * here), and a chunk is handed on as the pieces the stream gave, never joined.
   */
  async send(): Promise<void> {
    this.startedAt = performance.now();
    const size = this.file.size;
    const chunkSize = this.link.maxChunkBytes;
    const inFlight: Promise<void>[] = [];
    let sent = 0;
    let lastReport = 0;
    let pieces: Uint8Array[] = [];
    let pending = 0;
    const flush = async () => {
      inFlight.push(this.link.chunk(this.fid, pieces));
      sent += pending;
      pieces = [];
      pending = 0;
      if (inFlight.length >= WINDOW) await inFlight.shift();
      const now = performance.now();
      if (now - lastReport > 150) {
        lastReport = now;
        this.onProgress(progressOf(sent, size, this.startedAt));
      }
    };
    const reader = this.file.stream().getReader();
    try {
      for (;;) {
        if (this.cancelled) return;
        const { value, done } = await reader.read();
        if (done) break;
        for (let offset = 0; offset < value.length; ) {
          const take = Math.min(chunkSize - pending, value.length - offset);
          pieces.push(value.subarray(offset, offset + take));
          pending += take;
          offset += take;
          if (pending === chunkSize) await flush();
          if (this.cancelled) return;
        }
      }
      if (pending > 0) await flush();
    } finally {
      void reader.cancel().catch(() => undefined);
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

/** Files up to this size are received straight into one buffer: no reassembly at the end. */
const PREALLOCATE_MAX_BYTES = 256 * 1024 * 1024;

/** Collects one accepted file, refusing a single byte past what was announced or allowed. */
export class IncomingFile {
  private parts: Uint8Array[] = [];
  private buffer?: Uint8Array<ArrayBuffer>;
  private received = 0;
  private readonly startedAt = performance.now();
  private lastReport = 0;

  constructor(
    readonly fid: number,
    readonly size: number,
    readonly sha256: string,
    private readonly limit: number,
    private readonly onProgress: (progress: Progress) => void,
  ) {
    if (size <= Math.min(limit, PREALLOCATE_MAX_BYTES)) this.buffer = new Uint8Array(size);
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
    if (this.buffer) this.buffer.set(chunk, this.received);
    else this.parts.push(chunk);
    this.received += chunk.length;
    const now = performance.now();
    if (now - this.lastReport > 150 || this.received === this.size) {
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
    const bytes = this.buffer ?? new Uint8Array(await new Blob(this.parts as BlobPart[]).arrayBuffer());
    this.discard();
    if ((await sha256Hex(bytes)) !== this.sha256) return { ok: false, failure: 'hash-mismatch' };
    return { ok: true, blob: new Blob([bytes]), head: bytes.slice(0, 16) };
  }

  discard(): void {
    this.parts = [];
    this.buffer = undefined;
  }
}

/** "3.2 MB", "840 kB": sizes for people. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
