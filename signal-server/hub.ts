// The WebSocket side: connections (challenge, heartbeat, per-address cap, frame buckets),
// the sessions of admitted identities (peer ids, names, one session per identity), and
// one handler per client frame type. Who is let in is admission.ts's; room logic is
// rooms.ts's; moderation commands are moderator.ts's.
import { randomBytes } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import {
  CloseCode,
  ErrorCode,
  LIMITS,
  LOBBY,
  PROTOCOL_VERSION,
  checkName,
  checkRoomName,
  parseClientFrame,
  type ClientFrame,
  type ClientFrameOf,
  type ServerFrame,
  type WireLimits,
} from './protocol/protocol.ts';
import type { Config } from './config.ts';
import { Admission } from './admission.ts';
import { Rooms } from './rooms.ts';
import type { MessageBody } from './room.ts';
import { RoomHistory } from './room-history.ts';
import { generateName } from './names.ts';
import { NameIndex, type NameClash } from './name-index.ts';
import { RecentMessageIds } from './recent-ids.ts';
import { iceServersFor } from './ice.ts';
import { Connection, closeWithGrace, terminateAfter } from './connection.ts';
import { Moderator } from './moderator.ts';
import { GuessThrottles, type SharedCounts } from './guess-throttles.ts';
import { ChangeThrottles } from './change-throttles.ts';
import type { Store } from './store.ts';
import type { Peer } from './peer.ts';
import { memoryEngine, type Engine, type EngineHost } from './engine.ts';
import type { RemotePeer } from './cluster/remote-peer.ts';

export const SERVER_VERSION = '0.1.0';

/** What handles one client frame type; a returned promise is a write to the data directory. */
type Handler<T extends ClientFrame['type']> = (conn: Connection, frame: ClientFrameOf<T>) => void | Promise<void>;
type Handlers = { readonly [T in ClientFrame['type']]: Handler<T> };

/** The only frames a connection may send before its welcome. */
const BEFORE_WELCOME: ReadonlySet<ClientFrame['type']> = new Set(['hello', 'password']);

/** Whether `a` got its session (and so its name) before `b`; the peer id settles a tie. */
function admittedBefore(a: Peer, b: Peer): boolean {
  return a.connectedAt < b.connectedAt || (a.connectedAt === b.connectedAt && a.id < b.id);
}

export class Hub implements EngineHost {
  readonly rooms: Rooms;
  private readonly connections = new Set<Connection>();
  /** People on this node and, in a cluster, on the others (RemotePeer). */
  private readonly byKey = new Map<string, Peer>();
  private readonly byId = new Map<string, Peer>();
  /** Names are unique by how they look: a look-alike of a present name is refused (across the cluster). */
  private readonly names = new NameIndex<Peer>();
  private readonly perIp = new Map<string, number>();
  private readonly recentIds = new RecentMessageIds();
  private readonly heartbeat: NodeJS.Timeout;
  private nextPeer = 0;
  private readonly limits: WireLimits;

  readonly moderator: Moderator;
  private readonly admission: Admission;
  /** Wrong passphrases, admin tokens and server passwords. */
  private readonly guesses: GuessThrottles<SharedCounts | undefined>;
  private readonly changes: ChangeThrottles;
  /** Shutting down: rooms empty because the server stops, not because people left. */
  private closing = false;

  constructor(
    private readonly config: Config,
    readonly store: Store,
    /** Called when the admin asks the server to stop (/shutdown). */
    private readonly onShutdownRequest: () => void = () => this.shutdown(),
    /** What is shared with other nodes: nothing by default. */
    readonly engine: Engine = memoryEngine,
  ) {
    // Cluster mode: the counts and buckets every node shares (Redis); else this process's own.
    this.guesses = new GuessThrottles(Date.now, store.counters);
    this.changes = new ChangeThrottles(Date.now, store.counters);
    const persistent = store.rooms.some((r) => r.name === LOBBY) ? store.rooms : [{ name: LOBBY, moderators: [] }, ...store.rooms];
    this.rooms = new Rooms({
      presenceWindowMs: config.presenceWindowMs,
      persistentRooms: persistent,
      history: new RoomHistory({ maxMessages: config.historyMessages, maxAgeMs: config.historyMaxAgeMs, maxBytes: config.historyMaxBytes }),
      // Bans from a user room end with the room: a name reused later is a new room.
      onRoomEnded: (room) => !this.closing && this.moderator.roomEnded(room),
      onChange: (change) => this.engine.changed(change),
    });
    this.moderator = new Moderator({
      rooms: this.rooms,
      store,
      config,
      guesses: this.guesses,
      changes: this.changes,
      byId: (id) => this.byId.get(id),
      connections: () => [...this.connections, ...this.engine.remotePeers()],
      shutdown: () => this.onShutdownRequest(),
    });
    this.admission = new Admission({
      store,
      moderator: this.moderator,
      guesses: this.guesses,
      password: config.password,
      admit: (conn) => this.admit(conn),
    });
    // User rooms did not survive the last stop, so neither do their bans (in a cluster
    // other nodes may still hold those rooms: their bans stay).
    if (!config.redisUrl) for (const ban of store.bans) if (ban.room && !this.rooms.isPersistent(ban.room)) this.moderator.roomEnded(ban.room);
    this.limits = {
      maxFrameBytes: LIMITS.maxFrameBytes,
      nameMinLength: LIMITS.nameMinLength,
      nameMaxLength: LIMITS.nameMaxLength,
      roomNameMaxLength: LIMITS.roomNameMaxLength,
      messageMaxLength: LIMITS.messageMaxLength,
      farewellMaxLength: LIMITS.farewellMaxLength,
      maxRoomsPerClient: LIMITS.maxRoomsPerClient,
      sayPerMinute: config.sayPerMinute,
      sayBurst: config.sayBurst,
      maxFileBytes: config.maxFileBytes,
      relayFileMaxBytes: Math.min(config.relayFileMaxBytes, config.maxFileBytes),
      historyMessages: this.rooms.history.perRoom,
    };
    this.heartbeat = setInterval(() => this.beat(), config.heartbeatMs);
  }

  get size(): number {
    return this.connections.size;
  }

  // --- EngineHost: what the cluster engine sees of this node -------------------------------

  addRemote(peer: RemotePeer): void {
    this.byId.set(peer.id, peer);
    const local = this.byKey.get(peer.key);
    // One session per identity across the cluster: the newer one stays.
    if (local && !local.remote && local.connectedAt <= peer.connectedAt) {
      this.drop(local as Connection);
      local.close(CloseCode.replaced, 'replaced by a newer session');
    }
    if (!this.byKey.get(peer.key)) this.byKey.set(peer.key, peer);
    this.claimRemoteName(peer);
  }

  /**
   * A name someone on another node holds. Not over someone here who holds it (a stale
   * entry of a dead node, say): removing that entry later would free this person's name.
   */
  private claimRemoteName(peer: RemotePeer): void {
    if (!peer.name) return;
    const clash = this.names.clash(peer.name);
    const holder = clash?.holder;
    // Two nodes gave out one name at the same moment: on both, the one admitted later (then
    // the larger peer id) gives way, so both nodes agree who keeps it without asking Redis.
    if (holder && !holder.remote && holder.key !== peer.key && peer.connectedAt > 0 && admittedBefore(peer, holder)) this.giveWay(holder as Connection);
    else if (holder && holder !== peer) return;
    this.names.add(peer.name, peer);
  }

  /** Someone here loses a name that someone on another node got first: a new one, said like a clash at hello. */
  private giveWay(conn: Connection): void {
    const taken = conn.name;
    this.names.remove(taken, conn);
    const name = generateName((n) => !this.names.clash(n));
    this.names.add(name, conn);
    this.rooms.rename(conn, name);
    conn.send({ type: 'name', name });
    conn.error(ErrorCode.nameTaken, `"${taken}" was taken by someone else at the same moment. You are ${name} for now.`, { ref: 'hello' });
  }

  removeRemote(peer: RemotePeer): void {
    if (this.byId.get(peer.id) === peer) this.byId.delete(peer.id);
    if (this.byKey.get(peer.key) === peer) this.byKey.delete(peer.key);
    this.names.remove(peer.name, peer);
  }

  renamedRemote(peer: RemotePeer, from: string): void {
    this.names.remove(from, peer);
    this.claimRemoteName(peer);
  }

  local(id: string): Connection | undefined {
    const peer = this.byId.get(id);
    return peer && !peer.remote ? (peer as Connection) : undefined;
  }

  *localPeers(): Iterable<Connection> {
    for (const conn of this.connections) if (conn.welcomed) yield conn;
  }

  deliverLocal(to: string, frame: string, from?: string): void {
    const target = this.local(to);
    if (!target) return;
    // A signal from a joiner on another node: the joiner must be in the receiver's member list first.
    const sender = from === undefined ? undefined : this.byId.get(from);
    if (sender) this.rooms.flushShared(sender, target);
    target.sendRaw(frame);
  }

  closeLocal(to: string, code: CloseCode, reason: string): void {
    const target = this.local(to);
    if (!target) return;
    this.drop(target);
    target.close(code, reason);
  }

  accept(ws: WebSocket, ip: string): void {
    const count = (this.perIp.get(ip) ?? 0) + this.engine.remoteConnections(ip);
    if (count >= this.config.maxConnectionsPerIp) {
      closeWithGrace(ws, CloseCode.tooManyConnections, 'too many connections from this address', this.config.closeGraceMs);
      return;
    }
    // Only this node's own: the other nodes' people are counted by the replica.
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    const conn = new Connection(ws, ip, this.config);
    this.connections.add(conn);

    const helloTimer = setTimeout(() => {
      if (!conn.welcomed) conn.close(CloseCode.helloTimeout, 'no hello in time');
    }, this.config.helloTimeoutMs);

    ws.on('pong', () => (conn.alive = true));
    ws.on('message', (data, isBinary) => this.receive(conn, data, isBinary));
    // A frame ws refused (too big, not UTF-8, bad framing): ws has sent its close frame and
    // drains what still comes. Cutting the socket at once would reset it while the peer is
    // still sending, and the peer could lose the close code; give it a moment to read it.
    ws.on('error', () => terminateAfter(ws, this.config.closeGraceMs));
    ws.on('close', () => {
      clearTimeout(helloTimer);
      this.drop(conn);
    });
    conn.send({ type: 'challenge', nonce: conn.nonce });
  }

  /** Closes every connection with the shutting-down code. */
  shutdown(): void {
    this.closing = true;
    clearInterval(this.heartbeat);
    void this.engine.stop();
    this.rooms.close();
    for (const conn of this.connections) conn.close(CloseCode.shuttingDown, 'server shutting down');
  }

  private receive(conn: Connection, data: RawData, isBinary: boolean): void {
    // Once the server has closed a socket (abuse, or replaced by a newer session), frames
    // still in flight from it are not acted on: no relays, no joins by a ghost.
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    if (isBinary) return conn.abuse(ErrorCode.binaryFrame, 'Binary frames are not accepted.');
    const parsed = parseClientFrame(data.toString());
    // Relay frames (a file through the server) have their own, larger bucket.
    const bucket = parsed.ok && parsed.frame.type === 'relay' ? conn.relays : conn.frames;
    if (bucket.take() > 0) return conn.abuse(ErrorCode.rateLimited, 'Too many frames; slow down.');
    if (!parsed.ok) return conn.abuse(parsed.code, parsed.message, parsed.ref);
    const frame = parsed.frame;
    if (!conn.welcomed && !BEFORE_WELCOME.has(frame.type)) {
      if (conn.locked) return conn.error(ErrorCode.passwordRequired, 'This server needs its password first.', { ref: frame.type });
      return conn.abuse(ErrorCode.helloFirst, 'Send hello first.', frame.type);
    }
    // In a cluster some handlers wait for Redis (the shared guess and creation counts): the
    // frames after one wait their turn, or a say sent right after a join would come first.
    if (conn.waiting) return this.afterWaiting(conn, () => (conn.ws.readyState === conn.ws.OPEN ? this.dispatch(conn, frame) : undefined));
    const pending = this.dispatch(conn, frame);
    if (pending && this.engine.kind !== 'memory') this.afterWaiting(conn, () => pending);
  }

  private dispatch(conn: Connection, frame: ClientFrame): Promise<void> | void {
    // Each handler takes its own frame type; TypeScript cannot follow that through the union.
    const handler = this.handlers[frame.type] as Handler<ClientFrame['type']>;
    // What handlers wait for is the data directory (or Redis): a rejection is a failed write.
    return handler(conn, frame)?.catch((error: unknown) => this.storeFailed(conn, error));
  }

  private afterWaiting(conn: Connection, work: () => Promise<void> | void): void {
    const chained = (conn.waiting ?? Promise.resolve()).then(work);
    conn.waiting = chained;
    void chained.finally(() => {
      if (conn.waiting === chained) conn.waiting = undefined;
    });
  }

  /** One handler per client frame type. */
  private readonly handlers: Handlers = {
    hello: (conn, frame) => this.admission.hello(conn, frame),
    password: (conn, frame) => this.admission.password(conn, frame),
    join: (conn, frame) => this.onJoin(conn, frame),
    leave: (conn, frame) => this.onLeave(conn, frame),
    say: (conn, frame) => this.onSay(conn, frame),
    rename: (conn, frame) => this.onRename(conn, frame),
    'list-rooms': (conn) => conn.send({ type: 'rooms', rooms: this.rooms.list() }),
    ping: (conn) => conn.send({ type: 'pong' }),
    signal: (conn, frame) => this.forward(conn, frame.to, { type: 'signal', from: conn.id, data: frame.data }),
    relay: (conn, frame) => this.forward(conn, frame.to, { type: 'relay', from: conn.id, data: frame.data }),
    admin: (conn, frame) => this.moderator.onAdmin(conn, frame),
    op: (conn, frame) => this.moderator.onRole(conn, frame),
    deop: (conn, frame) => this.moderator.onRole(conn, frame),
    kick: (conn, frame) => this.moderator.onKick(conn, frame),
    ban: (conn, frame) => this.moderator.onBan(conn, frame),
    unban: (conn, frame) => this.moderator.onUnban(conn, frame),
    'list-bans': (conn, frame) => this.moderator.onListBans(conn, frame),
    userinfo: (conn, frame) => this.moderator.onUserinfo(conn, frame),
    'room-create': (conn, frame) => this.moderator.onRoomCreate(conn, frame),
    'room-delete': (conn, frame) => this.moderator.onRoomDelete(conn, frame),
    topic: (conn, frame) => this.moderator.onTopic(conn, frame),
    purge: (conn, frame) => this.moderator.onPurge(conn, frame),
    shutdown: (conn) => this.moderator.onShutdown(conn),
    audit: (conn, frame) => this.moderator.onAudit(conn, frame),
    'room-passphrase': (conn, frame) => this.moderator.onRoomPassphrase(conn, frame),
    'room-history': (conn, frame) => this.moderator.onRoomHistory(conn, frame),
    'admin-forget': (conn) => this.moderator.onAdminForget(conn),
  };

  /** A write to the data directory failed: say so, and keep serving. */
  private storeFailed(conn: Connection, error: unknown): void {
    console.error(`wisp: could not write to the data directory: ${(error as Error).message}`);
    conn.error(ErrorCode.storeFailed, 'The server could not save that change; ask the operator to check its disk.');
  }

  /** Gives a verified (and, if needed, password-admitted) identity its peer id, name and welcome. */
  private admit(conn: Connection): void {
    const previous = this.byKey.get(conn.key);
    if (previous) {
      // The same identity connecting again (a reload, or another tab, or on another node) replaces the old one.
      if (previous.remote) this.forgetRemote(previous as RemotePeer);
      else this.drop(previous as Connection);
      previous.close(CloseCode.replaced, 'replaced by a newer session');
    }

    conn.id = `p${(this.nextPeer++).toString(36)}${randomBytes(3).toString('base64url')}`;
    const wanted = conn.wantedName !== undefined ? checkName(conn.wantedName) : undefined;
    const clash = wanted?.ok ? this.names.clash(wanted.value) : undefined;
    conn.name = wanted?.ok && !clash ? wanted.value : generateName((n) => !this.names.clash(n));
    this.byKey.set(conn.key, conn);
    this.byId.set(conn.id, conn);
    this.recentIds.acquire(conn.key);
    this.names.add(conn.name, conn);

    conn.send({
      type: 'welcome',
      v: PROTOCOL_VERSION,
      id: conn.id,
      name: conn.name,
      limits: this.limits,
      iceServers: iceServersFor(this.config.ice, conn.id),
      server: { version: SERVER_VERSION, id: this.store.serverId },
    });
    // An identity that proved the admin token before is admin from its first frame on (no room yet to tell).
    if (this.store.admins.has(conn.key)) {
      conn.admin = true;
      conn.send({ type: 'admin', remembered: true });
    }
    this.engine.admitted(conn);
    if (wanted && !wanted.ok) conn.error(ErrorCode.nameInvalid, `${wanted.reason} You are ${conn.name} for now.`, { ref: 'hello' });
    else if (wanted?.ok && clash) conn.error(ErrorCode.nameTaken, `${Hub.clashSentence(wanted.value, clash)} You are ${conn.name} for now.`, { ref: 'hello' });
  }

  private onJoin(conn: Connection, frame: ClientFrameOf<'join'>): void | Promise<void> {
    const room = checkRoomName(frame.room);
    if (!room.ok) return conn.error(ErrorCode.roomInvalid, room.reason, { ref: frame.room });
    const ban = this.moderator.banFor(conn, room.value);
    if (ban) return this.moderator.refuseBanned(conn, ban, room.value);
    const guessing = frame.verifier !== undefined && this.rooms.isPrivate(room.value);
    const wait = guessing ? this.guesses.passphraseWait(conn, room.value) : 0;
    // A cluster reads the counts every node shares first (a promise); one node decides at once.
    if (typeof wait !== 'number') return wait.then((ms) => (conn.ws.readyState === conn.ws.OPEN ? this.joinUnlessThrottled(conn, frame, room.value, ms) : undefined));
    return this.joinUnlessThrottled(conn, frame, room.value, wait);
  }

  private joinUnlessThrottled(conn: Connection, frame: ClientFrameOf<'join'>, room: string, wait: number): void | Promise<void> {
    if (wait > 0) {
      return conn.error(ErrorCode.throttled, 'Too many wrong passphrases; wait a few minutes before trying again.', { ref: room, retryAfterMs: wait });
    }
    // Joining a room that does not exist creates it (and makes the joiner its owner).
    const creates = !this.rooms.has(room) && !conn.admin;
    const creationWait = creates ? this.changes.roomCreations.wait(conn.key) : 0;
    if (typeof creationWait !== 'number') {
      return creationWait.then((ms) => (conn.ws.readyState === conn.ws.OPEN ? this.joinNow(conn, frame, room, creates, ms) : undefined));
    }
    this.joinNow(conn, frame, room, creates, creationWait);
  }

  private joinNow(conn: Connection, frame: ClientFrameOf<'join'>, room: string, creates: boolean, creationWait: number): void {
    if (creationWait > 0) {
      const sentence = `You can create at most ${LIMITS.roomCreationsPerMinute} room a minute after the first ${LIMITS.roomCreationsBurst}; try again in ${Math.ceil(creationWait / 1000)} s.`;
      return conn.error(ErrorCode.throttled, sentence, { ref: room, retryAfterMs: creationWait });
    }
    const failure = this.rooms.join(conn, room, frame.verifier, frame.since);
    // Counted only when the room was made: a join refused for another reason costs nothing.
    if (creates && !failure) void this.changes.roomCreations.take(conn.key);
    if (failure?.code === ErrorCode.passphraseWrong) this.guesses.passphraseFailed(conn, room);
    if (failure) conn.error(failure.code, failure.message, { ref: room });
  }

  private onLeave(conn: Connection, frame: ClientFrameOf<'leave'>): void {
    const room = checkRoomName(frame.room);
    if (!room.ok) return conn.error(ErrorCode.roomInvalid, room.reason, { ref: frame.room });
    const farewell = frame.farewell?.trim() || undefined;
    const failure = this.rooms.leave(conn, room.value, farewell);
    if (failure) conn.error(failure.code, failure.message, { ref: room.value });
  }

  private onSay(conn: Connection, frame: ClientFrameOf<'say'>): void {
    const earlier = this.recentIds.get(conn.key, frame.cid);
    if (earlier) return conn.send({ type: 'ack', cid: frame.cid, ...earlier });
    const retryAfterMs = conn.says.take();
    if (retryAfterMs > 0) {
      return conn.abuse(ErrorCode.rateLimited, 'You are sending messages too fast; it will be sent shortly.', frame.cid, retryAfterMs);
    }
    // The same spelling join and leave accept ("#Music" is "music").
    const room = checkRoomName(frame.room);
    if (!room.ok) return conn.error(ErrorCode.roomInvalid, room.reason, { ref: frame.cid });
    // The schema let through exactly one of text and sealed.
    const body = frame.sealed !== undefined ? { sealed: frame.sealed } : { text: frame.text!, kind: frame.kind ?? 'text' };
    if (this.engine.kind !== 'memory') return this.sayShared(conn, frame.cid, room.value, body);
    this.sayLocal(conn, frame.cid, room.value, body);
  }

  /** A room message numbered by the cluster: one order per room on every node; the sender's ack when Redis has it. */
  private sayShared(conn: Connection, cid: string, room: string, body: MessageBody): void {
    const prepared = this.rooms.prepareMessage(conn, room, body);
    if ('code' in prepared) return conn.error(prepared.code, prepared.message, { ref: cid });
    const shared = this.engine.say(room, prepared.head, conn, cid, this.rooms.newMembersOf(room), prepared);
    if (!shared) return this.sayLocal(conn, cid, room, body);
    shared.then(
      (sent) => {
        this.recentIds.set(conn.key, cid, sent);
        conn.send({ type: 'ack', cid, ...sent });
      },
      // Redis refused it (full) or went away with it: numbering it here could give a number
      // Redis gives another message later. The app keeps it queued and sends it again (to
      // this node numbering alone if Redis stays away; a resend Redis did take is acked once).
      () => conn.error(ErrorCode.serverBusy, 'The server could not take your message just now; it will be sent again shortly.', { ref: cid, retryAfterMs: LIMITS.clusterSayRetryMs }),
    );
  }

  private sayLocal(conn: Connection, cid: string, room: string, body: MessageBody): void {
    const result = this.rooms.broadcastMessage(conn, room, body);
    if ('code' in result) return conn.error(result.code, result.message, { ref: cid });
    this.recentIds.set(conn.key, cid, result);
    conn.send({ type: 'ack', cid, id: result.id, ts: result.ts, seq: result.seq });
  }

  /** Passes whisper signalling or relay frames on, only between people who share a room. */
  private forward(conn: Connection, to: string, frame: ServerFrame): void {
    const target = this.byId.get(to);
    if (!target || target === conn || !this.rooms.shareRoom(conn, target)) {
      return conn.error(ErrorCode.peerUnreachable, 'That person is not in any room with you.', { ref: to });
    }
    if (target.remote) {
      // On another node: sent now or not at all (a signal delivered late is worse than none).
      if (this.engine.forward(conn, target, JSON.stringify(frame))) return;
      return conn.error(ErrorCode.peerUnreachable, 'That person is on another server of this cluster, which cannot be reached right now.', { ref: to });
    }
    const local = target as Connection;
    // Nothing limits how fast a receiver reads: what one sender (and everyone) may have
    // waiting for it is bounded instead, so nobody can fill its backlog until it is dropped.
    const bytes = Buffer.from(JSON.stringify(frame));
    if (!local.forwarded.take(conn, bytes.length)) {
      return conn.error(ErrorCode.receiverBusy, "That person's connection is slow; wait a moment.", { ref: to });
    }
    this.rooms.flushShared(conn, local);
    local.sendRaw(bytes, () => local.forwarded.release(conn, bytes.length));
  }

  private onRename(conn: Connection, frame: ClientFrameOf<'rename'>): void {
    const checked = checkName(frame.name);
    if (!checked.ok) return conn.error(ErrorCode.nameInvalid, checked.reason, { ref: 'rename' });
    const clash = this.names.clash(checked.value);
    if (clash && clash.holder !== conn) return conn.error(ErrorCode.nameTaken, Hub.clashSentence(checked.value, clash), { ref: 'rename' });
    if (checked.value === conn.name) return conn.send({ type: 'name', name: conn.name });
    this.names.remove(conn.name, conn);
    this.names.add(checked.value, conn);
    this.rooms.rename(conn, checked.value);
    conn.send({ type: 'name', name: conn.name });
  }

  /** Why a wanted name was refused, as the person reads it. */
  private static clashSentence(name: string, clash: NameClash<Peer>): string {
    return clash.kind === 'taken'
      ? `"${name}" is already taken.`
      : `"${name}" looks too much like someone else's name here. Pick another.`;
  }

  /** Forgets a connection: rooms, names and counters. Safe to call twice. */
  private drop(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    const count = (this.perIp.get(conn.ip) ?? 1) - 1;
    if (count > 0) this.perIp.set(conn.ip, count);
    else this.perIp.delete(conn.ip);
    if (!conn.welcomed) return;
    this.engine.dropped(conn);
    this.rooms.leaveAll(conn);
    if (this.byKey.get(conn.key) === conn) this.byKey.delete(conn.key);
    if (this.byId.get(conn.id) === conn) this.byId.delete(conn.id);
    this.names.remove(conn.name, conn);
    this.recentIds.release(conn.key);
  }

  /** Someone on another node replaced by a session here: out of the rooms and lookups now, before their node says so. */
  private forgetRemote(peer: RemotePeer): void {
    this.rooms.leaveAll(peer);
    this.removeRemote(peer);
  }

  private beat(): void {
    for (const conn of this.connections) {
      if (!conn.alive) {
        conn.ws.terminate();
        this.drop(conn);
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }
}
