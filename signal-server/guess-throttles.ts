// Every guess throttle of the server, with its numbers from LIMITS: wrong private-room
// passphrases, and wrong admin tokens or server passwords. A throttled attempt is not
// tried, so it does not count as a guess.
import { LIMITS } from './protocol/protocol.ts';

/** Failed attempts per key (an IP, a connection, an identity) within a window; past the limit, wait. */
export class Throttle {
  private failures = new Map<string, number[]>();
  private sweptAt: number;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys: number = LIMITS.guessThrottleMaxKeys,
  ) {
    this.sweptAt = now();
  }

  /** How many keys are remembered (for tests). */
  get size(): number {
    return this.failures.size;
  }

  /** Failures of this key within the window. */
  count(key: string): number {
    const now = this.now();
    return (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs).length;
  }

  /** Milliseconds to wait before another attempt from any of these keys (0: go ahead). */
  waitFor(...keys: string[]): number {
    const now = this.now();
    let wait = 0;
    for (const key of keys) {
      const recent = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
      if (recent.length) this.failures.set(key, recent);
      else this.failures.delete(key);
      if (recent.length >= this.limit) wait = Math.max(wait, recent[0]! + this.windowMs - now);
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
    for (const key of keys) {
      const times = this.failures.get(key) ?? [];
      // Re-inserted, so the map's order is by last failure: the first key is the stalest.
      this.failures.delete(key);
      // Only the last `limit` failures matter (the wait runs from the oldest of them), so
      // a key that keeps failing (an address past its bound) does not grow.
      this.failures.set(key, [...times, now].slice(-this.limit));
    }
    // A flood of fresh keys within one window: forget the stalest, not the newest.
    for (const key of this.failures.keys()) {
      if (this.failures.size <= this.maxKeys) break;
      this.failures.delete(key);
    }
  }
}

/** Who is guessing: the connection (its nonce is unique to it), its address and its identity key. */
export interface Guesser {
  readonly nonce: string;
  readonly ip: string;
  /** The identity key from hello: one per connection (a second hello is refused). */
  readonly key: string;
}

/** The two server secrets; wrong guesses at one do not count against the other. */
export type Secret = 'admin-token' | 'password';

/**
 * Wrong guesses at one secret. The guesser is stopped by its own counts: per connection,
 * and per identity key (so reconnecting does not help). The per-address count is an
 * outer bound only, and it never stops the first try of an identity with no wrong guess:
 *
 * An address is shared (a club behind one NAT, everyone behind an untrusted proxy), and
 * identities cost nothing to make, so anyone there can push the address past any bound.
 * If the bound stopped every try, a neighbour's guessing (or one flood) would lock out the
 * real admin's right token and every newcomer's right password: the attack this
 * replaces. A right answer cannot be let through without also answering a wrong one, so
 * past the bound each fresh identity keeps exactly one guess, and identities that have
 * guessed wrong (under their own limit) are stopped. A flood thus gets one guess per new
 * connection and hello (at most LIMITS.connectionsPerIp open at once) instead of a full
 * per-identity allowance each. The admin token is 192 random bits, far past guessing;
 * the server password is the operator's, and must be long enough for that rate.
 */
class SecretThrottle {
  private readonly perConnection: Throttle;
  private readonly perIdentity: Throttle;
  private readonly perIp: Throttle;

  constructor(now: () => number) {
    this.perConnection = new Throttle(LIMITS.secretGuessesPerConnection, LIMITS.secretGuessWindowMs, now);
    this.perIdentity = new Throttle(LIMITS.secretGuessesPerIdentity, LIMITS.secretGuessWindowMs, now);
    this.perIp = new Throttle(LIMITS.secretGuessesPerIp, LIMITS.secretGuessWindowMs, now);
  }

  wait(who: Guesser): number {
    const own = Math.max(this.perConnection.waitFor(who.nonce), this.perIdentity.waitFor(who.key));
    if (own > 0) return own;
    const outer = this.perIp.waitFor(who.ip);
    if (outer === 0) return 0;
    const clean = this.perIdentity.count(who.key) === 0 && this.perConnection.count(who.nonce) === 0;
    return clean ? 0 : outer;
  }

  failed(who: Guesser): void {
    this.perConnection.fail(who.nonce);
    this.perIdentity.fail(who.key);
    this.perIp.fail(who.ip);
  }

  /** Keys remembered by each count (for tests). */
  get sizes(): { connections: number; identities: number; addresses: number } {
    return { connections: this.perConnection.size, identities: this.perIdentity.size, addresses: this.perIp.size };
  }
}

export class GuessThrottles {
  /**
   * Wrong private-room passphrases (their verifiers), per connection, and per address and
   * room: a guesser behind a shared address shuts out only the room it guesses at.
   */
  private readonly passphrasePerConnection: Throttle;
  private readonly passphrasePerIpRoom: Throttle;
  private readonly secrets: Record<Secret, SecretThrottle>;

  constructor(now: () => number = Date.now) {
    this.passphrasePerConnection = new Throttle(LIMITS.passphraseGuessesPerConnection, LIMITS.passphraseGuessWindowMs, now);
    this.passphrasePerIpRoom = new Throttle(LIMITS.passphraseGuessesPerIp, LIMITS.passphraseGuessWindowMs, now);
    this.secrets = { 'admin-token': new SecretThrottle(now), password: new SecretThrottle(now) };
  }

  /** Milliseconds before this guesser may try another passphrase for this room (0: go ahead). */
  passphraseWait(who: Pick<Guesser, 'nonce' | 'ip'>, room: string): number {
    return Math.max(this.passphrasePerConnection.waitFor(who.nonce), this.passphrasePerIpRoom.waitFor(ipRoom(who, room)));
  }

  passphraseFailed(who: Pick<Guesser, 'nonce' | 'ip'>, room: string): void {
    this.passphrasePerConnection.fail(who.nonce);
    this.passphrasePerIpRoom.fail(ipRoom(who, room));
  }

  /** Milliseconds before this guesser may try this secret again (0: go ahead). */
  secretWait(secret: Secret, who: Guesser): number {
    return this.secrets[secret].wait(who);
  }

  secretFailed(secret: Secret, who: Guesser): void {
    this.secrets[secret].failed(who);
  }

  /** Keys remembered for one secret (for tests). */
  secretSizes(secret: Secret): { connections: number; identities: number; addresses: number } {
    return this.secrets[secret].sizes;
  }
}

function ipRoom(who: Pick<Guesser, 'ip'>, room: string): string {
  return `${who.ip}|${room}`;
}
