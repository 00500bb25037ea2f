// Room messages on their way out: kept in the IndexedDB outbox until acknowledged, sent
// in order within the server's rate as soon as the room is joined, and resent after a
// reconnect (the server dedupes by client id). Whoever comes back to the room later gets
// them from the room's history on the server. Messages to a private room are sealed with
// its key just before they go out; one typed there is marked so, and never goes out
// unsealed.
import type { ClientFrame, WireLimits } from '../../signal-server/protocol/protocol.ts';
import { TokenBucket } from '../../signal-server/protocol/token-bucket.ts';
import { Outbox, type PendingMessage } from '../storage/outbox.ts';
import type { Store } from './store.ts';

export class RoomSender {
  private readonly outbox = new Outbox();
  /** Client ids sent on this connection and not yet acknowledged. */
  private readonly inFlight = new Set<string>();
  private bucket?: TokenBucket;
  private timer?: ReturnType<typeof setTimeout>;
  private online = false;
  /** Sealed frames go out in the order their messages were queued. */
  private sealing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly send: (frame: ClientFrame) => boolean,
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

  onJoined(): void {
    this.pump();
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

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pump(), ms);
  }
}
