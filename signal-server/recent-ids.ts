// Remembers the last client message ids of each identity, so a message resent after a
// reconnect is acknowledged again instead of sent twice. Its numbers are in LIMITS.
import { LIMITS } from './protocol/protocol.ts';

interface Sent {
  id: string;
  ts: number;
  seq: number;
}

export class RecentMessageIds {
  private readonly byKey = new Map<string, Map<string, Sent>>();
  private readonly releasedAt = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), LIMITS.recentIdsSweepMs);
    this.sweeper.unref();
  }

  get(key: string, cid: string): Sent | undefined {
    return this.byKey.get(key)?.get(cid);
  }

  /** The identity connected (again): keep its ids while it stays. */
  acquire(key: string): void {
    this.releasedAt.delete(key);
  }

  set(key: string, cid: string, sent: Sent): void {
    let ids = this.byKey.get(key);
    if (!ids) {
      ids = new Map();
      this.byKey.set(key, ids);
    }
    ids.set(cid, sent);
    if (ids.size > LIMITS.recentIdsPerIdentity) ids.delete(ids.keys().next().value!);
  }

  /** The identity disconnected: keep its ids a while for its reconnect. */
  release(key: string): void {
    if (this.byKey.has(key)) this.releasedAt.set(key, this.now());
  }

  sweep(): void {
    const cutoff = this.now() - LIMITS.recentIdsKeepMs;
    for (const [key, at] of this.releasedAt) {
      if (at > cutoff) continue;
      this.releasedAt.delete(key);
      this.byKey.delete(key);
    }
  }
}
