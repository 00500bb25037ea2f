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
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchContext, type Benchmark, PartialError, REPO_ROOT, type Row, round1 } from './bench.ts';
import { SERVER_NODE_FLAGS } from '../support/server-node-flags.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CLIENT_SCRIPT = path.join(HERE, 'load-client.ts');
const SERVER_SOURCE = path.join(HERE, 'load-server.ts');

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

/** Niceness of the load-client processes (the server runs at the bench's own). */
const CLIENT_NICE = 10;
const TICKS_PER_SECOND = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Nearest-rank percentile of ascending values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);

// ---------------------------------------------------------------------------
// Child processes

/** Every child still running, so a crash of the bench does not leave one behind. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) if (child.pid !== undefined && child.exitCode === null) killPid(child.pid);
});

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

type Reply = { ok: boolean; error?: string; [field: string]: unknown };

/** A child process spoken to over IPC: requests carry an id, replies echo it. */
class Child {
  private nextId = 1;
  private pending = new Map<number, (reply: Reply) => void>();
  private stderr = '';
  private exited: Promise<void>;
  private exitNote = '';
  readonly ready: Promise<Reply>;

  constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    children.add(child);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-4000)));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        children.delete(child);
        this.exitNote = `exited (${signal ?? `code ${code}`})`;
        for (const resolveReply of this.pending.values()) resolveReply({ ok: false, error: `${label} ${this.exitNote}: ${this.stderr.trim().slice(-600)}` });
        this.pending.clear();
        resolve();
      });
    });
    let readyResolve: (reply: Reply) => void = () => {};
    this.ready = new Promise((resolve) => (readyResolve = resolve));
    this.pending.set(0, readyResolve);
    child.on('message', (raw: unknown) => {
      const message = raw as Reply & { id?: number; event?: string };
      const id = message.event === 'ready' ? 0 : message.id;
      const resolve = id === undefined ? undefined : this.pending.get(id);
      if (!resolve) return;
      this.pending.delete(id!);
      resolve({ ...message, ok: message.event === 'ready' || message.ok });
    });
  }

  static spawn(label: string, args: string[]): Child {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    return new Child(label, child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async waitReady(timeoutMs: number): Promise<Reply> {
    return this.check('start', await withTimeout(this.ready, timeoutMs, `${this.label} did not start within ${timeoutMs} ms`));
  }

  /** Sends a request; rejects on a failed reply, a dead child or the deadline. */
  async request(cmd: string, args: Record<string, unknown>, timeoutMs: number): Promise<Reply> {
    if (this.exitNote) throw new Error(`${this.label} ${this.exitNote}: ${this.stderr.trim().slice(-600)}`);
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve) => this.pending.set(id, resolve));
    this.child.send({ id, cmd, ...args });
    try {
      return this.check(cmd, await withTimeout(reply, timeoutMs, `${this.label}: "${cmd}" got no answer within ${timeoutMs} ms`));
    } finally {
      this.pending.delete(id);
    }
  }

  private check(cmd: string, reply: Reply): Reply {
    if (!reply.ok) throw new Error(`${this.label}: "${cmd}" failed: ${reply.error}`);
    return reply;
  }

  /** Ends the child: waits `graceMs` for it to exit by itself, then SIGTERM, then SIGKILL by pid after 5 s. */
  async stop(graceMs = 0): Promise<void> {
    if (graceMs > 0) await withTimeout(this.exited, graceMs, '').catch(() => undefined);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const late = await withTimeout(this.exited.then(() => false), 5000, '').catch(() => true);
    if (late) {
      killPid(this.pid);
      await this.exited;
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------
// The server: compiled once, started fresh for every phase

interface Build {
  dir: string;
  serverJs: string;
}

/** Compiles load-server.ts and the signal server to JavaScript in a temporary directory. */
function compileServer(ctx: BenchContext): Promise<Build> {
  const dir = mkdtempSync(path.join(tmpdir(), 'wisp-bench-server-'));
  const out = path.join(dir, 'out');
  const tsconfig = {
    extends: path.join(REPO_ROOT, 'tsconfig.server.json'),
    compilerOptions: { outDir: out, rootDir: REPO_ROOT, sourceMap: false, typeRoots: [path.join(REPO_ROOT, 'node_modules/@types')] },
    files: [SERVER_SOURCE],
    include: [],
  };
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  ctx.log('server-load: compiling the server (tsc)...');
  return new Promise((resolve, reject) => {
    const tsc = spawn(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(dir, 'tsconfig.json')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    tsc.stdout!.on('data', (d: Buffer) => (output += d));
    tsc.stderr!.on('data', (d: Buffer) => (output += d));
    const timer = setTimeout(() => tsc.kill('SIGKILL'), 120_000);
    tsc.once('exit', (code, signal) => {
      clearTimeout(timer);
      const build = { dir, serverJs: path.join(out, 'tests/bench/load-server.js') };
      // Type errors still emit JavaScript: say so, and measure what was emitted.
      if (code !== 0 && existsSync(build.serverJs)) ctx.log(`server-load: tsc reported errors (typecheck separately): ${output.trim().split('\n')[0]}`);
      if (!existsSync(build.serverJs)) {
        removeBuild(build);
        return reject(new Error(`tsc failed (${signal ?? `exit code ${code}`}): ${output.trim().slice(0, 1000)}`));
      }
      // ESM like the repo, and the repo's packages (ws, valibot, sirv...) from out/.
      writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
      symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(out, 'node_modules'), 'dir');
      mkdirSync(path.join(dir, 'static'));
      resolve(build);
    });
  });
}

function removeBuild(build: Build): void {
  try {
    unlinkSync(path.join(build.dir, 'out/node_modules'));
  } catch {
    // Not made.
  }
  rmSync(build.dir, { recursive: true, force: true });
}

interface Server {
  child: Child;
  url: string;
  dataDir: string;
}

async function startServer(build: Build, extraFlags: string[] = []): Promise<Server> {
  const dataDir = mkdtempSync(path.join(build.dir, 'data-'));
  const flags = ['--host', '127.0.0.1', '--port', '0', '--quiet', '--data-dir', dataDir, '--static-dir', path.join(build.dir, 'static')];
  // Every client is on 127.0.0.1: the per-address cap must hold them all.
  flags.push('--max-conn-per-ip', '20000', ...extraFlags);
  const child = Child.spawn('server', [...SERVER_NODE_FLAGS, build.serverJs, ...flags]);
  const ready = await child.waitReady(20_000);
  return { child, url: `http://127.0.0.1:${ready.port as number}`, dataDir };
}

async function stopServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  await server.child.stop();
  rmSync(server.dataDir, { recursive: true, force: true });
}

async function startClients(server: Server, count: number, label: string): Promise<Child[]> {
  const clients = Array.from({ length: count }, (_, i) => Child.spawn(`${label} ${i + 1}`, ['--import', 'tsx', CLIENT_SCRIPT, server.url]));
  // The load generators share the two cores with the server: a lower priority lets the
  // server take the CPU it needs first, so its figures are less about the clients.
  for (const client of clients) setPriority(client.pid, CLIENT_NICE);
  await Promise.all(clients.map((c) => c.waitReady(30_000)));
  return clients;
}

async function stopAll(clients: Child[]): Promise<void> {
  // "close" ends the process by itself right after its reply.
  await Promise.all(clients.map((c) => c.request('close', {}, 10_000).then(() => c.stop(3000), () => c.stop())));
}

/** Opens `count` clients (global indices start..) in `client` and checks every one was welcomed. */
async function open(client: Child, start: number, count: number): Promise<{ from: number; to: number }> {
  const timeoutMs = 30_000;
  const reply = await client.request('open', { start, count, concurrency: 50, timeoutMs }, timeoutMs + count * 20);
  if (reply.opened !== count) throw new Error(`${client.label}: ${reply.opened} of ${count} clients welcomed (${problemsOf(reply)})`);
  return { from: reply.from as number, to: reply.to as number };
}

async function join(client: Child, range: { from: number; to: number }, args: Record<string, unknown>, timeoutMs = 30_000): Promise<Reply> {
  const count = range.to - range.from;
  const reply = await client.request('join', { ...range, ...args, timeoutMs }, timeoutMs + count * 20);
  if (reply.joined !== count) throw new Error(`${client.label}: ${reply.joined} of ${count} joins answered with "joined" (${problemsOf(reply)})`);
  return reply;
}

function problemsOf(reply: Reply): string {
  return `errors ${JSON.stringify(reply.errors)}, closes ${JSON.stringify(reply.closes)}, e.g. ${JSON.stringify(reply.errorSamples)}`;
}

function rssKb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

async function connections(server: Server): Promise<number> {
  return (await server.child.request('stats', {}, 10_000)).connections as number;
}

/** The median of five reads of the server's VmRSS, 400 ms apart. */
async function rssReads(server: Server): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (i > 0) await sleep(400);
    samples.push(rssKb(server.child.pid));
  }
  return median(samples);
}

function heapSummary(stats: Reply): string {
  const memory = stats.memory as NodeJS.MemoryUsage;
  const MiB = 1024 * 1024;
  return `JS heap ${(memory.heapUsed / MiB).toFixed(1)} MB used of ${(memory.heapTotal / MiB).toFixed(1)} MB (young generation ${((stats.newSpaceBytes as number) / MiB).toFixed(1)} MB), external ${(memory.external / MiB).toFixed(1)} MB`;
}

function mb(kb: number): number {
  return round1(kb / 1024);
}

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
  async run(ctx) {
    const build = await compileServer(ctx);
    const rows: Row[] = [];
    const reasons: string[] = [];
    try {
      const phases: [string, string, (ctx: BenchContext, build: Build, rows: Row[]) => Promise<void>][] = [
        ['idle', 'idle memory', idleMemory],
        ['big-room', 'join into a big room', joinBigRoom],
        ['storm', 'join storm', joinStorm],
        ['relay', 'relay throughput', relayThroughput],
      ];
      // While working on one figure: WISP_BENCH_PHASES=storm,relay runs just those phases.
      const chosen = process.env.WISP_BENCH_PHASES?.split(',').map((s) => s.trim());
      const unknown = chosen?.filter((id) => !phases.some(([known]) => known === id)) ?? [];
      if (unknown.length > 0) throw new Error(`WISP_BENCH_PHASES: unknown phase "${unknown.join(', ')}" (phases: ${phases.map(([id]) => id).join(', ')})`);
      for (const [id, name, phase] of phases) {
        if (chosen && !chosen.includes(id)) continue;
        const started = performance.now();
        try {
          await phase(ctx, build, rows);
        } catch (error) {
          reasons.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
        }
        ctx.log(`server-load: ${name} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
    } finally {
      removeBuild(build);
    }
    if (reasons.length > 0) throw new PartialError(rows, reasons);
    return rows;
  },
};

export default benchmark;
