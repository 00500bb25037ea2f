// `wisp migrate-to-redis`: copies a data directory's durable state (server id, admin token
// hash, bans, persistent rooms, password members, remembered admins, the newest audit
// records) into Redis for cluster mode, in one transaction. Reads the files only: the
// data directory is left exactly as it was. Refuses a Redis that already holds Wisp's
// state unless told to replace it (--force).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AuditLog } from '../audit-log.ts';
import { LIMITS } from '../protocol/protocol.ts';
import { FILES, readDataDir } from '../store.ts';
import { connectRedis, redisAddress } from './redis-client.ts';
import { STORE_CHANNEL, STORE_KEYS } from './redis-store.ts';

export class MigrationError extends Error {
  constructor(
    readonly code: 'no-data' | 'redis-not-empty' | 'redis-failed',
    message: string,
  ) {
    super(message);
  }
}

export interface MigrationCounts {
  serverId: string;
  adminToken: boolean;
  bans: number;
  rooms: number;
  members: number;
  admins: number;
  audit: number;
}

export async function migrateToRedis(dataDir: string, redisUrl: string, force: boolean): Promise<MigrationCounts> {
  // server.json is made on a server's first start: without it there is nothing to move.
  if (!existsSync(path.join(dataDir, FILES.server.name))) {
    throw new MigrationError('no-data', `${dataDir} holds no Wisp data (no ${FILES.server.name}); give the data directory with --data-dir.`);
  }
  const data = await readDataDir(dataDir);
  const log = await AuditLog.open(dataDir);
  const audit = [...(data.oldAudit ?? []), ...log.recent].slice(-LIMITS.clusterAuditRecords);
  const where = redisAddress(redisUrl);
  let redis;
  try {
    redis = await connectRedis(redisUrl, 'migrate');
  } catch (error) {
    throw new MigrationError('redis-failed', `Redis at ${where} cannot be reached (${(error as Error).message}).`);
  }
  try {
    const keys = Object.values(STORE_KEYS);
    const present = await redis.exists(...keys);
    if (present > 0 && !force) {
      throw new MigrationError('redis-not-empty', `Redis at ${where} already holds Wisp's state (${present} of the wisp:store: keys); nothing was copied. Add --force to replace it.`);
    }
    const now = String(Date.now());
    const multi = redis.multi();
    multi.del(...keys);
    multi.set(STORE_KEYS.server, JSON.stringify(data.server));
    if (data.admin) multi.set(STORE_KEYS.admin, JSON.stringify(data.admin));
    if (data.bans.length) multi.hset(STORE_KEYS.bans, Object.fromEntries(data.bans.map((ban) => [ban.id, JSON.stringify(ban)])));
    if (data.rooms.length) multi.hset(STORE_KEYS.rooms, Object.fromEntries(data.rooms.map((room) => [room.name, JSON.stringify(room)])));
    if (data.members.length) multi.hset(STORE_KEYS.members, Object.fromEntries(data.members.map((key) => [key, now])));
    if (data.admins.length) multi.hset(STORE_KEYS.admins, Object.fromEntries(data.admins.map((key) => [key, now])));
    for (const entry of audit) multi.xadd(STORE_KEYS.audit, 'MAXLEN', '~', LIMITS.clusterAuditRecords, '*', 'r', JSON.stringify(entry));
    // Nodes already running re-read what changed under them.
    for (const collection of ['admin', 'bans', 'rooms', 'members', 'admins', 'audit']) multi.publish(STORE_CHANNEL, `${collection} migration`);
    const results = await multi.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw new MigrationError('redis-failed', `Redis at ${where} refused the copy (${failed?.[0]?.message ?? 'transaction aborted'}); nothing was copied.`);
    return {
      serverId: data.server!.id,
      adminToken: data.admin !== undefined,
      bans: data.bans.length,
      rooms: data.rooms.length,
      members: data.members.length,
      admins: data.admins.length,
      audit: audit.length,
    };
  } catch (error) {
    if (error instanceof MigrationError) throw error;
    throw new MigrationError('redis-failed', `Redis at ${where} failed during the copy (${(error as Error).message}).`);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** What was copied, as the operator reads it. */
export function describeMigration(counts: MigrationCounts, dataDir: string, redisUrl: string): string {
  const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  return [
    `Copied ${dataDir} to Redis at ${redisAddress(redisUrl)}:`,
    `  server id ${counts.serverId}`,
    `  admin token hash: ${counts.adminToken ? 'yes' : 'none'}`,
    `  ${plural(counts.bans, 'ban')}`,
    `  ${plural(counts.rooms, 'persistent room')}`,
    `  ${plural(counts.members, 'password member')}`,
    `  ${plural(counts.admins, 'remembered admin')}`,
    `  ${plural(counts.audit, 'audit record')}`,
    'The data directory was left as it was. Start every node with --redis to use it.',
  ].join('\n');
}
