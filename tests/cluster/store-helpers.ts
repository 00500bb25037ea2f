// Helpers for the durable-state cluster tests: a real redis-server on a free loopback port
// (stopped by its PID), nodes started in-process on it (ModScope, each node with its own
// data directory), and the wisp command run as an operator runs it. The redis part keeps
// the names of tests/support/redis-server.ts (start, url, command, stop, dispose), so
// switching to the shared harness is an import change.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectRedis, type Redis } from '../../signal-server/cluster/redis-client.ts';
import type { ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import type { TestClient } from '../server/helpers.ts';
import { ROOT, freePort, nextFrame, sendHello, type ClientOptions, type ModScope } from '../server/moderation-helpers.ts';

const REDIS_SERVER_BIN = '/usr/bin/redis-server';
const START_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 10_000;
const RUN_TIMEOUT_MS = 60_000;

export class RedisServer {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private client?: Redis;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisServer> {
    if (!existsSync(REDIS_SERVER_BIN)) throw new Error(`${REDIS_SERVER_BIN} is missing: these tests need a real Redis (apt-get install redis-server).`);
    const server = new RedisServer(await freePort(), mkdtempSync(path.join(tmpdir(), 'wisp-redis-')));
    await server.start();
    return server;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process (again) on the same port and waits until it answers PING. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`redis-server is already running (pid ${this.child!.pid})`);
    const child = spawn(REDIS_SERVER_BIN, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], { stdio: 'ignore' });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      try {
        const probe = await connectRedis(this.url, 'test-probe');
        await probe.ping();
        probe.disconnect();
        return;
      } catch (error) {
        if (child.exitCode !== null || Date.now() > deadline) {
          await this.stop();
          throw new Error(`redis-server did not answer on port ${this.port}: ${(error as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** A command, to read back or corrupt what the nodes stored. */
  async command(name: string, ...args: (string | number)[]): Promise<unknown> {
    this.client ??= await connectRedis(this.url, 'test');
    return this.client.call(name, ...args);
  }

  /** SIGTERM by PID and wait for the exit (SIGKILL if it does not come). */
  async stop(): Promise<void> {
    this.client?.disconnect();
    this.client = undefined;
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), EXIT_TIMEOUT_MS)));
    if ((await Promise.race([this.exited!.then(() => 'done' as const), late])) === 'late') {
      child.kill('SIGKILL');
      await this.exited;
    }
    clearTimeout(timer);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `node --import tsx signal-server/main.ts <args>` to its exit: the operator's command. */
export function runWisp(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('WISP_')) delete env[name];
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'signal-server/main.ts'), ...args], { cwd: ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // A command that never ends is a failure, not a hang: stopped by its own PID.
  const stuck = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(stuck);
      resolve({ code, stdout, stderr });
    }),
  );
}

/**
 * Connects with this identity until the answer to hello is what `wanted` accepts: a change
 * made on another node reaches this one through Redis within moments, not at an instant.
 * Past the deadline it fails (the change never arrived).
 */
export async function helloUntil(
  scope: ModScope,
  url: string,
  options: ClientOptions,
  wanted: (answer: ServerFrameOf<'welcome'> | ServerFrameOf<'error'>) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<{ client: TestClient; answer: ServerFrameOf<'welcome'> | ServerFrameOf<'error'> }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = await scope.connect(url, { ...options, noHello: true });
    sendHello(client, options.name);
    const answer = (await nextFrame(client, (f) => f.type === 'welcome' || (f.type === 'error' && f.ref === 'hello'), 'the answer to hello')) as
      | ServerFrameOf<'welcome'>
      | ServerFrameOf<'error'>;
    if (wanted(answer)) return { client, answer };
    client.ws.terminate();
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}; the last answer was ${JSON.stringify(answer)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls until `check` returns a value; past the deadline it fails with `what`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
