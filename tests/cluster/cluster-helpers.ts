// Shared by the cluster tests: one real redis-server per file, three fresh Wisp nodes on it
// per test (Redis emptied in between), clients connected straight to a chosen node (from a
// chosen address, through the trusted-proxy header), and a dump of everything in Redis.
import { before, after, beforeEach, afterEach } from 'node:test';
import type { Config } from '../../signal-server/config.ts';
import type { ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import { RedisServer, type RespValue } from '../support/redis-server.ts';
import { Cluster, type ClusterNode, type InProcessNode } from '../support/cluster-nodes.ts';
import type { TestClient } from '../support/test-client.ts';
import { until } from '../server/helpers.ts';
import { ADMIN_TOKEN, connectClient, type ClientOptions } from '../server/moderation-helpers.ts';

export { ADMIN_TOKEN };

/**
 * Every node: the admin token, a short presence window, rates out of the way (the tests
 * send bursts), and X-Forwarded-For believed from loopback so a test picks a client's
 * address.
 */
export const NODE_CONFIG: Partial<Config> = {
  adminToken: ADMIN_TOKEN,
  presenceWindowMs: 10,
  sayBurst: 10_000,
  sayPerMinute: 100_000,
  trustProxy: ['loopback'],
};

/** How long a change made on one node may take to show on another before the test fails. */
export const CROSS_NODE_MS = 10_000;

export interface ClusterContext {
  readonly redis: RedisServer;
  readonly cluster: Cluster;
  /** The three nodes, A, B and C. */
  readonly nodes: InProcessNode[];
  /** A client connected straight to `node`, from `from` when given; terminated after the test. */
  connect(node: ClusterNode, options?: ClientOptions): Promise<TestClient>;
}

/**
 * Registers the hooks: a redis-server for the file, and per test an empty Redis and
 * `count` in-process nodes with NODE_CONFIG and `overrides`. Read the context inside tests.
 */
export function useCluster(overrides: Partial<Config> = {}, count = 3): ClusterContext {
  let redis: RedisServer | undefined;
  let cluster: Cluster | undefined;
  let nodes: InProcessNode[] = [];
  before(async () => {
    redis = await RedisServer.start();
  });
  after(() => redis?.dispose());
  beforeEach(async () => {
    await redis!.command('FLUSHALL');
    cluster = new Cluster(redis!.url);
    nodes = await cluster.start(count, { ...NODE_CONFIG, ...overrides });
  });
  afterEach(async () => {
    await cluster?.dispose();
    cluster = undefined;
    nodes = [];
  });
  return {
    get redis() {
      return redis!;
    },
    get cluster() {
      return cluster!;
    },
    get nodes() {
      return nodes;
    },
    async connect(node, options = {}) {
      return cluster!.track(await connectClient(node.url, options));
    },
  };
}

/** A name nobody else in the test run uses (names are unique across the cluster). */
export function uniqueName(prefix: string): string {
  return `${prefix}${Math.random().toString(36).slice(2, 8)}`;
}

type PresenceEvent = ServerFrameOf<'presence'>['events'][number];

/** The first presence event about `room` among the frames `client` holds that matches. */
function heldEvent(client: TestClient, room: string, match: (e: PresenceEvent) => boolean): PresenceEvent | undefined {
  for (const f of client.frames) {
    if (f.type !== 'presence' || f.room !== room) continue;
    const event = f.events.find(match);
    if (event) return event;
  }
  return undefined;
}

/**
 * Waits until `client` has seen events matching `match` in `room` and returns it. It leaves
 * the frames in place (a batch may hold a leave and a join another wait is after).
 */
export async function seesEvent(client: TestClient, room: string, match: (e: PresenceEvent) => boolean, what: string, timeoutMs = CROSS_NODE_MS): Promise<PresenceEvent> {
  await until(client, () => heldEvent(client, room, match) !== undefined, `${client.welcome?.name ?? 'a client'} sees ${what} in #${room}`, timeoutMs);
  return heldEvent(client, room, match)!;
}

/** Waits until `client` sees `id` in `room`: in its snapshot, or in a presence batch since. */
export async function seesJoin(client: TestClient, joined: ServerFrameOf<'joined'> | undefined, room: string, id: string, timeoutMs = CROSS_NODE_MS): Promise<void> {
  if (joined?.members.some((m) => m.id === id)) return;
  await seesEvent(client, room, (e) => e.k === 'join' && e.member.id === id, `${id} join`, timeoutMs);
}

/** Waits until `client` sees `id` leave `room`; returns the leave event. */
export async function seesLeave(client: TestClient, room: string, id: string, timeoutMs = CROSS_NODE_MS): Promise<PresenceEvent> {
  return seesEvent(client, room, (e) => e.k === 'leave' && e.id === id, `${id} leave`, timeoutMs);
}


/**
 * Everything Redis holds, as text: each key with its type and its whole value (strings,
 * hashes, lists, sets, sorted sets and streams with every entry's fields).
 */
export async function redisDump(redis: RedisServer): Promise<string> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = (await redis.command('SCAN', cursor, 'COUNT', 1000)) as [string, string[]];
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  const parts: string[] = [];
  for (const key of keys.sort()) {
    const type = (await redis.command('TYPE', key)) as string;
    let value: RespValue;
    if (type === 'string') value = await redis.command('GET', key);
    else if (type === 'hash') value = await redis.command('HGETALL', key);
    else if (type === 'list') value = await redis.command('LRANGE', key, 0, -1);
    else if (type === 'set') value = await redis.command('SMEMBERS', key);
    else if (type === 'zset') value = await redis.command('ZRANGE', key, 0, -1, 'WITHSCORES');
    else if (type === 'stream') value = await redis.command('XRANGE', key, '-', '+');
    else value = `(${type})`;
    parts.push(`${key} ${type} ${JSON.stringify(value)}`);
  }
  return parts.join('\n');
}
