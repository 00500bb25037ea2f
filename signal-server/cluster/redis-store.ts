// Durable state in Redis (cluster mode): what store.ts keeps in the data directory,
// shared by every node. Collections are hashes keyed per entry (ban id, room name,
// identity key), written as differences (HSET/HDEL), so two nodes changing different
// entries never undo each other; the audit trail is a capped stream. Each change is
// announced on wisp:store (which collection, and which node), and the other nodes re-read
// that collection into the in-memory copy the moderation code reads synchronously.
import { randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { AuditEntrySchema, type AuditRecord } from '../audit-log.ts';
import { canonicalSpelling } from '../identity-key.ts';
import { LIMITS } from '../protocol/protocol.ts';
import { BanSchema, FILES, PersistentRoomSchema, Store, StoreError, type Ban, type Content, type PersistentRoom } from '../store.ts';
import { connectRedis, connectSubscriber, redisAddress, type Redis } from './redis-client.ts';
import { RedisCounters } from './redis-counters.ts';

export const STORE_KEYS = {
  server: 'wisp:store:server',
  admin: 'wisp:store:admin',
  bans: 'wisp:store:bans',
  rooms: 'wisp:store:rooms',
  members: 'wisp:store:members',
  admins: 'wisp:store:admins',
  audit: 'wisp:store:audit',
} as const;
export const STORE_CHANNEL = 'wisp:store';

type Collection = 'admin' | 'bans' | 'rooms' | 'members' | 'admins' | 'audit';
type Entries = 'bans' | 'rooms' | 'members' | 'admins';
const COLLECTIONS: readonly Collection[] = ['admin', 'bans', 'rooms', 'members', 'admins', 'audit'];

const ADVICE = 'Fix or delete that entry in Redis, or migrate again with --force; Wisp will not replace it.';
const KeySchema = v.pipe(v.string(), v.maxLength(512));
/** A member's or remembered admin's entry: when it was added (ms). */
const AddedAt = v.pipe(v.string(), v.regex(/^\d{1,16}$/));

/** Parses and validates one stored entry; anything else is a StoreError naming it. */
function parseEntry<S extends v.GenericSchema>(schema: S, where: string, raw: string, json = true): v.InferOutput<S> {
  let data: unknown = raw;
  if (json) {
    try {
      data = JSON.parse(raw);
    } catch (error) {
      throw new StoreError(where, `is not valid JSON (${(error as Error).message})`, ADVICE);
    }
  }
  const result = v.safeParse(schema, data);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue.path?.map((p) => String(p.key)).join('.') ?? '';
    throw new StoreError(where, `has unexpected content${path ? ` at ${path}` : ''}: ${issue.message}`, ADVICE);
  }
  return result.output;
}

export class RedisStore extends Store {
  /** This node's mark on its notices, so it does not re-read its own changes. */
  private readonly origin = randomBytes(9).toString('base64url');
  /** What Redis held per entry after the last read or write: the base of each difference written. */
  private readonly saved: Record<Entries, Map<string, string>> = { bans: new Map(), rooms: new Map(), members: new Map(), admins: new Map() };
  private recentAudit: AuditRecord[] = [];
  /** The newest audit stream id read, so a notice reads only what is new. */
  private auditId = '0';
  private readonly pending = new Set<Promise<unknown>>();
  /** One re-read per collection at a time; a notice during one asks for one more. */
  private readonly reloading = new Map<Collection, { again: boolean }>();
  private closed = false;

  private constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    where: string,
  ) {
    super(where);
    this.counters = new RedisCounters(redis);
  }

  /** Connects, reads and validates every collection, and makes the server id if no node has yet. */
  static async connect(url: string): Promise<RedisStore> {
    const where = `Redis at ${redisAddress(url)}`;
    let redis: Redis | undefined;
    let subscriber: Redis | undefined;
    try {
      redis = await connectRedis(url, 'store');
      subscriber = await connectSubscriber(url, 'store-notices');
    } catch (error) {
      redis?.disconnect();
      subscriber?.disconnect();
      throw new StoreError(where, `cannot be reached (${(error as Error).message})`, 'Check --redis and that Redis is running.');
    }
    const store = new RedisStore(redis, subscriber, where);
    try {
      // Subscribed before reading: a change made meanwhile is read again, never missed.
      subscriber.on('message', (channel: string, message: string) => channel === STORE_CHANNEL && store.onNotice(message));
      await subscriber.subscribe(STORE_CHANNEL);
      await Promise.all(COLLECTIONS.map((collection) => store.read(collection)));
      await store.ensureServerId();
      store.watchForEmptyRestart();
    } catch (error) {
      redis.disconnect();
      subscriber.disconnect();
      if (error instanceof StoreError) throw error;
      throw new StoreError(where, `cannot be read (${(error as Error).message})`, 'Check that Redis is running.');
    }
    return store;
  }

  /**
   * Redis keeps nothing on disk, so a restart empties it; every running node still holds the
   * whole durable state and writes it back (the same on every node; the server id and the
   * admin token only if no node has yet), so a node started afterwards finds the same
   * server id, bans and rooms. The audit trail keeps only what comes after.
   */
  private watchForEmptyRestart(): void {
    let lost = false;
    this.redis.on('close', () => (lost = true));
    this.redis.on('ready', () => {
      if (!lost || this.closed) return;
      lost = false;
      this.reseedIfEmpty().catch((error: unknown) => console.error(`wisp: could not write the durable state back to Redis: ${(error as Error).message}`));
    });
  }

  private async reseedIfEmpty(): Promise<void> {
    if ((await this.redis.exists(STORE_KEYS.server)) === 1) return;
    const now = Date.now();
    const multi = this.redis.multi();
    multi.set(STORE_KEYS.server, JSON.stringify({ version: 1, id: this.serverId, createdAt: now } satisfies Content<'server'>), 'NX');
    if (this.adminTokenHash) multi.set(STORE_KEYS.admin, JSON.stringify({ version: 1, tokenHash: this.adminTokenHash, createdAt: now } satisfies Content<'admin'>), 'NX');
    const entries: Record<Entries, Map<string, string>> = {
      bans: new Map(this.bans.map((ban) => [ban.id, JSON.stringify(ban)])),
      rooms: new Map(this.rooms.map((room) => [room.name, JSON.stringify(room)])),
      members: this.keyEntries('members'),
      admins: this.keyEntries('admins'),
    };
    for (const [collection, current] of Object.entries(entries) as [Entries, Map<string, string>][]) {
      if (current.size > 0) multi.hset(STORE_KEYS[collection], Object.fromEntries(current));
    }
    for (const collection of COLLECTIONS) multi.publish(STORE_CHANNEL, `${collection} ${this.origin}`);
    await multi.exec();
    for (const [collection, current] of Object.entries(entries) as [Entries, Map<string, string>][]) this.saved[collection] = current;
    console.error('wisp: Redis came back empty; this node wrote the bans, rooms and admins it holds back into it.');
  }

  /** The first node makes the id (SET NX); every other node reads that one: private room keys depend on it. */
  private async ensureServerId(): Promise<void> {
    const fresh: Content<'server'> = { version: 1, id: randomBytes(16).toString('base64url'), createdAt: Date.now() };
    await this.redis.set(STORE_KEYS.server, JSON.stringify(fresh), 'NX');
    const raw = await this.redis.get(STORE_KEYS.server);
    if (raw === null) throw new StoreError(`${this.dir} ${STORE_KEYS.server}`, 'vanished while starting', ADVICE);
    this.serverId = parseEntry(FILES.server.schema, `${this.dir} ${STORE_KEYS.server}`, raw).id;
  }

  private async read(collection: Collection): Promise<void> {
    const where = `${this.dir} ${STORE_KEYS[collection]}`;
    switch (collection) {
      case 'admin': {
        const raw = await this.redis.get(STORE_KEYS.admin);
        this.adminTokenHash = raw === null ? undefined : parseEntry(FILES.admin.schema, where, raw).tokenHash;
        return;
      }
      case 'bans': {
        const entries = await this.readEntries('bans', (id, raw) => {
          const ban = parseEntry(BanSchema, `${where} ${id}`, raw);
          if (ban.id !== id) throw new StoreError(`${where} ${id}`, `holds the ban ${ban.id}`, ADVICE);
          // Keys in the one spelling hello admits, as from the data directory.
          return { ...ban, key: ban.key && canonicalSpelling(ban.key), byKey: ban.byKey && canonicalSpelling(ban.byKey) } satisfies Ban;
        });
        this.bans = entries;
        return;
      }
      case 'rooms': {
        this.rooms = await this.readEntries('rooms', (name, raw) => {
          const room = parseEntry(PersistentRoomSchema, `${where} ${name}`, raw);
          if (room.name !== name) throw new StoreError(`${where} ${name}`, `holds the room ${room.name}`, ADVICE);
          return { ...room, moderators: room.moderators.map(canonicalSpelling) } satisfies PersistentRoom;
        });
        return;
      }
      case 'members':
      case 'admins': {
        const keys = await this.readEntries(collection, (key, raw) => {
          parseEntry(KeySchema, `${where} ${key.slice(0, 16)}…`, key, false);
          parseEntry(AddedAt, `${where} ${key.slice(0, 16)}…`, raw, false);
          return canonicalSpelling(key);
        });
        this[collection] = new Set(keys);
        return;
      }
      case 'audit':
        return this.readAudit();
    }
  }

  /** Every entry of one hash, each validated; the raw entries become the base of the next write. */
  private async readEntries<T>(collection: Entries, parse: (field: string, raw: string) => T): Promise<T[]> {
    const raw = await this.redis.hgetall(STORE_KEYS[collection]);
    const parsed = Object.entries(raw).map(([field, value]) => parse(field, value));
    this.saved[collection] = new Map(Object.entries(raw));
    return parsed;
  }

  /** The audit records added since the last read (all of the newest at start), oldest first. */
  private async readAudit(): Promise<void> {
    const max = LIMITS.auditRecordsInMemory;
    const rows =
      this.auditId === '0'
        ? (await this.redis.xrevrange(STORE_KEYS.audit, '+', '-', 'COUNT', max)).reverse()
        : await this.redis.xrange(STORE_KEYS.audit, `(${this.auditId}`, '+', 'COUNT', max);
    for (const [id, fields] of rows) {
      this.auditId = id;
      const raw = fields[fields.indexOf('r') + 1];
      if (raw === undefined) continue;
      this.recentAudit.push(parseEntry(AuditEntrySchema, `${this.dir} ${STORE_KEYS.audit} ${id}`, raw));
    }
    if (this.recentAudit.length > max) this.recentAudit.splice(0, this.recentAudit.length - max);
  }

  private onNotice(message: string): void {
    const [collection, origin] = message.split(' ');
    if (origin === this.origin || !COLLECTIONS.includes(collection as Collection)) return;
    this.reload(collection as Collection);
  }

  private reload(collection: Collection): void {
    const running = this.reloading.get(collection);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.reloading.set(collection, state);
    const run = async (): Promise<void> => {
      do {
        state.again = false;
        try {
          await this.read(collection);
        } catch (error) {
          // The copy in memory stays as it was: a bad entry is said, never silently dropped.
          if (!this.closed) console.error(`wisp: could not re-read ${collection} from Redis: ${(error as Error).message}`);
        }
      } while (state.again && !this.closed);
      this.reloading.delete(collection);
    };
    this.track(run());
  }

  override async claimAdmin(tokenHash: string): Promise<boolean> {
    const content: Content<'admin'> = { version: 1, tokenHash, createdAt: Date.now() };
    if ((await this.redis.set(STORE_KEYS.admin, JSON.stringify(content), 'NX')) === 'OK') return true;
    await this.read('admin');
    return false;
  }

  override saveAdmin(tokenHash: string): Promise<void> {
    this.adminTokenHash = tokenHash;
    const content: Content<'admin'> = { version: 1, tokenHash, createdAt: Date.now() };
    return this.exec('admin', (multi) => multi.set(STORE_KEYS.admin, JSON.stringify(content)));
  }

  override saveBans(): Promise<void> {
    return this.writeEntries('bans', new Map(this.bans.map((ban) => [ban.id, JSON.stringify(ban)])));
  }

  override saveRooms(): Promise<void> {
    return this.writeEntries('rooms', new Map(this.rooms.map((room) => [room.name, JSON.stringify(room)])));
  }

  override saveMembers(): Promise<void> {
    return this.writeEntries('members', this.keyEntries('members'));
  }

  override saveAdmins(): Promise<void> {
    return this.writeEntries('admins', this.keyEntries('admins'));
  }

  override get audit(): readonly AuditRecord[] {
    return this.recentAudit;
  }

  /** Appends to the capped stream; this node's copy follows from the stream, in the cluster's one order. */
  override record(entry: AuditRecord): Promise<void> {
    return this.exec('audit', (multi) =>
      multi.xadd(STORE_KEYS.audit, 'MAXLEN', '~', LIMITS.clusterAuditRecords, '*', 'r', JSON.stringify(entry)),
    ).then(() => this.reload('audit'));
  }

  override async flush(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  override async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    for (const connection of [this.subscriber, this.redis]) {
      // quit() waits for Redis; while it is away there is nothing to wait for.
      await connection.quit().catch(() => connection.disconnect());
    }
  }

  /** A set's entries: identity key → when it was added (kept as it was for those already saved). */
  private keyEntries(collection: 'members' | 'admins'): Map<string, string> {
    const before = this.saved[collection];
    const now = String(Date.now());
    return new Map([...this[collection]].map((key) => [key, before.get(key) ?? now]));
  }

  /** Writes what changed since Redis was last read or written (HSET/HDEL), never the whole collection. */
  private async writeEntries(collection: Entries, current: Map<string, string>): Promise<void> {
    const before = this.saved[collection];
    const changed = [...current].filter(([field, value]) => before.get(field) !== value);
    const removed = [...before.keys()].filter((field) => !current.has(field));
    if (!changed.length && !removed.length) return;
    const key = STORE_KEYS[collection];
    await this.exec(collection, (multi) => {
      if (changed.length) multi.hset(key, Object.fromEntries(changed));
      if (removed.length) multi.hdel(key, ...removed);
      return multi;
    });
    this.saved[collection] = current;
  }

  /** One MULTI with the change and its notice; any failed part rejects (the hub says store-failed). */
  private exec(collection: Collection, build: (multi: ReturnType<Redis['multi']>) => unknown): Promise<void> {
    const multi = this.redis.multi();
    build(multi);
    multi.publish(STORE_CHANNEL, `${collection} ${this.origin}`);
    const done = multi.exec().then((results) => {
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw new Error(`Redis refused the change to ${collection}: ${failed?.[0]?.message ?? 'transaction aborted'}`);
    });
    this.track(done);
    return done;
  }

  private track(promise: Promise<unknown>): void {
    const settled = promise.catch(() => undefined).finally(() => this.pending.delete(settled));
    this.pending.add(settled);
  }
}
