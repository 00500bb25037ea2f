// Three Wisp nodes sharing one real redis-server (cluster mode, --redis), on loopback:
// - cluster_relay_frames_per_s: room relay with senders and receivers spread over the
//   three nodes, per CPU-second of the nodes and Redis together, beside the same load on
//   one node measured here the same way (cluster_relay_single_node_frames_per_s: not
//   relay_frames_per_s, which server-load.bench.ts reports, so the keys stay unique);
// - cluster_join_storm_ms_1000 and cluster_presence_frames_per_member_storm: 1,000 joins
//   over one second, a third on each node, into one room, until every member sees all;
// - cluster_failover_ms: SIGKILL of a node until its clients, reconnecting as the app does,
//   are back in their room on the other nodes with every message said meanwhile, once;
// - cluster_rss_mb_10k_idle: RSS of the three nodes with 10,000 idle clients between them,
//   plus Redis's.
//
// The harness of server-load.bench.ts: each node is the compiled server alone in a child
// process (load-server.ts, plain node, as `npm start` runs it, so its RSS and CPU are its
// own and compare with the one-node rows), the load comes from load-client.ts processes,
// one per node, and Redis is tests/support/redis-server.ts. Every phase starts a fresh
// Redis and fresh nodes; every wait has a deadline; a phase that fails leaves its figures
// out.
//
//   npm run bench -- --only cluster
//   WISP_BENCH_PHASES=relay npm run bench -- --only cluster     (relay, storm, failover, idle)
import { type BenchContext, type Benchmark, type Row } from './bench.ts';
import {
  type Build,
  type Child,
  type Reply,
  type Server,
  connections,
  cpuMs,
  join,
  mb,
  median,
  open,
  percentile,
  problemsOf,
  rssKb,
  rssReads,
  runPhases,
  sleep,
  startClients,
  startServer,
  stopAll,
  stopServer,
} from './load-harness.ts';
import { RedisServer } from '../support/redis-server.ts';

const NODES = 3;
/** Chat rate limits lifted (both flags at their maximum): the relay sends far more than people do. */
const FAST = ['--rate-per-minute', '100000', '--rate-burst', '10000'];
/** Relay: one room of 33 members per load process, all sending, as server-load's relay phase does. */
const RELAY_MEMBERS_PER_PROCESS = 33;
const RELAY_SAY_RATE = 15;
const RELAY_WINDOW = 4;
const RELAY_WARMUP_MS = 1000;
const RELAY_MEASURE_MS = 3000;
const RELAY_ROUNDS = 3;
/** The storm: as server-load's, a third of the joiners on each node. */
const STORM_CLIENTS = 1000;
const STORM_SPREAD_MS = 1000;
const STORM_ROUNDS = 3;
const STORM_ATTEMPTS = 6;
const STORM_LATE_SPREAD_MS = STORM_SPREAD_MS * 1.2;
/** Failover: members per node in one room; before the kill some say PRE messages, after it OUTAGE. */
const FAILOVER_PER_NODE = 100;
const FAILOVER_SENDERS_PER_NODE = 10;
const FAILOVER_PRE_EACH = 2;
const FAILOVER_OUTAGE_EACH = 5;
/** Long enough for a dead node's entry to expire and be reaped (LIMITS: 9 s + 3 s) and more. */
const FAILOVER_TIMEOUT_MS = 45_000;
/** Idle: 10,000 clients, a third per node, in rooms of 100 that each span the three nodes. */
const IDLE_CLIENTS = 10_000;
const IDLE_ROOMS = 100;
const IDLE_READ_AFTER_MS = 3000;

// ---------------------------------------------------------------------------
// A cluster: one Redis, three nodes

interface Cluster {
  redis: RedisServer;
  nodes: Server[];
}

/** Redis pids still running, so a crash of the bench does not leave one behind (the nodes are the harness's children). */
const redisPids = new Set<number>();
process.once('exit', () => {
  for (const pid of redisPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
});

async function startCluster(build: Build, extraFlags: string[] = []): Promise<Cluster> {
  const redis = await RedisServer.start();
  redisPids.add(redis.pid!);
  const nodes: Server[] = [];
  try {
    // One after another: the first node sets up the shared state (server id) the others read.
    for (let i = 0; i < NODES; i++) nodes.push(await startServer(build, ['--redis', redis.url, ...extraFlags]));
    return { redis, nodes };
  } catch (error) {
    await stopCluster({ redis, nodes });
    throw error;
  }
}

async function stopCluster(cluster: Cluster | undefined): Promise<void> {
  if (!cluster) return;
  await Promise.all(cluster.nodes.map((node) => stopServer(node)));
  const pid = cluster.redis.pid;
  await cluster.redis.dispose();
  if (pid !== undefined) redisPids.delete(pid);
}

/** One load process per server, connected to it. */
async function clientsFor(servers: Server[], label: string): Promise<Child[]> {
  return (await Promise.all(servers.map((server, i) => startClients(server, 1, `${label} ${String.fromCharCode(65 + i)}`)))).flat();
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

// ---------------------------------------------------------------------------
// Relay

interface RelayFigures {
  perCpu: number[];
  wall: number[];
}

/**
 * RELAY_ROUNDS rounds of server-load's relay: every member sends RELAY_SAY_RATE a second;
 * frames stamped inside the window and delivered are counted, over the CPU of `cpuPids`
 * in that window. `targets` has one server per load process (the same one three times for one node).
 */
async function relayRounds(ctx: BenchContext, label: string, targets: Server[], cpuPids: number[]): Promise<RelayFigures> {
  let clients: Child[] = [];
  try {
    clients = await clientsFor(targets, `${label} relay clients`);
    const ranges = await Promise.all(
      clients.map(async (client, p) => {
        const range = await open(client, p * RELAY_MEMBERS_PER_PROCESS, RELAY_MEMBERS_PER_PROCESS);
        await join(client, range, { room: 'relay' });
        return range;
      }),
    );
    const members = RELAY_MEMBERS_PER_PROCESS * clients.length;
    await sleep(500);
    const figures: RelayFigures = { perCpu: [], wall: [] };
    for (let round = 1; round <= RELAY_ROUNDS; round++) {
      const sendFrom = Date.now() + 300;
      const startAt = sendFrom + RELAY_WARMUP_MS;
      const endAt = startAt + RELAY_MEASURE_MS;
      const cpu: number[][] = [];
      const marks = [startAt, endAt].map((at) => setTimeout(() => cpu.push(cpuPids.map(cpuMs)), at - Date.now()));
      const args = { room: 'relay', senders: RELAY_MEMBERS_PER_PROCESS, ratePerSender: RELAY_SAY_RATE, window: RELAY_WINDOW, sendFrom, startAt, endAt, drainMs: 5000 };
      const replies = await Promise.all(clients.map((client, p) => client.request('relay', { ...ranges[p]!, ...args }, endAt - Date.now() + 15_000)));
      marks.forEach(clearTimeout);
      if (cpu.length !== 2) throw new Error('the CPU was not read at both ends of the window');
      const open_ = sum(replies.map((r) => r.open as number));
      const errors = replies.map((r) => JSON.stringify(r.errors)).filter((e) => e !== '{}');
      if (open_ !== members || errors.length > 0) throw new Error(`${label} relay round ${round}: ${open_} of ${members} still open, errors ${errors.join(' ')}`);
      const delivered = sum(replies.map((r) => r.inWindow as number));
      const sent = sum(replies.map((r) => r.sent as number));
      // Every say reaches every other member, whichever node each is on: a shortfall is a loss, not a figure.
      const received = sum(replies.map((r) => r.total as number));
      if (received !== sent * (members - 1)) throw new Error(`${label} relay round ${round}: ${received} message frames received, expected ${sent} says x ${members - 1} others = ${sent * (members - 1)}`);
      const cpuS = cpuPids.map((_, i) => (cpu[1]![i]! - cpu[0]![i]!) / 1000);
      const seconds = RELAY_MEASURE_MS / 1000;
      figures.wall.push(delivered / seconds);
      figures.perCpu.push(delivered / sum(cpuS));
      ctx.log(
        `cluster: ${label} relay ${round}: ${delivered} frames stamped in the ${seconds} s window (${Math.round(delivered / seconds)}/s), says sent ${sent}, CPU s ${cpuS.map((s) => s.toFixed(2)).join(' + ')} -> ${Math.round(delivered / sum(cpuS))} frames per CPU-second; max lag ${Math.max(...replies.map((r) => r.maxLagMs as number))} ms`,
      );
    }
    return figures;
  } finally {
    await stopAll(clients);
  }
}

async function relay(ctx: BenchContext, build: Build, rows: Row[]): Promise<void> {
  const members = RELAY_MEMBERS_PER_PROCESS * NODES;
  // One node, the same three load processes and the same room, in the same run.
  let single: Server | undefined;
  let one: RelayFigures;
  try {
    single = await startServer(build, FAST);
    one = await relayRounds(ctx, 'one node', [single, single, single], [single.child.pid]);
  } finally {
    await stopServer(single);
  }
  let cluster: Cluster | undefined;
  let three: RelayFigures;
  try {
    cluster = await startCluster(build, FAST);
    three = await relayRounds(ctx, 'three nodes', cluster.nodes, [...cluster.nodes.map((n) => n.child.pid), cluster.redis.pid!]);
  } finally {
    await stopCluster(cluster);
  }
  const room = `${members}-member room, all sending, ${RELAY_MEMBERS_PER_PROCESS} on each node`;
  rows.push({
    key: 'cluster_relay_frames_per_s',
    label: `room messages delivered per second of CPU of three nodes and Redis together (${room}; median of ${RELAY_ROUNDS} x ${RELAY_MEASURE_MS / 1000} s)`,
    value: Math.round(median(three.perCpu)),
    unit: 'frames/s',
    budget: { op: '>=', value: 50_000 },
  });
  rows.push({
    key: 'cluster_relay_single_node_frames_per_s',
    label: `the same load on one node, same run: room messages delivered per second of its CPU (median)`,
    value: Math.round(median(one.perCpu)),
    unit: 'frames/s',
  });
  rows.push({
    key: 'cluster_relay_frames_per_s_wall',
    label: `three nodes: room messages delivered per wall-clock second (median; one node: ${Math.round(median(one.wall))})`,
    value: Math.round(median(three.wall)),
    unit: 'frames/s',
  });
}

// ---------------------------------------------------------------------------
// Join storm

interface StormRound {
  ms: number;
  frames: number[];
  late: boolean;
}

async function stormRound(ctx: BenchContext, build: Build, round: number): Promise<StormRound> {
  let cluster: Cluster | undefined;
  let clients: Child[] = [];
  try {
    cluster = await startCluster(build);
    clients = await clientsFor(cluster.nodes, 'storm clients');
    const share = Math.ceil(STORM_CLIENTS / NODES);
    const ranges = await Promise.all(clients.map((client, p) => open(client, p * share, Math.min(share, STORM_CLIENTS - p * share))));
    await sleep(500);
    const startAt = Date.now() + 500;
    const track = { room: 'storm', expect: STORM_CLIENTS };
    // Interleaved: the k-th joiner of process p goes at slot NODES*k + p of STORM_CLIENTS,
    // so at every moment the joins come into all three nodes (load-client: due =
    // startAt + spreadMs * (index - base) / total, with index = p * share + k).
    const joins = await Promise.all(
      clients.map((client, p) => {
        const schedule = { startAt, spreadMs: STORM_SPREAD_MS, base: p * share - p / NODES, total: STORM_CLIENTS / NODES };
        return join(client, ranges[p]!, { room: 'storm', schedule, track }, 30_000);
      }),
    );
    const firstSentAt = Math.min(...joins.map((r) => r.firstSentAt as number));
    const lastSentAt = Math.max(...joins.map((r) => r.lastSentAt as number));
    const deadline = lastSentAt + 20_000;
    let reports: Reply[] = [];
    for (;;) {
      reports = await Promise.all(clients.map((c) => c.request('report', {}, 10_000)));
      if (reports.every((r) => (r.doneAt as (number | null)[]).every((t) => t !== null))) break;
      if (Date.now() > deadline) {
        const views = reports.flatMap((r) => r.viewSizes as number[]).sort((x, y) => x - y);
        throw new Error(`storm round ${round}: not every member saw ${STORM_CLIENTS} members within 20 s (smallest view ${views[0]}, largest ${views.at(-1)}, ${problemsOf(reports[0]!)})`);
      }
      await sleep(200);
    }
    // Presence frames that come after the final one would still count: wait for them.
    await sleep(1000);
    reports = await Promise.all(clients.map((c) => c.request('report', {}, 10_000)));
    const errors = reports.map((r) => JSON.stringify(r.errors)).filter((e) => e !== '{}');
    if (errors.length > 0) throw new Error(`storm round ${round}: errors ${errors.join(' ')} (${problemsOf(reports[0]!)})`);
    const views = reports.flatMap((r) => r.viewSizes as number[]);
    if (views.some((size) => size !== STORM_CLIENTS)) throw new Error(`storm round ${round}: views changed after they were complete (sizes ${[...new Set(views)].join('/')})`);
    const doneAt = Math.max(...reports.flatMap((r) => r.doneAt as number[]));
    const frames = reports.flatMap((r) => r.frames as number[]);
    const spread = lastSentAt - firstSentAt;
    const result = { ms: doneAt - lastSentAt, frames, late: spread > STORM_LATE_SPREAD_MS };
    const sorted = [...frames].sort((x, y) => x - y);
    if (result.late) ctx.log(`cluster: storm ${round}: NOT MEASURED: the load clients were late, the joins took ${spread} ms instead of ${STORM_SPREAD_MS} (a busy machine)`);
    ctx.log(`cluster: storm ${round}: joins sent over ${spread} ms; every member saw all ${STORM_CLIENTS} +${result.ms} ms after the last; presence frames per member min ${sorted[0]} median ${percentile(sorted, 50)} max ${sorted.at(-1)}`);
    return result;
  } finally {
    await stopAll(clients);
    await stopCluster(cluster);
  }
}

async function storm(ctx: BenchContext, build: Build, rows: Row[]): Promise<void> {
  const rounds: StormRound[] = [];
  for (let attempt = 1; attempt <= STORM_ATTEMPTS && rounds.length < STORM_ROUNDS; attempt++) {
    const round = await stormRound(ctx, build, attempt);
    if (!round.late) rounds.push(round);
  }
  if (rounds.length === 0) throw new Error(`in all ${STORM_ATTEMPTS} rounds the load clients fell behind (joins took over ${STORM_LATE_SPREAD_MS} ms to send): not measured`);
  const joins = `${STORM_CLIENTS} joins over ${STORM_SPREAD_MS / 1000} s, a third on each of three nodes`;
  rows.push({
    key: 'cluster_join_storm_ms_1000',
    label: `${joins}: last join sent to every member seeing all ${STORM_CLIENTS} (median of ${rounds.length} measured rounds)`,
    value: Math.round(median(rounds.map((r) => r.ms))),
    unit: 'ms',
    budget: { op: '<=', value: 1000 },
  });
  rows.push({
    key: 'cluster_presence_frames_per_member_storm',
    label: `presence frames one member got in that storm (the most any member got, ${rounds.length} rounds)`,
    value: Math.max(...rounds.flatMap((r) => r.frames)),
    unit: 'frames',
    budget: { op: '<=', value: 30 },
  });
}

// ---------------------------------------------------------------------------
// Failover

async function failover(ctx: BenchContext, build: Build, rows: Row[]): Promise<void> {
  let cluster: Cluster | undefined;
  let clients: Child[] = [];
  try {
    cluster = await startCluster(build, FAST);
    clients = await clientsFor(cluster.nodes, 'failover clients');
    const ranges = await Promise.all(
      clients.map(async (client, p) => {
        const range = await open(client, p * FAILOVER_PER_NODE, FAILOVER_PER_NODE);
        await join(client, range, { room: 'fo' });
        return range;
      }),
    );
    const [a, b, c] = clients as [Child, Child, Child];
    const victim = cluster.nodes[2]!;
    const survivors = cluster.nodes.slice(0, 2);
    const speakers = [a, b].map((client, p) => ({ client, from: ranges[p]!.from, to: ranges[p]!.from + FAILOVER_SENDERS_PER_NODE }));
    const say = (each: number) =>
      Promise.all(speakers.map(({ client, from, to }) => client.request('say', { from, to, room: 'fo', count: each, textLength: 60, window: 4, timeoutMs: 20_000 }, 30_000)));
    // Before: node C's members hold every message so far (their cursors are at the end).
    const pre = FAILOVER_PRE_EACH * FAILOVER_SENDERS_PER_NODE * 2;
    await say(FAILOVER_PRE_EACH);
    const preDeadline = Date.now() + 20_000;
    for (;;) {
      const got = await c.request('counts', ranges[2]!, 10_000);
      if (got.min === pre && got.max === pre) break;
      if (Date.now() > preDeadline) throw new Error(`node C's members got ${got.min}..${got.max} of the ${pre} messages said before the kill`);
      await sleep(100);
    }
    const outage = FAILOVER_OUTAGE_EACH * FAILOVER_SENDERS_PER_NODE * 2;
    // C's clients watch for their sockets to close, then come back as the app does.
    const back = c.request('failover', { ...ranges[2]!, urls: survivors.map((n) => n.url), room: 'fo', expect: outage, timeoutMs: FAILOVER_TIMEOUT_MS }, FAILOVER_TIMEOUT_MS + 15_000);
    const killedAt = Date.now();
    process.kill(victim.child.pid, 'SIGKILL');
    // Meanwhile the others go on talking.
    const said = await say(FAILOVER_OUTAGE_EACH);
    const acked = sum(said.map((r) => r.acked as number));
    if (acked !== outage) throw new Error(`${acked} of the ${outage} messages said during the outage were acknowledged (${said.map(problemsOf).join('; ')})`);
    const reply = await back;
    const results = reply.results as { closedAt: number | null; welcomedAt: number | null; joinedAt: number | null; doneAt: number | null; attempts: number }[];
    const done = results.filter((r) => r.doneAt !== null);
    if (done.length !== FAILOVER_PER_NODE) {
      throw new Error(`${done.length} of ${FAILOVER_PER_NODE} clients of the killed node were back with all ${outage} messages within ${FAILOVER_TIMEOUT_MS / 1000} s (closed ${results.filter((r) => r.closedAt !== null).length}, welcomed ${results.filter((r) => r.welcomedAt !== null).length}, joined ${results.filter((r) => r.joinedAt !== null).length}; ${problemsOf(reply)})`);
    }
    if (reply.exact !== FAILOVER_PER_NODE) {
      const received = (reply.received as number[]).filter((n) => n !== outage);
      throw new Error(`${FAILOVER_PER_NODE - (reply.exact as number)} clients got other than exactly the ${outage} messages (${[...new Set(received)].join('/')})`);
    }
    const backMs = done.map((r) => r.doneAt! - killedAt).sort((x, y) => x - y);
    const welcomedMs = done.map((r) => r.welcomedAt! - killedAt).sort((x, y) => x - y);
    const attempts = done.map((r) => r.attempts).sort((x, y) => x - y);
    ctx.log(
      `cluster: failover: after the SIGKILL, welcomed by another node ms p50 ${percentile(welcomedMs, 50)} max ${welcomedMs.at(-1)}; back in the room with all ${outage} messages ms p50 ${percentile(backMs, 50)} max ${backMs.at(-1)}; tries per client max ${attempts.at(-1)}`,
    );
    rows.push({
      key: 'cluster_failover_ms',
      label: `SIGKILL of one of three nodes to the last of its ${FAILOVER_PER_NODE} clients back in its room on another node with all ${outage} messages said meanwhile, exactly once (reconnecting with the app's backoff)`,
      value: backMs.at(-1)!,
      unit: 'ms',
    });
  } finally {
    await stopAll(clients);
    await stopCluster(cluster);
  }
}

// ---------------------------------------------------------------------------
// Idle memory

async function idle(ctx: BenchContext, build: Build, rows: Row[]): Promise<void> {
  let cluster: Cluster | undefined;
  let clients: Child[] = [];
  try {
    cluster = await startCluster(build);
    clients = await clientsFor(cluster.nodes, 'idle clients');
    await sleep(1000);
    const empty = sum(cluster.nodes.map((n) => rssKb(n.child.pid)));
    ctx.log(`cluster: three nodes' RSS with no clients ${mb(empty)} MB, Redis ${mb(rssKb(cluster.redis.pid!))} MB`);
    const share = Math.ceil(IDLE_CLIENTS / NODES);
    const started = performance.now();
    await Promise.all(
      clients.map(async (client, p) => {
        const range = await open(client, p * share, Math.min(share, IDLE_CLIENTS - p * share));
        await join(client, range, { roomPrefix: 'idle', roomCount: IDLE_ROOMS, concurrency: 50 }, 60_000);
      }),
    );
    const held = await Promise.all(cluster.nodes.map(connections));
    if (sum(held) !== IDLE_CLIENTS) throw new Error(`the nodes hold ${held.join(' + ')} connections, expected ${IDLE_CLIENTS}`);
    ctx.log(`cluster: ${IDLE_CLIENTS} clients welcomed and joined in ${((performance.now() - started) / 1000).toFixed(1)} s (${held.join(' / ')} per node)`);
    await sleep(IDLE_READ_AFTER_MS);
    const nodes = await Promise.all(cluster.nodes.map(rssReads));
    const redis = rssKb(cluster.redis.pid!);
    ctx.log(`cluster: ${IDLE_CLIENTS} idle: nodes' RSS ${nodes.map(mb).join(' + ')} MB, Redis ${mb(redis)} MB`);
    // Only a cluster counts: from each node, a room's snapshot must hold its members on all three.
    const roomSize = IDLE_CLIENTS / IDLE_ROOMS;
    const probes = await Promise.all(
      clients.map(async (client, p) => {
        const range = await open(client, IDLE_CLIENTS + p, 1);
        const probe = await client.request('probe', { index: range.from, room: `idle${p}`, samples: 1, gapMs: 0, timeoutMs: 10_000 }, 20_000);
        return (probe.memberCounts as number[])[0]!;
      }),
    );
    if (probes.some((n) => n !== roomSize + 1)) throw new Error(`a room's snapshot held ${probes.join('/')} members on the three nodes, expected ${roomSize + 1}`);
    rows.push({
      key: 'cluster_rss_mb_10k_idle',
      label: `RSS of three nodes holding ${IDLE_CLIENTS.toLocaleString('en-US')} idle clients between them (${IDLE_ROOMS} rooms spanning the nodes), plus Redis's, ${IDLE_READ_AFTER_MS / 1000} s after the last joined`,
      value: mb(sum(nodes) + redis),
      unit: 'MB',
    });
  } finally {
    await stopAll(clients);
    await stopCluster(cluster);
  }
}

const benchmark: Benchmark = {
  title: `three nodes and Redis: room relay, a ${STORM_CLIENTS}-join storm, failover after a SIGKILL, RSS with ${IDLE_CLIENTS.toLocaleString('en-US')} idle clients`,
  run: (ctx) =>
    runPhases(ctx, 'cluster', [
      ['relay', 'relay throughput', relay],
      ['storm', 'join storm', storm],
      ['failover', 'failover', failover],
      ['idle', 'idle memory', idle],
    ]),
};

export default benchmark;
