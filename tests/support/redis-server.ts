// A real redis-server for cluster tests and benches: a free loopback port, no persistence
// unless a restart asks to keep the data, stopped by its own PID. Also a tiny RESP client
// (PING, SHUTDOWN, and whatever a test wants to read back), so the harness itself never
// needs ioredis.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const REDIS_SERVER_BIN = process.env.WISP_TEST_REDIS_SERVER ?? '/usr/bin/redis-server';

/** How long starting, answering PING or exiting may take before the harness gives up. */
const START_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 5_000;

export class RedisHarnessError extends Error {
  constructor(
    readonly code: 'redis-missing' | 'redis-start-failed' | 'redis-command-failed' | 'redis-not-running',
    message: string,
  ) {
    super(message);
  }
}

/** A RESP reply: simple strings and bulk strings as string (null for nil), integers, arrays. */
export type RespValue = string | number | null | RespValue[];

/** A free TCP port on 127.0.0.1 (the OS picks it; the probe is closed before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function encodeCommand(args: readonly (string | number)[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) {
    const text = String(arg);
    parts.push(`$${Buffer.byteLength(text)}\r\n${text}\r\n`);
  }
  return Buffer.from(parts.join(''));
}

/** Parses one RESP value at `offset`; undefined while the buffer holds less than a whole value. */
function parseResp(buf: Buffer, offset: number): { value: RespValue | Error; next: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const kind = String.fromCharCode(buf[offset]!);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const after = lineEnd + 2;
  if (kind === '+') return { value: line, next: after };
  if (kind === '-') return { value: new Error(line), next: after };
  if (kind === ':') return { value: Number(line), next: after };
  if (kind === '$') {
    const length = Number(line);
    if (length < 0) return { value: null, next: after };
    if (buf.length < after + length + 2) return undefined;
    // Binary-safe enough for the tests: values are read as latin1 so no byte is lost.
    return { value: buf.toString('latin1', after, after + length), next: after + length + 2 };
  }
  if (kind === '*') {
    const count = Number(line);
    if (count < 0) return { value: null, next: after };
    const items: RespValue[] = [];
    let next = after;
    for (let i = 0; i < count; i++) {
      const item = parseResp(buf, next);
      if (!item) return undefined;
      if (item.value instanceof Error) return { value: item.value, next: item.next };
      items.push(item.value);
      next = item.next;
    }
    return { value: items, next };
  }
  return { value: new Error(`unknown RESP type "${kind}"`), next: buf.length };
}

/** Sends one command on a fresh connection and returns the reply (a Redis error rejects). */
export function redisCommand(port: number, args: readonly (string | number)[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (error: Error | undefined, value?: RespValue) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value ?? null);
    };
    const timer = setTimeout(() => finish(new RedisHarnessError('redis-command-failed', `no reply to ${args[0]} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(encodeCommand(args)));
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const parsed = parseResp(buf, 0);
      if (!parsed) return;
      if (parsed.value instanceof Error) finish(new RedisHarnessError('redis-command-failed', `${args[0]}: ${parsed.value.message}`));
      else finish(undefined, parsed.value);
    });
    // SHUTDOWN closes the connection without a reply: that is its success.
    socket.on('close', () => finish(new RedisHarnessError('redis-command-failed', `connection closed before a reply to ${args[0]}`)));
    socket.on('error', (error) => finish(error));
  });
}

export interface StopOptions {
  /** SHUTDOWN SAVE first, so the next start() loads the data again. */
  save?: boolean;
}

/** One redis-server process at a time on a fixed port, so the nodes' URL stays valid across restarts. */
export class RedisServer {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private output = '';

  private constructor(
    readonly port: number,
    /** Where SHUTDOWN SAVE writes dump.rdb and a restart reads it back. */
    private readonly dir: string,
    private readonly bin: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts redis-server (`bin`, default Debian's) on a free loopback port and waits until it answers PING. */
  static async start(options: { bin?: string } = {}): Promise<RedisServer> {
    const bin = options.bin ?? REDIS_SERVER_BIN;
    if (!existsSync(bin)) {
      throw new RedisHarnessError(
        'redis-missing',
        `${bin} is missing: the cluster tests need a real Redis. Install it with "sudo apt-get install -y redis-server" (or run .ci/prepare --browser as root).`,
      );
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'wisp-redis-'));
    // A port picked free may be taken by someone else before redis binds it: try a few.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const server = new RedisServer(await freePort(), dir, bin);
      try {
        await server.start();
        return server;
      } catch (error) {
        lastError = error;
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw lastError;
  }

  /**
   * Starts the process again on the same port (after stop() or kill()); loads dump.rdb if
   * stop({ save: true }) wrote one, unless `empty`.
   */
  async start(options: { empty?: boolean } = {}): Promise<void> {
    if (this.child) throw new RedisHarnessError('redis-start-failed', `redis-server is already running (pid ${this.child.pid})`);
    if (options.empty) rmSync(path.join(this.dir, 'dump.rdb'), { force: true });
    const child = spawn(
      this.bin,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--dbfilename', 'dump.rdb'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.output = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.output = (this.output + d).slice(-4000)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.output = (this.output + d).slice(-4000)));
    let gone = false;
    // A test process that dies without dispose() (a crash, a timeout) must not leave its Redis behind.
    const orphanGuard = () => child.kill('SIGKILL');
    process.once('exit', orphanGuard);
    const ended = (resolve: () => void) => {
      gone = true;
      process.off('exit', orphanGuard);
      if (this.child === child) this.child = undefined;
      resolve();
    };
    this.exited = new Promise((resolve) => {
      child.once('exit', () => ended(resolve));
      child.once('error', () => ended(resolve));
    });
    this.child = child;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (gone) throw new RedisHarnessError('redis-start-failed', `redis-server exited at start on port ${this.port}: ${this.output.trim()}`);
      try {
        if ((await redisCommand(this.port, ['PING'], 1000)) === 'PONG') return;
      } catch {
        // Not listening yet, or still loading the dump.
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    await this.kill();
    throw new RedisHarnessError('redis-start-failed', `redis-server did not answer PING on port ${this.port} within ${START_TIMEOUT_MS} ms: ${this.output.trim()}`);
  }

  /** A command against this server (e.g. SCAN, HGETALL, XRANGE in a test that reads what was stored). */
  command(...args: (string | number)[]): Promise<RespValue> {
    if (!this.child) return Promise.reject(new RedisHarnessError('redis-not-running', `redis-server is not running (${args[0]})`));
    return redisCommand(this.port, args);
  }

  /** Stops the process: SIGTERM by PID (or SHUTDOWN SAVE with `save`), and waits for it to exit. */
  async stop(options: StopOptions = {}): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (options.save) {
      // SHUTDOWN answers nothing on success: the connection just closes.
      await redisCommand(this.port, ['SHUTDOWN', 'SAVE']).catch(() => {});
    } else {
      child.kill('SIGTERM');
    }
    await this.waitExit(child);
  }

  /** SIGKILL by PID: no save, no goodbye to clients. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.waitExit(child);
  }

  /** A new process on the same port, with the data as it was (keepData) or empty. */
  async restart(options: { keepData: boolean }): Promise<void> {
    await this.stop({ save: options.keepData });
    await this.start({ empty: !options.keepData });
  }

  /** Stops the process and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitExit(child: ChildProcess): Promise<void> {
    const exited = this.exited!;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), EXIT_TIMEOUT_MS)));
    const outcome = await Promise.race([exited.then(() => 'exited' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  }
}
