// A real redis-server for the cluster end-to-end tests: a free loopback port, nothing
// saved to disk, stopped by its own PID. Minimal on purpose (start, url, dispose); the
// cluster tier's harness (tests/support/redis-server.ts, not on main yet) can replace it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { freePort } from './server.ts';

export const REDIS_SERVER_BIN = process.env.WISP_TEST_REDIS_SERVER ?? '/usr/bin/redis-server';

const START_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 10_000;

export class RedisStartError extends Error {
  readonly code = 'redis-start-failed';
}

/** Every redis-server still running, so a crashing test process does not leave one behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  }
});

/** True when redis-server on `port` answers PING with PONG (inline command, no client library). */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

export class RedisServer {
  private output = '';

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server on a free loopback port and resolves once it answers PING. */
  static async start(): Promise<RedisServer> {
    if (!existsSync(REDIS_SERVER_BIN)) throw new RedisStartError(`${REDIS_SERVER_BIN} is missing: the cluster tests need a real Redis (apt-get install redis-server).`);
    const port = await freePort();
    const child = spawn(REDIS_SERVER_BIN, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let gone = false;
    const exited = new Promise<void>((resolve) => {
      const end = () => {
        gone = true;
        running.delete(child);
        resolve();
      };
      child.once('exit', end);
      child.once('error', end);
    });
    const server = new RedisServer(port, child, exited);
    const keep = (d: string) => (server.output = (server.output + d).slice(-4000));
    child.stdout!.setEncoding('utf8').on('data', keep);
    child.stderr!.setEncoding('utf8').on('data', keep);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (gone) throw new RedisStartError(`redis-server exited at start on port ${port}: ${server.output.trim()}`);
      if (await pong(port)) return server;
      await new Promise((r) => setTimeout(r, 50));
    }
    await server.dispose();
    throw new RedisStartError(`redis-server did not answer PING on port ${port} within ${START_TIMEOUT_MS} ms: ${server.output.trim()}`);
  }

  /** SIGTERM by PID (SIGKILL if it does not exit in time); never throws. */
  async dispose(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), EXIT_TIMEOUT_MS)));
    const outcome = await Promise.race([this.exited.then(() => 'exited' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
