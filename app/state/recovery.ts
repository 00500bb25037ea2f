// Where each room's history stands on this device, and which incoming room messages are
// recovered rather than live. A cursor per room (the server's history epoch and the last
// sequence number seen in it) is set by `joined`, moved on by each message and own ack,
// kept in IndexedDB, and sent with the next join so the server replays what was missed.
// The messages a join recovers follow its `joined`, numbered up to the `seq` it gave.
import type { HistoryCursor, ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import { loadClosedEpochs, loadRoomCursors, saveClosedEpochs, saveRoomCursors, type RoomCursors } from '../storage/room-cursors.ts';

type History = ServerFrameOf<'joined'>['history'];

/**
 * How a room message reached this device: `live` as it was said, `missed` replayed to a
 * member coming back, `history` shown to a new member from before they joined.
 */
export type Arrival = 'live' | 'missed' | 'history';

export class RoomRecovery {
  private cursors: RoomCursors = {};
  /** Per room, what the latest `joined` on this connection said: messages up to `seq` are replayed. */
  private readonly replayed = new Map<string, { seq: number; arrival: Exclude<Arrival, 'live'> }>();
  /** Cursor writes: one at a time, the latest values each time (a replay moves them hundreds of times). */
  private writing?: Promise<void>;
  private dirty = false;

  /**
   * Epochs this device was connected to until their server stopped (its close came after
   * every message it had relayed): a cursor of one of them missed nothing of it.
   */
  private closedEpochs = new Set<string>();

  async load(): Promise<void> {
    [this.cursors, this.closedEpochs] = await Promise.all([loadRoomCursors(), loadClosedEpochs().then((e) => new Set(e))]);
  }

  /** What the next join of this room says it has seen (undefined: it joins as a new member). */
  since(room: string): HistoryCursor | undefined {
    return this.cursors[room];
  }

  /**
   * The server's answer to a join: where the room's history stands now. True when some of
   * what this device missed is gone: the server says so for its own epoch; a cursor of an
   * earlier epoch lost what came after it unless this device saw that server stop.
   */
  onJoined(room: string, history: History): boolean {
    const before = this.cursors[room];
    const lost = Boolean(history.missed) || (before !== undefined && before.epoch !== history.epoch && !this.closedEpochs.has(before.epoch));
    this.replayed.set(room, { seq: history.seq, arrival: before ? 'missed' : 'history' });
    this.cursors = { ...this.cursors, [room]: { epoch: history.epoch, seq: history.seq } };
    this.persist();
    return lost;
  }

  /**
   * The server said it is stopping, on a connection that had joined these rooms: every
   * message it relayed came before that close, so their cursors are complete for their epoch.
   */
  onServerStopped(): Promise<void> {
    const complete = [...this.replayed.keys()].map((room) => this.cursors[room]?.epoch).filter((e): e is string => e !== undefined);
    // Only the epochs some cursor still names are worth keeping.
    const named = new Set(Object.values(this.cursors).map((c) => c.epoch));
    this.closedEpochs = new Set([...this.closedEpochs, ...complete].filter((e) => named.has(e)));
    return saveClosedEpochs([...this.closedEpochs]).catch((error: unknown) => console.warn('wisp: saving where room histories stand failed:', error));
  }

  /** A room message: how it arrived; the cursor moves past it. */
  onMessage(room: string, seq: number): Arrival {
    const replay = this.replayed.get(room);
    this.advance(room, seq);
    return replay && seq <= replay.seq ? replay.arrival : 'live';
  }

  /** The server numbered an own message: this device has it. */
  onOwnMessage(room: string, seq: number): void {
    this.advance(room, seq);
  }

  /** The room is left (or ended): coming back later is joining as a new member. */
  forget(room: string): void {
    this.replayed.delete(room);
    if (!this.cursors[room]) return;
    const { [room]: _gone, ...rest } = this.cursors;
    this.cursors = rest;
    this.persist();
  }

  /** Off the server: the next `joined` of each room says again what is replayed. */
  onDisconnect(): void {
    this.replayed.clear();
  }

  private advance(room: string, seq: number): void {
    const cursor = this.cursors[room];
    // Only numbers of the epoch a `joined` on this connection gave (a refused one gave none).
    if (!cursor || !this.replayed.has(room) || seq <= cursor.seq) return;
    this.cursors = { ...this.cursors, [room]: { epoch: cursor.epoch, seq } };
    this.persist();
  }

  private persist(): void {
    this.dirty = true;
    if (this.writing) return;
    this.writing = this.writeWhileDirty()
      .catch((error: unknown) => console.warn('wisp: saving where room histories stand failed:', error))
      .finally(() => (this.writing = undefined));
  }

  private async writeWhileDirty(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      await saveRoomCursors(this.cursors);
    }
  }
}
