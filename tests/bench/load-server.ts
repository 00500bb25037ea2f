// The signal server for the load benchmark (server-load.bench.ts), in a process of its
// own so that its memory is measured alone. It takes the server's own command-line flags
// (parseConfig, the real config mechanism), so the bench lifts limits as an operator
// would. server-load.bench.ts compiles it with tsc and runs it with plain node: tsx's
// loader would add about 40 MB of RSS that the real server does not have.
//
// It talks to the parent over the IPC channel:
//   -> { event: 'ready', port }
//   <- { id, cmd: 'stats' }              -> { id, ok, connections, memory, newSpaceBytes, history: { bytes, entries } }
//   <- { id, cmd: 'timing', on: boolean } -> { id, ok, joinMs: number[], flushMs: number[], flushEndAt: number[] }
//   <- { id, cmd: 'gc' }                 -> { id, ok } after full collections (needs node --expose-gc)
// and exits when the parent goes away or sends SIGTERM.
//
// "timing" measures on the server itself: joinMs is the time the hub spends on one
// `join` frame, from the socket's message event to the handler's return (JSON parse,
// schema check, rate bucket, ban check, Rooms.join, building and serialising the
// members snapshot, handing it to the socket); flushMs is the time of one presence
// flush (Rooms.flush: every dirty room's batch to every member) and flushEndAt the wall
// clock (Date.now()) when it had handed the last frame to the sockets.
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';
import { parseConfig } from '../../signal-server/config.ts';
import { Hub } from '../../signal-server/hub.ts';
import { Rooms } from '../../signal-server/rooms.ts';
import { startServer } from '../../signal-server/server.ts';

type Request = { id: number; cmd: 'stats' } | { id: number; cmd: 'timing'; on: boolean } | { id: number; cmd: 'gc' };

const JOIN_PREFIX = '{"type":"join"';
/** At most this many samples are kept, so a forgotten "timing on" cannot grow without bound. */
const MAX_SAMPLES = 10_000;

let timing = false;
let joinMs: number[] = [];
let flushMs: number[] = [];
let flushEndAt: number[] = [];

// Hub.receive and Rooms.flush are looked up on the prototype at each call, so wrapping
// them here times every frame and every flush without changing what they do.
const hubProto = Hub.prototype as unknown as { receive(conn: unknown, data: unknown, isBinary: boolean): void };
const receive = hubProto.receive;
hubProto.receive = function (this: Hub, conn: unknown, data: unknown, isBinary: boolean): void {
  if (!timing) return receive.call(this, conn, data, isBinary);
  const isJoin = !isBinary && Buffer.isBuffer(data) && data.subarray(0, JOIN_PREFIX.length).toString('latin1') === JOIN_PREFIX;
  const started = performance.now();
  receive.call(this, conn, data, isBinary);
  if (isJoin && joinMs.length < MAX_SAMPLES) joinMs.push(performance.now() - started);
};
const flush = Rooms.prototype.flush;
Rooms.prototype.flush = function (this: Rooms): void {
  if (!timing) return flush.call(this);
  const started = performance.now();
  flush.call(this);
  if (flushMs.length < MAX_SAMPLES) {
    flushMs.push(performance.now() - started);
    flushEndAt.push(Date.now());
  }
};

// Flags only (no environment), so the figures do not depend on the caller's WISP_* variables.
// The parent passes --static-dir and --data-dir; nothing is served in a load test.
const parsed = parseConfig(process.argv.slice(2), {}, fileURLToPath(new URL('.', import.meta.url)));
if (parsed.help) throw new Error('load-server: --help is not for the bench');
const server = await startServer(parsed.config);

function reply(message: object): void {
  if (process.connected) process.send!(message);
}

process.on('message', (raw: unknown) => {
  const request = raw as Request;
  if (request.cmd === 'stats') {
    // The young generation's size: V8 grows it to its maximum under a burst of allocation
    // (connecting thousands of clients) and shrinks it once the process is idle.
    const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    const history = { bytes: server.hub.rooms.history.bytes, entries: server.hub.rooms.history.entries };
    reply({ id: request.id, ok: true, connections: server.hub.size, memory: process.memoryUsage(), newSpaceBytes: newSpace?.space_size ?? 0, history });
  } else if (request.cmd === 'timing') {
    reply({ id: request.id, ok: true, joinMs, flushMs, flushEndAt });
    timing = request.on;
    joinMs = [];
    flushMs = [];
    flushEndAt = [];
  } else if (request.cmd === 'gc') {
    // Twice: the first may leave what finalizers free for the next.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    reply(gc ? { id: request.id, ok: true } : { id: request.id, ok: false, error: 'the server was not started with --expose-gc' });
  } else {
    reply({ id: (request as { id?: number }).id, ok: false, error: 'unknown command' });
  }
});

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  // Bounded: close() cuts what is left after 250 ms; exit regardless after 5 s.
  setTimeout(() => process.exit(0), 5000).unref();
  void server.close().then(() => process.exit(0));
}
process.on('disconnect', stop);
process.on('SIGTERM', stop);
reply({ event: 'ready', port: server.port });
