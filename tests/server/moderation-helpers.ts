// Helpers for the moderation tests: servers started with the admin-token and shutdown
// callbacks, clients that come from a chosen address (X-Forwarded-For through a trusted
// proxy), admin login, and a presence barrier that proves something did NOT happen.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { testConfig, type Config } from '../../signal-server/config.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../signal-server/server.ts';
import { PROTOCOL_VERSION, SUBPROTOCOL, WS_PATH, type ServerFrame, type ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import { makeIdentity, signChallenge, type ConnectOptions, type Identity } from '../support/test-client.ts';
import { Scope, TestClient, join, presenceEvent } from './helpers.ts';

/** The token the moderation tests' servers are started with (--admin-token). */
export const ADMIN_TOKEN = 'moderation-test-admin-token';

export interface ClientOptions extends ConnectOptions {
  /** The client address the server should see: sent as X-Forwarded-For (needs trustProxy). */
  from?: string;
  /** Extra upgrade request headers, e.g. a spoofed X-Forwarded-For. */
  headers?: Record<string, string>;
}

// TestClient keeps its constructor private and has no header option; the moderation tests
// need both (a client address through X-Forwarded-For), so they build it from a socket.
const TestClientFromSocket = TestClient as unknown as new (ws: WebSocket, identity: Identity) => TestClient;

/** Like TestClient.connect, with upgrade headers. */
export async function connectClient(baseUrl: string, options: ClientOptions = {}): Promise<TestClient> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.from !== undefined) headers['X-Forwarded-For'] = options.from;
  if (options.origin !== undefined) headers.Origin = options.origin;
  const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + WS_PATH, SUBPROTOCOL, { headers });
  const client = new TestClientFromSocket(ws, options.identity ?? makeIdentity());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const challenge = await client.next('challenge', () => true, options.timeoutMs);
  client.nonce = challenge.nonce;
  if (options.noHello) return client;
  sendHello(client, options.name);
  client.welcome = await client.next('welcome', () => true, options.timeoutMs);
  return client;
}

/** Answers the challenge (for clients connected with noHello). */
export function sendHello(client: TestClient, name?: string): void {
  client.send({ type: 'hello', v: PROTOCOL_VERSION, key: client.identity.key, sig: signChallenge(client.identity, client.nonce), name });
}

/** A Scope whose servers get ServerOptions (admin token callback, shutdown callback) and own data dirs. */
export class ModScope extends Scope {
  private readonly started: RunningServer[] = [];
  private readonly mine: TestClient[] = [];
  /** A tiny stand-in for the built app, so these tests do not need `npm run build`. */
  private app?: string;

  /**
   * Starts a server with ADMIN_TOKEN as --admin-token (pass adminToken: undefined for
   * none), a short presence window, a stand-in app, and a data directory removed by
   * dispose().
   */
  async start(overrides: Partial<Config> = {}, options: ServerOptions = {}): Promise<RunningServer> {
    this.app ??= this.staticDir();
    const config = testConfig({ adminToken: ADMIN_TOKEN, presenceWindowMs: 10, staticDir: this.app, ...overrides, dataDir: overrides.dataDir ?? this.tempDir('wisp-data-') });
    const server = await startServer(config, options);
    this.started.push(server);
    return server;
  }

  /** A welcomed client (unless noHello), optionally from a chosen address. */
  async connect(server: RunningServer | string, options: ClientOptions = {}): Promise<TestClient> {
    const client = await connectClient(typeof server === 'string' ? server : server.url, options);
    this.mine.push(client);
    return client;
  }

  override async dispose(): Promise<void> {
    for (const client of this.mine.splice(0)) client.ws.terminate();
    await Promise.all(this.started.splice(0).map((s) => s.close()));
    await super.dispose();
    this.app = undefined;
  }
}

/** Claims the admin role with the token and waits for the grant. */
export async function becomeAdmin(client: TestClient, token = ADMIN_TOKEN): Promise<void> {
  client.send({ type: 'admin', token });
  await client.next('admin');
}

/**
 * Proves that earlier presence has been delivered: a fresh client joins `room`, and every
 * watcher waits until it sees that join. Presence events in a room are queued in order,
 * so anything queued before (a role change, a removal) has reached the watchers by then.
 * Returns the newcomer's snapshot: who is in the room now, with roles.
 */
export async function presenceBarrier(scope: ModScope, server: RunningServer, room: string, watchers: TestClient[]): Promise<ServerFrameOf<'joined'>> {
  const sentinel = await scope.connect(server, { name: `s${Math.random().toString(36).slice(2, 9)}` });
  const snapshot = await join(sentinel, room);
  await Promise.all(watchers.map((w) => presenceEvent(w, room, (e) => e.k === 'join' && e.member.id === sentinel.id)));
  return snapshot;
}

/** After a ping round trip (the server handled everything sent before it): true when `client` got no frame of `type`. */
export async function noneOf(client: TestClient, type: ServerFrame['type']): Promise<boolean> {
  client.send({ type: 'ping' });
  await client.next('pong');
  return client.all(type).length === 0;
}

/**
 * Waits for each client's `purged` about `room` by `by`: the same purge time for all, taken
 * by the server between `sentAt` and now. Returns that time.
 */
export async function everyonePurged(clients: TestClient[], room: string, by: string, sentAt: number): Promise<number> {
  const frames = await Promise.all(clients.map((client) => client.next('purged')));
  const at = frames[0]!.at;
  for (const frame of frames) assert.deepEqual(frame, { type: 'purged', room, by, at });
  assert.ok(at >= sentAt && at <= Date.now(), `the purge time ${at} is the server's time of the purge`);
  return at;
}

/** Forgets every frame a client has received so far. */
export function forget(...clients: TestClient[]): void {
  for (const client of clients) client.frames.length = 0;
}

/** Polls `attempt` (each one a full request/answer exchange) until it returns a value. */
export async function pollUntil<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The first frame (already received or future) matching `match`, of any type; it is
 * taken out of the client's record like TestClient.next does.
 */
export function nextFrame(client: TestClient, match: (f: ServerFrame) => boolean, what: string, timeoutMs = 5000): Promise<ServerFrame> {
  const take = (): ServerFrame | undefined => {
    const index = client.frames.findIndex(match);
    return index < 0 ? undefined : client.frames.splice(index, 1)[0];
  };
  const seen = take();
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.ws.off('message', onMessage);
      reject(new Error(`timed out waiting for ${what}; got: ${client.frames.map((f) => f.type).join(', ') || 'nothing'}`));
    }, timeoutMs);
    // TestClient's own listener was added first, so the frame is already recorded here.
    const onMessage = () => {
      const frame = take();
      if (!frame) return;
      clearTimeout(timer);
      client.ws.off('message', onMessage);
      resolve(frame);
    };
    client.ws.on('message', onMessage);
  });
}

/** Sends `join` and resolves with either the snapshot or the error that refused it. */
export async function tryJoin(client: TestClient, room: string): Promise<ServerFrameOf<'joined'> | ServerFrameOf<'error'>> {
  client.send({ type: 'join', room });
  const frame = await nextFrame(client, (f) => (f.type === 'joined' && f.room === room) || (f.type === 'error' && f.ref === room), `the answer to joining #${room}`);
  return frame as ServerFrameOf<'joined'> | ServerFrameOf<'error'>;
}

// ---------------------------------------------------------------------------
// The compiled entry point (dist/signal-server/main.js), run as an operator runs it.

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const MAIN_JS = path.join(ROOT, 'dist/signal-server/main.js');

/** Builds the server when dist is missing or older than any source file. */
export function ensureServerBuilt(): void {
  const sources = readdirSync(path.join(ROOT, 'signal-server')).filter((f) => f.endsWith('.ts'));
  const newest = Math.max(...sources.map((f) => statSync(path.join(ROOT, 'signal-server', f)).mtimeMs));
  if (existsSync(MAIN_JS) && statSync(MAIN_JS).mtimeMs >= newest) return;
  execFileSync('npx', ['tsc', '-p', 'tsconfig.server.json'], { cwd: ROOT, stdio: 'pipe' });
}

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

/** Env without the variables the server reads, so the machine's settings do not leak in. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name === 'PORT' || name === 'HOST' || name.startsWith('WISP_')) delete env[name];
  return env;
}

export interface CompiledRun {
  child: ChildProcess;
  /** stdout and stderr so far. */
  readonly stdout: string;
  readonly stderr: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts main.js on 127.0.0.1 with these extra flags. */
export function runCompiled(args: string[]): CompiledRun {
  const child = spawn(process.execPath, [MAIN_JS, '--host', '127.0.0.1', ...args], { cwd: ROOT, env: cleanEnv() });
  const run = { child, stdout: '', stderr: '' } as CompiledRun & { stdout: string; stderr: string };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (run.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (run.stderr += d));
  run.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return run;
}

/** Resolves once the compiled server answers /healthz on `port` (or rejects if it exits first). */
export async function waitHealthy(run: CompiledRun, port: number, timeoutMs = 20_000): Promise<void> {
  let exited = false;
  void run.exit.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the server exited before answering; stdout: ${run.stdout} stderr: ${run.stderr}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no answer from /healthz; stdout: ${run.stdout} stderr: ${run.stderr}`);
}

/** SIGTERM and the exit. */
export async function stopCompiled(run: CompiledRun): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  return run.exit;
}
