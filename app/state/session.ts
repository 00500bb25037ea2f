// The Session owns behaviour: it turns server frames into state, and the person's
// commands into frames. Components only render state and emit events.
import { afterPaint } from '../after-paint.ts';
import { CloseCode, ErrorCode, LOBBY, PROTOCOL_VERSION, checkName, checkRoomName, type ServerFrame, type ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import { loadOrCreateIdentity, signChallenge, type Identity } from '../crypto/identity.ts';
import { requestPersistence } from '../storage/db.ts';
import type { PendingMessage } from '../storage/outbox.ts';
import { RoomSender } from './room-sender.ts';
import { loadProfile, saveProfile, type Profile } from '../storage/profile.ts';
import { SignalClient, type CloseInfo } from '../net/signal-client.ts';
import { closeSentence, errorSentence } from '../net/close-reasons.ts';
import { loadPins } from '../storage/pins.ts';
import { loadSettings, saveSettings, type Settings } from '../storage/settings.ts';
import { takeShared } from '../storage/shared.ts';
import { parseInput, type ModerationCommand } from './commands.ts';
import type { MemberAction } from './moderation.ts';
import { Notifier } from './notifier.ts';
import type { Whispers } from './whispers.ts';
import { LazyWhispers } from './lazy-whispers.ts';
import { Store, whisperKeyOf, type AppState } from './store.ts';
import type { History, ConversationView } from './history.ts';
import { stamp } from './stamp.ts';
import { banLength, banRefusal, reasonClause } from './sentences.ts';
import { SerialQueue } from './serial-queue.ts';
import { PrivateRoomFlow, type OpenedMessage } from './private-room-flow.ts';
import { RoomRecovery } from './recovery.ts';
import type { Invite } from './invite.ts';
import { keyFingerprint } from '../crypto/key-fingerprint.ts';
import { NO_WEBRTC_SENTENCE, hasWebRTC } from '../net/webrtc-support.ts';


export interface SessionOptions {
  url: string;
  /** How long a whisper waits for a data channel before using the server relay. */
  fallbackMs?: number;
  /** The page was opened by the share target: pick up what was shared. */
  shared?: boolean;
}

/** A part of the app that could not be loaded (an update replaced it, or the network is gone). */
const RELOAD = 'That part of Wisp could not be loaded: reload the page and try again.';

export class Session {
  readonly store = new Store();
  private readonly client: SignalClient;
  private readonly privateRooms: PrivateRoomFlow;
  private readonly sender: RoomSender;
  /** Loaded right after the first paint; frames and commands for it wait there until then. */
  private readonly whisperParts: LazyWhispers;
  /** False in a browser without WebRTC: no link is ever made. */
  private readonly webrtc = hasWebRTC();
  private readonly recovery = new RoomRecovery();
  private readonly history: History;
  private welcomed = false;
  /**
   * Leaves sent on this connection whose `left` has not come back: that answer must not
   * close a tab the person opened again meanwhile (the room already left the tabs).
   */
  private readonly leavesUnanswered = new Map<string, number>();
  private applyUpdate?: () => void;
  /** Why the server is about to close with "banned", to show instead of a generic sentence. */
  private bannedNotice?: string;
  private answers?: Promise<typeof import('./moderation-answers.ts')>;
  private moderation?: Promise<typeof import('./moderation.ts')>;
  /** The composer line being handled now, and the /nick line the server has not answered yet: a refusal gives it back. */
  private submitting?: string;
  private renaming?: string;
  /** The rename dialog waiting for the server: told the refusal, or nothing once the name is taken. */
  private renameAnswer?: (refusal?: string) => void;
  private readonly notifier = new Notifier(() => this.state.settings.notifications);
  /**
   * Server frames are handled one after another: each starts when the one before it has
   * finished, even when that one awaited (signing a challenge, private-room storage).
   */
  private readonly frames = new SerialQueue<ServerFrame>(
    (frame) => this.onFrame(frame),
    (error, frame) => console.error(`wisp: handling a ${frame.type} frame failed:`, error),
  );

  /**
   * Loads the identity and everything kept on this device, then connects. The Session it
   * resolves to has all its parts; none waits for something loaded later.
   */
  static async start(options: SessionOptions): Promise<Session> {
    // History on the device is its own chunk (keeps the first load small); it loads while the identity does.
    const [identity, { History }] = await Promise.all([loadOrCreateIdentity(), import('./history.ts')]);
    void requestPersistence();
    const session = new Session(options, identity, History);
    await session.load(options.shared ?? false);
    session.connect();
    return session;
  }

  private constructor(
    options: SessionOptions,
    private readonly identity: Identity,
    HistoryOnDevice: typeof History,
  ) {
    this.client = new SignalClient({
      url: options.url,
      onOpen: () => this.dispatchConnection('connecting'),
      onFrame: (frame) => this.frames.push(frame),
      onClose: (info) => this.onClose(info),
      onInvalidFrame: (problem) => console.warn('wisp: ignored an invalid frame from the server:', problem),
    });
    this.privateRooms = new PrivateRoomFlow({
      store: this.store,
      send: (frame) => void this.client.send(frame),
      online: () => this.welcomed,
      ownKey: () => this.identity.spki,
      leave: (room) => this.leave(room),
      discardQueued: (room) => this.sender.removeRoom(room),
      show: (message) => this.showMessage(message),
      since: (room) => this.recovery.since(room),
    });
    this.sender = new RoomSender(
      this.store,
      (frame) => this.client.send(frame),
      (m) => this.privateRooms.seal(m),
      (room) => this.privateRooms.isPrivateHere(room) || Boolean(this.state.rooms[room]?.private),
    );
    this.whisperParts = new LazyWhispers(
      {
        store: this.store,
        identity,
        send: (frame) => this.client.send(frame),
        notify: (title, body, tab) => this.notifier.notify(title, body, tab),
        notice: (text) => this.notice(text),
        fallbackMs: options.fallbackMs,
        webrtc: this.webrtc,
      },
      () => this.notice(RELOAD),
    );
    this.history = new HistoryOnDevice({ store: this.store, notice: (text) => this.notice(text) });
  }

  get state(): AppState {
    return this.store.state;
  }

  /** The whisper machinery once loaded (tests and benchmarks look at its links). */
  get whispers(): Whispers | undefined {
    return this.whisperParts.now;
  }

  /** What this device kept: name, tabs, unsent messages, pins, settings, private-room keys, where room histories stand, history. */
  private async load(shared: boolean): Promise<void> {
    this.store.dispatch({ t: 'identity', fingerprint: this.identity.fingerprint });
    const [profile, pending, pins, settings] = await Promise.all([loadProfile(), this.sender.load(), loadPins(), loadSettings(), this.privateRooms.load(), this.recovery.load()]);
    this.store.dispatch({ t: 'pins', pins });
    this.store.dispatch({ t: 'settings', settings });
    this.restore(profile, pending);
    await this.history.restore();
    if (shared) this.store.dispatch({ t: 'share', share: await takeShared() });
  }

  private connect(): void {
    this.store.subscribe(persistProfileOnChange(this.store.state));
    this.store.subscribe(onRoomsGone(this.store.state, (room) => this.recovery.forget(room)));
    this.history.watch();
    this.store.subscribe(badgeOnChange(this.notifier));
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState !== 'visible') return;
      this.notifier.setBadge(0);
      // Timers sleep with a phone or a background tab: look at whisper expiries on waking.
      this.whisperParts.run((w) => w.checkExpiry());
    });
    addEventListener('online', () => this.client.retryNow());
    this.client.connect();
    // The app is mounted as soon as start() resolves; the whisper chunk loads after it has painted.
    afterPaint(() => void this.whisperParts.start());
  }

  stop(): void {
    this.sender.stop();
    this.history.stop();
    this.whisperParts.close();
    this.client.stop();
  }

  // ---- commands from the UI -------------------------------------------------

  /** Handles one line from the composer: chat text or a slash command. A refusal's notice carries the line back. */
  submit(input: string): void {
    this.submitting = input;
    try {
      this.run(input);
    } finally {
      this.submitting = undefined;
    }
  }

  private run(input: string): void {
    const command = parseInput(input);
    if (!command) return;
    const room = this.state.active;
    const whisperKey = whisperKeyOf(room);
    switch (command.kind) {
      case 'say':
      case 'me':
        if (!room) return this.notice('Join a room first, for example with /join #lobby.');
        if (whisperKey) return void this.whisperParts.run((w) => w.whisper(whisperKey, command.text, command.kind === 'me' ? 'action' : 'text'));
        return this.queueMessage(room, command.text, command.kind === 'me' ? 'action' : 'text');
      case 'whisper': {
        const returned = this.submitting;
        return void this.whisperParts.run((w) => {
          const peer = w.findByName(command.name);
          if (!peer) return this.notice(`Nobody called ${command.name} is in a room with you.`, returned);
          w.open(peer.key);
          w.whisper(peer.key, command.text);
        });
      }
      case 'nick':
        return this.rename(command.name);
      case 'join':
        return this.join(command.room);
      case 'leave':
        if (!room) return this.notice('You are not in a room.');
        if (whisperKey) return this.closeTab(room);
        return this.leave(room, command.farewell);
      case 'help':
        return this.showHelp(true);
      case 'invalid':
        return this.notice(command.message);
      default:
        // Every other kind is a moderation command: the switch has narrowed `command` to one.
        return this.moderate(command);
    }
  }

  /** Opens or closes the /help panel. */
  showHelp(open: boolean): void {
    this.store.dispatch({ t: 'help', open });
  }

  /** Joins (or creates) a room; with a passphrase, a private one. */
  join(raw: string, passphrase?: string): void {
    const checked = checkRoomName(raw);
    if (!checked.ok) return this.notice(checked.reason);
    const room = checked.value;
    this.store.dispatch({ t: 'open-room', room, activate: true });
    if (passphrase) return void this.privateRooms.join(room, passphrase);
    this.privateRooms.sendJoin(room);
  }

  /**
   * Opened from an invite link: join the room it names, with its passphrase if it has one,
   * and pin its inviter's key (not on the inviter's own device).
   */
  acceptInvite(invite: Invite): void {
    if (invite.problem) this.notice(invite.problem);
    if (invite.from && invite.from.fingerprint !== keyFingerprint(this.identity.spki)) {
      const from = invite.from;
      this.whisperParts.run((w) => w.introduce(from.name, from.fingerprint));
    }
    this.join(invite.room, invite.passphrase);
  }

  /** The passphrase typed for this room on this page, to prefill an invite. */
  knownPassphrase(room: string): string | undefined {
    return this.privateRooms.knownPassphrase(room);
  }

  submitPassphrase(room: string, mode: 'join' | 'change', passphrase: string): void {
    this.privateRooms.submit(room, mode, passphrase);
  }

  cancelPassphrase(room: string, mode: 'join' | 'change'): void {
    this.privateRooms.cancel(room, mode);
  }

  askNewPassphrase(room: string): void {
    this.privateRooms.askNewPassphrase(room);
  }

  /** A room that needs its passphrase again: ask for it. */
  unlockRoom(room: string): void {
    this.privateRooms.onActivate(room);
  }

  /** Leaves a private room and deletes its keys, and what this device kept of it. */
  async forgetRoom(room: string): Promise<void> {
    await Promise.all([this.privateRooms.forget(room), this.history.forget(room)]);
  }

  /** Private-room key derivation times in ms, for `npm run bench`. */
  roomKdfTimes(): number[] {
    return this.privateRooms.kdfTimes();
  }

  leave(room: string, farewell?: string): void {
    this.sender.removeRoom(room);
    // Offline, or the server answers "left": either way the room goes from the tabs now.
    if (this.welcomed) {
      this.client.send({ type: 'leave', room, farewell });
      this.leavesUnanswered.set(room, (this.leavesUnanswered.get(room) ?? 0) + 1);
    }
    this.store.dispatch({ t: 'left', room });
  }

  rename(raw: string): void {
    const checked = checkName(raw);
    if (!checked.ok) return this.notice(checked.reason);
    if (!this.welcomed) return this.notice('You can change your name once you are connected.');
    this.client.send({ type: 'rename', name: checked.value });
    // The server may still refuse it (a taken name): its error gives this line back, once.
    this.renaming = this.submitting;
  }

  /** A rename from the dialog: resolves with the refusal (a sentence), or undefined once the server gave the name. */
  renameFromDialog(raw: string): Promise<string | undefined> {
    const checked = checkName(raw);
    if (!checked.ok) return Promise.resolve(checked.reason);
    if (!this.welcomed) return Promise.resolve('You can change your name once you are connected.');
    this.renameAnswer?.();
    return new Promise((resolve) => {
      this.renameAnswer = resolve;
      this.client.send({ type: 'rename', name: checked.value });
    });
  }

  private answerRename(refusal?: string): boolean {
    const answer = this.renameAnswer;
    this.renameAnswer = undefined;
    answer?.(refusal);
    return Boolean(answer);
  }

  /** The person asked to connect now instead of waiting (or to take over from another tab). */
  reconnect(): void {
    if (this.state.connection.status === 'stopped') this.client.connect();
    else this.client.retryNow();
  }

  activate(room: string): void {
    this.store.dispatch({ t: 'activate', room });
    this.privateRooms.onActivate(room);
  }

  /** The owner (the admin in a persistent room) picked what new members of a room see. */
  setRoomHistory(room: string, newMembers: number): void {
    if (!this.welcomed) return this.notice('Changing the room history needs the connection to the server; try again in a moment.');
    this.client.send({ type: 'room-history', room, newMembers });
  }

  /** Moderation commands: resolve names to peer ids in the current room and send. */
  private moderate(command: ModerationCommand): void {
    if (!this.welcomed) return this.notice('Moderation needs the connection to the server; try again in a moment.');
    // Names resolve in the rooms as they were when the command was typed. The module comes
    // with the first command (moderation is rare: not before the first paint).
    const state = this.state;
    this.moderation ??= import('./moderation.ts');
    this.moderation.then((m) => {
      const result = m.moderationFrame(command, state);
      if ('problem' in result) return this.notice(result.problem);
      this.client.send(result.frame);
    }, () => this.notice(RELOAD));
  }

  /** What the person picked in a member's context menu. */
  memberAction(action: MemberAction, member: { id: string; key: string; name: string }): void {
    const room = this.state.active && this.state.rooms[this.state.active] ? this.state.active : undefined;
    switch (action) {
      case 'whisper':
        return this.openWhisper(member.key);
      case 'op':
      case 'deop':
        if (room) this.client.send({ type: action, room, target: member.id });
        return;
      case 'userinfo':
        this.client.send({ type: 'userinfo', target: member.id });
        return;
    }
  }

  sendPassword(password: string): void {
    this.client.send({ type: 'password', password });
  }

  /** Closes a tab: leaves a room, or hides a whisper conversation. */
  closeTab(tab: string): void {
    const key = whisperKeyOf(tab);
    if (key) this.store.dispatch({ t: 'whisper-close', key });
    else this.leave(tab);
  }

  openWhisper(key: string): void {
    if (key === this.identity.spki) return;
    this.whisperParts.run((w) => w.open(key));
  }

  sendFiles(key: string, files: File[]): void {
    if (!files.length) return;
    if (!this.webrtc) return this.notice(NO_WEBRTC_SENTENCE);
    this.whisperParts.run((w) => w.files.send(key, files));
  }

  /** Sends what another app shared to the chosen person, in a whisper conversation. */
  shareTo(key: string): void {
    const share = this.state.share;
    if (!share) return;
    this.store.dispatch({ t: 'share', share: undefined });
    this.openWhisper(key);
    const text = share.text;
    if (text) this.whisperParts.run((w) => w.whisper(key, text));
    this.sendFiles(key, share.files);
  }

  dismissShare(): void {
    this.store.dispatch({ t: 'share', share: undefined });
  }

  acceptFile(id: string): void {
    this.whisperParts.run((w) => w.files.accept(id));
  }

  declineFile(id: string): void {
    this.whisperParts.run((w) => w.files.decline(id));
  }

  cancelFile(id: string): void {
    this.whisperParts.run((w) => w.files.cancel(id));
  }

  reconnectWhisper(key: string): void {
    this.whisperParts.run((w) => w.reconnect(key));
  }

  /** "Retry" on an own whisper that was not delivered. */
  retryWhisper(id: string): void {
    this.whisperParts.run((w) => w.retry(id));
  }

  /** Whisper link set-up times in ms (offer to secure channel ready), for `npm run bench`. */
  whisperConnectTimes(): number[] {
    return [...(this.whisperParts.now?.connectTimes ?? [])];
  }

  acceptKeyChange(key: string): Promise<void> {
    return this.whisperParts.when((w) => w.acceptChange(key));
  }

  markVerified(key: string): Promise<void> {
    return this.whisperParts.when((w) => w.markVerified(key));
  }

  /** "They don't match" in the verify dialog: that key is blocked until the person verifies again. */
  reportMismatch(key: string): Promise<void> {
    return this.whisperParts.when((w) => w.reportMismatch(key));
  }

  /** The 60-digit safety number shared with a whisper contact. */
  async safetyNumber(key: string): Promise<string> {
    const { safetyNumber } = await import('../crypto/safety-number.ts');
    return safetyNumber(this.identity.spki, key);
  }

  async updateSettings(settings: Settings): Promise<void> {
    if (settings.notifications && !this.state.settings.notifications && !(await Notifier.requestPermission())) {
      this.notice('Notifications are blocked for this site. Allow them in the browser settings, then try again.');
      settings = { ...settings, notifications: false };
    }
    const policyChanged = settings.verifiedOnly !== this.state.settings.verifiedOnly;
    this.store.dispatch({ t: 'settings', settings });
    if (policyChanged) this.whisperParts.run((w) => w.onPolicyChanged());
    await saveSettings(settings);
    await this.history.onSettings();
  }

  /** Where the person is in a conversation, as the message list reports it while they scroll and read. */
  viewChanged(tab: string, view: ConversationView): void {
    this.history.onView(tab, view);
  }

  /** "Load earlier messages": the lines this device holds before the first one shown. */
  loadEarlier(tab: string): Promise<void> {
    return this.history.loadEarlier(tab);
  }

  /** "Clear this conversation": its lines go from the screen and from this device; the tab stays. */
  clearConversation(tab: string): Promise<void> {
    return this.history.clear(tab);
  }

  requestDirectory(): void {
    this.client.send({ type: 'list-rooms' });
  }

  dismissNotice(): void {
    this.store.dispatch({ t: 'dismiss-notice' });
  }

  /** Called by the service-worker glue when a new version is waiting. */
  offerUpdate(apply: () => void): void {
    this.applyUpdate = apply;
    this.store.dispatch({ t: 'update-ready' });
  }

  update(): void {
    this.applyUpdate?.();
  }

  // ---- frames from the server ----------------------------------------------

  private async onFrame(frame: ServerFrame): Promise<void> {
    switch (frame.type) {
      case 'challenge': {
        const sig = await signChallenge(this.identity, frame.nonce);
        const name = this.state.me.name;
        this.client.send({ type: 'hello', v: PROTOCOL_VERSION, key: this.identity.spki, sig, name });
        return;
      }
      case 'welcome':
        this.welcomed = true;
        this.store.dispatch({ t: 'password-accepted' });
        this.sender.onWelcome(frame.limits);
        this.client.markHealthy();
        this.store.dispatch({ t: 'welcome', id: frame.id, name: frame.name, limits: frame.limits, iceServers: frame.iceServers });
        this.dispatchConnection('online');
        this.privateRooms.onWelcome(frame.server.id);
        for (const room of this.state.order) if (this.state.rooms[room]) this.privateRooms.sendJoin(room);
        return;
      case 'joined': {
        if (!this.privateRooms.acceptJoined(frame)) return;
        const { room, history } = frame;
        this.store.dispatch({ t: 'joined', room, members: frame.members, topic: frame.topic, persistent: frame.persistent, private: frame.private, newMembers: history.newMembers });
        // A room left meanwhile (its `left` still on the way) keeps no cursor.
        const lost = this.state.rooms[room] ? this.recovery.onJoined(room, history) : Boolean(history.missed);
        if (lost) this.system('Some messages from while you were away are no longer available.', room);
        this.privateRooms.onJoined(frame);
        if (frame.history.purgedAt !== undefined) void this.history.onPurgedAt(frame.room, frame.history.purgedAt);
        this.presenceChanged();
        return this.sender.onJoined();
      }
      case 'left': {
        const unanswered = this.leavesUnanswered.get(frame.room) ?? 0;
        if (unanswered > 1) this.leavesUnanswered.set(frame.room, unanswered - 1);
        else this.leavesUnanswered.delete(frame.room);
        // Our own leave was applied when it was sent; any other `left` ends the room here.
        if (unanswered === 0) this.store.dispatch({ t: 'left', room: frame.room });
        return this.presenceChanged();
      }
      case 'presence':
        this.store.dispatch({ t: 'presence', room: frame.room, events: frame.events, ...stamp() });
        return this.presenceChanged(frame.events.some((e) => e.k === 'leave' && e.removed));
      case 'message': {
        const arrival = this.recovery.onMessage(frame.room, frame.seq);
        if (frame.sealed !== undefined) return this.privateRooms.open(frame, arrival);
        if (this.privateRooms.refusesPlain(frame.room)) return;
        // The schema let through exactly one of text and sealed.
        return this.showMessage({ ...frame, text: frame.text!, kind: frame.kind ?? 'text', arrival });
      }
      case 'room-history':
        return this.store.dispatch({ t: 'room-history', room: frame.room, newMembers: frame.newMembers, by: frame.by, ...stamp() });
      case 'passphrase-changed':
        return this.privateRooms.onPassphraseChanged(frame.room, frame.by);
      // Without WebRTC no link is made here, not even one someone else asks for.
      case 'signal':
        if (this.webrtc) this.whisperParts.run((w) => w.mesh.onSignal(frame.from, frame.data));
        return;
      case 'relay':
        if (this.webrtc) this.whisperParts.run((w) => w.mesh.onRelay(frame.from, frame.data));
        return;
      case 'ack': {
        const room = roomOfOwnMessage(this.state, frame.cid);
        if (room) this.recovery.onOwnMessage(room, frame.seq);
        this.sender.onAck(frame.cid);
        return this.store.dispatch({ t: 'ack', cid: frame.cid, id: frame.id, ts: frame.ts });
      }
      case 'name':
        this.renaming = undefined;
        this.answerRename();
        return this.store.dispatch({ t: 'name', name: frame.name });
      case 'rooms':
        return this.store.dispatch({ t: 'directory', rooms: frame.rooms });
      case 'error':
        return this.onError(frame);
      case 'pong':
        return;
      case 'password-required':
        return this.store.dispatch({ t: 'password-required' });
      case 'kicked':
        this.store.dispatch({ t: 'removed', room: frame.room, sentence: `You were removed from #${frame.room} by ${frame.by}${reasonClause(frame.reason)} You may join again.` });
        return this.presenceChanged(true);
      case 'banned':
        if (frame.room) {
          this.store.dispatch({ t: 'removed', room: frame.room, sentence: `You were banned from #${frame.room} by ${frame.by}${banLength(frame.until)}${reasonClause(frame.reason)}` });
          return this.presenceChanged(true);
        }
        this.bannedNotice = `You were banned from this server by ${frame.by}${banLength(frame.until)}${reasonClause(frame.reason)}`;
        return;
      case 'purged':
        this.store.dispatch({ t: 'removed', room: frame.room, sentence: `${frame.by} cleared #${frame.room} for everyone.` });
        void this.history.onPurged(frame.room, frame.at);
        return this.presenceChanged(true);
      case 'admin':
        this.store.dispatch({ t: 'admin' });
        if (frame.remembered) return this.info('You are the server admin (this server remembers you).');
        return this.info('You are now the server admin. This server remembers you as admin after a restart; /admin forget undoes that.');
      case 'admin-forgotten':
        return this.info('This server will no longer remember you as admin after a restart.');
      case 'bans':
      case 'userinfo':
      case 'audit':
        return this.showAnswer(frame);
    }
  }

  /** Whispers follow renames and close links to people gone from our rooms. */
  private presenceChanged(immediate = false): void {
    this.whisperParts.run((w) => w.onPresenceChanged(immediate));
  }

  /** A room message in plain text, or one that opened: into the room, and a notification if it mentions me. */
  private showMessage(message: OpenedMessage): void {
    const { room, id, from, name, ts, text, kind, fromKey, arrival, serverTs } = message;
    this.store.dispatch({ t: 'message', room, id, from, name, ts, text, kind, fromKey, serverTs });
    // What was said before someone joined is not news to them.
    if (arrival !== 'history' && this.mentionsMe(text)) this.notifier.notify(`${name} in #${room}`, text, room);
  }

  private async onError(frame: Extract<ServerFrame, { type: 'error' }>): Promise<void> {
    if (await this.privateRooms.onError(frame)) return;
    if (frame.code === ErrorCode.passwordWrong || frame.code === ErrorCode.throttled && frame.ref === 'password') {
      return this.store.dispatch({ t: 'password-required', error: frame.message });
    }
    // A server that names the ban gets it said in local time; an older one in its own words.
    const banned = frame.code === ErrorCode.banned && frame.ban ? banRefusal(frame.ban) : frame.message;
    if (frame.code === ErrorCode.banned && frame.ref === 'hello') this.bannedNotice = banned;
    if (frame.code === ErrorCode.banned && frame.ref && this.state.rooms[frame.ref]) {
      return this.store.dispatch({ t: 'removed', room: frame.ref, sentence: banned });
    }
    // A leave the server refused (not in the room, a bad name) gets no `left`.
    if ((frame.code === ErrorCode.notInRoom || frame.code === ErrorCode.roomInvalid) && frame.ref) this.leavesUnanswered.delete(frame.ref);
    const ref = frame.ref;
    if (frame.code === ErrorCode.peerUnreachable && ref) return void this.whisperParts.run((w) => w.onUnreachable(ref));
    // Not loaded yet: no link exists that the refusal could be about.
    if (frame.code === ErrorCode.receiverBusy && ref && this.whisperParts.now?.onReceiverBusy(ref)) return;
    // Refused for now (too fast, or a cluster's Redis could not take it): it stays queued and goes out later.
    if ((frame.code === ErrorCode.rateLimited || frame.code === ErrorCode.serverBusy) && frame.ref && this.sender.onRateLimited(frame.ref, frame.retryAfterMs)) return;
    if ((frame.code === ErrorCode.roomInvalid || frame.code === ErrorCode.tooManyRooms) && frame.ref && this.state.rooms[frame.ref]) {
      this.store.dispatch({ t: 'left', room: frame.ref });
    }
    // A refused rename from the dialog is said in the dialog, not in a notice.
    if (frame.ref === 'rename' && this.answerRename(errorSentence(frame.code, frame.message))) return;
    const returned = frame.ref === 'rename' ? this.renaming : undefined;
    if (returned) this.renaming = undefined;
    this.notice(errorSentence(frame.code, frame.message), returned);
  }

  /** A moderation answer, worded by a module loaded with the first one; later ones keep their order. */
  private showAnswer(frame: ServerFrameOf<'bans' | 'userinfo' | 'audit'>): void {
    this.answers ??= import('./moderation-answers.ts');
    this.answers.then(
      (words) => this.system(frame.type === 'bans' ? words.formatBans(frame) : frame.type === 'userinfo' ? words.formatUserinfo(frame) : words.formatAudit(frame)),
      () => this.notice(RELOAD),
    );
  }

  private onClose(info: CloseInfo): void {
    this.sender.onDisconnect();
    if (info.code === CloseCode.shuttingDown) void this.recovery.onServerStopped();
    this.recovery.onDisconnect();
    this.welcomed = false;
    this.leavesUnanswered.clear();
    this.answerRename('The connection to the server was lost before it answered. Try again once you are connected.');
    const sentence = info.code === CloseCode.banned && this.bannedNotice ? this.bannedNotice : closeSentence(info.code);
    // Banned from the server: reconnecting here cannot help, so nothing offers it.
    if (info.code === CloseCode.banned) return this.store.dispatch({ t: 'connection', status: 'stopped', sentence, banned: true });
    if (info.retryInMs === undefined) return this.dispatchConnection('stopped', sentence);
    this.dispatchConnection('offline', sentence, Date.now() + info.retryInMs);
  }

  private queueMessage(room: string, text: string, kind: 'text' | 'action'): void {
    const max = this.state.limits?.messageMaxLength;
    // Counted as the server's schema counts (UTF-16 units, as the composer's maxlength does),
    // which also keeps a private room's sealed message within its limit.
    if (max && text.length > max) return this.notice(`A message can have at most ${max} characters.`);
    this.sender.queue(room, text, kind);
  }

  // ---- helpers ----------------------------------------------------------------

  private restore(profile: Profile, pending: PendingMessage[]): void {
    if (profile.name) this.store.dispatch({ t: 'name', name: profile.name });
    const rooms = profile.rooms.length ? profile.rooms : [LOBBY];
    const whisperNames = new Map(profile.whispers.map((w) => [w.key, w.name]));
    const keepWhispers = this.state.settings.history !== 'off';
    for (const tab of profile.tabs ?? rooms) {
      const key = whisperKeyOf(tab);
      const name = key && whisperNames.get(key);
      if (key && name && keepWhispers) this.store.dispatch({ t: 'whisper-open', key, name, activate: false });
      else if (!key && rooms.includes(tab)) this.store.dispatch({ t: 'open-room', room: tab, activate: false });
    }
    for (const room of rooms) if (!this.state.rooms[room]) this.store.dispatch({ t: 'open-room', room, activate: false });
    if (profile.active) this.store.dispatch({ t: 'activate', room: profile.active });
    for (const message of pending) {
      if (!this.state.rooms[message.room]) this.store.dispatch({ t: 'open-room', room: message.room, activate: false });
      this.store.dispatch({ t: 'pending', ...message });
    }
  }

  /** A system line in `room`, or in the active one. */
  private system(text: string, room?: string): void {
    this.store.dispatch({ t: 'system', room, text, ...stamp() });
  }

  private mentionsMe(text: string): boolean {
    const name = this.state.me.name;
    if (!name) return false;
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`(^|[^\\p{L}\\p{N}_])@${escaped}(?![\\p{L}\\p{N}_])`, 'iu').test(text);
  }

  private notice(text: string, returned = this.submitting): void {
    this.store.dispatch({ t: 'notice', text, returned });
  }

  /** A notice that only informs: screen readers say it when they are done, not at once. */
  private info(text: string): void {
    this.store.dispatch({ t: 'notice', text, info: true });
  }

  private dispatchConnection(status: AppState['connection']['status'], sentence?: string, retryAt?: number): void {
    this.store.dispatch({ t: 'connection', status, sentence, retryAt });
  }
}

/** The room an own message (by client id) was typed in. */
function roomOfOwnMessage(state: AppState, cid: string): string | undefined {
  return Object.keys(state.rooms).find((room) => state.rooms[room]!.lines.some((line) => line.cid === cid));
}

/** Calls `gone` for each room that leaves the state (left, kicked, banned, purged, refused). */
function onRoomsGone(initial: AppState, gone: (room: string) => void): (state: AppState) => void {
  let last = initial.rooms;
  return (state) => {
    if (state.rooms === last) return;
    for (const room of Object.keys(last)) if (!state.rooms[room]) gone(room);
    last = state.rooms;
  };
}

/** Shows the total unread count on the app icon while Wisp is hidden. */
function badgeOnChange(notifier: Notifier): (state: AppState) => void {
  let last = 0;
  return (state) => {
    if (document.visibilityState === 'visible') return;
    const total = [...Object.values(state.rooms), ...Object.values(state.whispers)].reduce((n, c) => n + c.unread, 0);
    if (total !== last) notifier.setBadge(total);
    last = total;
  };
}

/** Saves name, tabs (whisper tabs with the contact's name) and the active tab whenever one of them changes. */
function persistProfileOnChange(initial: AppState): (state: AppState) => void {
  let last = initial;
  let saved = '';
  return (state) => {
    const same = state.me.name === last.me.name && state.order === last.order && state.active === last.active;
    if (same && state.whispers === last.whispers && state.settings === last.settings) return;
    last = state;
    // With history Off, whisper tabs live as long as the page: nothing of them is written.
    const keepWhispers = state.settings.history !== 'off';
    const tabs = state.order.filter((tab) => !whisperKeyOf(tab) || (keepWhispers && state.whispers[whisperKeyOf(tab)!]));
    const rooms = tabs.filter((tab) => !whisperKeyOf(tab));
    const whispers = tabs.flatMap((tab) => {
      const whisper = state.whispers[whisperKeyOf(tab) ?? ''];
      return whisper ? [{ key: whisper.key, name: whisper.name }] : [];
    });
    const active = state.active && tabs.includes(state.active) ? state.active : undefined;
    const profile = { name: state.me.name, rooms, whispers, tabs, active };
    // Whisper state changes with every line and link event: write only when the profile did.
    const json = JSON.stringify(profile);
    if (json === saved) return;
    saved = json;
    void saveProfile(profile);
  };
}
