// Durable server state in the data directory: the server's random id, bans, persistent
// rooms with their grants, the admin token hash, identities admitted with the server
// password, identities remembered as admin, and the audit trail (audit-log.ts: JSON lines). Never a message. Each file is JSON, validated when read (a corrupt file stops
// the start with its name and the problem) and written atomically (temp, fsync, rename),
// at a bounded rate per file (coalesced-file.ts).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import * as v from 'valibot';
import { canonicalSpelling } from './identity-key.ts';
import { removeLeftoverTemps } from './store-leftovers.ts';
import { AUDIT_LOG, AuditEntrySchema, AuditLog, type AuditRecord } from './audit-log.ts';

export type { AuditRecord };
import { LIMITS, SERVER_ID } from './protocol/protocol.ts';
import { CoalescedFile, type FileWriter } from './coalesced-file.ts';
import type { SharedCounts } from './guess-throttles.ts';
import type { SharedBuckets } from './change-throttles.ts';

const Key = v.pipe(v.string(), v.maxLength(512));
const Time = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

export const BanSchema = v.object({
  id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,32}$/)),
  /** Absent: a server-wide ban. */
  room: v.optional(v.string()),
  key: v.optional(Key),
  ip: v.optional(v.string()),
  name: v.string(),
  by: v.string(),
  byKey: v.optional(Key),
  at: Time,
  reason: v.optional(v.string()),
  until: v.optional(Time),
});
export type Ban = v.InferOutput<typeof BanSchema>;

export const PersistentRoomSchema = v.object({
  name: v.string(),
  topic: v.optional(v.string()),
  /** Identity keys granted moderator in this room. */
  moderators: v.array(Key),
  createdAt: Time,
  /** How many recent messages new members see (absent: the default). */
  newMembers: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
  /** When the room was last purged: devices that were away delete what they kept from before it. */
  purgedAt: v.optional(Time),
});
export type PersistentRoom = v.InferOutput<typeof PersistentRoomSchema>;


export const FILES = {
  /** Made on the first start; private rooms' passphrase salts name the server by it. */
  server: { name: 'server.json', schema: v.object({ version: v.literal(1), id: v.pipe(v.string(), v.regex(SERVER_ID)), createdAt: Time }) },
  admin: { name: 'admin.json', schema: v.object({ version: v.literal(1), tokenHash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)), createdAt: Time }) },
  bans: { name: 'bans.json', schema: v.object({ version: v.literal(1), bans: v.array(BanSchema) }) },
  rooms: { name: 'rooms.json', schema: v.object({ version: v.literal(1), rooms: v.array(PersistentRoomSchema) }) },
  members: { name: 'members.json', schema: v.object({ version: v.literal(1), keys: v.array(Key) }) },
  /** Identities that proved the current admin token: admin again after a restart. */
  admins: { name: 'admins.json', schema: v.object({ version: v.literal(1), keys: v.array(Key) }) },
  /** The audit trail before audit.log: read once, its records appended to the log, then removed. */
  audit: { name: 'audit.json', schema: v.object({ version: v.literal(1), entries: v.array(AuditEntrySchema) }) },
} as const;
type FileId = keyof typeof FILES;
export type Content<F extends FileId> = v.InferOutput<(typeof FILES)[F]['schema']>;

export class StoreError extends Error {
  readonly code = 'store-invalid';
  constructor(
    readonly file: string,
    problem: string,
    advice = 'Fix or restore the file from a backup; Wisp will not replace it.',
  ) {
    super(`${file}: ${problem}. ${advice}`);
  }
}

async function readJson<F extends FileId>(dir: string, id: F): Promise<Content<F> | undefined> {
  const file = path.join(dir, FILES[id].name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StoreError(file, `cannot be read (${(error as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new StoreError(file, `is not valid JSON (${(error as Error).message})`);
  }
  const result = v.safeParse(FILES[id].schema, data);
  if (!result.success) {
    const issue = result.issues[0];
    const where = issue.path?.map((p) => String(p.key)).join('.') ?? '';
    throw new StoreError(file, `has unexpected content${where ? ` at ${where}` : ''}: ${issue.message}`);
  }
  return result.output as Content<F>;
}

/** Everything the data directory holds, read and validated, nothing written (also for the migration to Redis). */
export interface DataDirContent {
  server?: Content<'server'>;
  admin?: Content<'admin'>;
  bans: Ban[];
  rooms: PersistentRoom[];
  members: string[];
  admins: string[];
  /** audit.json's records (from before audit.log), oldest first; absent: no such file. */
  oldAudit?: AuditRecord[];
}

export async function readDataDir(dir: string): Promise<DataDirContent> {
  const [server, admin, bans, rooms, members, admins, audit] = await Promise.all([
    readJson(dir, 'server'),
    readJson(dir, 'admin'),
    readJson(dir, 'bans'),
    readJson(dir, 'rooms'),
    readJson(dir, 'members'),
    readJson(dir, 'admins'),
    readJson(dir, 'audit'),
  ]);
  // Keys in the one spelling hello admits, so a ban by a key saved in another still holds.
  const canonical = (key: string | undefined) => key && canonicalSpelling(key);
  return {
    server,
    admin,
    bans: (bans?.bans ?? []).map((ban) => ({ ...ban, key: canonical(ban.key), byKey: canonical(ban.byKey) })),
    rooms: (rooms?.rooms ?? []).map((room) => ({ ...room, moderators: room.moderators.map(canonicalSpelling) })),
    members: (members?.keys ?? []).map(canonicalSpelling),
    admins: (admins?.keys ?? []).map(canonicalSpelling),
    oldAudit: audit?.entries,
  };
}

export class Store {
  /** The server's random id, sent in `welcome`: a new one changes every private room's key. */
  serverId = '';
  adminTokenHash?: string;
  bans: Ban[] = [];
  rooms: PersistentRoom[] = [];
  members = new Set<string>();
  admins = new Set<string>();
  /** Cluster mode: guess counts and change buckets every node shares; absent, each process keeps its own. */
  counters?: SharedCounts & SharedBuckets;
  /** Set in open(): the audit trail, appended to audit.log. */
  auditLog!: AuditLog;
  /** Every write to the data directory goes through this (atomic: temp, fsync, rename); tests wrap it to count. */
  writer: FileWriter = (file, text) => writeFileAtomic(file, text, { mode: 0o600 });
  private files = new Map<FileId, CoalescedFile>();
  /** What each file is to hold, rendered when its write starts: the newest state wins. */
  private contents = new Map<FileId, () => unknown>();

  /** `dir`: the data directory (or, for a subclass, where its state lives, for messages). */
  protected constructor(readonly dir: string) {}

  /** Opens (and creates) the data directory and reads every file, validating each. */
  static async open(dir: string): Promise<Store> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw new StoreError(dir, `cannot be created (${(error as Error).message})`);
    }
    try {
      await removeLeftoverTemps(dir, Object.values(FILES).map((file) => file.name));
    } catch (error) {
      throw new StoreError(dir, `cannot be read (${(error as Error).message})`);
    }
    const store = new Store(dir);
    const { server, admin, bans, rooms, members, admins, oldAudit } = await readDataDir(dir);
    store.adminTokenHash = admin?.tokenHash;
    store.bans = bans;
    store.rooms = rooms;
    store.members = new Set(members);
    store.admins = new Set(admins);
    store.auditLog = await AuditLog.open(dir);
    // Only once every file has been read and found valid: a bad start writes nothing.
    if (server) store.serverId = server.id;
    else await store.createServerId();
    if (oldAudit) await store.migrateAudit(oldAudit);
    return store;
  }

  private async createServerId(): Promise<void> {
    const id = randomBytes(16).toString('base64url');
    try {
      await this.write('server', () => ({ version: 1, id, createdAt: Date.now() }));
    } catch (error) {
      throw new StoreError(path.join(this.dir, FILES.server.name), `cannot be written (${(error as Error).message})`);
    }
    this.serverId = id;
  }

  saveAdmin(tokenHash: string): Promise<void> {
    this.adminTokenHash = tokenHash;
    return this.write('admin', () => ({ version: 1, tokenHash, createdAt: Date.now() }));
  }

  /**
   * Saves the hash of a token made at first start, unless another cluster node made one
   * first: false then, and adminTokenHash holds that one (one data directory: always true).
   */
  async claimAdmin(tokenHash: string): Promise<boolean> {
    await this.saveAdmin(tokenHash);
    return true;
  }

  saveBans(): Promise<void> {
    return this.write('bans', () => ({ version: 1, bans: this.bans }));
  }

  saveRooms(): Promise<void> {
    return this.write('rooms', () => ({ version: 1, rooms: this.rooms }));
  }

  saveMembers(): Promise<void> {
    return this.write('members', () => ({ version: 1, keys: [...this.members] }));
  }

  saveAdmins(): Promise<void> {
    return this.write('admins', () => ({ version: 1, keys: [...this.admins] }));
  }

  /** The newest audit records, oldest first (at most LIMITS.auditRecordsInMemory). */
  get audit(): readonly AuditRecord[] {
    return this.auditLog.recent;
  }

  record(entry: AuditRecord): Promise<void> {
    return this.auditLog.record(entry);
  }

  /** audit.json from before the log: its records appended to audit.log once, then it is removed. */
  private async migrateAudit(entries: AuditRecord[]): Promise<void> {
    const file = path.join(this.dir, FILES.audit.name);
    try {
      await Promise.all(entries.map((entry) => this.auditLog.record(entry)));
      await unlink(file);
    } catch (error) {
      throw new StoreError(file, `could not be moved to ${AUDIT_LOG} (${(error as Error).message})`);
    }
  }

  /** Resolves once every change asked for so far is on disk: pending writes start at once. */
  async flush(): Promise<void> {
    await Promise.all([...[...this.files.values()].map((file) => file.flush()), this.auditLog.flush()]);
  }

  /** Flushes, then lets go of what the store holds open (files: nothing). */
  close(): Promise<void> {
    return this.flush();
  }

  /**
   * Writes are coalesced per file (CoalescedFile): at most one per
   * LIMITS.storeWriteIntervalMs, each with the content current when it starts. The
   * promise resolves once a write holding this change is on disk.
   */
  private write<F extends FileId>(id: F, content: () => Content<F>): Promise<void> {
    this.contents.set(id, content);
    let file = this.files.get(id);
    if (!file) {
      const render = () => `${JSON.stringify(this.contents.get(id)!(), null, 1)}\n`;
      file = new CoalescedFile(path.join(this.dir, FILES[id].name), render, (name, text) => this.writer(name, text), LIMITS.storeWriteIntervalMs);
      this.files.set(id, file);
    }
    return file.schedule();
  }
}
