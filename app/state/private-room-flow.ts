// What the person does with private rooms, and what the server answers about them:
// passphrases typed and asked for, joins with the verifier, the owner's passphrase
// change, and room messages sealed on the way out and opened on the way in. A room whose
// key this device holds is private whatever the server says: a frame that treats it as
// public is refused, and nothing unsealed goes to it or comes from it. The secrets
// themselves live in PrivateRooms; the Session routes frames and commands here.
import { ErrorCode, nameKey, type ClientFrame, type HistoryCursor, type ServerFrame, type ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import { RoomSealError } from '../crypto/room-key.ts';
import { errorSentence } from '../net/close-reasons.ts';
import type { PendingMessage } from '../storage/outbox.ts';
import { PrivateRooms } from './private-rooms.ts';
import type { Arrival } from './recovery.ts';
import type { Store } from './store.ts';
import { stamp } from './stamp.ts';

/** Why a sealed room message was not shown, for people. */
const SEAL_FAILURES = {
  tampered: 'it was altered on the way, or sealed with another key',
  replayed: 'it repeats an earlier message (a replay)',
  malformed: 'it is malformed',
} as const;

type Mode = 'join' | 'change';

export interface PrivateRoomFlowOptions {
  store: Store;
  /** Sends a frame to the server (only called while connected). */
  send(frame: ClientFrame): void;
  online(): boolean;
  ownKey(): string | undefined;
  /** Leaves a room (the tab goes). */
  leave(room: string): void;
  /** Drops the room's unsent messages (its key is gone: they can never be sealed now). */
  discardQueued(room: string): void;
  /** A sealed room message opened: show it like any other (sender and time as authenticated). */
  show(message: OpenedMessage): void;
  /** What the next join of a room says this device has seen of its history. */
  since(room: string): HistoryCursor | undefined;
}

/** `ts`: the time shown (a sealed message's own); `serverTs`: the server's, which purges count. */
export type OpenedMessage = Pick<ServerFrameOf<'message'>, 'room' | 'id' | 'from' | 'name' | 'ts'> & { text: string; kind: 'text' | 'action'; fromKey?: string; arrival: Arrival; serverTs?: number };

export class PrivateRoomFlow {
  private readonly secrets = new PrivateRooms();
  /** Sealed room messages are opened one after another, so they show in the order they came. */
  private opening: Promise<void> = Promise.resolve();
  /** Rooms the server treated as public on this connection (told once, until it answers as private). */
  private readonly contradicted = new Set<string>();
  /** Joins that wait for the server's id (it salts the key derivation). */
  private readonly waitingForServer: ((id: string) => void)[] = [];

  constructor(private readonly options: PrivateRoomFlowOptions) {}

  private get state() {
    return this.options.store.state;
  }

  load(): Promise<void> {
    return this.secrets.load();
  }

  /** The server's welcome: its id salts every private room's keys. */
  onWelcome(serverId: string): void {
    this.secrets.serverId = serverId;
    this.contradicted.clear();
    for (const resolve of this.waitingForServer.splice(0)) resolve(serverId);
  }

  /** True when this device holds the room's key: the room is private here, whatever a frame says. */
  isPrivateHere(room: string): boolean {
    return this.secrets.holdsKey(room);
  }

  /** Joins with the room's verifier when this device has one (a public room: none). */
  sendJoin(room: string): void {
    if (!this.options.online()) return;
    if (this.secrets.isStale(room)) return this.lockStale(room);
    this.options.send({ type: 'join', room, verifier: this.secrets.verifierFor(room), since: this.options.since(room) });
  }

  /** The person opened a room that needs its passphrase again: ask now. */
  onActivate(room: string): void {
    if (!this.state.rooms[room]?.locked || this.state.passphrasePrompt) return;
    this.ask(room, 'join', this.secrets.isStale(room) ? this.staleReason(room) : `#${room} is private. Enter its passphrase.`);
  }

  /** Derives the keys from a passphrase just typed (once the server's id is known), then joins with them. */
  async join(room: string, passphrase: string): Promise<void> {
    const { store } = this.options;
    store.dispatch({ t: 'room-unlocking', room, unlocking: true });
    const prompt = this.state.passphrasePrompt;
    if (prompt?.room === room) store.dispatch({ t: 'passphrase-prompt', prompt: { ...prompt, busy: true, error: undefined } });
    try {
      await this.secrets.prepareJoin(room, passphrase, await this.serverId());
    } catch (error) {
      store.dispatch({ t: 'room-unlocking', room, unlocking: false });
      return this.ask(room, 'join', undefined, `The key for #${room} could not be derived: ${(error as Error).message}`);
    }
    this.sendJoin(room);
  }

  submit(room: string, mode: Mode, passphrase: string): void {
    void (mode === 'change' ? this.change(room, passphrase) : this.join(room, passphrase));
  }

  /** The person closed the passphrase dialog: a room they could not enter goes. */
  cancel(room: string, mode: Mode): void {
    this.options.store.dispatch({ t: 'passphrase-prompt', prompt: undefined });
    if (mode === 'join' && !this.state.rooms[room]?.synced) this.options.leave(room);
  }

  askNewPassphrase(room: string): void {
    this.options.store.dispatch({ t: 'passphrase-prompt', prompt: { room, mode: 'change' } });
  }

  /** Leaves a private room and deletes its keys from this device. */
  async forget(room: string): Promise<void> {
    this.options.leave(room);
    await this.secrets.forget(room);
  }

  /** The passphrase typed for this room on this page, to prefill an invite. */
  knownPassphrase(room: string): string | undefined {
    return this.secrets.passphraseFor(room);
  }

  /** Key derivation times in ms, for `npm run bench`. */
  kdfTimes(): number[] {
    return [...this.secrets.kdfTimes];
  }

  /**
   * Seals a queued message (undefined: the room is public, send it as text). A message
   * queued for a private room, or for a room whose key this device holds, never goes out
   * unsealed: without a key it stays queued.
   */
  seal(message: PendingMessage): Promise<string> | undefined {
    const { room } = message;
    const ownKey = this.options.ownKey();
    if (!this.secrets.holdsKey(room)) {
      return message.sealed || this.state.rooms[room]?.private ? Promise.reject(new Error(`no key for #${room}`)) : undefined;
    }
    if (!ownKey) return Promise.reject(new Error('no identity yet'));
    return this.secrets.seal(room, ownKey, { cid: message.cid, ts: Date.now(), kind: message.kind, text: message.text });
  }

  /**
   * A sealed room message: shown if it opens, under the member its key belongs to and
   * with the time sealed inside it; else a line saying why not.
   */
  open(frame: ServerFrameOf<'message'>, arrival: Arrival): void {
    const { room, sealed, key, from } = frame;
    // Not joined here (a reconnect not yet answered, or answered as public): its member list is not the room's now.
    if (sealed === undefined || !this.state.rooms[room]?.synced) return;
    const name = this.senderName(frame, arrival);
    if (!key || name === undefined) {
      return this.system(room, `A message shown as from ${frame.name} was refused: the server attributed it to someone who did not seal it.`);
    }
    const recovered = arrival !== 'live';
    this.opening = this.opening.then(async () => {
      try {
        const { message, missing } = await this.secrets.open(room, key, sealed, recovered);
        if (missing) this.system(room, missing === 1 ? `A message from ${name} was not delivered to you.` : `${missing} messages from ${name} were not delivered to you.`);
        this.options.show({ room, id: frame.id, from, name, fromKey: key, ts: message.ts, text: message.text, kind: message.kind, arrival, serverTs: frame.ts });
      } catch (error) {
        // A replay of what this device already showed (its cursor lagged behind): nothing new, nothing to say.
        if (recovered && error instanceof RoomSealError && error.code === 'replayed') return;
        const why = error instanceof RoomSealError ? SEAL_FAILURES[error.code] : 'this device has no key for this room';
        this.system(room, `A message from ${name} was rejected: ${why}.`);
      }
    });
  }

  /**
   * Who a sealed message is shown from (undefined: refused). Live, the member list is the
   * one the server sent before this message, and the sender must be in it under that key
   * and name. Replayed from the room's history, the sender may have left or come back
   * under another peer id: the seal names their key, so a member with that key now shows
   * under their current name, anyone else under the name they had then, unless a member
   * with another key goes by that name now (that would show it as theirs).
   */
  private senderName(frame: ServerFrameOf<'message'>, arrival: Arrival): string | undefined {
    const members = Object.values(this.state.rooms[frame.room]!.members);
    if (arrival !== 'live') {
      const sealer = members.find((m) => m.key === frame.key);
      if (sealer) return sealer.name;
      return members.some((m) => nameKey(m.name) === nameKey(frame.name)) ? undefined : frame.name;
    }
    const member = this.state.rooms[frame.room]!.members[frame.from];
    return member?.key === frame.key && member.name === frame.name ? member.name : undefined;
  }

  /**
   * The server's answer to a join. False (and not to be applied) when it contradicts this
   * device: a room whose key it holds, answered as public.
   */
  acceptJoined(frame: ServerFrameOf<'joined'>): boolean {
    if (frame.private || !this.secrets.holdsKey(frame.room)) {
      this.contradicted.delete(frame.room);
      return true;
    }
    this.contradiction(frame.room);
    return false;
  }

  /** True when an unsealed message for this room must not be shown (its key is on this device). */
  refusesPlain(room: string): boolean {
    if (!this.secrets.holdsKey(room)) return false;
    this.contradiction(room);
    return true;
  }

  onJoined(frame: ServerFrameOf<'joined'>): void {
    if (frame.private) this.secrets.confirmJoin(frame.room);
    const prompt = this.state.passphrasePrompt;
    if (prompt?.room === frame.room && prompt.mode === 'join') this.options.store.dispatch({ t: 'passphrase-prompt', prompt: undefined });
  }

  async onPassphraseChanged(room: string, by: string): Promise<void> {
    const { store } = this.options;
    if (this.secrets.confirmChange(room)) {
      store.dispatch({ t: 'passphrase-prompt', prompt: undefined });
      return store.dispatch({ t: 'system', room, text: `You changed the passphrase of #${room}. Everyone else must enter the new one.`, ...stamp() });
    }
    await this.secrets.forget(room);
    store.dispatch({ t: 'room-locked', room, sentence: `${by} changed the passphrase of #${room}.`, ...stamp() });
    this.ask(room, 'join', `${by} changed the passphrase of #${room}. Enter the new one to stay.`);
  }

  /** Answers about a private room's passphrase; true when handled here. */
  async onError(frame: Extract<ServerFrame, { type: 'error' }>): Promise<boolean> {
    const { store } = this.options;
    const prompt = this.state.passphrasePrompt;
    if (prompt?.mode === 'change' && (frame.ref === 'room-passphrase' || frame.ref === prompt.room)) {
      this.ask(prompt.room, 'change', undefined, errorSentence(frame.code, frame.message));
      return true;
    }
    const room = frame.ref;
    if (!room || !this.state.rooms[room]) return false;
    const refusal: Partial<Record<string, [reason?: string, error?: string]>> = {
      [ErrorCode.passphraseRequired]: [`#${room} is private. Enter its passphrase.`],
      [ErrorCode.passphraseWrong]: [undefined, `That passphrase does not open #${room}.`],
      [ErrorCode.throttled]: [undefined, frame.message],
    };
    const refused = refusal[frame.code];
    if (refused) {
      await this.secrets.refused(room);
      store.dispatch({ t: 'room-unlocking', room, unlocking: false });
      this.ask(room, 'join', ...refused);
      return true;
    }
    if (frame.code !== ErrorCode.notPrivate) return false;
    const queued = this.options.store.state.rooms[room]?.lines.some((line) => line.pending);
    this.options.discardQueued(room);
    await this.secrets.forget(room);
    const unsent = queued ? ' Your unsent messages to it were not sent.' : '';
    store.dispatch({ t: 'removed', room, sentence: `#${room} is a public room now, not the private room this device knew, so it forgot that passphrase.${unsent} Join again to enter the public room.` });
    return true;
  }

  private async change(room: string, passphrase: string): Promise<void> {
    const server = this.secrets.serverId;
    if (!this.options.online() || !server) return this.ask(room, 'change', undefined, 'You are offline; try again once connected.');
    this.options.store.dispatch({ t: 'passphrase-prompt', prompt: { room, mode: 'change', busy: true } });
    const verifier = await this.secrets.prepareChange(room, passphrase, server);
    if (!this.options.online()) return this.ask(room, 'change', undefined, 'You are offline; try again once connected.');
    this.options.send({ type: 'room-passphrase', room, verifier });
  }

  /** The server's id, once a welcome has said it. */
  private serverId(): Promise<string> {
    const known = this.secrets.serverId;
    return known ? Promise.resolve(known) : new Promise((resolve) => this.waitingForServer.push(resolve));
  }

  /** A room the server answered as public although this device holds its key: said once, nothing applied. */
  private contradiction(room: string): void {
    if (this.contradicted.has(room)) return;
    this.contradicted.add(room);
    this.system(room, `The server treated #${room} as public, but it is private on this device: messages were not sent, and nothing unsealed from the server is shown.`);
  }

  /** A saved key made for another server id: the room waits for its passphrase again. */
  private lockStale(room: string): void {
    if (!this.state.rooms[room]?.locked) this.options.store.dispatch({ t: 'room-locked', room, sentence: this.staleReason(room), ...stamp() });
    if (this.state.active === room && !this.state.passphrasePrompt) this.ask(room, 'join', this.staleReason(room));
  }

  private staleReason(room: string): string {
    return `Enter the passphrase of #${room} once more: this device's key for it was made for another server (or by an older Wisp), and private room keys are tied to their server.`;
  }

  private system(room: string, text: string): void {
    this.options.store.dispatch({ t: 'system', room, text, ...stamp() });
  }

  private ask(room: string, mode: Mode, reason?: string, error?: string): void {
    const current = this.state.passphrasePrompt;
    const keep = current?.room === room && current.mode === mode ? current.reason : undefined;
    this.options.store.dispatch({ t: 'passphrase-prompt', prompt: { room, mode, reason: reason ?? keep, error } });
  }
}
