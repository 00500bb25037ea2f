// Every guess throttle of the server, with its numbers from LIMITS: wrong private-room
// passphrases, and wrong admin tokens or server passwords. A throttled attempt is not
// tried, so it does not count as a guess.
import { LIMITS } from './protocol/protocol.ts';

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

/** Who is guessing: the connection (its nonce is unique to it) and its address. */
export interface Guesser {
  readonly nonce: string;
  readonly ip: string;
}

export class GuessThrottles {
  /**
   * Wrong private-room passphrases (their verifiers), per connection, and per address and
   * room: a guesser behind a shared address shuts out only the room it guesses at.
   */
  private readonly passphrasePerConnection: Throttle;
  private readonly passphrasePerIpRoom: Throttle;
  /** Wrong admin tokens and wrong server passwords share one count, per address and per connection. */
  private readonly secretPerIp: Throttle;
  private readonly secretPerConnection: Throttle;

  constructor(now: () => number = Date.now) {
    this.passphrasePerConnection = new Throttle(LIMITS.passphraseGuessesPerConnection, LIMITS.passphraseGuessWindowMs, now);
    this.passphrasePerIpRoom = new Throttle(LIMITS.passphraseGuessesPerIp, LIMITS.passphraseGuessWindowMs, now);
    this.secretPerIp = new Throttle(LIMITS.secretGuessesPerIp, LIMITS.secretGuessWindowMs, now);
    this.secretPerConnection = new Throttle(LIMITS.secretGuessesPerConnection, LIMITS.secretGuessWindowMs, now);
  }

  /** Milliseconds before this guesser may try another passphrase for this room (0: go ahead). */
  passphraseWait(who: Guesser, room: string): number {
    return Math.max(this.passphrasePerConnection.waitFor(who.nonce), this.passphrasePerIpRoom.waitFor(ipRoom(who, room)));
  }

  passphraseFailed(who: Guesser, room: string): void {
    this.passphrasePerConnection.fail(who.nonce);
    this.passphrasePerIpRoom.fail(ipRoom(who, room));
  }

  /** Milliseconds before this guesser may try another admin token or server password (0: go ahead). */
  secretWait(who: Guesser): number {
    return Math.max(this.secretPerIp.waitFor(who.ip), this.secretPerConnection.waitFor(who.nonce));
  }

  secretFailed(who: Guesser): void {
    this.secretPerIp.fail(who.ip);
    this.secretPerConnection.fail(who.nonce);
  }
}

function ipRoom(who: Guesser, room: string): string {
  return `${who.ip}|${room}`;
}
