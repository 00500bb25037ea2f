// Whisper behaviour: conversations, the peer mesh, trust on first use and verification.
// Owned by the Session, which feeds it server frames and commands.
import { nameKey } from '../../signal-server/protocol/protocol.ts';
import type { Identity } from '../crypto/identity.ts';
import type { Bytes } from '../crypto/bytes.ts';
import { PeerMesh, type MeshPeer } from '../net/peer-mesh.ts';
import type { LinkFailure, LinkFailureCode, LinkPath, PeerLink } from '../net/peer-link.ts';
import { decodePeer, encodePeerFrame, type PeerFrame } from '../net/peer-frames.ts';
import { LazyFileTransfers } from './lazy-files.ts';
import { savePins, trustOf, withPin, type Trust } from '../storage/pins.ts';
import { meetIntroductions, withIntroduction } from '../storage/introductions.ts';
import { mismatchSentence } from './invite.ts';
import { UndeliveredWhispers } from './undelivered-whispers.ts';
import type { ClientFrame } from '../../signal-server/protocol/protocol.ts';
import { whisperTab, type LinkStatus, type Store } from './store.ts';
import { NO_WEBRTC_SENTENCE } from '../net/webrtc-support.ts';

interface Outgoing {
  id: string;
  text: string;
  kind: 'text' | 'action';
  ts: number;
}

type FileFrame = Extract<PeerFrame, { t: `file-${string}` }>;

/** What came from a key the person has not accepted (yet): shown, answered and acted on only once they do. */
interface Waiting {
  whispers: Outgoing[];
  files: FileFrame[];
}

export interface WhisperOptions {
  store: Store;
  identity: Identity;
  send(frame: ClientFrame): boolean;
  notify(title: string, body: string, tab: string): void;
  /** A sentence for the person (the app's notice). */
  notice?(text: string): void;
  fallbackMs?: number;
  /** False in a browser without WebRTC: no link is ever tried, and the conversation says why. */
  webrtc?: boolean;
}

/** How long a link survives its peer being absent from every shared room (reconnects). */
const PRUNE_GRACE_MS = 8000;
/** The most whispers, and file frames, kept per key while the person decides; beyond that they are dropped. */
const MAX_WAITING = 200;
/** Link failures that someone being away explains: once they are gone from our rooms, these are no error. */
const EXPLAINED_BY_ABSENCE: ReadonlySet<LinkFailureCode> = new Set(['connection-lost', 'timeout', 'unanswered', 'away']);

/**
 * Why whispers and files with a key wait for the person (nothing sent, nothing shown or
 * answered), or undefined when they may flow: a change not accepted, a verified contact's
 * change, a safety number found not to match, or (with "Whisper only with verified people")
 * anyone not verified.
 */
type Block = 'changed' | 'changed-verified' | 'mismatch' | 'unverified';

function blockOf(trust: Trust, acceptedChange: boolean | undefined, verifiedOnly: boolean): Block | undefined {
  if (trust === 'verified') return undefined;
  if (trust === 'mismatch' || trust === 'changed-verified') return trust;
  if (trust === 'changed' && !acceptedChange) return 'changed';
  // First use, or a change the person accepted: encrypted, but not verified.
  return verifiedOnly ? 'unverified' : undefined;
}

export class Whispers {
  readonly mesh: PeerMesh;
  readonly files: LazyFileTransfers;
  /** Own whispers without a receipt yet: waiting for a link (the person away, or a key change not yet accepted), on their way, or expired. */
  private readonly undelivered: UndeliveredWhispers;
  /** People whose whispers wait for them to come online: a link is made when they are back. */
  private readonly waitingFor = new Set<string>();
  /** How each conversation's link last closed. */
  private readonly closedWith = new Map<string, LinkFailureCode>();
  /**
   * Whispers and file frames from a key we may not talk to (a change not accepted, or a
   * verified contact not verified again): not shown and not answered (no receipt) until the
   * person accepts the change or verifies again.
   */
  private readonly waiting = new Map<string, Waiting>();
  /** Keys whose "safety number changed" notification was raised: once per key. */
  private readonly warned = new Set<string>();
  /** Keys an invite link contradicted that the person was told about: once per key. */
  private readonly mismatched = new Set<string>();
  private readonly pruneTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Milliseconds from creating each link (the offer) to its secure channel being ready. */
  readonly connectTimes: number[] = [];

  constructor(private readonly options: WhisperOptions) {
    this.undelivered = new UndeliveredWhispers(options.store);
    this.mesh = new PeerMesh({
      identity: options.identity,
      send: options.send,
      iceServers: () => options.store.state.iceServers,
      relayOnly: () => options.store.state.settings.relayOnly,
      peerById: (id) => this.peers().find((p) => p.id === id),
      peerByKey: (key) => this.peers().find((p) => p.key === key),
      sharedRooms: (key) => this.sharedRooms(key),
      fallbackMs: options.fallbackMs,
      onReady: (key, path) => this.onReady(key, path),
      onMessage: (key, plaintext) => this.onMessage(key, plaintext),
      onClosed: (key, failure) => this.onClosed(key, failure),
    });
    this.files = new LazyFileTransfers({
      store: options.store,
      link: (key) => {
        if (!this.available || !this.mayTalkTo(key)) return undefined;
        this.connect(key);
        return this.mesh.get(key);
      },
      name: (key) => this.nameOf(key),
      notify: (title, body, key) => options.notify(title, body, whisperTab(key)),
    });
  }

  private get state() {
    return this.options.store.state;
  }

  private dispatch: Store['dispatch'] = (action) => this.options.store.dispatch(action);

  /** Everyone we can see in our rooms, once each. */
  peers(): MeshPeer[] {
    const seen = new Map<string, MeshPeer>();
    for (const room of Object.values(this.state.rooms)) {
      for (const member of Object.values(room.members)) {
        if (member.key !== this.options.identity.spki && !seen.has(member.key)) seen.set(member.key, member);
      }
    }
    return [...seen.values()];
  }

  sharedRooms(key: string): string[] {
    return Object.values(this.state.rooms)
      .filter((room) => Object.values(room.members).some((m) => m.key === key))
      .map((room) => room.name);
  }

  nameOf(key: string): string {
    return this.state.whispers[key]?.name ?? this.peers().find((p) => p.key === key)?.name ?? 'They';
  }

  trust(key: string): Trust {
    const name = this.state.whispers[key]?.name ?? this.peers().find((p) => p.key === key)?.name;
    return name ? trustOf(this.state.pins, name, key) : 'new';
  }

  /** The key contradicts an invite link's introduction (not a compared safety number). */
  private byInvite(key: string): boolean {
    const name = this.state.whispers[key]?.name ?? this.peers().find((p) => p.key === key)?.name;
    return Boolean(name && this.state.pins[nameKey(name)]?.fingerprint);
  }

  /** Why whispers and files with this key wait for the person, if they do. */
  private blockOf(key: string): Block | undefined {
    return blockOf(this.trust(key), this.state.whispers[key]?.acceptedChange, this.state.settings.verifiedOnly);
  }

  /** Whether whispers and files may flow with this key, both ways, without another click. */
  private mayTalkTo(key: string): boolean {
    return !this.blockOf(key);
  }

  /** Opens (and shows) the conversation with a person we can see. */
  open(key: string): void {
    const peer = this.peers().find((p) => p.key === key);
    const name = peer?.name ?? this.state.whispers[key]?.name;
    if (!name) return;
    this.dispatch({ t: 'whisper-open', key, name, activate: true });
    this.connect(key);
  }

  /** Finds a person by name in our rooms (case-insensitively). */
  findByName(name: string): MeshPeer | undefined {
    const wanted = nameKey(name.replace(/^@/, ''));
    return this.peers().find((p) => nameKey(p.name) === wanted);
  }

  /** Whispers kept on this device from before: their conversations and lines come back, waiting or expired. */
  async load(): Promise<void> {
    for (const key of await this.undelivered.load()) this.waitingFor.add(key);
  }

  whisper(key: string, text: string, kind: 'text' | 'action' = 'text'): void {
    if (!this.available) {
      // Not kept as "waiting": it could never leave this browser.
      this.options.notice?.(NO_WEBRTC_SENTENCE);
      return this.connect(key);
    }
    void this.undelivered.add(key, this.nameOf(key), text, kind);
    this.flush(key);
  }

  /** "Retry" on a whisper that was not delivered: it waits again, with a fresh expiry. */
  retry(id: string): void {
    const key = this.undelivered.retry(id, (k) => this.mesh.get(k));
    if (key) this.flush(key);
  }

  /** Whispers past their expiry say "Not delivered" now (the app came back to the foreground). */
  checkExpiry(): void {
    this.undelivered.checkExpiry();
  }

  /** The person clicked "continue" on a key-change warning for an unverified contact. */
  async acceptChange(key: string): Promise<void> {
    const whisper = this.state.whispers[key];
    // A safety number that did not match is lifted only by one that does.
    if (!whisper || this.trust(key) === 'mismatch') return;
    const pins = withPin(this.state.pins, whisper.name, key, false);
    this.dispatch({ t: 'pins', pins });
    this.dispatch({ t: 'accept-change', key });
    this.release(key);
    await savePins(pins);
    this.flush(key);
  }

  /** The person compared safety numbers and they matched. */
  async markVerified(key: string): Promise<void> {
    const whisper = this.state.whispers[key];
    const name = whisper?.name ?? this.peers().find((p) => p.key === key)?.name;
    if (!name) return;
    const pins = withPin(this.state.pins, name, key, true);
    this.dispatch({ t: 'pins', pins });
    this.release(key);
    await savePins(pins);
    this.flush(key);
  }

  /**
   * Opened an invite link that names its inviter: their key is pinned by fingerprint (see
   * storage/introductions.ts), and checked against everyone we already see.
   */
  introduce(name: string, fingerprint: string): void {
    const pins = withIntroduction(this.state.pins, name, fingerprint);
    this.dispatch({ t: 'pins', pins });
    void savePins(pins);
    this.checkIntroductions();
  }

  /** Members an invite link introduced become verified pins; a name shown with another key than its link's is said at once. */
  private checkIntroductions(): void {
    const peers = this.peers();
    const met = meetIntroductions(this.state.pins, peers);
    if (met) {
      this.dispatch({ t: 'pins', pins: met });
      void savePins(met);
    }
    for (const peer of peers) {
      if (this.mismatched.has(peer.key) || trustOf(this.state.pins, peer.name, peer.key) !== 'mismatch' || !this.byInvite(peer.key)) continue;
      this.mismatched.add(peer.key);
      this.options.notice?.(mismatchSentence(peer.name));
    }
  }

  /**
   * The person compared safety numbers and they did not match: someone may be interfering.
   * Kept on the device; whispers and files with this key wait, both ways, until the person
   * verifies again with a matching number.
   */
  async reportMismatch(key: string): Promise<void> {
    const name = this.state.whispers[key]?.name ?? this.peers().find((p) => p.key === key)?.name;
    if (!name) return;
    const pins = withPin(this.state.pins, name, key, false, true);
    this.dispatch({ t: 'pins', pins });
    await savePins(pins);
    this.flush(key);
  }

  /** "Whisper only with verified people" was turned on or off: what waited may go now, or what would go waits. */
  onPolicyChanged(): void {
    for (const key of [...this.waiting.keys()]) this.release(key);
    for (const key of new Set([...Object.keys(this.state.whispers), ...this.undelivered.keys()])) {
      // A sentence that said why whispers wait goes once they may flow.
      if (this.mayTalkTo(key) && !this.undelivered.hasWaiting(key) && this.state.whispers[key]?.failure) this.dispatch(this.linkStatus(key));
      this.flush(key);
    }
  }

  /** Presence changed: follow renames and close links to people we no longer share a room with. */
  onPresenceChanged(immediate = false): void {
    this.checkIntroductions();
    for (const peer of this.peers()) {
      const whisper = this.state.whispers[peer.key];
      if (whisper && whisper.name !== peer.name) this.dispatch({ t: 'whisper-open', key: peer.key, name: peer.name, activate: false });
    }
    if (this.state.connection.status !== 'online') return;
    // A kick or ban is not someone being away: its sentence stays, even when the link had
    // already dropped (the other side learnt of it first).
    if (immediate) for (const key of Object.keys(this.state.whispers)) if (this.away(key)) this.closedWith.set(key, 'closed');
    // After a server restart people come back one by one: give them a moment before closing.
    // A kick or ban is not a restart: those links close at once.
    for (const key of this.mesh.keys()) {
      const gone = this.sharedRooms(key).length === 0;
      if (gone && immediate) {
        clearTimeout(this.pruneTimers.get(key));
        this.pruneTimers.delete(key);
        this.mesh.close(key, { code: 'closed', sentence: `${this.nameOf(key)} no longer shares a room with you.` });
        continue;
      }
      const timer = this.pruneTimers.get(key);
      if (!gone) {
        clearTimeout(timer);
        this.pruneTimers.delete(key);
      } else if (!timer) {
        this.pruneTimers.set(
          key,
          setTimeout(() => {
            this.pruneTimers.delete(key);
            if (this.sharedRooms(key).length) return;
            const name = this.state.whispers[key]?.name ?? 'They';
            this.mesh.close(key, { code: 'away', sentence: `${name} no longer shares a room with you.` });
          }, PRUNE_GRACE_MS),
        );
      }
    }
    // Someone away is no error; whispers waiting for them go out once they are back in a room we share.
    for (const key of new Set([...Object.keys(this.state.whispers), ...this.undelivered.keys()])) {
      if (this.away(key)) this.settleAway(key);
      else if (this.waitingFor.delete(key)) this.onReturn(key);
    }
  }

  /**
   * Someone we kept whispers for is back. A link from before they left may not have noticed
   * yet that their app went away (then whatever it carries is lost): they go out on a new one.
   */
  private onReturn(key: string): void {
    if (!this.undelivered.hasWaiting(key)) return;
    const old = this.mesh.get(key);
    if (old && !old.isClosed) this.mesh.close(key, { code: 'closed', sentence: 'Reconnecting.' });
    this.flush(key);
  }

  /** Drops the current link, if any, and sets up a new one (the person's "Reconnect"). */
  reconnect(key: string): void {
    this.mesh.close(key, { code: 'closed', sentence: 'Reconnecting.' });
    this.dispatch({ t: 'whisper-link', key, link: 'idle' });
    this.connect(key);
    this.flush(key);
  }

  /** The server could not pass our signalling on: that person is gone from our rooms. */
  onUnreachable(peerId: string): void {
    const key = Object.values(this.state.whispers).find((w) => this.peers().find((p) => p.id === peerId && p.key === w.key))?.key;
    if (key) this.mesh.close(key, { code: 'away', sentence: `${this.state.whispers[key].name} is not in any room with you any more.` });
  }

  /**
   * The server refused a relay or signal frame to this person: too much is waiting for their
   * slow connection. The secure channel cannot skip a frame, so the link closes with a
   * sentence (transfers over it fail); a new one starts on the next whisper or file.
   * False when there is no link to them.
   */
  onReceiverBusy(peerId: string): boolean {
    const key = this.peers().find((p) => p.id === peerId)?.key;
    if (!key || !this.mesh.get(key)) return false;
    this.mesh.close(key, { code: 'receiver-busy', sentence: `${this.nameOf(key)}'s connection is too slow right now, so the link was closed; wait a moment and try again.` });
    return true;
  }

  close(): void {
    this.undelivered.stop();
    for (const timer of this.pruneTimers.values()) clearTimeout(timer);
    this.mesh.closeAll();
  }

  /** False in a browser without WebRTC: no whisper or file can go anywhere. */
  get available(): boolean {
    return this.options.webrtc !== false;
  }

  private connect(key: string): void {
    // No WebRTC here: the conversation says so instead of trying.
    if (!this.available) {
      this.dispatch({ t: 'whisper-link', key, link: 'closed', failure: NO_WEBRTC_SENTENCE });
      return;
    }
    if (!this.mayTalkTo(key)) return;
    const existing = this.mesh.get(key);
    if (existing && !existing.isClosed) {
      // Already linked (perhaps set up by the other side while we were blocked): show it as it is.
      this.dispatch({ t: 'whisper-link', key, link: existing.ready ? 'ready' : 'connecting', path: existing.path });
      return;
    }
    const link = this.mesh.connect(key);
    if (!link) {
      // Away: not an error. Whispers to them wait (their lines say so).
      this.closedWith.set(key, 'away');
      this.dispatch({ t: 'whisper-link', key, link: 'closed' });
      return;
    }
    this.dispatch({ t: 'whisper-link', key, link: link.ready ? 'ready' : 'connecting', path: link.path });
  }

  /** Sends the whispers without a receipt that this link has not carried, if trust allows and a link exists or can be made. */
  private flush(key: string): void {
    if (!this.undelivered.hasWaiting(key)) return;
    const block = this.blockOf(key);
    if (block) {
      const name = this.state.whispers[key]?.name ?? 'this person';
      const failure = {
        'changed-verified': `${name}'s safety number changed. Whispers are blocked until you verify ${name} again.`,
        changed: `${name}'s safety number changed. Check with ${name}, then choose Continue to send.`,
        mismatch: this.byInvite(key) ? mismatchSentence(name) : `${name}'s safety number does not match. Whispers are blocked until you verify ${name} again.`,
        unverified: `You whisper only with verified people: your whispers to ${name} wait until you verify ${name}.`,
      }[block];
      this.dispatch({ ...this.linkStatus(key), failure });
      return;
    }
    const link = this.linkNow(key);
    if (!link) return this.settleAway(key);
    this.undelivered.writeAll(key, link);
  }

  /** Online, and the person shares none of our rooms: they are away (a link still open to them is closing). */
  private away(key: string): boolean {
    return this.state.connection.status === 'online' && this.sharedRooms(key).length === 0;
  }

  /** The link to send on now, made if needed; none while the person is away, or while we are offline without a ready one. */
  private linkNow(key: string): PeerLink | undefined {
    if (this.state.connection.status !== 'online') {
      const link = this.mesh.get(key);
      return link?.ready ? link : undefined;
    }
    if (this.away(key)) return undefined;
    this.connect(key);
    const link = this.mesh.get(key);
    return link && !link.isClosed ? link : undefined;
  }

  /** The person is away (or we are offline): their whispers wait, and a lost link to them is no error. */
  private settleAway(key: string): void {
    this.waitingFor.add(key);
    this.undelivered.showWaiting(key);
    const link = this.mesh.get(key);
    const explained = EXPLAINED_BY_ABSENCE.has(this.closedWith.get(key) ?? 'closed');
    if (this.state.whispers[key]?.failure && explained && (!link || link.isClosed) && this.mayTalkTo(key)) {
      this.dispatch({ t: 'whisper-link', key, link: 'closed' });
    }
  }

  private async onReady(key: string, path: LinkPath): Promise<void> {
    const link = this.mesh.get(key);
    if (link) this.connectTimes.push(performance.now() - link.startedAt);
    const peer = this.peers().find((p) => p.key === key);
    const name = peer?.name ?? this.state.whispers[key]?.name ?? 'someone';
    if (trustOf(this.state.pins, name, key) === 'new') {
      // Trust on first use: remember this key for this name.
      const pins = withPin(this.state.pins, name, key, false);
      this.dispatch({ t: 'pins', pins });
      void savePins(pins);
    }
    // A link the other side set up opens no conversation here: its first whisper or file does (onMessage).
    this.dispatch({ t: 'whisper-link', key, link: 'ready', path });
    // A link the other side started for a key behind a change may open (the handshake proved
    // the key); what it brings waits (onMessage), and the conversation keeps saying so.
    const waiting = this.waiting.get(key);
    if (waiting && !this.mayTalkTo(key)) this.dispatch({ ...this.linkStatus(key), failure: this.waitingSentence(key, this.nameOf(key), waiting) });
    this.flush(key);
  }

  private onMessage(key: string, plaintext: Bytes): void {
    const decoded = decodePeer(plaintext);
    if (!decoded) return;
    // Trust first, before anything is shown or answered: the handshake proved the peer
    // holds this key, not that the person accepted the key.
    const allowed = this.mayTalkTo(key);
    if (decoded.kind === 'chunk') {
      // Chunks only feed a transfer the person accepted, which a key behind a change never has.
      if (allowed) this.files.onChunk(key, decoded.fid, decoded.bytes);
      return;
    }
    const frame = decoded.frame;
    if (frame.t === 'receipt') {
      // About our own whisper in this conversation, which only went out while sending was allowed.
      this.dispatch({ t: 'whisper-delivered', key, id: frame.id });
      this.undelivered.delivered(key, frame.id);
      return;
    }
    if (!allowed) return this.hold(key, frame);
    this.openOnArrival(key);
    if (frame.t !== 'whisper') return this.files.onControl(key, frame);
    this.deliver(key, { id: frame.id, text: frame.text, kind: frame.kind, ts: frame.ts }, true);
  }

  /** The first whisper or file from someone opens their conversation (in the background), with the link as it is; a closed tab comes back. */
  private openOnArrival(key: string): void {
    if (this.state.whispers[key] && this.state.order.includes(whisperTab(key))) return;
    this.dispatch({ t: 'whisper-open', key, name: this.nameOf(key), activate: false });
    this.dispatch(this.linkStatus(key));
  }

  /** Shows a whisper and tells the sender it arrived; `notify`: raise a notification for it. */
  private deliver(key: string, message: Outgoing, notify: boolean): void {
    this.mesh.get(key)?.send(encodePeerFrame({ t: 'receipt', id: message.id })).catch(() => undefined);
    // Sent again because our receipt was lost on the way: answered again, shown once.
    if (this.state.whispers[key]?.lines.some((l) => l.key === message.id && !l.own)) return;
    this.dispatch({ t: 'whisper-in', key, ...message });
    if (!notify) return;
    const name = this.nameOf(key);
    this.options.notify(`Whisper from ${name}`, message.kind === 'action' ? `* ${name} ${message.text}` : message.text, whisperTab(key));
  }

  /** Keeps what a key we may not talk to (a change, a mismatch, not verified) sent, unseen and unanswered, and says that something waits. */
  private hold(key: string, frame: Exclude<PeerFrame, { t: 'receipt' }>): void {
    const name = this.nameOf(key);
    this.openOnArrival(key);
    let waiting = this.waiting.get(key);
    if (!waiting) this.waiting.set(key, (waiting = { whispers: [], files: [] }));
    if (frame.t === 'whisper') {
      if (waiting.whispers.length < MAX_WAITING && !waiting.whispers.some((m) => m.id === frame.id)) {
        waiting.whispers.push({ id: frame.id, text: frame.text, kind: frame.kind, ts: frame.ts });
      }
    } else if (waiting.files.length < MAX_WAITING) {
      waiting.files.push(frame);
    }
    this.dispatch({ ...this.linkStatus(key), failure: this.waitingSentence(key, name, waiting) });
    if (!this.warned.has(key)) {
      this.warned.add(key);
      // Nothing of what was sent: only why it waits.
      const block = this.blockOf(key);
      const title = block === 'mismatch' ? `${name}'s safety number does not match` : block === 'unverified' ? `${name} is not verified yet` : `${name}'s safety number changed`;
      this.options.notify(title, '', whisperTab(key));
    }
  }

  private waitingSentence(key: string, name: string, waiting: Waiting): string {
    const offers = waiting.files.filter((f) => f.t === 'file-offer').length;
    const whispers = waiting.whispers.length;
    const parts = [whispers === 1 ? 'a whisper' : whispers > 1 ? `${whispers} whispers` : '', offers === 1 ? 'a file' : offers > 1 ? `${offers} files` : ''].filter(Boolean);
    const what = parts.length ? parts.join(' and ') : 'a message';
    const many = whispers + offers > 1;
    const subject = `${what[0].toUpperCase()}${what.slice(1)} ${many ? 'are' : 'is'} waiting`;
    const it = many ? 'them' : 'it';
    switch (this.blockOf(key)) {
      case 'mismatch':
        return this.byInvite(key) ? `${mismatchSentence(name)} ${subject}.` : `${name}'s safety number does not match. ${subject}: verify ${name} again to see ${it}.`;
      case 'unverified':
        return `You whisper only with verified people. ${subject}: verify ${name} to see ${it}.`;
      case 'changed-verified':
        return `${name}'s safety number changed. ${subject}: verify ${name} again to see ${it}.`;
      default:
        return `${name}'s safety number changed. ${subject}: check with ${name}, then choose Continue to see ${it}.`;
    }
  }

  /** The person accepted the change or verified again: what waited is shown and answered, in order. */
  private release(key: string): void {
    const waiting = this.waiting.get(key);
    if (!waiting || !this.mayTalkTo(key)) return;
    this.waiting.delete(key);
    // Receipts (and answers to file offers) need a link: the one that brought them, or a new
    // one. connect() also shows the link's state, without the "waiting" sentence.
    this.connect(key);
    for (const message of waiting.whispers) this.deliver(key, message, false);
    for (const frame of waiting.files) this.files.onControl(key, frame);
  }

  /** The link's real state, for a whisper-link update that only changes the sentence. */
  private linkStatus(key: string): { t: 'whisper-link'; key: string; link: LinkStatus; path?: LinkPath } {
    const link = this.mesh.get(key);
    if (!link || link.isClosed) return { t: 'whisper-link', key, link: 'closed' };
    return link.ready ? { t: 'whisper-link', key, link: 'ready', path: link.path } : { t: 'whisper-link', key, link: 'connecting' };
  }

  private onClosed(key: string, failure: LinkFailure): void {
    if (!this.state.whispers[key]) return;
    // An old link closing after a new one replaced it says nothing about the new one.
    const current = this.mesh.get(key);
    if (current && !current.isClosed) return;
    this.files.onLinkClosed(key);
    // The sender's app fails its offers when the link closes, so held file frames are void
    // now; held whispers stay (their receipts go out on a new link once the person decides).
    const waiting = this.waiting.get(key);
    if (waiting) {
      waiting.files = [];
      if (!waiting.whispers.length) this.waiting.delete(key);
    }
    this.closedWith.set(key, failure.code);
    const reconnecting = failure.code === 'closed' && failure.sentence === 'Reconnecting.';
    // Someone leaving is the normal case of someone being away, not an error.
    const away = failure.code === 'away' || (EXPLAINED_BY_ABSENCE.has(failure.code) && this.away(key));
    this.dispatch({ t: 'whisper-link', key, link: 'closed', failure: reconnecting || away ? undefined : failure.sentence });
    if (away || this.state.connection.status !== 'online') this.settleAway(key);
  }
}
