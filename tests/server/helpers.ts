// Shared helpers for the server tests: a scope that starts real servers and clients and
// closes them all afterwards, raw sockets for what TestClient deliberately cannot do,
// and small waits that never depend on timing thresholds.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { testConfig, type Config } from '../../signal-server/config.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../signal-server/server.ts';
import { SUBPROTOCOL, WS_PATH, type ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import { TestClient, type ConnectOptions } from '../support/test-client.ts';

export { TestClient };

/** Starts servers and clients and remembers them, so one `dispose()` in after/afterEach cleans up. */
export class Scope {
  private readonly servers: RunningServer[] = [];
  private readonly clients: TestClient[] = [];
  private readonly sockets: WebSocket[] = [];
  private readonly dirs: string[] = [];

  async server(overrides: Partial<Config> = {}, options: ServerOptions = {}): Promise<RunningServer> {
    const server = await startServer(testConfig(overrides), options);
    this.servers.push(server);
    return server;
  }

  async client(server: RunningServer | string, options: ConnectOptions = {}): Promise<TestClient> {
    const client = await TestClient.connect(typeof server === 'string' ? server : server.url, options);
    this.clients.push(client);
    return client;
  }

  /** Several clients connected at once. */
  clientsOf(server: RunningServer, count: number, options: (i: number) => ConnectOptions = () => ({})): Promise<TestClient[]> {
    return Promise.all(Array.from({ length: count }, (_, i) => this.client(server, options(i))));
  }

  /** A plain `ws` socket to /ws (or another path), opened with the Wisp subprotocol unless told otherwise. */
  raw(server: RunningServer, options: { path?: string; protocols?: string | string[]; ws?: WebSocket.ClientOptions } = {}): WebSocket {
    const url = server.url.replace(/^http/, 'ws') + (options.path ?? WS_PATH);
    const ws = new WebSocket(url, options.protocols ?? SUBPROTOCOL, options.ws ?? {});
    ws.on('error', () => {});
    this.sockets.push(ws);
    return ws;
  }

  /** A temp directory holding a tiny "built app": index.html, a hashed asset and sw.js. */
  staticDir(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'wisp-static-'));
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Wisp</title><p>wisp-index</p>');
    writeFileSync(path.join(dir, 'assets', 'app-abc123.js'), 'console.log("wisp-asset");');
    writeFileSync(path.join(dir, 'sw.js'), 'self.addEventListener("install", () => {});');
    this.dirs.push(dir);
    return dir;
  }

  tempDir(prefix = 'wisp-'): string {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  async dispose(): Promise<void> {
    for (const client of this.clients.splice(0)) client.ws.terminate();
    for (const ws of this.sockets.splice(0)) ws.terminate();
    await Promise.all(this.servers.splice(0).map((s) => s.close()));
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Sends a ping and waits for its pong. Frames on one socket are handled in order, so once
 * the pong is back the server has handled everything this client sent before, and this
 * client has received everything the server sent it before that.
 */
export async function roundTrip(client: TestClient): Promise<void> {
  client.send({ type: 'ping' });
  await client.next('pong');
}

export function nextError(client: TestClient, code: string, ref?: string): Promise<ServerFrameOf<'error'>> {
  return client.next('error', (e) => e.code === code && (ref === undefined || e.ref === ref));
}

/** Renames and returns either the accepted name or the error (exactly one of them comes back). */
export async function rename(client: TestClient, name: string): Promise<{ name: string } | { error: string; message: string }> {
  client.send({ type: 'rename', name });
  // The answer comes before the pong, so after the round trip it is already recorded.
  await roundTrip(client);
  const names = client.all('name');
  const errors = client.all('error').filter((e) => e.ref === 'rename');
  assert.equal(names.length + errors.length, 1, 'one answer per rename');
  if (names.length === 1) return { name: (await client.next('name')).name };
  const error = await client.next('error', (e) => e.ref === 'rename');
  return { error: error.code, message: error.message };
}

/** Joins a room and waits for the snapshot. */
export async function join(client: TestClient, room: string): Promise<ServerFrameOf<'joined'>> {
  client.send({ type: 'join', room });
  return client.next('joined', (f) => f.room === room.replace(/^#/, '').toLowerCase());
}

/** Waits until `client` has seen a presence event in `room` matching `match` (across batches). */
export function presenceEvent(
  client: TestClient,
  room: string,
  match: (e: ServerFrameOf<'presence'>['events'][number]) => boolean,
): Promise<ServerFrameOf<'presence'>> {
  return client.next('presence', (f) => f.room === room && f.events.some(match));
}

/**
 * Waits until `client`'s view of the room it joined has member `id`: in its snapshot
 * (someone who joined while a presence batch was pending is in it), or in a later batch.
 */
export async function seesMember(client: TestClient, joined: ServerFrameOf<'joined'>, id: string): Promise<void> {
  if (joined.members.some((m) => m.id === id)) return;
  await presenceEvent(client, joined.room, (e) => e.k === 'join' && e.member.id === id);
}

export async function listRooms(client: TestClient): Promise<{ name: string; members: number }[]> {
  client.send({ type: 'list-rooms' });
  return (await client.next('rooms')).rooms;
}

/** The close code a raw socket ends with. */
export function closeCode(ws: WebSocket, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for close')), timeoutMs);
    ws.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Resolves with 101 when the upgrade is accepted, else the HTTP status of the refusal. */
export function upgradeStatus(ws: WebSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(101));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.once('error', (error) => reject(error));
  });
}

/** Waits for a predicate to hold, checking after every frame the client (or any of the clients) gets (no fixed sleeps). */
export function until(client: TestClient | TestClient[], condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const clients = Array.isArray(client) ? client : [client];
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!condition()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting until ${what}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      for (const c of clients) c.ws.off('message', onMessage);
    };
    // The TestClient's own listener runs first (it was added first), so the frame is recorded.
    const onMessage = () => check();
    for (const c of clients) c.ws.on('message', onMessage);
  });
}
