// What the person does with private rooms, and what the server answers about them:
// passphrases typed and asked for, joins with the verifier, the owner's passphrase
// change, and room messages sealed on the way out and opened on the way in. The
// secrets themselves live in PrivateRooms; the Session routes frames and commands here.
import { ErrorCode, type ClientFrame, type ServerFrame, type ServerFrameOf } from '../../signal-server/protocol.ts';
import { RoomSealError } from '../crypto/room-key.ts';
import { errorSentence } from '../net/close-reasons.ts';
import type { PendingMessage } from '../storage/outbox.ts';
import { PrivateRooms } from './private-rooms.ts';
import type { Store } from './store.ts';

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
  /** A sealed room message opened: show it like any other. */
  show(frame: ServerFrameOf<'message'>, text: string, kind: 'text' | 'action'): void;
}

export class PrivateRoomFlow {
  private readonly secrets = new PrivateRooms();
  /** Sealed room messages are opened one after another, so they show in the order they came. */
  private opening: Promise<void> = Promise.resolve();

  constructor(private readonly options: PrivateRoomFlowOptions) {}

  private get state() {
    return this.options.store.state;
  }

  load(): Promise<void> {
    return this.secrets.load();
  }

  /** Joins with the room's verifier when this device has one (a public room: none). */
  sendJoin(room: string): void {
    if (this.options.online()) this.options.send({ type: 'join', room, verifier: this.secrets.verifierFor(room) });
  }

  /** Derives the keys from a passphrase just typed, then joins with them. */
  async join(room: string, passphrase: string): Promise<void> {
    const { store } = this.options;
    store.dispatch({ t: 'room-unlocking', room, unlocking: true });
    const prompt = this.state.passphrasePrompt;
    if (prompt?.room === room) store.dispatch({ t: 'passphrase-prompt', prompt: { ...prompt, busy: true, error: undefined } });
    try {
      await this.secrets.prepareJoin(room, passphrase);
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

  /** Seals a queued message for a private room (undefined: the room is public). */
  seal(message: PendingMessage): Promise<string> | undefined {
    const ownKey = this.options.ownKey();
    if (!this.state.rooms[message.room]?.private || !ownKey) return undefined;
    return this.secrets.seal(message.room, ownKey, { cid: message.cid, ts: Date.now(), kind: message.kind, text: message.text });
  }

  /** A sealed room message from the server: shown if it opens, else a line saying why not. */
  open(frame: ServerFrameOf<'message'>): void {
    const { room, sealed, key } = frame;
    if (sealed === undefined || !key) return;
    this.opening = this.opening.then(async () => {
      try {
        const message = await this.secrets.open(room, key, sealed);
        this.options.show(frame, message.text, message.kind);
      } catch (error) {
        const why = error instanceof RoomSealError ? SEAL_FAILURES[error.code] : 'this device has no key for this room';
        this.options.store.dispatch({ t: 'system', room, text: `A message from ${frame.name} was rejected: ${why}.`, ts: Date.now() });
      }
    });
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
      return store.dispatch({ t: 'system', room, text: `You changed the passphrase of #${room}. Everyone else must enter the new one.`, ts: Date.now() });
    }
    await this.secrets.forget(room);
    store.dispatch({ t: 'room-locked', room, sentence: `${by} changed the passphrase of #${room}.` });
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
    await this.secrets.forget(room);
    store.dispatch({ t: 'removed', room, sentence: `#${room} is a public room now, not the private room this device knew, so it forgot that passphrase. Join again to enter the public room.` });
    return true;
  }

  private async change(room: string, passphrase: string): Promise<void> {
    this.options.store.dispatch({ t: 'passphrase-prompt', prompt: { room, mode: 'change', busy: true } });
    const verifier = await this.secrets.prepareChange(room, passphrase);
    if (!this.options.online()) return this.ask(room, 'change', undefined, 'You are offline; try again once connected.');
    this.options.send({ type: 'room-passphrase', room, verifier });
  }

  private ask(room: string, mode: Mode, reason?: string, error?: string): void {
    const current = this.state.passphrasePrompt;
    const keep = current?.room === room && current.mode === mode ? current.reason : undefined;
    this.options.store.dispatch({ t: 'passphrase-prompt', prompt: { room, mode, reason: reason ?? keep, error } });
  }
}
