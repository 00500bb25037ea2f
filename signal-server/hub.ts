// Connections: challenge, hello/welcome, heartbeat, rate limits, and one handler per
// message type. Room logic lives in rooms.ts; this file speaks WebSocket.
import { randomBytes, verify as verifySignature, createPublicKey } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import {
  CloseCode,
  ErrorCode,
  LIMITS,
  LOBBY,
  PROTOCOL_VERSION,
  checkName,
  checkRoomName,
  helloSigningInput,
  nameKey,
  parseClientFrame,
  type ClientFrameOf,
  type ServerFrame,
  type WireLimits,
} from './protocol/protocol.ts';
import type { Config } from './config.ts';
import { Rooms } from './rooms.ts';
import { generateName } from './names.ts';
import { RecentMessageIds } from './recent-ids.ts';
import { iceServersFor } from './ice.ts';
import { Connection, closeWithGrace, terminateAfter } from './connection.ts';
import { Moderator } from './moderator.ts';
import { canonicalKeyProblem } from './identity-key.ts';
import { GuessThrottles } from './guess-throttles.ts';
import { hashToken, tokenMatches } from './hashed-secrets.ts';
import type { Store } from './store.ts';

export const SERVER_VERSION = '0.1.0';

export class Hub {
  readonly rooms: Rooms;
  private readonly connections = new Set<Connection>();
  private readonly byKey = new Map<string, Connection>();
  private readonly byId = new Map<string, Connection>();
  private readonly byName = new Map<string, Connection>();
  private readonly perIp = new Map<string, number>();
  private readonly recentIds = new RecentMessageIds();
  private readonly heartbeat: NodeJS.Timeout;
  private nextPeer = 0;
  private readonly limits: WireLimits;

  readonly moderator: Moderator;
  private readonly passwordHash?: string;
  /** Wrong passphrases, admin tokens and server passwords. */
  private readonly guesses = new GuessThrottles();
  /** Shutting down: rooms empty because the server stops, not because people left. */
  private closing = false;

  constructor(
    private readonly config: Config,
    readonly store: Store,
    /** Called when the admin asks the server to stop (/shutdown). */
    private readonly onShutdownRequest: () => void = () => this.shutdown(),
  ) {
    const persistent = store.rooms.some((r) => r.name === LOBBY) ? store.rooms : [{ name: LOBBY, moderators: [] }, ...store.rooms];
    this.rooms = new Rooms({
      presenceWindowMs: config.presenceWindowMs,
      persistentRooms: persistent,
      // Bans from a user room end with the room: a name reused later is a new room.
      onRoomEnded: (room) => !this.closing && this.moderator.roomEnded(room),
    });
    this.passwordHash = config.password === undefined ? undefined : hashToken(config.password);
    this.moderator = new Moderator({
      rooms: this.rooms,
      store,
      config,
      guesses: this.guesses,
      byId: (id) => this.byId.get(id),
      connections: () => this.connections,
      shutdown: () => this.onShutdownRequest(),
    });
    // User rooms did not survive the last stop, so neither do their bans.
    for (const ban of store.bans) if (ban.room && !this.rooms.isPersistent(ban.room)) this.moderator.roomEnded(ban.room);
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
    };
    this.heartbeat = setInterval(() => this.beat(), config.heartbeatMs);
  }

  get size(): number {
    return this.connections.size;
  }

  accept(ws: WebSocket, ip: string): void {
    const count = this.perIp.get(ip) ?? 0;
    if (count >= this.config.maxConnectionsPerIp) {
      closeWithGrace(ws, CloseCode.tooManyConnections, 'too many connections from this address', this.config.closeGraceMs);
      return;
    }
    this.perIp.set(ip, count + 1);
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
    this.rooms.close();
    for (const conn of this.connections) conn.close(CloseCode.shuttingDown, 'server shutting down');
  }

  private receive(conn: Connection, data: RawData, isBinary: boolean): void {
    // Once the server has closed a socket (abuse, or replaced by a newer session), frames
    // still in flight from it are not acted on: no relays, no joins by a ghost.
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    if (isBinary) {
      this.abuse(conn, ErrorCode.binaryFrame, 'Binary frames are not accepted.');
      return;
    }
    const parsed = parseClientFrame(data.toString());
    // Relay frames (a file through the server) have their own, larger bucket.
    const bucket = parsed.ok && parsed.frame.type === 'relay' ? conn.relays : conn.frames;
    if (bucket.take() > 0) {
      this.abuse(conn, ErrorCode.rateLimited, 'Too many frames; slow down.');
      return;
    }
    if (!parsed.ok) {
      this.abuse(conn, parsed.code, parsed.message, parsed.ref);
      return;
    }
    const frame = parsed.frame;
    if (frame.type === 'hello') return this.onHello(conn, frame);
    if (frame.type === 'password') return this.onPassword(conn, frame);
    if (!conn.welcomed) {
      if (conn.locked) return conn.error(ErrorCode.passwordRequired, 'This server needs its password first.', { ref: frame.type });
      this.abuse(conn, ErrorCode.helloFirst, 'Send hello first.', frame.type);
      return;
    }
    switch (frame.type) {
      case 'join':
        return this.onJoin(conn, frame);
      case 'leave':
        return this.onLeave(conn, frame);
      case 'say':
        return this.onSay(conn, frame);
      case 'rename':
        return this.onRename(conn, frame);
      case 'list-rooms':
        return conn.send({ type: 'rooms', rooms: this.rooms.list() });
      case 'ping':
        return conn.send({ type: 'pong' });
      case 'signal':
        return this.forward(conn, frame.to, { type: 'signal', from: conn.id, data: frame.data });
      case 'relay':
        return this.forward(conn, frame.to, { type: 'relay', from: conn.id, data: frame.data });
      case 'admin':
        return this.moderator.onAdmin(conn, frame);
      case 'op':
      case 'deop':
        return this.moderator.onRole(conn, frame);
      case 'kick':
        return this.moderator.onKick(conn, frame);
      case 'ban':
        return void this.moderator.onBan(conn, frame).catch((error: unknown) => this.storeFailed(conn, error));
      case 'unban':
        return void this.moderator.onUnban(conn, frame).catch((error: unknown) => this.storeFailed(conn, error));
      case 'list-bans':
        return this.moderator.onListBans(conn, frame);
      case 'userinfo':
        return this.moderator.onUserinfo(conn, frame);
      case 'room-create':
        return void this.moderator.onRoomCreate(conn, frame).catch((error: unknown) => this.storeFailed(conn, error));
      case 'room-delete':
        return void this.moderator.onRoomDelete(conn, frame).catch((error: unknown) => this.storeFailed(conn, error));
      case 'topic':
        return this.moderator.onTopic(conn, frame);
      case 'purge':
        return this.moderator.onPurge(conn, frame);
      case 'shutdown':
        return this.moderator.onShutdown(conn);
      case 'audit':
        return this.moderator.onAudit(conn, frame);
      case 'room-passphrase':
        return this.moderator.onRoomPassphrase(conn, frame);
    }
  }

  /** Answers bad input with a typed error; closes the socket when it keeps coming. */
  private abuse(conn: Connection, code: ErrorCode, message: string, ref?: string, retryAfterMs?: number): void {
    conn.error(code, message, { ref, retryAfterMs });
    if (conn.strike()) {
      const closeCode = code === ErrorCode.rateLimited ? CloseCode.rateLimited : CloseCode.protocolError;
      conn.close(closeCode, 'too many bad or excess frames');
    }
  }

  /** A write to the data directory failed: say so, and keep serving. */
  private storeFailed(conn: Connection, error: unknown): void {
    console.error(`wisp: could not write to the data directory: ${(error as Error).message}`);
    conn.error(ErrorCode.storeFailed, 'The server could not save that change; ask the operator to check its disk.');
  }

  private onHello(conn: Connection, frame: ClientFrameOf<'hello'>): void {
    if (conn.welcomed || conn.key) return this.abuse(conn, ErrorCode.alreadyHello, 'You already said hello.', 'hello');
    if (frame.v !== PROTOCOL_VERSION) {
      conn.error(ErrorCode.unsupportedVersion, `This server speaks protocol version ${PROTOCOL_VERSION}; reload the app to update it.`, { ref: String(frame.v) });
      conn.close(CloseCode.unsupportedVersion, 'unsupported protocol version');
      return;
    }
    // Before the signature and the ban: a ban by key, or the one-session-per-identity rule,
    // holds only if each key has one spelling.
    const keyProblem = canonicalKeyProblem(frame.key);
    if (keyProblem) {
      conn.error(ErrorCode.keyInvalid, `The identity key must be a P-256 public key in its one canonical form (SPKI, unpadded base64url); ${keyProblem}.`, { ref: 'hello' });
      conn.close(CloseCode.protocolError, 'identity key not canonical P-256');
      return;
    }
    if (!this.verifyHello(conn.nonce, frame.key, frame.sig)) {
      conn.error(ErrorCode.badSignature, 'The identity key did not sign the challenge.', { ref: 'hello' });
      conn.close(CloseCode.protocolError, 'bad hello signature');
      return;
    }

    const ban = this.moderator.banFor({ key: frame.key, ip: conn.ip });
    if (ban) {
      conn.error(ErrorCode.banned, this.moderator.banSentence(ban), { ref: 'hello' });
      conn.close(CloseCode.banned, 'banned');
      return;
    }
    conn.key = frame.key;
    conn.wantedName = frame.name;
    if (this.passwordHash && !this.store.members.has(frame.key)) {
      conn.locked = true;
      conn.send({ type: 'password-required' });
      return;
    }
    this.admit(conn);
  }

  private onPassword(conn: Connection, frame: ClientFrameOf<'password'>): void {
    if (!conn.locked) return conn.error(ErrorCode.badFrame, 'No password is needed now.', { ref: 'password' });
    const wait = this.guesses.secretWait(conn);
    if (wait > 0) return conn.error(ErrorCode.throttled, 'Too many wrong passwords; wait a few minutes.', { ref: 'password', retryAfterMs: wait });
    if (!tokenMatches(frame.password, this.passwordHash)) {
      this.guesses.secretFailed(conn);
      return conn.error(ErrorCode.passwordWrong, 'That is not the password of this server.', { ref: 'password' });
    }
    conn.locked = false;
    // The server remembers this identity: no password next time.
    this.store.members.add(conn.key);
    this.store.saveMembers().catch((error: unknown) => console.error(`wisp: could not save members.json: ${(error as Error).message}`));
    if (conn.ws.readyState === conn.ws.OPEN) this.admit(conn);
  }

  /** Gives a verified (and, if needed, password-admitted) identity its peer id, name and welcome. */
  private admit(conn: Connection): void {
    const previous = this.byKey.get(conn.key);
    if (previous) {
      // The same identity connecting again (a reload, or another tab) replaces the old one.
      this.drop(previous);
      previous.close(CloseCode.replaced, 'replaced by a newer session');
    }

    conn.id = `p${(this.nextPeer++).toString(36)}${randomBytes(3).toString('base64url')}`;
    const wanted = conn.wantedName !== undefined ? checkName(conn.wantedName) : undefined;
    conn.name = wanted?.ok && this.nameFree(wanted.value) ? wanted.value : generateName((n) => this.nameFree(n));
    this.byKey.set(conn.key, conn);
    this.byId.set(conn.id, conn);
    this.recentIds.acquire(conn.key);
    this.byName.set(nameKey(conn.name), conn);

    conn.send({
      type: 'welcome',
      v: PROTOCOL_VERSION,
      id: conn.id,
      name: conn.name,
      limits: this.limits,
      iceServers: iceServersFor(this.config.ice, conn.id),
      server: { version: SERVER_VERSION, id: this.store.serverId },
    });
    if (wanted && !wanted.ok) conn.error(ErrorCode.nameInvalid, `${wanted.reason} You are ${conn.name} for now.`, { ref: 'hello' });
    else if (wanted?.ok && wanted.value !== conn.name) conn.error(ErrorCode.nameTaken, `"${wanted.value}" is taken; you are ${conn.name} for now.`, { ref: 'hello' });
  }

  private verifyHello(nonce: string, key: string, sig: string): boolean {
    try {
      // The key is a canonical P-256 key (checked first): ECDSA with SHA-256, as WebCrypto signs.
      const publicKey = createPublicKey({ key: Buffer.from(key, 'base64url'), format: 'der', type: 'spki' });
      return verifySignature('sha256', helloSigningInput(nonce), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
    } catch {
      return false;
    }
  }

  private onJoin(conn: Connection, frame: ClientFrameOf<'join'>): void {
    const room = checkRoomName(frame.room);
    if (!room.ok) return conn.error(ErrorCode.roomInvalid, room.reason, { ref: frame.room });
    const ban = this.moderator.banFor(conn, room.value);
    if (ban) return conn.error(ErrorCode.banned, this.moderator.banSentence(ban), { ref: room.value });
    const guessing = frame.verifier !== undefined && this.rooms.isPrivate(room.value);
    const wait = guessing ? this.guesses.passphraseWait(conn, room.value) : 0;
    if (wait > 0) {
      return conn.error(ErrorCode.throttled, 'Too many wrong passphrases; wait a few minutes before trying again.', { ref: room.value, retryAfterMs: wait });
    }
    const failure = this.rooms.join(conn, room.value, frame.verifier);
    if (failure?.code === ErrorCode.passphraseWrong) this.guesses.passphraseFailed(conn, room.value);
    if (failure) conn.error(failure.code, failure.message, { ref: room.value });
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
      return this.abuse(conn, ErrorCode.rateLimited, 'You are sending messages too fast; it will be sent shortly.', frame.cid, retryAfterMs);
    }
    // The same spelling join and leave accept ("#Music" is "music").
    const room = checkRoomName(frame.room);
    if (!room.ok) return conn.error(ErrorCode.roomInvalid, room.reason, { ref: frame.cid });
    // The schema let through exactly one of text and sealed.
    const body = frame.sealed !== undefined ? { sealed: frame.sealed } : { text: frame.text!, kind: frame.kind ?? 'text' };
    const result = this.rooms.broadcastMessage(conn, room.value, body);
    if ('code' in result) return conn.error(result.code, result.message, { ref: frame.cid });
    this.recentIds.set(conn.key, frame.cid, result);
    conn.send({ type: 'ack', cid: frame.cid, id: result.id, ts: result.ts });
  }

  /** Passes whisper signalling or relay frames on, only between people who share a room. */
  private forward(conn: Connection, to: string, frame: ServerFrame): void {
    const target = this.byId.get(to);
    if (!target || target === conn || !this.rooms.shareRoom(conn, target)) {
      return conn.error(ErrorCode.peerUnreachable, 'That person is not in any room with you.', { ref: to });
    }
    target.send(frame);
  }

  private onRename(conn: Connection, frame: ClientFrameOf<'rename'>): void {
    const checked = checkName(frame.name);
    if (!checked.ok) return conn.error(ErrorCode.nameInvalid, checked.reason, { ref: 'rename' });
    const holder = this.byName.get(nameKey(checked.value));
    if (holder && holder !== conn) return conn.error(ErrorCode.nameTaken, `"${checked.value}" is already taken.`, { ref: 'rename' });
    if (checked.value === conn.name) return conn.send({ type: 'name', name: conn.name });
    this.byName.delete(nameKey(conn.name));
    this.byName.set(nameKey(checked.value), conn);
    this.rooms.rename(conn, checked.value);
    conn.send({ type: 'name', name: conn.name });
  }

  private nameFree(name: string): boolean {
    return !this.byName.has(nameKey(name));
  }

  /** Forgets a connection: rooms, names and counters. Safe to call twice. */
  private drop(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    const count = (this.perIp.get(conn.ip) ?? 1) - 1;
    if (count > 0) this.perIp.set(conn.ip, count);
    else this.perIp.delete(conn.ip);
    if (!conn.welcomed) return;
    this.rooms.leaveAll(conn);
    if (this.byKey.get(conn.key) === conn) this.byKey.delete(conn.key);
    this.byId.delete(conn.id);
    if (this.byName.get(nameKey(conn.name)) === conn) this.byName.delete(nameKey(conn.name));
    this.recentIds.release(conn.key);
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
