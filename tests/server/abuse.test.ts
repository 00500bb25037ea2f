// Hardening under load and abuse: slow HTTP clients (slowloris), WebSockets that never say
// hello or never answer, floods, and a slow consumer in a busy room. Each test asserts what
// happened (who was closed, what was relayed, who got everything), never how fast; the
// limits are shortened through the config so the waits are short, and every wait is bounded.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { CloseCode, ErrorCode, LIMITS, LOBBY, SUBPROTOCOL, WS_PATH } from '../../signal-server/protocol/protocol.ts';
import type { Config } from '../../signal-server/config.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { Scope, TestClient, join, presenceEvent, roundTrip, seesMember, until } from './helpers.ts';

/** A failure bound, not a measured threshold: these things happen well within it or not at all. */
const BOUND_MS = 20_000;

/** HTTP limits short enough for a quick test; requests here are sent whole, in one write. */
const SHORT_HTTP: Partial<Config> = { headersTimeoutMs: 1000, requestTimeoutMs: 1000, keepAliveTimeoutMs: 200, timeoutCheckMs: 50 };

let scope: Scope;
const sockets = new Set<Socket>();
const timers = new Set<NodeJS.Timeout>();
beforeEach(() => {
  scope = new Scope();
});
afterEach(async () => {
  for (const timer of timers) clearInterval(timer);
  timers.clear();
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await scope.dispose();
});

function within<T>(promise: Promise<T>, what: string, ms = BOUND_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting until ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls a condition on server state (no event to wait for); fails after the bound. */
async function eventually(condition: () => boolean, what: string, ms = BOUND_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface RawConnection {
  socket: Socket;
  /** Everything the server sent, as bytes. */
  received(): Buffer;
  /** Resolves once the socket is closed (by the server: the test never closes it first). */
  closed: Promise<void>;
}

/** A plain TCP connection to the server, recording what comes back. */
async function rawConnection(server: RunningServer): Promise<RawConnection> {
  const socket = net.connect(server.port, '127.0.0.1');
  sockets.add(socket);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  // A write racing the server's close may fail with EPIPE or ECONNRESET; the close is what counts.
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => Buffer.concat(chunks), closed };
}

/** Sends `head` one byte at a time, then one more header byte at a time forever: a request head that never ends. */
function trickle(socket: Socket, head: string): void {
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || !socket.writable) return clearInterval(timer);
    socket.write(sent < head.length ? head[sent] : 'a');
    sent++;
  }, 5);
  timers.add(timer);
}

/** A GET over a fresh connection (no pooled keep-alive sockets). */
function get(server: RunningServer, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: server.port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** "Still serving": /healthz answers and a WebSocket client gets its pong. */
async function stillServes(server: RunningServer, client: TestClient): Promise<void> {
  const health = await get(server, '/healthz');
  assert.equal(health.status, 200);
  assert.equal((JSON.parse(health.body) as { ok: boolean }).ok, true);
  await roundTrip(client);
  assert.equal(client.closed, undefined, 'the WebSocket client is still connected');
}

/** Records the server's side of every WebSocket the hub accepts from now on, until `stop()`. */
function spyAccept(server: RunningServer): { sockets: WebSocket[]; stop(): void } {
  const sockets: WebSocket[] = [];
  const accept = server.hub.accept.bind(server.hub);
  server.hub.accept = (ws, ip) => {
    sockets.push(ws);
    accept(ws, ip);
  };
  return { sockets, stop: () => void (server.hub.accept = accept) };
}

function closeOf(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => ws.once('close', () => resolve()));
}

function assertTimedOut(conn: RawConnection, what: string): void {
  const text = conn.received().toString('latin1');
  // Node answers an unfinished request with 408 before closing; nothing else may come back.
  assert.ok(text === '' || /^HTTP\/1\.1 408 /.test(text), `${what}: got ${JSON.stringify(text.slice(0, 80))}`);
}

function upgradeHead(server: RunningServer): string {
  return [
    `GET ${WS_PATH} HTTP/1.1`,
    `Host: 127.0.0.1:${server.port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    `Sec-WebSocket-Protocol: ${SUBPROTOCOL}`,
  ].join('\r\n');
}

/** The frames a server sent after its 101 response (server frames are never masked). */
function wsFrames(data: Buffer): { opcode: number; payload: Buffer }[] {
  const start = data.indexOf('\r\n\r\n');
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = start < 0 ? data.length : start + 4;
  while (at + 2 <= data.length) {
    const opcode = data[at] & 0x0f;
    let length = data[at + 1] & 0x7f;
    let body = at + 2;
    if (length === 126) {
      length = data.readUInt16BE(body);
      body += 2;
    } else if (length === 127) {
      length = Number(data.readBigUInt64BE(body));
      body += 8;
    }
    if (body + length > data.length) break;
    frames.push({ opcode, payload: data.subarray(body, body + length) });
    at = body + length;
  }
  return frames;
}

describe('slow HTTP clients (slowloris)', () => {
  test('request heads sent a byte at a time and never finished get 408 and are closed; others are served meanwhile', async () => {
    const server = await scope.server(SHORT_HTTP);
    // Connected before the slow ones, so it outlives the request timeout: an upgraded
    // socket is not an HTTP request any more and must not be cut by it.
    const client = await scope.client(server);
    const slow = await Promise.all(Array.from({ length: 20 }, () => rawConnection(server)));
    for (const conn of slow) trickle(conn.socket, 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    await stillServes(server, client);
    await within(Promise.all(slow.map((conn) => conn.closed)), 'every slow connection is closed');
    slow.forEach((conn, i) => assertTimedOut(conn, `slow connection ${i}`));
    await stillServes(server, client);
    assert.equal(server.hub.size, 1);
  });

  test('a connection that sends nothing at all is closed', async () => {
    const server = await scope.server(SHORT_HTTP);
    const client = await scope.client(server);
    const idle = await rawConnection(server);
    await stillServes(server, client);
    await within(idle.closed, 'the idle connection is closed');
    assertTimedOut(idle, 'idle connection');
    await stillServes(server, client);
  });

  test('an upgrade request that never finishes is closed, and holds no WebSocket slot meanwhile', async () => {
    // One WebSocket per address: stalled upgrades must not take it.
    const server = await scope.server({ ...SHORT_HTTP, maxConnectionsPerIp: 1 });
    const stalled = await Promise.all(Array.from({ length: 5 }, () => rawConnection(server)));
    for (const conn of stalled) trickle(conn.socket, `${upgradeHead(server)}\r\nX-Slow: `);
    const client = await scope.client(server);
    await stillServes(server, client);
    await within(Promise.all(stalled.map((conn) => conn.closed)), 'every stalled upgrade is closed');
    stalled.forEach((conn, i) => assertTimedOut(conn, `stalled upgrade ${i}`));
    await stillServes(server, client);
    assert.equal(server.hub.size, 1);
  });

  test('a request body sent a byte at a time is cut at the request timeout', async () => {
    const server = await scope.server(SHORT_HTTP);
    const client = await scope.client(server);
    const conn = await rawConnection(server);
    conn.socket.write('POST /share HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n');
    trickle(conn.socket, '');
    await within(conn.closed, 'the slow upload is closed');
    // The app's answer to a share may come first; the body is never read to its end.
    assert.match(conn.received().toString('latin1'), /^HTTP\/1\.1 (303|408) /);
    await stillServes(server, client);
  });

  test('an idle keep-alive connection is closed after its request was answered', async () => {
    const server = await scope.server(SHORT_HTTP);
    const conn = await rawConnection(server);
    conn.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await within(conn.closed, 'the idle keep-alive connection is closed');
    const text = conn.received().toString('latin1');
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /\r\nConnection: keep-alive\r\n/i, 'the connection was kept alive at first');
    assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer, then nothing but the close');
  });
});

describe('WebSockets that never start', () => {
  test('a WebSocket that never says hello is closed with 4008; a welcomed one stays', async () => {
    const server = await scope.server({ helloTimeoutMs: 200 });
    const client = await scope.client(server);
    const silent = await scope.client(server, { noHello: true });
    const closed = await within(silent.waitClose(BOUND_MS), 'the silent WebSocket is closed');
    assert.equal(closed.code, CloseCode.helloTimeout);
    await roundTrip(client);
    assert.equal(client.closed, undefined);
    assert.equal(server.hub.size, 1);
  });

  test('a hand-made WebSocket that neither reads nor writes after the handshake is cut, not kept waiting for its close reply', async () => {
    // ws alone waits 30 s for a close reply; the close grace cuts the socket sooner.
    const server = await scope.server({ helloTimeoutMs: 200, closeGraceMs: 200 });
    const client = await scope.client(server);
    const spy = spyAccept(server);
    const conn = await rawConnection(server);
    conn.socket.pause();
    conn.socket.write(`${upgradeHead(server)}\r\n\r\n`);
    await eventually(() => spy.sockets.length === 1, 'the server accepted the upgrade');
    spy.stop();
    // The socket still has not read a byte when the server lets go of it.
    await within(closeOf(spy.sockets[0]), 'the server lets go of the silent socket');
    assert.equal(server.hub.size, 1);
    await roundTrip(client);
    // What was waiting in the kernel: the 101, the challenge and the 4008 close frame, then the end.
    conn.socket.resume();
    await within(conn.closed, 'the silent socket sees the close');
    assert.match(conn.received().toString('latin1'), /^HTTP\/1\.1 101 /);
    const close = wsFrames(conn.received()).find((f) => f.opcode === 0x8);
    assert.ok(close, 'a close frame was sent');
    assert.equal(close.payload.readUInt16BE(0), CloseCode.helloTimeout);
    assert.equal(client.closed, undefined);
  });
});

describe('floods', () => {
  interface Flood {
    flooder: TestClient;
    honest: TestClient;
    listener: TestClient;
    /** Taken just before the flooder connected, so before its buckets were made. */
    flooderSince: number;
  }

  /** A flooder, an honest sender and a listener, all in the lobby and aware of each other. */
  async function floodRoom(server: RunningServer): Promise<Flood> {
    const [honest, listener] = await scope.clientsOf(server, 2);
    const flooderSince = performance.now();
    const flooder = await scope.client(server);
    await join(flooder, LOBBY);
    for (const c of [honest, listener]) await seesMember(c, await join(c, LOBBY), flooder.id);
    return { flooder, honest, listener, flooderSince };
  }

  /** The honest one sends its full burst at once; all of it must arrive, none of it limited. */
  function honestBurst(honest: TestClient): string[] {
    const texts = Array.from({ length: LIMITS.sayBurst }, (_, i) => `honest ${i}`);
    texts.forEach((text, i) => honest.send({ type: 'say', room: LOBBY, cid: `h${i}`, text }));
    return texts;
  }

  async function assertHonestServed(honest: TestClient, listener: TestClient, texts: string[]): Promise<void> {
    for (let i = 0; i < texts.length; i++) await honest.next('ack', (a) => a.cid === `h${i}`);
    const got = () => listener.all('message').filter((m) => m.from === honest.id).map((m) => m.text);
    await until(listener, () => got().length === texts.length, 'the listener has every honest message');
    assert.deepEqual(got(), texts, 'every honest message arrived, in order');
    await roundTrip(honest);
    assert.equal(honest.all('error').length, 0, 'the honest sender was never refused or rate-limited');
    assert.equal(honest.closed, undefined);
  }

  test('500 says at once: no more are relayed than the bucket allows, the flooder is closed, an honest sender loses nothing', async () => {
    const server = await scope.server();
    const { flooder, honest, listener } = await floodRoom(server);
    // The say bucket is at most full (the burst) when the flood starts.
    const t0 = performance.now();
    for (let i = 0; i < 500; i++) flooder.send({ type: 'say', room: LOBBY, cid: `f${i}`, text: `flood ${i}` });
    const texts = honestBurst(honest);
    const closed = await within(flooder.waitClose(BOUND_MS), 'the flooder is closed');
    const elapsedMs = performance.now() - t0;
    assert.equal(closed.code, CloseCode.rateLimited);

    const relayed = flooder.all('ack').length;
    const allowed = Math.floor(LIMITS.sayBurst + (LIMITS.sayPerMinute * elapsedMs) / 60_000);
    assert.ok(relayed >= LIMITS.sayBurst, `the burst itself passes (${relayed})`);
    assert.ok(relayed <= allowed, `${relayed} relayed in ${elapsedMs.toFixed(0)} ms; the bucket allows ${allowed}`);
    const limited = flooder.all('error').filter((e) => e.code === ErrorCode.rateLimited);
    assert.equal(limited.length, LIMITS.rateStrikesBeforeClose, 'one rate-limited error per refused say, until the close');
    assert.ok(limited.every((e) => e.ref?.startsWith('f') && (e.retryAfterMs ?? 0) > 0));

    await assertHonestServed(honest, listener, texts);
    // Exactly what was acked reached the others, nothing refused or sent after the close.
    for (const other of [honest, listener]) {
      await roundTrip(other);
      assert.equal(other.all('message').filter((m) => m.from === flooder.id).length, relayed);
    }
  });

  test('500 renames at once (any frame type that fans out): limited by the frame bucket, closed, the room unharmed', async () => {
    const server = await scope.server();
    const { flooder, honest, listener, flooderSince } = await floodRoom(server);
    for (let i = 0; i < 500; i++) flooder.send({ type: 'rename', name: `flood${i}` });
    const texts = honestBurst(honest);
    const closed = await within(flooder.waitClose(BOUND_MS), 'the flooder is closed');
    // hello and join came out of the same bucket: its whole life is the window.
    const lifeMs = performance.now() - flooderSince;
    assert.equal(closed.code, CloseCode.rateLimited);

    const renamed = flooder.all('name').length;
    // hello and join took a token each too.
    const accepted = renamed + 2;
    const allowed = Math.floor(LIMITS.framesBurst + (LIMITS.framesPerMinute * lifeMs) / 60_000);
    assert.ok(accepted >= LIMITS.framesBurst, `the burst itself passes (${accepted})`);
    assert.ok(accepted <= allowed, `${accepted} frames accepted in ${lifeMs.toFixed(0)} ms; the bucket allows ${allowed}`);
    assert.equal(flooder.all('error').filter((e) => e.code === ErrorCode.rateLimited).length, LIMITS.rateStrikesBeforeClose);

    await assertHonestServed(honest, listener, texts);
    // The others saw at most the renames that were accepted, then the flooder leave.
    await presenceEvent(listener, LOBBY, (e) => e.k === 'leave' && e.id === flooder.id);
    const renames = listener.all('presence').flatMap((p) => p.events).filter((e) => e.k === 'rename' && e.id === flooder.id);
    assert.ok(renames.length <= renamed, `${renames.length} rename events for ${renamed} accepted renames`);
  });
});

describe('slow consumer', () => {
  test('a member that stops reading in a busy room is dropped once its backlog passes the bound; the others get every message', async () => {
    const sendBufferMaxBytes = 64 * 1024;
    const room = 'busy';
    // No room history: each sender joining later would first get recent messages replayed,
    // and this test counts what is relayed live.
    const server = await scope.server({ sendBufferMaxBytes, sayBurst: 1000, sayPerMinute: 100_000, maxConnectionsPerIp: 1000, historyMessages: 0 });
    const listener = await scope.client(server);
    await join(listener, room);

    // Keep hold of the server's side of the slow member's socket, to see what it queued.
    const spy = spyAccept(server);
    const slow = await scope.client(server);
    spy.stop();
    const serverSide = spy.sockets[0];
    await join(slow, room);
    let cutAtBytes: number | undefined;
    const terminate = serverSide.terminate.bind(serverSide);
    serverSide.terminate = () => {
      cutAtBytes ??= serverSide.bufferedAmount;
      terminate();
    };
    const dropped = closeOf(serverSide);
    let isDropped = false;
    void dropped.then(() => (isDropped = true));
    // It stops reading: the kernel's buffers fill (several MiB on loopback), then the server's.
    (slow.ws as unknown as { _socket: Socket })._socket.pause();

    // Rounds: a fresh sender joins and sends 80 messages of 6 KB (1990 three-byte
    // characters) at once, ~480 KB, and every reading member catches up before the next
    // round. The kernel takes a few MiB for each socket (these clients share the server's
    // thread, so they read only between bursts), so a round never pushes a reader past the
    // bound; the slow member's backlog grows with every round until it is cut, however
    // much its kernel buffers absorb first.
    const perRound = 80;
    const body = '字'.repeat(1990);
    const senders: TestClient[] = [];
    const messages = (client: TestClient) => client.all('message').filter((m) => m.room === room).length;
    let total = 0;
    for (let round = 0; round < 30 && !isDropped; round++) {
      const sender = await scope.client(server);
      await join(sender, room);
      for (let i = 0; i < perRound; i++) sender.send({ type: 'say', room, cid: `r${round}m${i}`, text: `${round}.${i} ${body}` });
      await until(sender, () => sender.all('ack').length === perRound, 'every say is acked', BOUND_MS);
      total += perRound;
      // The listener has every message so far; each earlier sender every one sent after it joined.
      await until(listener, () => messages(listener) === total, 'the listener has every message', BOUND_MS);
      for (const [joinedIn, earlier] of senders.entries()) {
        await until(earlier, () => messages(earlier) === total - (joinedIn + 1) * perRound, 'each sender has every later message', BOUND_MS);
      }
      senders.push(sender);
    }
    await within(dropped, 'the slow member is dropped');
    await listener.next('presence', (f) => f.room === room && f.events.some((e) => e.k === 'leave' && e.id === slow.id), BOUND_MS);

    // The server let its backlog pass the bound by at most one frame, then cut it.
    assert.ok(cutAtBytes !== undefined, 'dropped by the server, not by the client');
    assert.ok(cutAtBytes > sendBufferMaxBytes, `cut with ${cutAtBytes} bytes queued`);
    assert.ok(cutAtBytes <= sendBufferMaxBytes + LIMITS.maxFrameBytes, `cut with ${cutAtBytes} bytes queued`);
    for (const client of [listener, ...senders]) {
      assert.equal(client.all('error').length, 0);
      assert.equal(client.closed, undefined, 'a reading member was never dropped');
    }
    await roundTrip(listener);
    assert.equal(listener.closed, undefined);

    // Once it reads again, the slow member finds the connection cut (no close frame: 1006),
    // having got only part of the traffic: the rest was never queued for it.
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    const closed = await within(slow.waitClose(BOUND_MS), 'the slow member sees the end');
    assert.equal(closed.code, 1006);
    assert.ok(messages(slow) < total, `the slow member got ${messages(slow)} of ${total}`);
  });
});
