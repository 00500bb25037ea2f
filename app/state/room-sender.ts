// Room messages on their way out: kept in the IndexedDB outbox until acknowledged, sent
// in order within the server's rate, resent after a reconnect (the server dedupes by
// client id), and held briefly after a reconnect until the people who were in the room
// are back, because the server relays only to whoever is in the room at that moment.
// Messages to a private room are sealed with its key just before they go out; one typed
// there is marked so, and never goes out unsealed.
import type { ClientFrame, WireLimits } from '../../signal-server/protocol/protocol.ts';
import { TokenBucket } from '../../signal-server/protocol/token-bucket.ts';
import { Outbox, type PendingMessage } from '../storage/outbox.ts';
import type { Store } from './store.ts';

const HOLD_FOR_RETURNING_MS = 10_000;

export class RoomSender {
  private readonly outbox = new Outbox();
  /** Client ids sent on this connection and not yet acknowledged. */
  private readonly inFlight = new Set<string>();
  private bucket?: TokenBucket;
  private timer?: ReturnType<typeof setTimeout>;
  private online = false;
  /** Per room, the identities present when the connection dropped, and until when to wait for them. */
  private readonly returning = new Map<string, { keys: Set<string>; until: number }>();
  /** Sealed frames go out in the order their messages were queued. */
  private sealing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly send: (frame: ClientFrame) => boolean,
    private readonly ownKey: () => string | undefined,
    /** Seals a private room's message (undefined: the room is public). */
    private readonly seal: (message: PendingMessage) => Promise<string> | undefined,
    /** True for a room whose messages must be sealed. */
    private readonly isPrivate: (room: string) => boolean,
  ) {}

  load(): Promise<PendingMessage[]> {
    return this.outbox.load();
  }

  queue(room: string, text: string, kind: 'text' | 'action'): void {
    const message: PendingMessage = { cid: crypto.randomUUID(), room, text, kind, at: Date.now(), ...(this.isPrivate(room) && { sealed: true }) };
    this.store.dispatch({ t: 'pending', ...message });
    void this.outbox.add(message).then(() => this.pump());
  }

  onWelcome(limits: WireLimits): void {
    this.online = true;
    this.inFlight.clear();
    this.bucket = new TokenBucket(limits.sayPerMinute, limits.sayBurst);
  }

  onJoined(room: string): void {
    const waiting = this.returning.get(room);
    if (waiting) waiting.until = Date.now() + HOLD_FOR_RETURNING_MS;
    this.pump();
  }

  onPresence(room: string): void {
    if (this.returning.has(room)) this.pump();
  }

  onAck(cid: string): void {
    this.inFlight.delete(cid);
    void this.outbox.remove(cid);
  }

  /** The server refused a message for its rate: it stays queued and goes out later. Returns false if not ours. */
  onRateLimited(cid: string, retryAfterMs = 1000): boolean {
    if (!this.inFlight.delete(cid)) return false;
    this.schedule(retryAfterMs);
    return true;
  }

  onDisconnect(): void {
    if (this.online) {
      const me = this.ownKey();
      for (const room of Object.values(this.store.state.rooms)) {
        if (!room.synced) continue;
        const keys = new Set(Object.values(room.members).map((m) => m.key));
        if (me) keys.delete(me);
        if (keys.size) this.returning.set(room.name, { keys, until: Infinity });
      }
    }
    this.online = false;
    clearTimeout(this.timer);
  }

  removeRoom(room: string): void {
    void this.outbox.removeRoom(room);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Sends queued messages of synced rooms, in order, within the server's rate. */
  private pump(): void {
    clearTimeout(this.timer);
    if (!this.online || !this.bucket) return;
    for (const message of this.outbox.all()) {
      if (this.inFlight.has(message.cid) || !this.store.state.rooms[message.room]?.synced) continue;
      const holdMs = this.holdFor(message.room);
      if (holdMs > 0) {
        this.schedule(holdMs);
        continue;
      }
      const wait = this.bucket.take();
      if (wait > 0) return this.schedule(wait);
      this.inFlight.add(message.cid);
      this.sendOne(message);
    }
  }

  private sendOne(message: PendingMessage): void {
    const { room, cid } = message;
    const sealed = this.seal(message);
    if (!sealed) {
      this.send({ type: 'say', room, cid, text: message.text, kind: message.kind });
      return;
    }
    this.sealing = this.sealing.then(() => sealed).then(
      (text) => this.inFlight.has(cid) && this.send({ type: 'say', room, cid, sealed: text }),
      // No key (yet): it stays queued for the next pump.
      () => this.inFlight.delete(cid),
    );
  }

  /** How long a room's queue still waits for people to come back after a reconnect (0: not). */
  private holdFor(room: string): number {
    const waiting = this.returning.get(room);
    if (!waiting) return 0;
    const present = new Set(Object.values(this.store.state.rooms[room]?.members ?? {}).map((m) => m.key));
    const left = waiting.until - Date.now();
    if (left <= 0 || [...waiting.keys].every((key) => present.has(key))) {
      this.returning.delete(room);
      return 0;
    }
    return left;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pump(), ms);
  }
}
