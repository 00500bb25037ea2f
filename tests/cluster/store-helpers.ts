// Helpers for the durable-state cluster tests: the shared harness's real redis-server
// (tests/support/redis-server.ts), nodes started in-process on it (ModScope, each node
// with its own data directory), hello retried until a change made on another node has
// arrived, and the wisp command run as an operator runs it.
import { spawn } from 'node:child_process';
import { after, afterEach, before, beforeEach } from 'node:test';
import path from 'node:path';
import type { ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import type { TestClient } from '../server/helpers.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { ModScope, ROOT, nextFrame, sendHello, type ClientOptions } from '../server/moderation-helpers.ts';
import { RedisServer } from '../support/redis-server.ts';

export { RedisServer };
export { eventually } from '../support/cluster-nodes.ts';

const RUN_TIMEOUT_MS = 60_000;

export interface RedisNodes {
  readonly redis: RedisServer;
  /** This test's nodes and clients, stopped after it. */
  readonly scope: ModScope;
  /** The nodes started on Redis before each test. */
  readonly nodes: RunningServer[];
}

/**
 * For a describe block: one real redis-server for the file, emptied before each test (and
 * started again if a test stopped it and failed before restarting it), a fresh scope per
 * test, and `count` nodes on that Redis.
 */
export function useRedisNodes(count = 0): RedisNodes {
  const ctx = { redis: undefined as unknown as RedisServer, scope: undefined as unknown as ModScope, nodes: [] as RunningServer[] };
  before(async () => {
    ctx.redis = await RedisServer.start();
  });
  after(() => ctx.redis.dispose());
  beforeEach(async () => {
    if (!ctx.redis.running) await ctx.redis.start();
    await ctx.redis.command('FLUSHALL');
    ctx.scope = new ModScope();
    ctx.nodes = [];
    for (let i = 0; i < count; i++) ctx.nodes.push(await ctx.scope.start({ redisUrl: ctx.redis.url }));
  });
  afterEach(() => ctx.scope.dispose());
  return ctx;
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
