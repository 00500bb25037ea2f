// Room history under load, on loopback (the harness of server-load.bench.ts: the server
// alone in a child process, real WebSocket clients in others):
// - history_replay_ms_1000: a member comes back with a cursor 1,000 messages behind; time
//   from its join sent to the 1,000th replayed message received;
// - reconnect_storm_ms_1000: 1,000 members drop, 100 messages are said, all 1,000 reconnect
//   (new connection, signed hello; timed apart, as it is mostly the load clients' work) and
//   then join at once with their cursors; time from the joins until the last of them has its
//   100 messages;
// - server_rss_mb_history_full: server RSS once every ring is at the byte cap (a smaller
//   --history-mb than the default keeps the bench quick), beside the same server's RSS
//   with the same clients after the same traffic in rooms that have ended (so nothing is
//   kept); each read after full collections and once V8 gave back what the traffic made
//   it grow. The difference must stay within the cap plus 20 %.
//
//   npm run bench -- --only history
//   WISP_BENCH_PHASES=storm npm run bench -- --only history
import { type BenchContext, type Benchmark, type Row, round1 } from './bench.ts';
import {
  type Build,
  type Child,
  type Reply,
  type Server,
  connections,
  cpuMs,
  heapSummary,
  join,
  mb,
  median,
  open,
  percentile,
  problemsOf,
  runPhases,
  rssReads,
  sleep,
  startClients,
  startServer,
  stopAll,
  stopServer,
} from './load-harness.ts';

/** Chat rate limits lifted (both flags at their maximum): the benches send bursts. */
const FAST = ['--rate-per-minute', '100000', '--rate-burst', '10000'];
const REPLAY_MESSAGES = 1000;
const REPLAY_ROUNDS = 5;
const STORM_CLIENTS = 1000;
const STORM_MISSED = 100;
const STORM_ROUNDS = 3;
/**
 * Messages come from several speakers: one connection may send 120 frames at once and 20 a
 * second after that (LIMITS.framesBurst, framesPerMinute), flags or not.
 */
const SPEAKERS = 50;
/** The byte cap of the RSS phase, its rooms (one member each) and what each says: together well past the cap. */
const RSS_CAP_MB = 16;
const RSS_ROOMS = 500;
const RSS_MESSAGES_PER_ROOM = 110;
const RSS_TEXT_LENGTH = 300;
/**
 * The warm-up says more: past LIMITS.recentIdsPerIdentity (256) message ids an identity's
 * resends are recognised by, so that table is already full when the baseline is read.
 */
const RSS_WARMUP_MESSAGES = 280;
/** Under the 20 frames a second one connection may send after its first 120. */
const RSS_SAY_RATE = 15;
/** Settled: the heap's free part at most this share of what is in use, or this long, whichever comes first. */
const SETTLE_HEAP_SLACK = 0.25;
const SETTLE_MAX_MS = 60_000;
const MESSAGE_TEXT_LENGTH = 60;
const SAY_WINDOW = 100;

async function historyReplay(ctx: BenchContext, build: Build, rows: Row[]): Promise<void> {
  const server = await startServer(build, [...FAST, '--history-messages', String(REPLAY_MESSAGES)]);
  let clients: Child[] = [];
  try {
    clients = await startClients(server, 1, 'replay clients');
    const client = clients[0]!;
    const all = await open(client, 0, SPEAKERS + 1);
    await join(client, all, { room: 'replay' });
    const speaker = { from: all.from, to: all.from + SPEAKERS };
    const listener = { from: all.from + SPEAKERS, to: all.to };
    const times: number[] = [];
    for (let round = 1; round <= REPLAY_ROUNDS; round++) {
      const left = await client.request('leave', { ...listener, room: 'replay', timeoutMs: 10_000 }, 15_000);
      if (left.left !== 1) throw new Error(`replay round ${round}: the listener did not leave (${problemsOf(left)})`);
      await say(client, speaker, 'replay', REPLAY_MESSAGES / SPEAKERS);
      const back = await client.request('rejoin', { ...listener, room: 'replay', expect: REPLAY_MESSAGES, reconnect: false, timeoutMs: 30_000 }, 40_000);
      if (back.exact !== 1) throw new Error(`replay round ${round}: the listener did not get exactly ${REPLAY_MESSAGES} messages (${problemsOf(back)})`);
      const ms = (back.doneAt as number[])[0]! - (back.joinSentAt as number[])[0]!;
      times.push(ms);
      ctx.log(`history: replay ${round}: join sent to the ${REPLAY_MESSAGES}th replayed message ${ms} ms`);
    }
    rows.push({
      key: 'history_replay_ms_1000',
      label: `a member back with a cursor ${REPLAY_MESSAGES.toLocaleString('en-US')} messages behind: join sent to the last replayed message received (median of ${REPLAY_ROUNDS})`,
      value: Math.round(median(times)),
      unit: 'ms',
      budget: { op: '<=', value: 1000 },
    });
  } finally {
    await stopAll(clients);
    await stopServer(server);
  }
}

async function reconnectStorm(ctx: BenchContext, build: Build, rows: Row[]): Promise<void> {
  const server = await startServer(build, FAST);
  let clients: Child[] = [];
  try {
    clients = await startClients(server, 2, 'storm clients');
    const half = STORM_CLIENTS / 2;
    // The first process also holds the speakers, who stay.
    const speakers = STORM_MISSED / 10;
    const speakerRange = await open(clients[0]!, 0, speakers);
    await join(clients[0]!, speakerRange, { room: 'recover' });
    const ranges = await Promise.all(clients.map((client, p) => open(client, speakers + p * half, half)));
    await Promise.all(clients.map((client, p) => join(client, ranges[p]!, { room: 'recover', concurrency: 20 }, 60_000)));
    const times: number[] = [];
    const connectTimes: number[] = [];
    for (let round = 1; round <= STORM_ROUNDS; round++) {
      await Promise.all(clients.map((client, p) => client.request('drop', ranges[p]!, 10_000)));
      await waitConnections(server, speakers, `storm round ${round}: the dropped clients`);
      await say(clients[0]!, speakerRange, 'recover', STORM_MISSED / speakers);
      const reconnected = await Promise.all(clients.map((client, p) => client.request('reconnect', { ...ranges[p]!, timeoutMs: 30_000 }, 40_000)));
      const opened = reconnected.reduce((n, r) => n + (r.opened as number), 0);
      if (opened !== STORM_CLIENTS) throw new Error(`storm round ${round}: ${opened} of ${STORM_CLIENTS} reconnected (${problemsOf(reconnected[0]!)})`);
      connectTimes.push(Math.max(...reconnected.map((r) => r.ms as number)));
      await sleep(500);
      const startAt = Date.now() + 300;
      const pids = [server.child.pid, ...clients.map((c) => c.pid)];
      const cpuBefore = pids.map(cpuMs);
      const args = { room: 'recover', expect: STORM_MISSED, startAt, timeoutMs: 30_000 };
      const replies = await Promise.all(clients.map((client, p) => client.request('rejoin', { ...ranges[p]!, ...args }, 45_000)));
      const [serverCpu, ...clientCpu] = pids.map((pid, i) => cpuMs(pid) - cpuBefore[i]!);
      const exact = replies.reduce((n, r) => n + (r.exact as number), 0);
      if (exact !== STORM_CLIENTS) throw new Error(`storm round ${round}: ${exact} of ${STORM_CLIENTS} got exactly ${STORM_MISSED} messages (${problemsOf(replies[0]!)}; ${problemsOf(replies[1]!)})`);
      const upToDate = replies.flatMap((r) => r.doneAt as number[]).sort((a, b) => a - b);
      const doneAt = upToDate.at(-1)!;
      const lastJoinAt = Math.max(...replies.flatMap((r) => r.joinSentAt as number[]));
      const ms = doneAt - startAt;
      times.push(ms);
      ctx.log(
        `history: storm ${round}: ${STORM_CLIENTS} reconnected (connect, hello, welcome) in ${Math.max(...reconnected.map((r) => r.ms as number))} ms; joins from +0, last join sent +${lastJoinAt - startAt} ms, members up to date +${percentile(upToDate, 50) - startAt} ms (median), +${percentile(upToDate, 90) - startAt} ms (90 %), +${ms} ms (last); CPU ms server ${serverCpu}, load clients ${clientCpu.join(' + ')}`,
      );
    }
    rows.push({
      key: 'reconnect_storm_ms_1000',
      label: `${STORM_CLIENTS.toLocaleString('en-US')} reconnected members join at once with their cursors, each recovering ${STORM_MISSED}: until the last is up to date (median of ${STORM_ROUNDS})`,
      value: Math.round(median(times)),
      unit: 'ms',
      budget: { op: '<=', value: 2000 },
    });
    rows.push({
      key: 'reconnect_storm_connect_ms_1000',
      label: `the same ${STORM_CLIENTS.toLocaleString('en-US')} opening new connections at once before that (connect, signed hello, welcome; mostly the load clients' work; median)`,
      value: Math.round(median(connectTimes)),
      unit: 'ms',
    });
  } finally {
    await stopAll(clients);
    await stopServer(server);
  }
}

async function fullRings(ctx: BenchContext, build: Build, rows: Row[]): Promise<void> {
  const server = await startServer(build, [...FAST, '--history-mb', String(RSS_CAP_MB)], ['--expose-gc']);
  let clients: Child[] = [];
  try {
    clients = await startClients(server, 1, 'ring clients');
    const client = clients[0]!;
    const range = await open(client, 0, RSS_ROOMS);
    // A warm-up: the same traffic in rooms that then end (their rings emptied), so the
    // baseline is an idle server that has seen the traffic, as one in use is.
    await join(client, range, { roomPrefix: 'w', roomSize: 1, concurrency: 50 });
    await fill(client, range, 'w', RSS_WARMUP_MESSAGES);
    const left = await client.request('leave', { ...range, roomPrefix: 'w', roomSize: 1, timeoutMs: 30_000 }, 40_000);
    if (left.left !== RSS_ROOMS) throw new Error(`${left.left} of ${RSS_ROOMS} left the warm-up rooms (${problemsOf(left)})`);
    await join(client, range, { roomPrefix: 'h', roomSize: 1, concurrency: 50 });
    const idle = await collectedRss(server);
    const idleHistory = idle.stats.history as { bytes: number };
    if (idleHistory.bytes !== 0) throw new Error(`the rings still hold ${idleHistory.bytes} bytes after the warm-up rooms ended`);
    ctx.log(`history: ${RSS_ROOMS} members alone in their rooms after the warm-up, nothing kept: RSS ${mb(idle.kb)} MB (${idle.note}); ${heapSummary(idle.stats)}`);
    await fill(client, range, 'h', RSS_MESSAGES_PER_ROOM);
    const full = await collectedRss(server);
    const history = full.stats.history as { bytes: number; entries: number };
    const capBytes = RSS_CAP_MB * 1024 * 1024;
    if (history.bytes < capBytes * 0.95) throw new Error(`the rings hold ${history.bytes} bytes, not at the cap of ${capBytes}`);
    const overMb = mb(full.kb - idle.kb);
    ctx.log(`history: rings full (${history.entries} messages, ${round1(history.bytes / 1024 / 1024)} MiB accounted of ${RSS_CAP_MB}): RSS ${mb(full.kb)} MB (${full.note}), +${overMb} MB over idle; ${heapSummary(full.stats)}`);
    rows.push({ key: 'server_rss_mb_history_idle', label: `server RSS, ${RSS_ROOMS} members in ${RSS_ROOMS} rooms after the same traffic, nothing kept (the baseline of the next two)`, value: mb(idle.kb), unit: 'MB' });
    rows.push({
      key: 'server_rss_mb_history_full',
      label: `server RSS, the same, every ring full (--history-mb ${RSS_CAP_MB}): at most the baseline + the cap + 20 %`,
      value: mb(full.kb),
      unit: 'MB',
      budget: { op: '<=', value: round1(mb(idle.kb) + RSS_CAP_MB * 1.2) },
    });
    rows.push({ key: 'server_rss_mb_history_over_idle', label: `what full rings add to the server's RSS, beside the cap of ${RSS_CAP_MB} MiB`, value: overMb, unit: 'MB', budget: { op: '<=', value: round1(RSS_CAP_MB * 1.2) } });
  } finally {
    await stopAll(clients);
    await stopServer(server);
  }
}

/** Every member says `count` messages in its own room (prefix + index): well past the byte cap in all. */
async function fill(client: Child, range: { from: number; to: number }, roomPrefix: string, count: number): Promise<void> {
  const args = { ...range, roomPrefix, roomSize: 1, count, textLength: RSS_TEXT_LENGTH, window: 20, ratePerSecond: RSS_SAY_RATE, timeoutMs: 120_000 };
  const said = await client.request('say', args, 130_000);
  if (said.acked !== RSS_ROOMS * count) throw new Error(`${said.acked} of ${RSS_ROOMS * count} messages acknowledged (${problemsOf(said)})`);
}

/** Each socket in the range says `count` messages to the room and has them all acknowledged. */
async function say(client: Child, range: { from: number; to: number }, room: string, count: number): Promise<void> {
  const reply = await client.request('say', { ...range, room, count, textLength: MESSAGE_TEXT_LENGTH, window: SAY_WINDOW, timeoutMs: 30_000 }, 40_000);
  const expected = (range.to - range.from) * count;
  if (reply.acked !== expected) throw new Error(`${reply.acked} of ${expected} messages acknowledged (${problemsOf(reply)})`);
}

async function waitConnections(server: Server, count: number, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await connections(server)) !== count) {
    if (Date.now() > deadline) throw new Error(`${what}: the server still holds ${await connections(server)} connections, expected ${count}`);
    await sleep(100);
  }
}

/**
 * The server's RSS once only what is alive is held: after full collections, and after V8
 * gave back the heap it grew under the load (its memory reducer does so a few seconds
 * after the traffic stops; bounded wait): the heap's free part at most SETTLE_HEAP_SLACK
 * of what is in use.
 */
async function collectedRss(server: Server): Promise<{ kb: number; stats: Reply; note: string }> {
  const started = Date.now();
  const slack = (stats: Reply) => {
    const memory = stats.memory as NodeJS.MemoryUsage;
    return (memory.heapTotal - memory.heapUsed) / memory.heapUsed;
  };
  await server.child.request('gc', {}, 30_000);
  let stats = await server.child.request('stats', {}, 10_000);
  while (slack(stats) > SETTLE_HEAP_SLACK && Date.now() - started < SETTLE_MAX_MS) {
    await sleep(2000);
    stats = await server.child.request('stats', {}, 10_000);
  }
  const note = slack(stats) <= SETTLE_HEAP_SLACK ? `heap settled after ${Math.round((Date.now() - started) / 1000)} s` : 'heap not settled';
  await server.child.request('gc', {}, 30_000);
  const kb = await rssReads(server);
  return { kb, stats: await server.child.request('stats', {}, 10_000), note };
}

const benchmark: Benchmark = {
  title: `room history: a ${REPLAY_MESSAGES}-message replay, ${STORM_CLIENTS} reconnects recovering ${STORM_MISSED} each, RSS with full rings`,
  run: (ctx) =>
    runPhases(ctx, 'history', [
      ['replay', 'history replay', historyReplay],
      ['storm', 'reconnect storm', reconnectStorm],
      ['rss', 'memory with full rings', fullRings],
    ]),
};

export default benchmark;
