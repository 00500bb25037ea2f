// The secrets of the private rooms this device is in: derived from passphrases (in a
// worker) with the server's id, confirmed when the server admits the join, kept in
// IndexedDB, and used to seal and open the room's messages. A room whose key this device
// holds is private here, whatever the server says. The Session decides what to show.
import { ReplayGuard, deriveRoomSecrets, newStreamId, openRoomMessage, sealRoomMessage, type RoomMessage, type RoomSecrets } from '../crypto/room-key.ts';
import { loadRoomKeys, saveRoomKeys, type RoomKeys } from '../storage/room-keys.ts';
import { loadSeenIds, saveSeenIds, type SeenIds } from '../storage/room-seen.ts';
import { SenderGaps } from './sender-gaps.ts';

/** An own message about to be sealed: its stream and number are assigned here. */
export type OutgoingRoomMessage = Omit<RoomMessage, 'stream' | 'seq'>;

/** Client ids whose sequence number is remembered, so a resend keeps its number. */
const NUMBERED_KEPT = 1000;

export class PrivateRooms {
  private saved: RoomKeys = {};
  /** Derived from a passphrase just typed; saved once the server admits the join. */
  private readonly pending = new Map<string, RoomSecrets>();
  /** The owner's new passphrase, until the server confirms the change. */
  private readonly changing = new Map<string, RoomSecrets>();
  /** Passphrases typed on this page, for invite links; never stored. */
  private readonly passphrases = new Map<string, string>();
  private readonly guards = new Map<string, ReplayGuard>();
  private remembered: SeenIds = {};
  private readonly gaps = new SenderGaps();
  /** This page's stream of own sealed messages, numbered per room. */
  private readonly stream = newStreamId();
  private readonly nextSeq = new Map<string, number>();
  private readonly numbered = new Map<string, number>();
  /** Seen-id writes: the one not yet started takes every id checked until it starts. */
  private seenWriting: Promise<void> = Promise.resolve();
  private nextSeenWrite?: Promise<void>;
  /** The id of the server we are connected to (from `welcome`). */
  serverId?: string;
  /** How long each derivation took (ms), for `npm run bench`. */
  readonly kdfTimes: number[] = [];

  async load(): Promise<void> {
    [this.saved, this.remembered] = await Promise.all([loadRoomKeys(), loadSeenIds()]);
  }

  /** True when this device holds a key for the room: it is private here, whatever a frame says. */
  holdsKey(room: string): boolean {
    return Boolean(this.saved[room] || this.pending.has(room));
  }

  /**
   * True when the saved key was derived for another server id (an older Wisp, or the
   * server's id changed): the passphrase must be entered again for this server.
   */
  isStale(room: string): boolean {
    const saved = this.saved[room];
    return Boolean(saved && !this.pending.has(room) && this.serverId && saved.server !== this.serverId);
  }

  /** The verifier to join with: the one just typed, else the saved one (unless it is stale). */
  verifierFor(room: string): string | undefined {
    if (this.isStale(room)) return undefined;
    return (this.pending.get(room) ?? this.saved[room])?.verifier;
  }

  passphraseFor(room: string): string | undefined {
    return this.passphrases.get(room);
  }

  async prepareJoin(room: string, passphrase: string, server: string): Promise<void> {
    const secrets = await this.derive(room, passphrase, server);
    this.pending.set(room, secrets);
    this.passphrases.set(room, passphrase);
  }

  /** The server admitted the join: the secrets used are the room's from now on. */
  confirmJoin(room: string): void {
    const secrets = this.pending.get(room);
    if (!secrets) return;
    this.pending.delete(room);
    this.saved = { ...this.saved, [room]: secrets };
    void saveRoomKeys(this.saved);
  }

  /** The server refused the verifier: whatever was used is wrong now. */
  async refused(room: string): Promise<void> {
    if (!this.pending.delete(room)) await this.forget(room);
  }

  async prepareChange(room: string, passphrase: string, server: string): Promise<string> {
    const secrets = await this.derive(room, passphrase, server);
    this.changing.set(room, secrets);
    this.passphrases.set(room, passphrase);
    return secrets.verifier;
  }

  /** The passphrase changed; true when it was this device's change (its new key now applies). */
  confirmChange(room: string): boolean {
    const secrets = this.changing.get(room);
    if (!secrets) return false;
    this.changing.delete(room);
    this.saved = { ...this.saved, [room]: secrets };
    void saveRoomKeys(this.saved);
    return true;
  }

  async forget(room: string): Promise<void> {
    this.pending.delete(room);
    this.changing.delete(room);
    this.passphrases.delete(room);
    this.guards.delete(room);
    this.gaps.forget(room);
    delete this.remembered[room];
    void this.persistSeen();
    if (!this.saved[room]) return;
    const { [room]: _gone, ...rest } = this.saved;
    this.saved = rest;
    await saveRoomKeys(this.saved);
  }

  /** Seals an own message; a resend of the same client id keeps its number. */
  async seal(room: string, senderKey: string, message: OutgoingRoomMessage): Promise<string> {
    const key = this.keyFor(room);
    let seq = this.numbered.get(message.cid);
    if (seq === undefined) {
      seq = this.nextSeq.get(room) ?? 0;
      this.nextSeq.set(room, seq + 1);
      this.numbered.set(message.cid, seq);
      if (this.numbered.size > NUMBERED_KEPT) this.numbered.delete(this.numbered.keys().next().value!);
    }
    return sealRoomMessage(key, room, senderKey, { ...message, stream: this.stream, seq });
  }

  /**
   * Opens a sealed message and refuses replays (throws RoomSealError). Resolves once its id
   * is kept on the device, so a reload cannot bring it back as new; `missing` counts the
   * sender's earlier messages that never arrived here. `recovered`: replayed from the room's
   * history, so it may be old, and what came before it may be gone from the server: it
   * counts towards the sender's numbers but never reports a gap.
   */
  async open(room: string, senderKey: string, sealed: string, recovered = false): Promise<{ message: RoomMessage; missing: number }> {
    const message = await openRoomMessage(this.keyFor(room), room, senderKey, sealed);
    let guard = this.guards.get(room);
    if (!guard) this.guards.set(room, (guard = new ReplayGuard(Date.now, this.remembered[room])));
    guard.check(senderKey, message, recovered);
    const missing = this.gaps.observe(room, senderKey, message.stream, message.seq);
    await this.persistSeen();
    return { message, missing: recovered ? 0 : missing };
  }

  /** The key a message is sealed and opened with: the one just typed for the room, else its saved one. */
  private keyFor(room: string): CryptoKey {
    const secrets = this.pending.get(room) ?? this.saved[room];
    if (!secrets) throw new Error(`no key for #${room}`);
    return secrets.key;
  }

  /** Writes the ids shown lately (inside the replay window); calls while a write waits share it. */
  private persistSeen(): Promise<void> {
    if (this.nextSeenWrite) return this.nextSeenWrite;
    const write = this.seenWriting.then(() => {
      this.nextSeenWrite = undefined;
      const next: SeenIds = {};
      for (const room of new Set([...Object.keys(this.remembered), ...this.guards.keys()])) {
        const kept = this.guards.get(room)?.remembered() ?? new ReplayGuard(Date.now, this.remembered[room]).remembered();
        if (kept.length) next[room] = kept;
      }
      this.remembered = next;
      return saveSeenIds({ ...next });
    });
    this.nextSeenWrite = write;
    this.seenWriting = write.catch(() => undefined);
    return write;
  }

  private async derive(room: string, passphrase: string, server: string): Promise<RoomSecrets> {
    const started = performance.now();
    const secrets = await deriveRoomSecrets(passphrase, room, server);
    this.kdfTimes.push(performance.now() - started);
    return secrets;
  }
}
