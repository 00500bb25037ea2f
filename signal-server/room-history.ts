// Room history in memory (never on disk): per room a ring of the newest message frames,
// as the serialised bytes that were relayed (a private room's are ciphertext), bounded by
// a count per room, an age, and a byte total across all rooms. Every entry sits in its
// room's queue and in one global list in arrival order, so the globally oldest goes first
// when the byte cap is reached or it is too old: O(1) per message.
import { LIMITS } from './protocol/protocol.ts';

export interface HistoryBounds {
  /** Newest messages kept per room (0: no history). */
  readonly maxMessages: number;
  /** How long a message is kept (0: no history). */
  readonly maxAgeMs: number;
  /** Bytes kept across all rooms, per-entry overhead included (0: no history). */
  readonly maxBytes: number;
}

/**
 * What an entry costs besides its frame's bytes: the entry object, the Buffer view and
 * its own ArrayBuffer (frames are exact-size, unpooled allocations so that a kept frame
 * never keeps a shared 8 KiB pool slab alive). Measured by the server_rss_mb_history_full bench.
 */
export const ENTRY_OVERHEAD_BYTES = 320;

interface Entry {
  readonly ring: Ring;
  readonly seq: number;
  readonly at: number;
  readonly frame: Buffer;
  readonly cost: number;
  older?: Entry;
  newer?: Entry;
}

/** One room's queue, oldest first (a head index instead of shift(), compacted now and then). */
export class Ring {
  entries: Entry[] = [];
  head = 0;

  get size(): number {
    return this.entries.length - this.head;
  }
}

/** What a returning member gets: the frames after its cursor, and whether they are all of them. */
export interface Recovery {
  frames: Buffer[];
  complete: boolean;
}

export class RoomHistory {
  /** The global list in arrival order: oldest is evicted first. */
  private oldest?: Entry;
  private newest?: Entry;
  private bytesKept = 0;
  private entryCount = 0;
  private readonly sweeper?: NodeJS.Timeout;

  constructor(
    private readonly bounds: HistoryBounds,
    private readonly now: () => number = Date.now,
  ) {
    if (!this.enabled) return;
    // Idle rooms get no appends to trigger the lazy age check; the sweep frees them.
    this.sweeper = setInterval(() => this.expire(), Math.min(LIMITS.historySweepMs, bounds.maxAgeMs));
    this.sweeper.unref();
  }

  /** False when any bound is 0: nothing is ever kept. */
  get enabled(): boolean {
    return this.bounds.maxMessages > 0 && this.bounds.maxAgeMs > 0 && this.bounds.maxBytes > 0;
  }

  /** The most messages a room keeps: what `welcome.limits.historyMessages` says. */
  get perRoom(): number {
    return this.enabled ? this.bounds.maxMessages : 0;
  }

  /** Bytes accounted to kept entries (frames plus overhead), across all rooms. */
  get bytes(): number {
    return this.bytesKept;
  }

  get entries(): number {
    return this.entryCount;
  }

  ring(): Ring {
    return new Ring();
  }

  /** Keeps a relayed frame (whose bytes must not change afterwards), evicting what the bounds require. */
  append(ring: Ring, seq: number, frame: Buffer): void {
    if (!this.enabled) return;
    const cost = frame.byteLength + ENTRY_OVERHEAD_BYTES;
    if (cost > this.bounds.maxBytes) return;
    const now = this.now();
    this.expire(now);
    while (ring.size >= this.bounds.maxMessages) this.remove(ring.entries[ring.head]!);
    while (this.bytesKept + cost > this.bounds.maxBytes) this.remove(this.oldest!);
    const entry: Entry = { ring, seq, at: now, frame, cost, older: this.newest };
    if (this.newest) this.newest.newer = entry;
    else this.oldest = entry;
    this.newest = entry;
    ring.entries.push(entry);
    this.bytesKept += cost;
    this.entryCount++;
  }

  /**
   * The frames after `seq`, oldest first; `complete` when the ring holds every message from
   * seq + 1 to `lastSeq` (nothing in between was evicted, or sent while history was off).
   */
  after(ring: Ring, seq: number, lastSeq: number): Recovery {
    this.expire();
    const frames: Buffer[] = [];
    for (let i = this.firstAfter(ring, seq); i < ring.entries.length; i++) frames.push(ring.entries[i]!.frame);
    return { frames, complete: frames.length >= lastSeq - seq };
  }

  /** The newest `count` frames, oldest first. */
  last(ring: Ring, count: number): Buffer[] {
    this.expire();
    const start = Math.max(ring.head, ring.entries.length - count);
    return ring.entries.slice(start).map((e) => e.frame);
  }

  /** Forgets a room's messages (purge, its history turned off, or the room ended). */
  clear(ring: Ring): void {
    while (ring.size > 0) this.remove(ring.entries[ring.head]!);
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /** Evicts what is older than the age bound: the oldest entries are at the global head. */
  private expire(now = this.now()): void {
    const cutoff = now - this.bounds.maxAgeMs;
    while (this.oldest && this.oldest.at <= cutoff) this.remove(this.oldest);
  }

  /** The index of the ring's first entry with a larger seq (binary search: seqs only grow). */
  private firstAfter(ring: Ring, seq: number): number {
    let low = ring.head;
    let high = ring.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (ring.entries[mid]!.seq <= seq) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Removes an entry, which is always its ring's oldest (rings and the global list share one order). */
  private remove(entry: Entry): void {
    const ring = entry.ring;
    ring.entries[ring.head] = undefined as unknown as Entry;
    ring.head++;
    if (ring.head === ring.entries.length) {
      ring.entries = [];
      ring.head = 0;
    } else if (ring.head > 64 && ring.head * 2 > ring.entries.length) {
      ring.entries = ring.entries.slice(ring.head);
      ring.head = 0;
    }
    if (entry.older) entry.older.newer = entry.newer;
    else this.oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.newest = entry.older;
    entry.older = entry.newer = undefined;
    this.bytesKept -= entry.cost;
    this.entryCount--;
  }
}
