// The admin token (only its hash is kept; compared in constant time), throttled
// guessing, and ban matching. Ranks live in protocol.ts: the app shows them too.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Ban } from './store.ts';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newAdminToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Constant-time comparison of a candidate token with the stored hash. */
export function tokenMatches(candidate: string, storedHash: string | undefined): boolean {
  if (!storedHash) return false;
  const a = Buffer.from(hashToken(candidate), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Failed attempts per key (an IP, a connection) within a window; past the limit, wait. */
export class Throttle {
  private failures = new Map<string, number[]>();
  private sweptAt: number;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweptAt = now();
  }

  /** How many keys are remembered (for tests). */
  get size(): number {
    return this.failures.size;
  }

  /** Milliseconds to wait before another attempt from any of these keys (0: go ahead). */
  waitFor(...keys: string[]): number {
    const now = this.now();
    let wait = 0;
    for (const key of keys) {
      const recent = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
      if (recent.length) this.failures.set(key, recent);
      else this.failures.delete(key);
      if (recent.length >= this.limit) wait = Math.max(wait, recent[0] + this.windowMs - now);
    }
    return wait;
  }

  fail(...keys: string[]): void {
    const now = this.now();
    // Keys that never come back (a closed connection, an ended room) are dropped once a
    // window has passed, so the map holds at most about two windows of failures.
    if (now - this.sweptAt >= this.windowMs) {
      this.sweptAt = now;
      for (const [key, times] of this.failures) if (now - times[times.length - 1]! >= this.windowMs) this.failures.delete(key);
    }
    for (const key of keys) this.failures.set(key, [...(this.failures.get(key) ?? []), now]);
  }
}

export function banActive(ban: Ban, now = Date.now()): boolean {
  return ban.until === undefined || ban.until > now;
}

/** The first active ban that applies to this identity or address in this scope (undefined room: server-wide). */
export function findBan(bans: readonly Ban[], who: { key: string; ip: string }, room?: string, now = Date.now()): Ban | undefined {
  return bans.find((ban) => {
    if (!banActive(ban, now)) return false;
    if (ban.room !== room) return false;
    return (ban.key !== undefined && ban.key === who.key) || (ban.ip !== undefined && ban.ip === who.ip);
  });
}
