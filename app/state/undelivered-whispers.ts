// Own whispers that have no delivery receipt yet. They are kept on the device
// (storage/whisper-outbox.ts), so a reload keeps them; each is written at most once per link;
// while no link can carry them they wait for their person, and past the person's expiry
// setting they say "Not delivered" until Retry. Which link, and whether trust allows it, is
// whispers.ts's.
import type { PeerLink } from '../net/peer-link.ts';
import { encodePeerFrame } from '../net/peer-frames.ts';
import { WhisperOutbox, type WaitingWhisper } from '../storage/whisper-outbox.ts';
import type { Store } from './store.ts';

/** The longest the expiry check sleeps: a clock that jumped or a device that slept is noticed within this. */
const EXPIRY_CHECK_MAX_MS = 60 * 60_000;

export class UndeliveredWhispers {
  private readonly outbox = new WhisperOutbox();
  /** The whispers already written on each link (a new link carries what still has no receipt). */
  private readonly sentOn = new WeakMap<PeerLink, Set<string>>();
  private expiryTimer?: ReturnType<typeof setTimeout>;

  constructor(private readonly store: Store) {}

  /** What was kept from before: conversations and lines come back, waiting or expired. Resolves with the keys still waited for. */
  async load(): Promise<string[]> {
    const now = Date.now();
    const waiting = new Set<string>();
    for (const w of await this.outbox.load()) {
      if (!this.store.state.whispers[w.key]) this.store.dispatch({ t: 'whisper-open', key: w.key, name: w.name, activate: false });
      const expired = w.expired || w.expiresAt <= now;
      if (expired && !w.expired) void this.outbox.update(w.id, { expired: true });
      this.store.dispatch({ t: 'whisper-out', key: w.key, id: w.id, text: w.text, kind: w.kind, ts: w.ts, status: expired ? 'expired' : 'waiting' });
      if (!expired) waiting.add(w.key);
    }
    this.scheduleExpiry();
    return [...waiting];
  }

  /** A whisper just written: its line, and kept until its receipt. Resolves once it is on the device. */
  add(key: string, name: string, text: string, kind: 'text' | 'action'): Promise<void> {
    const ts = Date.now();
    const message: WaitingWhisper = { id: crypto.randomUUID(), key, name, text, kind, ts, expiresAt: ts + this.store.state.settings.whisperExpiryMs };
    this.store.dispatch({ t: 'whisper-out', key, id: message.id, text, kind, ts });
    const kept = this.outbox.add(message);
    this.scheduleExpiry();
    return kept;
  }

  /** "Retry" on one that was not delivered: it waits again with a fresh expiry. Returns its person's key. */
  retry(id: string, liveLink: (key: string) => PeerLink | undefined): string | undefined {
    const message = this.outbox.get(id);
    if (!message?.expired) return undefined;
    void this.outbox.update(id, { expired: false, expiresAt: Date.now() + this.store.state.settings.whisperExpiryMs });
    // A live link that carried it before its expiry carries it again.
    const link = liveLink(message.key);
    if (link) this.sentOn.get(link)?.delete(id);
    this.store.dispatch({ t: 'whisper-status', key: message.key, id, status: 'sending' });
    this.scheduleExpiry();
    return message.key;
  }

  /** The people with whispers on this device (waiting or expired). */
  keys(): string[] {
    return this.outbox.keys();
  }

  /** Whether any whisper to this person still waits to go out (not expired). */
  hasWaiting(key: string): boolean {
    return this.outbox.forKey(key).some((w) => !w.expired);
  }

  /** Writes on `link`, in order, every whisper to `key` it has not carried; one whose write fails is left for the next link. */
  writeAll(key: string, link: PeerLink): void {
    let sent = this.sentOn.get(link);
    if (!sent) this.sentOn.set(link, (sent = new Set()));
    for (const { id, text, kind, ts, expired } of this.outbox.forKey(key)) {
      if (expired || sent.has(id)) continue;
      sent.add(id);
      this.store.dispatch({ t: 'whisper-status', key, id, status: 'sending' });
      link.send(encodePeerFrame({ t: 'whisper', id, text, kind, ts })).catch(() => sent.delete(id));
    }
  }

  /** No link can carry them now (the person is away, or we are offline): each not expired says it waits. */
  showWaiting(key: string): void {
    for (const { id, expired } of this.outbox.forKey(key)) {
      if (!expired) this.store.dispatch({ t: 'whisper-status', key, id, status: 'waiting' });
    }
  }

  /** Its receipt came from the person it was written for: it no longer waits. */
  delivered(key: string, id: string): void {
    if (this.outbox.get(id)?.key === key) void this.outbox.remove(id);
  }

  /** Whispers whose expiry passed say "Not delivered" (run by a timer, and when the app comes back to the foreground). */
  checkExpiry(): void {
    const now = Date.now();
    for (const message of this.outbox.all()) {
      if (message.expired || message.expiresAt > now) continue;
      // A receipt that still comes marks it delivered; it is not written again until Retry.
      void this.outbox.update(message.id, { expired: true });
      this.store.dispatch({ t: 'whisper-status', key: message.key, id: message.id, status: 'expired' });
    }
    this.scheduleExpiry();
  }

  stop(): void {
    clearTimeout(this.expiryTimer);
  }

  private scheduleExpiry(): void {
    clearTimeout(this.expiryTimer);
    const next = Math.min(...this.outbox.all().filter((w) => !w.expired).map((w) => w.expiresAt));
    if (!Number.isFinite(next)) return;
    this.expiryTimer = setTimeout(() => this.checkExpiry(), Math.max(0, Math.min(next - Date.now(), EXPIRY_CHECK_MAX_MS)));
  }
}
