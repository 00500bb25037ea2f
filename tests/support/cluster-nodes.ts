// N Wisp nodes sharing one Redis, for the cluster tests and benches: in-process
// (startServer, each node with its own data directory) for most tests, or as child
// processes (main.ts under tsx) for the tests that SIGKILL a node. Every process is
// stopped by its own PID in dispose().
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testConfig, type Config } from '../../signal-server/config.ts';
import { startServer, type RunningServer } from '../../signal-server/server.ts';
import { TestClient, type ConnectOptions } from './test-client.ts';
import { freePort } from './redis-server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN_TS = path.join(ROOT, 'signal-server/main.ts');

/** How long a child node may take to answer /healthz, and to exit after SIGTERM. */
const CHILD_START_TIMEOUT_MS = 30_000;
const CHILD_EXIT_TIMEOUT_MS = 10_000;

export class ClusterNodeError extends Error {
  constructor(
    readonly code: 'node-start-failed' | 'node-not-running',
    message: string,
  ) {
    super(message);
  }
}

/** What a test needs from any node, in-process or child. */
export interface ClusterNode {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
}

export interface InProcessNode extends ClusterNode {
  readonly kind: 'in-process';
  readonly server: RunningServer;
}

export interface ChildNode extends ClusterNode {
  readonly kind: 'child';
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last few KiB of its stdout and stderr, for error messages. */
  readonly output: () => string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ChildNodeOptions {
  /** Extra flags after the ones the harness sets. */
  args?: string[];
  /** Extra environment (WISP_* from the test's own environment never leak in). */
  env?: NodeJS.ProcessEnv;
  /** Reuse a data directory (a node restarted on the same directory). */
  dataDir?: string;
  /** Reuse a port (a node restarted at the same address). */
  port?: number;
}

/** Env without the variables the server reads, so the machine's settings do not leak in. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name === 'PORT' || name === 'HOST' || name.startsWith('WISP_')) delete env[name];
  return { ...env, ...extra };
}

/** GET /healthz on a node: its JSON body and HTTP status (the cluster adds its own fields). */
export async function health(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * Polls `check` until it returns something other than undefined, or throws after the
 * deadline (a failure of the behaviour, not a timing assertion).
 */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

/** Starts nodes and clients against one Redis and remembers them all for dispose(). */
export class Cluster {
  readonly nodes: ClusterNode[] = [];
  private readonly servers: RunningServer[] = [];
  private readonly children: ChildNode[] = [];
  private readonly clients: TestClient[] = [];
  private readonly dirs: string[] = [];
  private staticDirPath?: string;

  constructor(readonly redisUrl: string) {}

  /** `count` in-process nodes (A, B, C, …), each with its own data directory. */
  async start(count: number, overrides: Partial<Config> = {}): Promise<InProcessNode[]> {
    const started: InProcessNode[] = [];
    // One after another: the first node may set up shared state the others then read.
    for (let i = 0; i < count; i++) started.push(await this.inProcess(overrides));
    return started;
  }

  /** One in-process node with its own data directory. */
  async inProcess(overrides: Partial<Config> = {}): Promise<InProcessNode> {
    const dataDir = overrides.dataDir ?? this.tempDir('wisp-node-data-');
    const server = await startServer(testConfig({ redisUrl: this.redisUrl, staticDir: this.staticDir(), ...overrides, dataDir }));
    this.servers.push(server);
    const node: InProcessNode = { kind: 'in-process', name: this.nextName(), url: server.url, port: server.port, dataDir, server };
    this.nodes.push(node);
    return node;
  }

  /** One node as a child process (main.ts under tsx) on a free loopback port, once /healthz answers. */
  async child(options: ChildNodeOptions = {}): Promise<ChildNode> {
    const port = options.port ?? (await freePort());
    const dataDir = options.dataDir ?? this.tempDir('wisp-node-data-');
    const args = [
      '--import', 'tsx', MAIN_TS,
      '--host', '127.0.0.1', '--port', String(port), '--local-ca', 'off',
      '--data-dir', dataDir, '--static-dir', this.staticDir(), '--quiet',
      '--redis', this.redisUrl,
      ...(options.args ?? []),
    ];
    const child = spawn(process.execPath, args, { cwd: ROOT, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-8000)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-8000)));
    let exited = false;
    // A test process that dies without dispose() must not leave its nodes behind.
    const orphanGuard = () => child.kill('SIGKILL');
    process.once('exit', orphanGuard);
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => {
        exited = true;
        process.off('exit', orphanGuard);
        resolve({ code, signal });
      }),
    );
    const node: ChildNode = {
      kind: 'child',
      name: this.nextName(),
      url: `http://127.0.0.1:${port}`,
      port,
      dataDir,
      child,
      pid: child.pid!,
      output: () => output,
      exit,
    };
    this.children.push(node);
    this.nodes.push(node);
    const deadline = Date.now() + CHILD_START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exited) throw new ClusterNodeError('node-start-failed', `node ${node.name} exited before answering /healthz: ${output.trim()}`);
      try {
        if ((await health(node.url)).status === 200) return node;
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new ClusterNodeError('node-start-failed', `node ${node.name} did not answer /healthz within ${CHILD_START_TIMEOUT_MS} ms: ${output.trim()}`);
  }

  /** SIGKILL a child node by its PID and wait for the exit: no goodbye to Redis or clients. */
  async kill(node: ChildNode): Promise<void> {
    if (node.child.exitCode !== null || node.child.signalCode !== null) return;
    process.kill(node.pid, 'SIGKILL');
    await node.exit;
  }

  /** SIGTERM a child node by its PID (a clean shutdown), SIGKILL if it does not exit in time. */
  async stop(node: ChildNode): Promise<void> {
    if (node.child.exitCode !== null || node.child.signalCode !== null) return;
    process.kill(node.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CHILD_EXIT_TIMEOUT_MS)));
    const outcome = await Promise.race([node.exit.then(() => 'exited' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      process.kill(node.pid, 'SIGKILL');
      await node.exit;
    }
  }

  /** Closes an in-process node (its clients get the shutting-down close). */
  async close(node: InProcessNode): Promise<void> {
    const index = this.servers.indexOf(node.server);
    if (index < 0) return;
    this.servers.splice(index, 1);
    await node.server.close();
  }

  /** A client connected straight to `node`. */
  async client(node: ClusterNode | string, options: ConnectOptions = {}): Promise<TestClient> {
    const client = await TestClient.connect(typeof node === 'string' ? node : node.url, options);
    this.clients.push(client);
    return client;
  }

  /** A client made elsewhere (e.g. with upgrade headers), terminated in dispose() like the others. */
  track(client: TestClient): TestClient {
    this.clients.push(client);
    return client;
  }

  /** A temp directory removed in dispose(). */
  tempDir(prefix = 'wisp-'): string {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** Clients first, then in-process nodes, then child processes by PID, then the directories. */
  async dispose(): Promise<void> {
    for (const client of this.clients.splice(0)) client.ws.terminate();
    await Promise.all(this.servers.splice(0).map((s) => s.close().catch(() => {})));
    await Promise.all(this.children.splice(0).map((c) => this.stop(c)));
    this.nodes.splice(0);
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  private nextName(): string {
    return String.fromCharCode('A'.charCodeAt(0) + this.nodes.length);
  }

  /** A tiny "built app" (main.ts refuses to start without an index.html). */
  private staticDir(): string {
    if (this.staticDirPath) return this.staticDirPath;
    const dir = this.tempDir('wisp-static-');
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Wisp</title><p>wisp-index</p>');
    this.staticDirPath = dir;
    return dir;
  }
}
