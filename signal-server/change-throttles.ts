// Per-person rate limits for changes that reach the disk (the audit trail, rooms.json):
// topic changes and room creation. Keyed by identity key, so a new connection does not start afresh; a
// person whose bucket has refilled is forgotten, so the map holds only the recently active.
import { LIMITS } from './protocol/protocol.ts';

export class PersonThrottle {
  /** Per person: tokens left (refilled continuously at perMinute, up to burst) and when last updated. */
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();
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

  /** 0 when `key` may make a change now, else the milliseconds to wait. Takes nothing. */
  wait(key: string): number {
    const tokens = this.refilled(key, this.now());
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) * 60_000) / this.perMinute);
  }

  /** Takes one change for `key`: 0 when allowed, else the milliseconds to wait (and nothing taken). */
  take(key: string): number {
    const wait = this.wait(key);
    if (wait > 0) return wait;
    const now = this.now();
    this.sweep(now);
    this.buckets.set(key, { tokens: this.refilled(key, now) - 1, updatedAt: now });
    return 0;
  }

  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string, now: number): number {
    const entry = this.buckets.get(key);
    if (!entry) return this.burst;
    return Math.min(this.burst, entry.tokens + ((now - entry.updatedAt) * this.perMinute) / 60_000);
  }

  private sweep(now: number): void {
    if (now - this.sweptAt < this.refillMs) return;
    this.sweptAt = now;
    for (const [key, entry] of this.buckets) if (now - entry.updatedAt >= this.refillMs) this.buckets.delete(key);
  }
}

export class ChangeThrottles {
  readonly topics: PersonThrottle;
  readonly roomCreations: PersonThrottle;

  constructor(now: () => number = Date.now) {
    this.topics = new PersonThrottle(LIMITS.topicChangesPerMinute, LIMITS.topicChangesBurst, now);
    this.roomCreations = new PersonThrottle(LIMITS.roomCreationsPerMinute, LIMITS.roomCreationsBurst, now);
  }
}
