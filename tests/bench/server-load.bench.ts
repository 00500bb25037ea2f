// The signal server under load, on loopback: memory with many idle clients, a join into
// a big room, a join storm, and room-message relay throughput.
//
// The server runs alone in a child process (load-server.ts, compiled with tsc and run by
// plain node, as `npm start` runs it), so /proc/<pid>/status VmRSS is its memory alone.
// The load comes from other child processes (load-client.ts under tsx), each owning up
// to a few thousand real WebSocket clients: own identity key, signed hello, welcome, and
// a join. Limits are lifted with the server's own flags (--max-conn-per-ip, and for the
// relay --rate-per-minute / --rate-burst). Every phase has its own fresh server, and
// every wait has a deadline; a phase that fails leaves its figures out.
import { type BenchContext, type Benchmark, type Row, round1 } from './bench.ts';
import {
  type Build,
  type Child,
  connections,
  type Reply,
  cpuMs,
  heapSummary,
  join,
  mb,
  median,
  open,
  percentile,
  problemsOf,
  runPhases,
  rssKb,
  rssReads,
  sleep,
  startClients,
  startServer,
  stopAll,
  stopServer,
} from './load-harness.ts';

/** Idle clients: RSS read at each of these totals; a room per ROOM_SIZE clients. */
const IDLE_STEPS = [1000, 5000, 10_000] as const;
const IDLE_PROCESSES = 4;
const IDLE_ROOM_SIZE = 100;
/** RSS is read this long after a step's last client joined. */
const IDLE_READ_AFTER_MS = 3000;
/** Settled: V8's young generation back at or under this size (it grows to 32 MiB while clients connect)... */
const IDLE_NEW_SPACE_BYTES = 8 * 1024 * 1024;
/** ...or this long after the last client joined, whichever comes first. */
const IDLE_SETTLE_MAX_MS = 90_000;
/** The big room: its members, and sequential joins into it (each followed by a leave). */
const BIG_ROOM = 1000;
const JOIN_SAMPLES = 40;
const JOIN_GAP_MS = 150;
/** The storm: clients joining one room, spread evenly over STORM_SPREAD_MS; rounds. */
const STORM_CLIENTS = 1000;
const STORM_SPREAD_MS = 1000;
const STORM_ROUNDS = 3;
/** Rounds tried at most to get STORM_ROUNDS measured ones. */
const STORM_ATTEMPTS = 6;
/**
 * A round whose joins took longer than this to send is not measured: load clients that
 * fall behind send joins more slowly, which makes the storm milder and the figure better.
 */
const STORM_LATE_SPREAD_MS = STORM_SPREAD_MS * 1.2;
/** Relay: one room, every member sends at SAY_RATE per second (under the 20 frames/s per-connection cap). */
const RELAY_MEMBERS = 100;
const RELAY_SAY_RATE = 15;
const RELAY_WINDOW = 4;
const RELAY_WARMUP_MS = 1000;
const RELAY_MEASURE_MS = 3000;
const RELAY_ROUNDS = 3;


// ---------------------------------------------------------------------------
// Phases: each pushes its rows as it measures them

async function idleMemory(ctx: BenchContext, build: Build, rows: Row[]): Promise<void> {
  const server = await startServer(build);
  let clients: Child[] = [];
  try {
    clients = await startClients(server, IDLE_PROCESSES, 'idle clients');
    await sleep(1000);
    ctx.log(`server-load: server RSS with no clients ${mb(rssKb(server.child.pid))} MB`);
    const rss = new Map<number, number>();
    let total = 0;
    let lastJoinedAt = 0;
    for (const target of IDLE_STEPS) {
      const started = performance.now();
      const add = target - total;
      const share = Math.ceil(add / IDLE_PROCESSES);
      await Promise.all(
        clients.map(async (client, p) => {
          const start = total + p * share;
          const count = Math.min(share, target - start);
          if (count <= 0) return;
          const range = await open(client, start, count);
          await join(client, range, { roomPrefix: 'idle', roomSize: IDLE_ROOM_SIZE, concurrency: 50 });
        }),
      );
      total = target;
      const open_ = await connections(server);
      if (open_ !== target) throw new Error(`the server holds ${open_} connections, expected ${target}`);
      lastJoinedAt = performance.now();
      ctx.log(`server-load: ${target} clients welcomed and joined in ${((lastJoinedAt - started) / 1000).toFixed(1)} s`);
      await sleep(IDLE_READ_AFTER_MS);
      const idle = await rssReads(server);
      rss.set(target, idle);
      const stats = await server.child.request('stats', {}, 10_000);
      ctx.log(`server-load: ${target} idle: RSS ${mb(idle)} MB; ${heapSummary(stats)}`);
      const label = `server RSS, ${target.toLocaleString('en-US')} idle clients (welcomed, one room each), ${IDLE_READ_AFTER_MS / 1000} s after the last joined`;
      const key = `server_rss_mb_${target / 1000}k_idle`;
      rows.push(target === 10_000 ? { key, label, value: mb(idle), unit: 'MB', budget: { op: '<=', value: 150 } } : { key, label, value: mb(idle), unit: 'MB' });
    }
    const slope = (rss.get(10_000)! - rss.get(1000)!) / 9000;
    rows.push({ key: 'server_rss_kb_per_client', label: 'server RSS per idle client: (RSS at 10k - RSS at 1k) / 9,000', value: round1(slope), unit: 'KB' });
    // Left idle, V8 shrinks the young generation it grew to its maximum while the clients
    // connected (tens of seconds later): wait for that, bounded, and read again.
    let stats = await server.child.request('stats', {}, 10_000);
    while ((stats.newSpaceBytes as number) > IDLE_NEW_SPACE_BYTES && performance.now() - lastJoinedAt < IDLE_SETTLE_MAX_MS) {
      await sleep(2000);
      stats = await server.child.request('stats', {}, 10_000);
    }
    const waited = Math.round((performance.now() - lastJoinedAt) / 1000);
    const shrunk = (stats.newSpaceBytes as number) <= IDLE_NEW_SPACE_BYTES;
    const settled = await rssReads(server);
    ctx.log(`server-load: 10000 idle, ${shrunk ? `young generation shrunk ${waited} s after the last joined` : `young generation not shrunk after ${waited} s`}: RSS ${mb(settled)} MB; ${heapSummary(await server.child.request('stats', {}, 10_000))}`);
    rows.push({
      key: 'server_rss_mb_10k_idle_settled',
      label: shrunk ? `server RSS, 10,000 idle clients, once V8 shrank its young generation (${waited} s later)` : `server RSS, 10,000 idle clients, ${waited} s later (V8 had not shrunk its young generation)`,
      value: mb(settled),
      unit: 'MB',
    });
  } finally {
    await stopAll(clients);
    await stopServer(server);
  }
}

async function joinBigRoom(ctx: BenchContext, build: Build, rows: Row[]): Promise<void> {
  const server = await startServer(build);
  let clients: Child[] = [];
  try {
    clients = await startClients(server, 3, 'big-room clients');
    const [a, b, prober] = clients as [Child, Child, Child];
    const half = BIG_ROOM / 2;
    await Promise.all(
      [a, b].map(async (client, p) => {
        const range = await open(client, p * half, half);
        await join(client, range, { room: 'big', concurrency: 20 }, 60_000);
      }),
    );
    const probeRange = await open(prober, BIG_ROOM, 1);
    await sleep(1000);
    await server.child.request('timing', { on: true }, 10_000);
    const probe = await prober.request('probe', { index: probeRange.from, room: 'big', samples: JOIN_SAMPLES, gapMs: JOIN_GAP_MS, timeoutMs: 10_000 }, JOIN_SAMPLES * (JOIN_GAP_MS + 10_000));
    const timing = await server.child.request('timing', { on: false }, 10_000);
    const counts = probe.memberCounts as number[];
    if (counts.some((n) => n !== BIG_ROOM + 1)) throw new Error(`the snapshots held ${[...new Set(counts)].join('/')} members, expected ${BIG_ROOM + 1}`);
    const serverMs = (timing.joinMs as number[]).sort((x, y) => x - y);
    const rttMs = (probe.rttMs as number[]).sort((x, y) => x - y);
    const flushMs = (timing.flushMs as number[]).sort((x, y) => x - y);
    if (serverMs.length !== JOIN_SAMPLES) throw new Error(`the server timed ${serverMs.length} joins, expected ${JOIN_SAMPLES}`);
    ctx.log(`server-load: join into ${BIG_ROOM}: server ms p50 ${percentile(serverMs, 50).toFixed(2)} p90 ${percentile(serverMs, 90).toFixed(2)} max ${serverMs.at(-1)!.toFixed(2)}`);
    ctx.log(`server-load: join into ${BIG_ROOM}: round trip ms p50 ${percentile(rttMs, 50).toFixed(2)} p90 ${percentile(rttMs, 90).toFixed(2)}; presence flushes ${flushMs.length}, ms p50 ${flushMs.length ? percentile(flushMs, 50).toFixed(2) : '-'}`);
    rows.push({
      key: 'join_ms_1000_room',
      label: `join into a ${BIG_ROOM}-member room, server side: hub's handling of the frame incl. snapshot (median of ${JOIN_SAMPLES})`,
      value: round1(percentile(serverMs, 50)),
      unit: 'ms',
      budget: { op: '<=', value: 15 },
    });
    rows.push({
      key: 'join_rtt_ms_1000_room',
      label: `join into a ${BIG_ROOM}-member room, client round trip: join sent to "joined" parsed (median of ${JOIN_SAMPLES})`,
      value: round1(percentile(rttMs, 50)),
      unit: 'ms',
    });
  } finally {
    await stopAll(clients);
    await stopServer(server);
  }
}

interface StormRound {
  /** Last join sent -> every member's view complete. */
  ms: number;
  /** Last join sent -> the server has handed the final presence frame to every socket. */
  serverMs: number;
  /** Server CPU from just before the first join to every view complete. */
  serverCpuMs: number;
  frames: number[];
  /** The load clients fell behind: this round is not a 1,000-joins-in-one-second storm. */
  late: boolean;
}

async function stormRound(ctx: BenchContext, build: Build, round: number): Promise<StormRound> {
  const server = await startServer(build);
  let clients: Child[] = [];
  try {
    clients = await startClients(server, 2, 'storm clients');
    const half = STORM_CLIENTS / 2;
    const ranges = await Promise.all(clients.map((client, p) => open(client, p * half, half)));
    await sleep(500);
    const startAt = Date.now() + 500;
    const schedule = { startAt, spreadMs: STORM_SPREAD_MS, base: 0, total: STORM_CLIENTS };
    const track = { room: 'storm', expect: STORM_CLIENTS };
    await server.child.request('timing', { on: true }, 10_000);
    const pids = [server.child.pid, ...clients.map((c) => c.pid)];
    const cpuBefore = pids.map(cpuMs);
    const joins = await Promise.all(clients.map((client, p) => join(client, ranges[p]!, { room: 'storm', schedule, track }, 30_000)));
    const firstSentAt = Math.min(...joins.map((r) => r.firstSentAt as number));
    const lastSentAt = Math.max(...joins.map((r) => r.lastSentAt as number));
    // Until every member sees all of them, or 20 s after the last join.
    const deadline = lastSentAt + 20_000;
    let reports: Reply[] = [];
    for (;;) {
      reports = await Promise.all(clients.map((c) => c.request('report', {}, 10_000)));
      if (reports.every((r) => (r.doneAt as (number | null)[]).every((t) => t !== null))) break;
      if (Date.now() > deadline) {
        const views = reports.flatMap((r) => r.viewSizes as number[]).sort((x, y) => x - y);
        throw new Error(`storm round ${round}: not every member saw ${STORM_CLIENTS} members within 20 s (smallest view ${views[0]}, ${problemsOf(reports[0]!)})`);
      }
      await sleep(200);
    }
    const cpuUsed = pids.map((pid, i) => cpuMs(pid) - cpuBefore[i]!);
    const timing = await server.child.request('timing', { on: false }, 10_000);
    // Presence frames that come after the final one would still count: wait for them.
    await sleep(1000);
    reports = await Promise.all(clients.map((c) => c.request('report', {}, 10_000)));
    const errors = reports.map((r) => JSON.stringify(r.errors)).filter((e) => e !== '{}');
    if (errors.length > 0) throw new Error(`storm round ${round}: errors ${errors.join(' ')} (${problemsOf(reports[0]!)})`);
    const doneAt = Math.max(...reports.flatMap((r) => r.doneAt as number[]));
    const frames = reports.flatMap((r) => r.frames as number[]);
    const joinMs = timing.joinMs as number[];
    const flushMs = timing.flushMs as number[];
    const lastFlushAt = Math.max(...(timing.flushEndAt as number[]));
    const spread = lastSentAt - firstSentAt;
    const result = { ms: doneAt - lastSentAt, serverMs: lastFlushAt - lastSentAt, serverCpuMs: cpuUsed[0]!, frames, late: spread > STORM_LATE_SPREAD_MS };
    const sorted = [...frames].sort((x, y) => x - y);
    if (result.late) ctx.log(`server-load: storm ${round}: NOT MEASURED: the load clients were late, the joins took ${spread} ms instead of ${STORM_SPREAD_MS} (a busy machine)`);
    const sum = (values: number[]) => Math.round(values.reduce((a, b) => a + b, 0));
    ctx.log(
      `server-load: storm ${round}: joins sent over ${lastSentAt - firstSentAt} ms; after the last join: final presence written by the server +${result.serverMs} ms, seen by every member +${result.ms} ms; presence frames per member min ${sorted[0]} median ${percentile(sorted, 50)} max ${sorted.at(-1)}`,
    );
    ctx.log(
      `server-load: storm ${round}: CPU ms server ${cpuUsed[0]}, clients ${cpuUsed.slice(1).join(' + ')}; server wall time in ${joinMs.length} join handlers ${sum(joinMs)} ms, in ${flushMs.length} presence flushes ${sum(flushMs)} ms`,
    );
    return result;
  } finally {
    await stopAll(clients);
    await stopServer(server);
  }
}

async function joinStorm(ctx: BenchContext, build: Build, rows: Row[]): Promise<void> {
  const rounds: StormRound[] = [];
  for (let attempt = 1; attempt <= STORM_ATTEMPTS && rounds.length < STORM_ROUNDS; attempt++) {
    const round = await stormRound(ctx, build, attempt);
    if (!round.late) rounds.push(round);
  }
  if (rounds.length === 0) throw new Error(`in all ${STORM_ATTEMPTS} rounds the load clients fell behind (joins took over ${STORM_LATE_SPREAD_MS} ms to send): not measured`);
  const joins = `${STORM_CLIENTS} joins over ${STORM_SPREAD_MS / 1000} s`;
  rows.push({
    key: 'join_storm_ms_1000',
    label: `${joins}: last join sent to every member seeing all ${STORM_CLIENTS} (median of ${rounds.length} measured rounds)`,
    value: Math.round(median(rounds.map((r) => r.ms))),
    unit: 'ms',
    budget: { op: '<=', value: 500 },
  });
  rows.push({
    key: 'join_storm_server_ms_1000',
    label: `${joins}: last join sent to the server writing the final presence (median)`,
    value: Math.round(median(rounds.map((r) => r.serverMs))),
    unit: 'ms',
  });
  rows.push({
    key: 'join_storm_server_cpu_ms_1000',
    label: `${joins}: server CPU for the whole storm (median)`,
    value: Math.round(median(rounds.map((r) => r.serverCpuMs))),
    unit: 'ms',
  });
  rows.push({
    key: 'presence_frames_per_member_storm',
    label: `presence frames one member got in that storm (the most any member got, ${rounds.length} rounds)`,
    value: Math.max(...rounds.flatMap((r) => r.frames)),
    unit: 'frames',
    budget: { op: '<=', value: 20 },
  });
}

async function relayThroughput(ctx: BenchContext, build: Build, rows: Row[]): Promise<void> {
  // Chat rate limits lifted (both flags at their maximum) for the senders.
  const server = await startServer(build, ['--rate-per-minute', '100000', '--rate-burst', '10000']);
  let clients: Child[] = [];
  try {
    clients = await startClients(server, 2, 'relay clients');
    const half = RELAY_MEMBERS / 2;
    const ranges = await Promise.all(
      clients.map(async (client, p) => {
        const range = await open(client, p * half, half);
        await join(client, range, { room: 'relay' });
        return range;
      }),
    );
    await sleep(500);
    const wall: number[] = [];
    const perCpu: number[] = [];
    for (let round = 1; round <= RELAY_ROUNDS; round++) {
      const sendFrom = Date.now() + 300;
      const startAt = sendFrom + RELAY_WARMUP_MS;
      const endAt = startAt + RELAY_MEASURE_MS;
      const cpu: number[] = [];
      const marks = [startAt, endAt].map((at) => setTimeout(() => cpu.push(cpuMs(server.child.pid)), at - Date.now()));
      const args = { room: 'relay', senders: half, ratePerSender: RELAY_SAY_RATE, window: RELAY_WINDOW, sendFrom, startAt, endAt, drainMs: 5000 };
      const replies = await Promise.all(clients.map((client, p) => client.request('relay', { ...ranges[p]!, ...args }, endAt - Date.now() + 15_000)));
      marks.forEach(clearTimeout);
      if (cpu.length !== 2) throw new Error('the server CPU was not read at both ends of the window');
      const open_ = replies.reduce((n, r) => n + (r.open as number), 0);
      const errors = replies.map((r) => JSON.stringify(r.errors)).filter((e) => e !== '{}');
      if (open_ !== RELAY_MEMBERS || errors.length > 0) throw new Error(`relay round ${round}: ${open_} of ${RELAY_MEMBERS} still open, errors ${errors.join(' ')}`);
      const delivered = replies.reduce((n, r) => n + (r.inWindow as number), 0);
      const sent = replies.reduce((n, r) => n + (r.sent as number), 0);
      const serverCpuS = (cpu[1]! - cpu[0]!) / 1000;
      const seconds = RELAY_MEASURE_MS / 1000;
      wall.push(delivered / seconds);
      perCpu.push(delivered / serverCpuS);
      ctx.log(
        `server-load: relay ${round}: ${delivered} frames stamped in the ${seconds} s window (${Math.round(delivered / seconds)}/s), says sent ${sent}, server CPU ${serverCpuS.toFixed(2)} s (${Math.round((serverCpuS / seconds) * 100)}% of a core) -> ${Math.round(delivered / serverCpuS)} frames per CPU-second; max lag ${Math.max(...replies.map((r) => r.maxLagMs as number))} ms`,
      );
    }
    rows.push({
      key: 'relay_frames_per_s',
      label: `room messages delivered per second of server CPU (${RELAY_MEMBERS}-member room, all sending; median of ${RELAY_ROUNDS} x ${RELAY_MEASURE_MS / 1000} s)`,
      value: Math.round(median(perCpu)),
      unit: 'frames/s',
      budget: { op: '>=', value: 50_000 },
    });
    rows.push({
      key: 'relay_frames_per_s_wall',
      label: `room messages delivered per wall-clock second, same rounds (median)`,
      value: Math.round(median(wall)),
      unit: 'frames/s',
    });
  } finally {
    await stopAll(clients);
    await stopServer(server);
  }
}

const benchmark: Benchmark = {
  title: `server load: RSS with ${IDLE_STEPS.join('/')} idle clients, join into a ${BIG_ROOM}-member room, a ${STORM_CLIENTS}-join storm, room relay`,
  run: (ctx) =>
    runPhases(ctx, 'server-load', [
      ['idle', 'idle memory', idleMemory],
      ['big-room', 'join into a big room', joinBigRoom],
      ['storm', 'join storm', joinStorm],
      ['relay', 'relay throughput', relayThroughput],
    ]),
};

export default benchmark;
