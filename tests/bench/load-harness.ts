// The load harness shared by the server benches (server-load.bench.ts, history.bench.ts):
// the signal server compiled and run alone in a child process (load-server.ts, plain node,
// as `npm start` runs it) so /proc/<pid>/status VmRSS is its memory alone, load-client.ts
// processes owning real WebSocket clients, IPC requests with deadlines, and /proc reads.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchContext, PartialError, REPO_ROOT, type Row, round1 } from './bench.ts';
import { SERVER_NODE_FLAGS } from '../support/server-node-flags.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CLIENT_SCRIPT = path.join(HERE, 'load-client.ts');
const SERVER_SOURCE = path.join(HERE, 'load-server.ts');

/** Niceness of the load-client processes (the server runs at the bench's own). */
const CLIENT_NICE = 10;
const TICKS_PER_SECOND = 100;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
export const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);

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

export type Reply = { ok: boolean; error?: string; [field: string]: unknown };

/** A child process spoken to over IPC: requests carry an id, replies echo it. */
export class Child {
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

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------
// The server: compiled once, started fresh for every phase

export interface Build {
  dir: string;
  serverJs: string;
}

/** Compiles load-server.ts and the signal server to JavaScript in a temporary directory. */
export function compileServer(ctx: BenchContext): Promise<Build> {
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

export function removeBuild(build: Build): void {
  try {
    unlinkSync(path.join(build.dir, 'out/node_modules'));
  } catch {
    // Not made.
  }
  rmSync(build.dir, { recursive: true, force: true });
}

export interface Server {
  child: Child;
  url: string;
  dataDir: string;
}

/** Starts the compiled server with these extra server flags (and Node flags beyond the ones `npm start` uses). */
export async function startServer(build: Build, extraFlags: string[] = [], nodeFlags: string[] = []): Promise<Server> {
  const dataDir = mkdtempSync(path.join(build.dir, 'data-'));
  const flags = ['--host', '127.0.0.1', '--port', '0', '--quiet', '--data-dir', dataDir, '--static-dir', path.join(build.dir, 'static')];
  // Every client is on 127.0.0.1: the per-address cap must hold them all.
  flags.push('--max-conn-per-ip', '20000', ...extraFlags);
  const child = Child.spawn('server', [...SERVER_NODE_FLAGS, ...nodeFlags, build.serverJs, ...flags]);
  const ready = await child.waitReady(20_000);
  return { child, url: `http://127.0.0.1:${ready.port as number}`, dataDir };
}

export async function stopServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  await server.child.stop();
  rmSync(server.dataDir, { recursive: true, force: true });
}

export async function startClients(server: Server, count: number, label: string): Promise<Child[]> {
  const clients = Array.from({ length: count }, (_, i) => Child.spawn(`${label} ${i + 1}`, ['--import', 'tsx', CLIENT_SCRIPT, server.url]));
  // The load generators share the two cores with the server: a lower priority lets the
  // server take the CPU it needs first, so its figures are less about the clients.
  for (const client of clients) setPriority(client.pid, CLIENT_NICE);
  await Promise.all(clients.map((c) => c.waitReady(30_000)));
  return clients;
}

export async function stopAll(clients: Child[]): Promise<void> {
  // "close" ends the process by itself right after its reply.
  await Promise.all(clients.map((c) => c.request('close', {}, 10_000).then(() => c.stop(3000), () => c.stop())));
}

/** Opens `count` clients (global indices start..) in `client` and checks every one was welcomed. */
export async function open(client: Child, start: number, count: number): Promise<{ from: number; to: number }> {
  const timeoutMs = 30_000;
  const reply = await client.request('open', { start, count, concurrency: 50, timeoutMs }, timeoutMs + count * 20);
  if (reply.opened !== count) throw new Error(`${client.label}: ${reply.opened} of ${count} clients welcomed (${problemsOf(reply)})`);
  return { from: reply.from as number, to: reply.to as number };
}

export async function join(client: Child, range: { from: number; to: number }, args: Record<string, unknown>, timeoutMs = 30_000): Promise<Reply> {
  const count = range.to - range.from;
  const reply = await client.request('join', { ...range, ...args, timeoutMs }, timeoutMs + count * 20);
  if (reply.joined !== count) throw new Error(`${client.label}: ${reply.joined} of ${count} joins answered with "joined" (${problemsOf(reply)})`);
  return reply;
}

export function problemsOf(reply: Reply): string {
  return `errors ${JSON.stringify(reply.errors)}, closes ${JSON.stringify(reply.closes)}, e.g. ${JSON.stringify(reply.errorSamples)}`;
}

export function rssKb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

export async function connections(server: Server): Promise<number> {
  return (await server.child.request('stats', {}, 10_000)).connections as number;
}

/** The median of five reads of the server's VmRSS, 400 ms apart. */
export async function rssReads(server: Server): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (i > 0) await sleep(400);
    samples.push(rssKb(server.child.pid));
  }
  return median(samples);
}

export function heapSummary(stats: Reply): string {
  const memory = stats.memory as NodeJS.MemoryUsage;
  const MiB = 1024 * 1024;
  return `JS heap ${(memory.heapUsed / MiB).toFixed(1)} MB used of ${(memory.heapTotal / MiB).toFixed(1)} MB (young generation ${((stats.newSpaceBytes as number) / MiB).toFixed(1)} MB), external ${(memory.external / MiB).toFixed(1)} MB`;
}

export function mb(kb: number): number {
  return round1(kb / 1024);
}

/** A phase of a load bench: its id (for WISP_BENCH_PHASES), its name, and what measures it (pushing its rows). */
export type Phase = [id: string, name: string, measure: (ctx: BenchContext, build: Build, rows: Row[]) => Promise<void>];

/**
 * Compiles the server once and runs the phases in turn (WISP_BENCH_PHASES=a,b runs just
 * those, while working on one figure). A phase that fails leaves its figures out: the
 * rows measured are returned, or carried by a PartialError with the reasons.
 */
export async function runPhases(ctx: BenchContext, label: string, phases: Phase[]): Promise<Row[]> {
  const chosen = process.env.WISP_BENCH_PHASES?.split(',').map((s) => s.trim());
  const unknown = chosen?.filter((id) => !phases.some(([known]) => known === id)) ?? [];
  if (unknown.length > 0) throw new Error(`WISP_BENCH_PHASES: unknown phase "${unknown.join(', ')}" (phases: ${phases.map(([id]) => id).join(', ')})`);
  const build = await compileServer(ctx);
  const rows: Row[] = [];
  const reasons: string[] = [];
  try {
    for (const [id, name, measure] of phases) {
      if (chosen && !chosen.includes(id)) continue;
      const started = performance.now();
      try {
        await measure(ctx, build, rows);
      } catch (error) {
        reasons.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
      ctx.log(`${label}: ${name} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    removeBuild(build);
  }
  if (reasons.length > 0) throw new PartialError(rows, reasons);
  return rows;
}
