// Per-person rate limits for changes that reach the disk (the audit trail, rooms.json):
// topic changes. Keyed by identity key, so a new connection does not start afresh; a
// person whose bucket has refilled is forgotten, so the map holds only the recently active.
import { LIMITS } from './protocol/protocol.ts';
import { TokenBucket } from './protocol/token-bucket.ts';

export class PersonThrottle {
  private readonly buckets = new Map<string, { bucket: TokenBucket; usedAt: number }>();
  private sweptAt: number;

  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweptAt = now();
  }

  /** Time for a whole bucket to refill: after that an entry is as good as new. */
  private get refillMs(): number {
    return Math.ceil((this.burst * 60_000) / this.perMinute);
  }

  /** Takes one change for `key`: 0 when allowed, else the milliseconds to wait. */
  take(key: string): number {
    const now = this.now();
    this.sweep(now);
    let entry = this.buckets.get(key);
    if (!entry) {
      entry = { bucket: new TokenBucket(this.perMinute, this.burst, this.now), usedAt: now };
      this.buckets.set(key, entry);
    }
    entry.usedAt = now;
    return entry.bucket.take();
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    if (now - this.sweptAt < this.refillMs) return;
    this.sweptAt = now;
    for (const [key, entry] of this.buckets) if (now - entry.usedAt >= this.refillMs) this.buckets.delete(key);
  }
}

export class ChangeThrottles {
  readonly topics: PersonThrottle;

  constructor(now: () => number = Date.now) {
    this.topics = new PersonThrottle(LIMITS.topicChangesPerMinute, LIMITS.topicChangesBurst, now);
  }
}
