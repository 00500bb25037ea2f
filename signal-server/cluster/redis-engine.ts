// The Redis engine: several Wisp nodes share rooms, presence, room messages and the peer
// directory. Each node keeps a full copy of who is where (replica.ts) and delivers only to
// its own sockets. Keys and channels are in cluster-keys.ts; the scripts in cluster-scripts.ts.
//
// Order: every write of a node goes through one connection, in the order the node made
// it (records before the announcements that need them), and every node reads one
// subscriber connection: so a join reaches every node before the joiner's first message,
// signal or relay, and each room's messages arrive everywhere in the order Redis numbered them.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CloseCode, LIMITS } from '../protocol/protocol.ts';
import type { Engine, EngineHost, Sent } from '../engine.ts';
import type { Peer } from '../peer.ts';
import type { RoomChange, RoomDesc } from '../room-change.ts';
import { connectRedis, connectSubscriber, redisAddress, type Redis } from './redis-client.ts';
import { Replica } from './replica.ts';
import { RemotePeer, type NodeLink, type PeerRecord } from './remote-peer.ts';
import { KEYS, cidKey } from './cluster-keys.ts';
import { ROOM_OPEN, SAY } from './cluster-scripts.ts';
import { decodeMessage, encodeMessageHead, type NodeFrame, type ClusterEvent } from './cluster-frames.ts';

export interface RedisEngineOptions {
  url: string;
  /** How long a room's ring in Redis keeps a message (its size is the rooms' own: `history.perRoom`). */
  historyMaxAgeMs: number;
  log?: (line: string) => void;
}

type RedisWithScripts = Redis & {
  wispRoomOpen(room: string, ring: string, desc: string, seq: number, ttlMs: number): Promise<[string, number]>;
  wispSay(
    room: string,
    ring: string,
    cid: string,
    head: string,
    channel: string,
    prefix: string,
    ringMax: number,
    ringTtlMs: number,
    cidTtlMs: number,
    sent: string,
    roomTtlMs: number,
  ): Promise<string>;
};

export class RedisEngine implements Engine, NodeLink {
  readonly kind = 'redis';
  /** This node's id: unique per process start. */
  readonly node = `${hostname().replace(/[^A-Za-z0-9-]/g, '').slice(0, 20) || 'node'}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private host!: EngineHost;
  private replica!: Replica;
  private readonly log: (line: string) => void;
  private heartbeat?: NodeJS.Timeout;
  private reaper?: NodeJS.Timeout;
  /** Records and announcements waiting for the end of this turn of the event loop, in order. */
  private outbox: (() => void)[] = [];
  private outboxScheduled = false;
  private synced = false;
  /** Redis answers but refuses writes (full, with noeviction): shared state cannot change; cleared by the next heartbeat it takes. */
  private refusing = false;
  /** Nodes with people here that the registry did not list, and in how many reaps in a row. */
  private readonly missing = new Map<string, number>();
  private syncing?: Promise<void>;
  private stopped = false;
  private lost = false;

  private constructor(
    private readonly options: RedisEngineOptions,
    private readonly redis: RedisWithScripts,
    private readonly subscriber: Redis,
  ) {
    this.log = options.log ?? ((line) => console.error(`wisp: ${line}`));
  }

  /** Connects to Redis; a Redis that cannot be reached at start stops the start with a clear sentence. */
  static async open(options: RedisEngineOptions): Promise<RedisEngine> {
    let redis: Redis;
    let subscriber: Redis;
    try {
      redis = await connectRedis(options.url, 'node');
      subscriber = await connectSubscriber(options.url, 'node-events');
    } catch (error) {
      throw new Error(`cannot reach Redis at ${redisAddress(options.url)} (${(error as Error).message}). Start Redis or fix --redis.`);
    }
    redis.defineCommand('wispRoomOpen', { numberOfKeys: 2, lua: ROOM_OPEN });
    redis.defineCommand('wispSay', { numberOfKeys: 3, lua: SAY });
    return new RedisEngine(options, redis as RedisWithScripts, subscriber);
  }

  get health(): 'ok' | 'degraded' {
    return this.ready && !this.refusing ? 'ok' : 'degraded';
  }

  /** Both connections up and this node's presence shared since the last reconnect. */
  private get ready(): boolean {
    return this.synced && this.redis.status === 'ready' && this.subscriber.status === 'ready';
  }

  async start(host: EngineHost): Promise<void> {
    this.host = host;
    this.replica = new Replica(host, this);
    this.subscriber.on('message', (channel: string, message: string) => this.receive(channel, message));
    await this.subscriber.subscribe(KEYS.events, KEYS.nodeChannel(this.node));
    this.redis.on('close', () => this.connectionLost());
    this.subscriber.on('close', () => this.connectionLost());
    this.redis.on('ready', () => this.connectionBack());
    this.subscriber.on('ready', () => this.connectionBack());
    await this.sync(true);
    this.heartbeat = setInterval(() => void this.beat(), LIMITS.clusterHeartbeatMs);
    this.reaper = setInterval(() => void this.reap(), LIMITS.clusterReapMs);
  }

  /** Leaves the cluster at once (the others need not wait for the heartbeat to lapse). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearInterval(this.reaper);
    if (this.redis.status === 'ready') {
      this.flushOutbox();
      await Promise.allSettled([
        this.redis.zrem(KEYS.nodes, this.node),
        this.redis.del(KEYS.peers(this.node)),
        this.redis.publish(KEYS.events, JSON.stringify({ n: this.node, down: true } satisfies ClusterEvent)),
      ]);
    }
    this.subscriber.disconnect();
    this.redis.disconnect();
  }

  // --- Changes made on this node ---------------------------------------------------------

  changed(change: RoomChange): void {
    if (!this.ready) return;
    // Who is in the room now, before the change empties it (a purge, a new passphrase).
    const touched = this.localIdsTouched(change);
    this.queue(() => {
      this.writeRecords(touched);
      void this.redis.publish(KEYS.events, JSON.stringify({ n: this.node, c: change } satisfies ClusterEvent)).catch(() => {});
      this.writeRoomDesc(change);
    });
  }

  admitted(peer: Peer): void {
    if (!this.ready) return;
    this.queue(() => {
      const record = this.recordOf(peer);
      void this.redis.hset(KEYS.peers(this.node), peer.id, JSON.stringify(record)).catch(() => {});
      void this.redis.publish(KEYS.events, JSON.stringify({ n: this.node, p: record } satisfies ClusterEvent)).catch(() => {});
    });
  }

  dropped(peer: Peer): void {
    if (!this.ready) return;
    const rooms = [...this.host.rooms.roomsOf(peer)];
    this.queue(() => {
      void this.redis.hdel(KEYS.peers(this.node), peer.id).catch(() => {});
      void this.redis.publish(KEYS.events, JSON.stringify({ n: this.node, g: peer.id } satisfies ClusterEvent)).catch(() => {});
      // Rooms they were the last one in end now, not when their description expires:
      // someone making a room of that name must not get the old owner and passphrase.
      const ended = rooms.filter((room) => !this.host.rooms.has(room));
      if (ended.length > 0) void this.redis.del(...ended.flatMap((room) => [KEYS.room(room), KEYS.ring(room)])).catch(() => {});
    });
  }

  remoteConnections(ip: string): number {
    return this.replica.ipCount(ip);
  }

  remotePeers(): Iterable<Peer> {
    return this.replica.all();
  }

  say(room: string, head: string, from: Peer, cid: string, ringMessages: number, sent: { id: string; ts: number }): Promise<Sent> | undefined {
    if (!this.ready) return undefined;
    this.flushOutbox();
    const ringMax = ringMessages > 0 ? this.host.rooms.history.perRoom : 0;
    return this.redis
      .wispSay(
        KEYS.room(room),
        KEYS.ring(room),
        cidKey(from.key, cid),
        head,
        KEYS.events,
        encodeMessageHead(this.node, from.id, room),
        ringMax,
        Math.max(1, this.options.historyMaxAgeMs),
        LIMITS.recentIdsKeepMs,
        `${sent.id} ${sent.ts}`,
        LIMITS.clusterRoomTtlMs,
      )
      .then(
        (answer) => {
          const [id, ts, seq] = answer.split(' ');
          return { id: id!, ts: Number(ts), seq: Number(seq) };
        },
        (error: unknown) => {
          this.noteRefusal(error);
          throw error;
        },
      );
  }

  /** A write Redis refused for want of memory: said once in the log, and /healthz says degraded until one goes through. */
  private noteRefusal(error: unknown): void {
    if (!String((error as Error).message).startsWith('OOM') || this.refusing) return;
    this.refusing = true;
    this.log('Redis refuses writes (out of memory); messages wait on the senders\' devices until it takes them again.');
  }

  forward(from: Peer, to: Peer, frame: string): boolean {
    if (!this.ready || !(to instanceof RemotePeer)) return false;
    this.sendToNode(to.node, { t: 'fwd', from: from.id, to: to.id, f: frame });
    return true;
  }

  // --- NodeLink: frames for someone on another node ----------------------------------------

  toPeer(node: string, id: string, frame: string): void {
    if (this.ready) this.sendToNode(node, { t: 'send', to: id, f: frame });
  }

  closePeer(node: string, id: string, code: CloseCode, reason: string): void {
    if (this.ready) this.sendToNode(node, { t: 'close', to: id, code, reason });
  }

  private sendToNode(node: string, frame: NodeFrame): void {
    this.flushOutbox();
    void this.redis.publish(KEYS.nodeChannel(node), JSON.stringify(frame)).catch(() => {});
  }

  // --- What other nodes say -------------------------------------------------------------

  private receive(channel: string, message: string): void {
    if (channel !== KEYS.events) return this.receiveForNode(message);
    const numbered = decodeMessage(message);
    if (numbered) return this.host.rooms.deliver(numbered.room, numbered.seq, numbered.frame, numbered.from);
    let event: ClusterEvent;
    try {
      event = JSON.parse(message) as ClusterEvent;
    } catch {
      return;
    }
    if (event.n === this.node) return;
    if (event.c) {
      const touched = this.localIdsTouched(event.c);
      this.replica.apply(event.n, event.c);
      // A change another node made to someone here (a kick, a purge): their record follows.
      if (touched.length > 0) this.queue(() => this.writeRecords(touched));
    } else if (event.p) this.replica.add(event.n, event.p);
    else if (event.g) this.replica.remove(event.g);
    else if (event.down) this.replica.dropNode(event.n);
    else if (event.up) void this.readNode(event.n);
  }

  private receiveForNode(message: string): void {
    let frame: NodeFrame;
    try {
      frame = JSON.parse(message) as NodeFrame;
    } catch {
      return;
    }
    if (frame.t === 'close') return this.host.closeLocal(frame.to, frame.code, frame.reason);
    this.host.deliverLocal(frame.to, frame.f, frame.t === 'fwd' ? frame.from : undefined);
  }

  // --- Directory records and room descriptions ---------------------------------------------

  private recordOf(peer: Peer): PeerRecord {
    return { id: peer.id, key: peer.key, name: peer.name, admin: peer.admin, ip: peer.ip, at: peer.connectedAt, rooms: [...this.host.rooms.roomsOf(peer)] };
  }

  /** This node's people whose rooms, name or rank a change alters. */
  private localIdsTouched(change: RoomChange): string[] {
    if (change.op === 'join') return this.host.local(change.member.id) ? [change.member.id] : [];
    if (change.op === 'leave' || change.op === 'rename' || change.op === 'admin') return this.host.local(change.id) ? [change.id] : [];
    if (change.op === 'purge' || change.op === 'delete' || change.op === 'verifier') {
      return this.host.rooms.membersOf(change.room).filter((m) => !m.remote).map((m) => m.id);
    }
    return [];
  }

  /** Their directory records, as they are now. */
  private writeRecords(ids: readonly string[]): void {
    for (const id of ids) {
      const peer = this.host.local(id) as Peer | undefined;
      if (peer?.welcomed) void this.redis.hset(KEYS.peers(this.node), id, JSON.stringify(this.recordOf(peer))).catch(() => {});
    }
  }

  /** A change to a room's owners, topic, passphrase or history: its description in Redis follows. */
  private writeRoomDesc(change: RoomChange): void {
    const room = change.op === 'persist' ? change.spec.name : 'room' in change ? change.room : undefined;
    if (!room) return;
    // A join or a leave changes who is in a room, not the room, unless it made or ended it.
    if (change.op === 'join' && !change.created) return;
    if (change.op === 'leave' && this.host.rooms.has(room)) return;
    const desc = this.host.rooms.descOf(room);
    if (!desc || change.op === 'delete') {
      if (change.op === 'leave' || change.op === 'purge' || change.op === 'delete') void this.redis.del(KEYS.room(room), KEYS.ring(room)).catch(() => {});
      return;
    }
    // Made here just now: the older description wins if another node made it too.
    if (change.op === 'join') return void this.openRoom(room, desc).catch(() => {});
    if (change.op === 'purge' || (change.op === 'history' && desc.newMembers === 0) || change.op === 'verifier') void this.redis.del(KEYS.ring(room)).catch(() => {});
    void this.redis.hset(KEYS.room(room), 'desc', JSON.stringify(desc)).catch(() => {});
  }

  /** Shares a room's description (the older wins) and adopts what Redis keeps. */
  private async openRoom(room: string, desc: RoomDesc): Promise<void> {
    const [kept, seq] = await this.redis.wispRoomOpen(KEYS.room(room), KEYS.ring(room), JSON.stringify(desc), this.host.rooms.seqOf(room), LIMITS.clusterRoomTtlMs);
    const winner = JSON.parse(kept) as RoomDesc;
    this.host.rooms.adoptDesc(room, winner, Number(seq));
    // Another node made it first: the nodes that took ours take that one too.
    if (winner.epoch !== desc.epoch) this.changed({ op: 'desc', room, desc: winner });
  }

  // --- Keeping in step --------------------------------------------------------------------

  private queue(write: () => void): void {
    this.outbox.push(write);
    if (this.outboxScheduled) return;
    this.outboxScheduled = true;
    // After the handler that made the change has finished changing the rooms.
    queueMicrotask(() => this.flushOutbox());
  }

  private flushOutbox(): void {
    this.outboxScheduled = false;
    const writes = this.outbox;
    this.outbox = [];
    for (const write of writes) write();
  }

  /**
   * Shares this node's people and rooms and reads everyone else's: at start, and after
   * Redis comes back (restarted empty, or with data): whatever changed meanwhile converges.
   */
  private sync(first = false): Promise<void> {
    this.syncing ??= this.doSync(first).finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async doSync(first: boolean): Promise<void> {
    const rooms = this.host.rooms;
    const records = [...this.host.localPeers()].filter((p) => p.welcomed).map((p) => this.recordOf(p));
    const write = this.redis.multi().zadd(KEYS.nodes, Date.now() + LIMITS.clusterNodeTtlMs, this.node).del(KEYS.peers(this.node));
    for (const record of records) write.hset(KEYS.peers(this.node), record.id, JSON.stringify(record));
    await write.exec();
    await Promise.all(rooms.names().map((name) => this.openRoom(name, rooms.descOf(name)!)));
    this.synced = true;
    await this.redis.publish(KEYS.events, JSON.stringify({ n: this.node, up: true } satisfies ClusterEvent));
    // Nodes not registered yet are left to the reaper: after Redis restarted empty, every
    // node registers again within a retry or two, and their people should not flicker.
    const live = await this.liveNodes();
    await Promise.all(live.filter((node) => node !== this.node).map((node) => this.readNode(node)));
    if (first) await this.primeRings();
  }

  /** Another node's whole directory, with the rooms this node did not know yet. */
  private async readNode(node: string): Promise<void> {
    const entries = await this.redis.hgetall(KEYS.peers(node));
    const records = Object.values(entries).map((text) => JSON.parse(text) as PeerRecord);
    const unknown = [...new Set(records.flatMap((r) => r.rooms))].filter((room) => !this.host.rooms.has(room));
    const descs = new Map<string, RoomDesc>();
    for (const room of unknown) {
      const [desc, seq] = await this.redis.hmget(KEYS.room(room), 'desc', 'seq');
      if (!desc) continue;
      descs.set(room, JSON.parse(desc) as RoomDesc);
      this.host.rooms.adoptDesc(room, JSON.parse(desc) as RoomDesc, Number(seq ?? 0));
    }
    this.replica.syncNode(node, records, descs);
  }

  /** A node that starts (or comes back) fills its rings from the streams: people who reconnect here recover what they missed elsewhere. */
  private async primeRings(): Promise<void> {
    const perRoom = this.host.rooms.history.perRoom;
    if (perRoom === 0) return;
    for (const room of this.host.rooms.names()) {
      const entries = await this.redis.xrevrange(KEYS.ring(room), '+', '-', 'COUNT', perRoom);
      const frames = entries
        .map(([, fields]) => ({ seq: Number(fields[1]), frame: fields[3]! }))
        .reverse();
      this.host.rooms.primeRing(room, frames);
    }
  }

  private async liveNodes(): Promise<string[]> {
    return this.redis.zrangebyscore(KEYS.nodes, Date.now(), '+inf');
  }

  private async beat(): Promise<void> {
    if (!this.ready) return;
    try {
      const added = await this.redis.zadd(KEYS.nodes, Date.now() + LIMITS.clusterNodeTtlMs, this.node);
      if (this.refusing) this.log('Redis takes writes again.');
      this.refusing = false;
      // Taken for dead (this process stalled): the others dropped our people; share them again.
      if (added === 1) await this.sync();
      const refresh = this.redis.pipeline();
      for (const room of this.host.rooms.names()) refresh.pexpire(KEYS.room(room), LIMITS.clusterRoomTtlMs);
      await refresh.exec();
    } catch (error) {
      // A lost connection is reported by its own events.
      this.noteRefusal(error);
    }
  }

  /** People of nodes that stopped beating leave every room; one node deletes the dead node's directory. */
  private async reap(): Promise<void> {
    if (!this.ready) return;
    try {
      const live = await this.liveNodes();
      for (const node of this.replica.nodes()) {
        if (live.includes(node)) {
          this.missing.delete(node);
          continue;
        }
        // Twice in a row: a node re-registering after a Redis restart is not dead.
        const rounds = (this.missing.get(node) ?? 0) + 1;
        this.missing.set(node, rounds);
        if (rounds < 2) continue;
        this.missing.delete(node);
        const count = this.replica.dropNode(node);
        if (count > 0) this.log(`node ${node} stopped answering; the ${count === 1 ? 'person' : `${count} people`} on it left every room.`);
      }
      const dead = await this.redis.zrangebyscore(KEYS.nodes, '-inf', Date.now());
      for (const node of dead) {
        if ((await this.redis.zrem(KEYS.nodes, node)) === 1) await this.redis.del(KEYS.peers(node));
      }
    } catch {
      // Next round.
    }
  }

  private connectionLost(): void {
    if (this.stopped || this.lost) return;
    this.lost = true;
    this.synced = false;
    this.log('lost the connection to Redis; this node serves its own people only until it is back.');
  }

  private connectionBack(): void {
    if (this.stopped || !this.lost || this.redis.status !== 'ready' || this.subscriber.status !== 'ready') return;
    this.lost = false;
    this.log('Redis is back; sharing presence again.');
    this.sync().catch((error: unknown) => {
      this.log(`could not re-sync with Redis (${(error as Error).message}); trying again.`);
      this.lost = true;
      setTimeout(() => this.connectionBack(), LIMITS.clusterRedisRetryMaxMs).unref();
    });
  }
}
