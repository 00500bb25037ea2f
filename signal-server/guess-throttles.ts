// Every guess throttle of the server, with its numbers from LIMITS: wrong private-room
// passphrases, and wrong admin tokens or server passwords. A throttled attempt is not
// tried, so it does not count as a guess. In cluster mode the counts per identity, per
// address and per address and room are shared by every node (SharedCounts, in Redis);
// only then is a wait a promise. The counts per connection stay on its node.
import { LIMITS } from './protocol/protocol.ts';

/** Failure counts every cluster node shares; each key's window starts at its first failure. */
export interface SharedCounts {
  /** Failures under each key within its window, and the milliseconds left of that window. */
  read(keys: readonly string[]): Promise<{ count: number; leftMs: number }[]>;
  /** Counts one failure under each key. */
  fail(keys: readonly string[], windowMs: number): Promise<void>;
}

/** The wait a shared count asks for: the rest of its window once the limit is reached. */
function sharedWait(shared: { count: number; leftMs: number }, limit: number): number {
  return shared.count >= limit ? Math.max(shared.leftMs, 1) : 0;
}

function reportShared(error: unknown): void {
  console.error(`wisp: could not count a wrong guess in Redis: ${(error as Error).message}`);
}

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

  constructor(
    now: () => number,
    private readonly secret: Secret,
    private readonly shared?: SharedCounts,
  ) {
    this.perConnection = new Throttle(LIMITS.secretGuessesPerConnection, LIMITS.secretGuessWindowMs, now);
    this.perIdentity = new Throttle(LIMITS.secretGuessesPerIdentity, LIMITS.secretGuessWindowMs, now);
    this.perIp = new Throttle(LIMITS.secretGuessesPerIp, LIMITS.secretGuessWindowMs, now);
  }

  wait(who: Guesser): number | Promise<number> {
    return this.shared ? this.waitShared(who, this.shared) : this.localWait(who);
  }

  /** This node's own counts: the whole answer on one node, the fallback while Redis is away. */
  private localWait(who: Guesser): number {
    const own = Math.max(this.perConnection.waitFor(who.nonce), this.perIdentity.waitFor(who.key));
    if (own > 0) return own;
    return this.outer(who, this.perIp.waitFor(who.ip), this.perIdentity.count(who.key));
  }

  /** Past the address bound only a clean identity on a clean connection may try (see above). */
  private outer(who: Guesser, outer: number, identityCount: number): number {
    if (outer === 0) return 0;
    const clean = identityCount === 0 && this.perConnection.count(who.nonce) === 0;
    return clean ? 0 : outer;
  }

  /** The same rule on the cluster's counts per identity and address. */
  private async waitShared(who: Guesser, shared: SharedCounts): Promise<number> {
    let counts;
    try {
      counts = await shared.read([this.sharedKey('id', who.key), this.sharedKey('ip', who.ip)]);
    } catch (error) {
      reportShared(error);
      return this.localWait(who);
    }
    const [identity, address] = counts as [{ count: number; leftMs: number }, { count: number; leftMs: number }];
    const own = Math.max(this.perConnection.waitFor(who.nonce), sharedWait(identity, LIMITS.secretGuessesPerIdentity));
    return own > 0 ? own : this.outer(who, sharedWait(address, LIMITS.secretGuessesPerIp), identity.count);
  }

  failed(who: Guesser): void {
    this.perConnection.fail(who.nonce);
    this.perIdentity.fail(who.key);
    this.perIp.fail(who.ip);
    this.shared?.fail([this.sharedKey('id', who.key), this.sharedKey('ip', who.ip)], LIMITS.secretGuessWindowMs).catch(reportShared);
  }

  private sharedKey(kind: 'id' | 'ip', value: string): string {
    return `${this.secret}:${kind}:${value}`;
  }

  /** Keys remembered by each count (for tests). */
  get sizes(): { connections: number; identities: number; addresses: number } {
    return { connections: this.perConnection.size, identities: this.perIdentity.size, addresses: this.perIp.size };
  }
}

/** A wait: a number on one node, a promise when the cluster's shared counts answer. */
export type Wait<Shared extends SharedCounts | undefined> = Shared extends SharedCounts ? Promise<number> : number;

export class GuessThrottles<Shared extends SharedCounts | undefined = undefined> {
  /**
   * Wrong private-room passphrases (their verifiers), per connection, and per address and
   * room: a guesser behind a shared address shuts out only the room it guesses at.
   */
  private readonly passphrasePerConnection: Throttle;
  private readonly passphrasePerIpRoom: Throttle;
  private readonly secrets: Record<Secret, SecretThrottle>;

  /** `shared`: cluster mode, the counts every node shares; absent, this process's alone (and every wait is a number). */
  constructor(
    now: () => number = Date.now,
    private readonly shared?: Shared,
  ) {
    this.passphrasePerConnection = new Throttle(LIMITS.passphraseGuessesPerConnection, LIMITS.passphraseGuessWindowMs, now);
    this.passphrasePerIpRoom = new Throttle(LIMITS.passphraseGuessesPerIp, LIMITS.passphraseGuessWindowMs, now);
    this.secrets = { 'admin-token': new SecretThrottle(now, 'admin-token', shared), password: new SecretThrottle(now, 'password', shared) };
  }

  /** Milliseconds before this guesser may try another passphrase for this room (0: go ahead). */
  passphraseWait(who: Pick<Guesser, 'nonce' | 'ip'>, room: string): Wait<Shared> {
    const local = Math.max(this.passphrasePerConnection.waitFor(who.nonce), this.passphrasePerIpRoom.waitFor(ipRoom(who, room)));
    if (!this.shared) return local as Wait<Shared>;
    return this.shared.read([`passphrase:${ipRoom(who, room)}`]).then(
      ([shared]) => Math.max(this.passphrasePerConnection.waitFor(who.nonce), sharedWait(shared!, LIMITS.passphraseGuessesPerIp)),
      (error: unknown) => (reportShared(error), local),
    ) as Wait<Shared>;
  }

  passphraseFailed(who: Pick<Guesser, 'nonce' | 'ip'>, room: string): void {
    this.passphrasePerConnection.fail(who.nonce);
    this.passphrasePerIpRoom.fail(ipRoom(who, room));
    this.shared?.fail([`passphrase:${ipRoom(who, room)}`], LIMITS.passphraseGuessWindowMs).catch(reportShared);
  }

  /** Milliseconds before this guesser may try this secret again (0: go ahead). */
  secretWait(secret: Secret, who: Guesser): Wait<Shared> {
    return this.secrets[secret].wait(who) as Wait<Shared>;
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
