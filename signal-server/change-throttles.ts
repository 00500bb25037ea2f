// Per-person rate limits for changes that reach the disk (the audit trail, rooms.json):
// topic changes and room creation. Keyed by identity key, so a new connection does not start afresh; a
// person whose bucket has refilled is forgotten, so the map holds only the recently active.
// In cluster mode the buckets are shared by every node (SharedBuckets, in Redis).
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

/** Cluster mode: token buckets every node shares (in Redis), by bucket name. */
export interface SharedBuckets {
  /** 0 when the bucket has a token (taken when `take`), else the milliseconds to wait. */
  take(bucket: string, perMinute: number, burst: number, take: boolean): Promise<number>;
}

/** What the handlers ask: a number on one node, a promise when the cluster's buckets answer. */
export interface ChangeThrottle {
  wait(key: string): number | Promise<number>;
  take(key: string): number | Promise<number>;
}

/** A person's bucket shared by every node; while Redis is away, this node's own bucket answers. */
class SharedPersonThrottle implements ChangeThrottle {
  private readonly local: PersonThrottle;

  constructor(
    private readonly name: string,
    private readonly perMinute: number,
    private readonly burst: number,
    private readonly shared: SharedBuckets,
    now: () => number,
  ) {
    this.local = new PersonThrottle(perMinute, burst, now);
  }

  wait(key: string): Promise<number> {
    return this.ask(key, false, () => this.local.wait(key));
  }

  take(key: string): Promise<number> {
    // The node's own bucket is kept too, for when Redis is away.
    const local = this.local.take(key);
    return this.ask(key, true, () => local);
  }

  private ask(key: string, take: boolean, fallback: () => number): Promise<number> {
    return this.shared.take(`${this.name}:${key}`, this.perMinute, this.burst, take).catch((error: unknown) => {
      console.error(`wisp: could not read a change limit in Redis: ${(error as Error).message}`);
      return fallback();
    });
  }
}

export class ChangeThrottles {
  readonly topics: ChangeThrottle;
  readonly roomCreations: ChangeThrottle;

  /** `shared`: cluster mode, buckets every node shares; absent, this process's alone (every answer a number). */
  constructor(now: () => number = Date.now, shared?: SharedBuckets) {
    this.topics = shared
      ? new SharedPersonThrottle('topics', LIMITS.topicChangesPerMinute, LIMITS.topicChangesBurst, shared, now)
      : new PersonThrottle(LIMITS.topicChangesPerMinute, LIMITS.topicChangesBurst, now);
    this.roomCreations = shared
      ? new SharedPersonThrottle('room-creations', LIMITS.roomCreationsPerMinute, LIMITS.roomCreationsBurst, shared, now)
      : new PersonThrottle(LIMITS.roomCreationsPerMinute, LIMITS.roomCreationsBurst, now);
  }
}
