// The secrets of the private rooms this device is in: derived from passphrases (in a
// worker), confirmed when the server admits the join, kept in IndexedDB, and used to
// seal and open the room's messages. The Session decides what to show.
import { REPLAY_WINDOW_MS, ReplayGuard, deriveRoomSecrets, openRoomMessage, sealRoomMessage, type RoomMessage, type RoomSecrets } from '../crypto/room-key.ts';
import { loadRoomKeys, saveRoomKeys, type RoomKeys } from '../storage/room-keys.ts';
import { loadSeenIds, saveSeenIds, type SeenIds } from '../storage/room-seen.ts';

/** Seen ids are written at most this often (they change with every message). */
const SAVE_SEEN_AFTER_MS = 1000;

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
  private saveSeenTimer?: ReturnType<typeof setTimeout>;
  /** How long each derivation took (ms), for `npm run bench`. */
  readonly kdfTimes: number[] = [];

  async load(): Promise<void> {
    [this.saved, this.remembered] = await Promise.all([loadRoomKeys(), loadSeenIds()]);
  }

  /** The verifier to join with: the one just typed, else the saved one. */
  verifierFor(room: string): string | undefined {
    return (this.pending.get(room) ?? this.saved[room])?.verifier;
  }

  passphraseFor(room: string): string | undefined {
    return this.passphrases.get(room);
  }

  async prepareJoin(room: string, passphrase: string): Promise<void> {
    const secrets = await this.derive(room, passphrase);
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

  async prepareChange(room: string, passphrase: string): Promise<string> {
    const secrets = await this.derive(room, passphrase);
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
    delete this.remembered[room];
    this.scheduleSaveSeen();
    if (!this.saved[room]) return;
    const { [room]: _gone, ...rest } = this.saved;
    this.saved = rest;
    await saveRoomKeys(this.saved);
  }

  async seal(room: string, senderKey: string, message: RoomMessage): Promise<string> {
    return sealRoomMessage(this.keyFor(room), room, senderKey, message);
  }

  /** Opens a sealed message and refuses replays; throws RoomSealError otherwise. */
  async open(room: string, senderKey: string, sealed: string): Promise<RoomMessage> {
    const message = await openRoomMessage(this.keyFor(room), room, senderKey, sealed);
    let guard = this.guards.get(room);
    if (!guard) this.guards.set(room, (guard = new ReplayGuard(Date.now, this.remembered[room])));
    guard.check(senderKey, message);
    this.scheduleSaveSeen();
    return message;
  }

  /** The key a message is sealed and opened with: the room's, or the one just typed for it. */
  private keyFor(room: string): CryptoKey {
    const secrets = this.saved[room] ?? this.pending.get(room);
    if (!secrets) throw new Error(`no key for #${room}`);
    return secrets.key;
  }

  /** Keeps the ids shown lately (inside the replay window), a moment after the last change, for the next page load. */
  private scheduleSaveSeen(): void {
    this.saveSeenTimer ??= setTimeout(() => {
      this.saveSeenTimer = undefined;
      const cutoff = Date.now() - REPLAY_WINDOW_MS;
      const next: SeenIds = {};
      for (const room of new Set([...Object.keys(this.remembered), ...this.guards.keys()])) {
        const kept = this.guards.get(room)?.remembered() ?? this.remembered[room]!.filter(([, ts]) => ts >= cutoff);
        if (kept.length) next[room] = kept;
      }
      this.remembered = next;
      void saveSeenIds({ ...next });
    }, SAVE_SEEN_AFTER_MS);
  }

  private async derive(room: string, passphrase: string): Promise<RoomSecrets> {
    const started = performance.now();
    const secrets = await deriveRoomSecrets(passphrase, room);
    this.kdfTimes.push(performance.now() - started);
    return secrets;
  }
}
