// The live fuzzer: the real signal server (from source, in a child process that counts
// uncaught exceptions and unhandled rejections) gets thousands of random and mutated
// frames over raw WebSocket connections, while two honest clients chat in a room the
// whole time. Used by tests/server/live-fuzz.test.ts (bounded) and the fuzz bench.
//
// Each fuzz frame is followed by a WebSocket ping carrying a token. The server handles
// a socket's frames in order and answers the ping after everything before it, so what
// arrives between the frame and the token's pong is the frame's answer. Every frame must
// get a direct answer (an error with a known code for a bad frame), or a close with a
// known code, or be one of the few the server rightly answers with nothing (below).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ErrorCode, LIMITS, PROTOCOL_VERSION, parseClientFrame, parseServerFrame, type ServerFrame } from '../../signal-server/protocol/protocol.ts';
import { TestClient, makeIdentity, signChallenge } from './test-client.ts';
import { Opcode, RawWs, type FrameSpec } from './raw-ws.ts';
import { FUZZ_ROOMS, anyJsonFrame, contextualClientFrame, garbageText, mutatedClientFrame, validClientFrame, type FuzzContext } from './protocol-arbitraries.ts';
import { KNOWN_CLOSE_CODES, KNOWN_ERROR_CODES } from './protocol-properties.ts';
import type { ChildMessage, ParentMessage, ServerStats } from './fuzz-server.ts';
import { SERVER_NODE_FLAGS } from './server-node-flags.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER_ENTRY = fileURLToPath(new URL('./fuzz-server.ts', import.meta.url));
const HONEST_ROOM = 'honest-talk';
const WAIT_MS = 5000;

/**
 * Valid frames the server answers with nothing to the sender, and why (a join into a room
 * whose presence batch is pending is answered too, only with that batch: see session()):
 * - signal, relay: passed on to the other person (their answer, if any, is theirs);
 * - op, deop, kick, topic: the change reaches everyone in the room, the actor included,
 *   in the next presence batch (75 ms later), not as a direct answer;
 * - ban: written to the data directory first, then the target is told; the actor sees
 *   the presence batch;
 * - purge: every member gets `purged`, the owner too if still in the room.
 * Each counts as rightly silent only from a welcomed connection and when it parses.
 */
export const SILENT_TYPES: ReadonlySet<string> = new Set(['signal', 'relay', 'op', 'deop', 'kick', 'topic', 'ban', 'purge']);

/** Frames a connection can get because of what others do: not counted as an answer... */
const UNSOLICITED: ReadonlySet<string> = new Set(['presence', 'message', 'signal', 'relay', 'kicked', 'banned', 'purged', 'passphrase-changed', 'room-history']);
/** ...except by the one who caused them: the owner who purged a room, changed its passphrase or its history setting. */
const ANSWER_TO: Readonly<Record<string, string>> = { purge: 'purged', 'room-passphrase': 'passphrase-changed', 'room-history': 'room-history' };

// ---------------------------------------------------------------------------
// What the fuzzer sends

type Expect =
  /** A text message: judged by what parseClientFrame says of it. */
  | { kind: 'parse'; text: string }
  /** A binary message: refused with binary-frame. */
  | { kind: 'binary' }
  /** A framing violation, invalid UTF-8 or an oversized message: the server closes. */
  | { kind: 'close' }
  /** Our own close frame with a valid code: the server answers with the same code. */
  | { kind: 'echo'; code: number }
  /** An unsolicited pong: a heartbeat answer, which the server notes and does not answer. */
  | { kind: 'silence' };

export interface FuzzItem {
  label: string;
  frames: FrameSpec[];
  expect: Expect;
}

type Maker = (ctx: FuzzContext) => FuzzItem;

const textItem = (label: string, text: string): FuzzItem => ({ label, frames: [{ opcode: Opcode.text, payload: Buffer.from(text) }], expect: { kind: 'parse', text } });

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });
function utf8OrUndefined(bytes: Buffer): string | undefined {
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Byte sequences that are not UTF-8: a stray byte, overlong, surrogate, truncated, beyond U+10FFFF, lone continuation. */
const BAD_UTF8 = [[0xff], [0xfe], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xc3]];

const smallPayload = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b));

const makers: fc.Arbitrary<Maker> = fc.oneof(
  { weight: 30, arbitrary: contextualClientFrame.map((f): Maker => (ctx) => textItem('aimed valid frame', JSON.stringify(f(ctx)))) },
  { weight: 6, arbitrary: validClientFrame.map((f): Maker => () => textItem('valid frame', JSON.stringify(f))) },
  { weight: 18, arbitrary: mutatedClientFrame.map((f): Maker => () => textItem('mutated frame', JSON.stringify(f))) },
  { weight: 10, arbitrary: garbageText.map((t): Maker => () => textItem('garbage text', t)) },
  { weight: 6, arbitrary: anyJsonFrame.map((v): Maker => () => textItem('any JSON value', JSON.stringify(v))) },
  {
    weight: 5,
    arbitrary: fc.tuple(validClientFrame, fc.nat(), fc.constantFrom(...BAD_UTF8)).map(([frame, at, bad]): Maker => () => {
      const bytes = Buffer.from(JSON.stringify(frame));
      const i = at % (bytes.length + 1);
      const payload = Buffer.concat([bytes.subarray(0, i), Buffer.from(bad), bytes.subarray(i)]);
      const text = utf8OrUndefined(payload);
      return { label: 'invalid UTF-8 text frame', frames: [{ opcode: Opcode.text, payload }], expect: text === undefined ? { kind: 'close' } : { kind: 'parse', text } };
    }),
  },
  {
    weight: 4,
    arbitrary: fc.oneof(validClientFrame.map((f) => Buffer.from(JSON.stringify(f))), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b))).map(
      (payload): Maker => () => ({ label: 'binary frame', frames: [{ opcode: Opcode.binary, payload }], expect: { kind: 'binary' } }),
    ),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(fc.oneof(validClientFrame, mutatedClientFrame), fc.array(fc.nat(), { minLength: 1, maxLength: 3 })).map(([frame, cuts]): Maker => () => {
      const bytes = Buffer.from(JSON.stringify(frame));
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const parts = [0, ...points, bytes.length].slice(0, -1).map((start, i, starts) => bytes.subarray(start, i + 1 < starts.length ? starts[i + 1] : bytes.length));
      const frames = parts.map((payload, i): FrameSpec => ({ opcode: i === 0 ? Opcode.text : Opcode.continuation, payload, fin: i === parts.length - 1 }));
      const text = utf8OrUndefined(bytes);
      return { label: 'fragmented message', frames, expect: text === undefined ? { kind: 'close' } : { kind: 'parse', text } };
    }),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.integer({ min: 1, max: 1024 * 1024 }), fc.boolean()).map(([extra, fragmented]): Maker => () => {
      const size = LIMITS.maxFrameBytes + extra;
      const payload = Buffer.alloc(size, 'x');
      Buffer.from('{"type":"say","room":"lobby","cid":"big","text":"').copy(payload);
      const frames: FrameSpec[] = fragmented
        ? [
            { opcode: Opcode.text, payload: payload.subarray(0, size >> 1), fin: false },
            { opcode: Opcode.continuation, payload: payload.subarray(size >> 1), fin: true },
          ]
        : [{ opcode: Opcode.text, payload }];
      return { label: fragmented ? 'oversized fragmented message' : 'oversized frame', frames, expect: { kind: 'close' } };
    }),
  },
  {
    weight: 6,
    arbitrary: fc
      .oneof(
        fc.tuple(fc.integer({ min: 1, max: 7 }), smallPayload).map(([rsv, payload]): FrameSpec[] => [{ opcode: Opcode.text, payload, rsv }]),
        fc.tuple(fc.constantFrom(3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf), smallPayload).map(([opcode, payload]): FrameSpec[] => [{ opcode, payload }]),
        validClientFrame.map((f): FrameSpec[] => [{ opcode: Opcode.text, payload: Buffer.from(JSON.stringify(f)), masked: false }]),
        fc.integer({ min: 126, max: 300 }).map((n): FrameSpec[] => [{ opcode: Opcode.ping, payload: Buffer.alloc(n, 1) }]),
        smallPayload.map((payload): FrameSpec[] => [{ opcode: Opcode.ping, payload, fin: false }]),
        smallPayload.map((payload): FrameSpec[] => [{ opcode: Opcode.continuation, payload }]),
        smallPayload.map((payload): FrameSpec[] => [
          { opcode: Opcode.text, payload, fin: false },
          { opcode: Opcode.text, payload, fin: true },
        ]),
        fc.constantFrom(65_537n, 1n << 40n, (1n << 63n) + 5n).map((declaredLength): FrameSpec[] => [{ opcode: Opcode.text, declaredLength }]),
        fc.constant<FrameSpec[]>([{ opcode: Opcode.close, payload: Buffer.from([3]) }]),
        fc.constantFrom(0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535).map((code): FrameSpec[] => {
          const payload = Buffer.alloc(2);
          payload.writeUInt16BE(code);
          return [{ opcode: Opcode.close, payload }];
        }),
        fc.constant<FrameSpec[]>([{ opcode: Opcode.close, payload: Buffer.from([0x03, 0xe8, 0xff, 0xfe]) }]),
      )
      .map((frames): Maker => () => ({ label: 'framing violation', frames, expect: { kind: 'close' } })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(1000, 1001, 1003, 1008, 3000, 4000, 4242, 4999), fc.string({ maxLength: 20 })).map(([code, reason]): Maker => () => {
      const payload = Buffer.concat([Buffer.alloc(2), Buffer.from(reason).subarray(0, 100)]);
      payload.writeUInt16BE(code);
      return { label: 'client close', frames: [{ opcode: Opcode.close, payload }], expect: { kind: 'echo', code } };
    }),
  },
  { weight: 2, arbitrary: smallPayload.map((payload): Maker => () => ({ label: 'unsolicited pong', frames: [{ opcode: Opcode.pong, payload }], expect: { kind: 'silence' } })) },
);

/** An endless, seeded stream of fuzz items (drawn from fast-check, 256 at a time). */
function* itemStream(seed: number): Generator<Maker> {
  for (let chunk = 0; ; chunk++) yield* fc.sample(makers, { seed: seed + chunk, numRuns: 256 });
}

// ---------------------------------------------------------------------------
// The report

export interface LiveFuzzOptions {
  /** Fuzz frames to send after the warm-up. */
  frames: number;
  /** Fuzz frames before the first memory reading (default: a tenth of `frames`, at most 1,000). */
  warmupFrames?: number;
  /** Fuzzing connections open at once. */
  workers?: number;
  seed?: number;
  /** Bound on the whole run; the fuzzing stops early (and the report says so) when it is reached. */
  timeLimitMs?: number;
  log?: (line: string) => void;
}

export interface HonestReport {
  /** Messages each honest client sent and had acknowledged. */
  sent: number[];
  /** Messages each received from the other, in order of arrival. */
  delivered: number[];
  /** Everything each sent arrived at the other, once, in order. */
  inOrder: boolean;
  problems: string[];
}

export interface LiveFuzzReport {
  seed: number;
  /** Fuzz frames sent (warm-up included) and of them in the warm-up. */
  framesSent: number;
  warmupFrames: number;
  connections: number;
  stoppedByTimeLimit: boolean;
  /** How frames were answered. */
  answeredByError: number;
  answeredByFrame: number;
  answeredByClose: number;
  rightlySilent: Record<string, number>;
  /** Joins with a history cursor answered with a snapshot and replayed messages after it. */
  recoveries: number;
  /** Frames with no proper answer (every kind below), and samples of them. */
  unanswered: number;
  unansweredKinds: Record<string, number>;
  unansweredSamples: string[];
  unknownErrorCodes: string[];
  unknownCloseCodes: number[];
  invalidServerFrames: string[];
  labels: Record<string, number>;
  errorCodes: Record<string, number>;
  /** Close codes of the sockets the server closed. */
  closeCodes: Record<string, number>;
  /** The server process exited (or stopped answering /healthz) before it was told to stop. */
  crashes: number;
  uncaughtExceptions: number;
  unhandledRejections: number;
  serverStderr: string;
  /** Connections the server still held after the fuzzing (the two honest clients should be all). */
  connectionsLeft: number;
  rssWarmMb: number;
  rssAfterMb: number;
  rssGrowthMb: number;
  /** Server RSS after the warm-up and after each fifth of the fuzzing. */
  rssSeriesMb: number[];
  heapWarmMb: number;
  heapAfterMb: number;
  honest: HonestReport;
  /** A client that connected after the fuzzing could chat. */
  servesAfterwards: boolean;
  durationMs: number;
}

class Tally {
  readonly counts: Record<string, number> = {};
  add(key: string | number, n = 1): void {
    this.counts[String(key)] = (this.counts[String(key)] ?? 0) + n;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => Math.round((bytes / (1024 * 1024)) * 10) / 10;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

// ---------------------------------------------------------------------------
// The server child

/** The server from source in a child process (tests/support/fuzz-server.ts). */
export class FuzzServer {
  stderr = '';
  exited = false;
  private stopping = false;
  unexpectedExit?: string;
  private readonly statsWaiters: ((s: ServerStats) => void)[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly dataDir: string,
  ) {}

  static async start(): Promise<FuzzServer> {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'wisp-fuzz-data-'));
    const child = fork(SERVER_ENTRY, [dataDir], { cwd: ROOT, execArgv: [...SERVER_NODE_FLAGS, '--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout!.resume();
    const port = await withTimeout(
      new Promise<number>((resolve, reject) => {
        child.on('message', (m: ChildMessage) => m.type === 'ready' && resolve(m.port));
        child.once('exit', (code, signal) => reject(new Error(`the fuzz server exited at start (${signal ?? code}): ${stderr}`)));
      }),
      30_000,
      'the fuzz server to start',
    ).catch((error: unknown) => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    });
    const server = new FuzzServer(child, port, dataDir);
    server.stderr = stderr;
    child.stderr!.removeAllListeners('data');
    child.stderr!.on('data', (d: string) => (server.stderr += d));
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'stats') server.statsWaiters.shift()?.(m);
    });
    child.once('exit', (code, signal) => {
      server.exited = true;
      if (!server.stopping) server.unexpectedExit = `exited with ${signal ?? `code ${code}`}`;
    });
    return server;
  }

  stats(): Promise<ServerStats> {
    if (this.exited) return Promise.reject(new Error(`the fuzz server is gone (${this.unexpectedExit})`));
    const reply = new Promise<ServerStats>((resolve) => this.statsWaiters.push(resolve));
    this.child.send({ type: 'stats' } satisfies ParentMessage);
    return withTimeout(reply, WAIT_MS, 'server stats');
  }

  async healthy(): Promise<boolean> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.port}/healthz`, { signal: AbortSignal.timeout(WAIT_MS) });
      return response.ok && ((await response.json()) as { ok?: boolean }).ok === true;
    } catch {
      return false;
    }
  }

  /** Asks the server to stop; kills our child by its pid if it does not exit in time. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (!this.exited) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.send({ type: 'stop' } satisfies ParentMessage);
      await withTimeout(exited, 10_000, 'the fuzz server to exit').catch(() => {
        if (this.child.pid !== undefined && !this.exited) process.kill(this.child.pid, 'SIGKILL');
      });
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Honest clients

interface Chatter {
  client: TestClient;
  sent: string[];
  problems: string[];
}

async function chat(me: Chatter, stop: () => boolean, deadline: number): Promise<void> {
  for (let n = 0; !stop() && Date.now() < deadline && n < 100_000; n++) {
    const cid = `h${n}`;
    const text = `${me.client.name} says ${n}`;
    me.client.send({ type: 'say', room: HONEST_ROOM, cid, text });
    try {
      await me.client.next('ack', (a) => a.cid === cid, 10_000);
      me.sent.push(text);
    } catch (error) {
      me.problems.push(`${me.client.name}: no ack for ${cid}: ${(error as Error).message}`);
      return;
    }
    // Well under the chat rate the fuzz server allows (600 a minute).
    await sleep(150);
  }
}

async function roundTrip(client: TestClient): Promise<void> {
  client.send({ type: 'ping' });
  await client.next('pong', () => true, 10_000);
}

// ---------------------------------------------------------------------------
// The fuzzing

interface Shared {
  items: Generator<Maker>;
  ctx: { peers: string[]; rooms: readonly string[]; epochs: { room: string; epoch: string; seq: number }[] };
  target: number;
  sent: number;
  connections: number;
  deadline: number;
  stoppedByTimeLimit: boolean;
  answeredByError: number;
  answeredByFrame: number;
  answeredByClose: number;
  rightlySilent: Tally;
  recoveries: number;
  unanswered: Tally;
  unansweredSamples: string[];
  unknownErrorCodes: Set<string>;
  unknownCloseCodes: Set<number>;
  invalidServerFrames: string[];
  labels: Tally;
  errorCodes: Tally;
  closeCodes: Tally;
  nextToken: number;
  crashed: () => boolean;
}

/** A snapshot followed by messages it covers (seq at most its own): a replay of what the joiner missed or new members see. */
function replayedAfterSnapshot(inbox: readonly ServerFrame[]): boolean {
  const at = inbox.findIndex((f) => f.type === 'joined');
  const joined = inbox[at];
  if (!joined || joined.type !== 'joined') return false;
  return inbox.slice(at + 1).some((f) => f.type === 'message' && f.room === joined.room && f.seq <= joined.history.seq);
}

/** Remembers the history epochs snapshots show (the newest few), for joins with a real cursor. */
function learnEpochs(shared: Shared, frame: ServerFrame): void {
  if (frame.type !== 'joined') return;
  const epochs = shared.ctx.epochs;
  const known = epochs.find((e) => e.epoch === frame.history.epoch);
  if (known) known.seq = Math.max(known.seq, frame.history.seq);
  else epochs.push({ room: frame.room, epoch: frame.history.epoch, seq: frame.history.seq });
  if (epochs.length > 16) epochs.shift();
}

function learnPeers(shared: Shared, frame: ServerFrame): void {
  const ids: string[] = [];
  if (frame.type === 'welcome') ids.push(frame.id);
  else if (frame.type === 'joined') ids.push(...frame.members.map((m) => m.id));
  else if (frame.type === 'presence') {
    for (const e of frame.events) if (e.k === 'join') ids.push(e.member.id);
  } else if (frame.type === 'message' || frame.type === 'signal' || frame.type === 'relay') ids.push(frame.from);
  for (const id of ids) {
    if (shared.ctx.peers.includes(id)) continue;
    shared.ctx.peers.push(id);
    // The honest clients stay first in the list; old fuzzers drop out.
    if (shared.ctx.peers.length > 48) shared.ctx.peers.splice(2, 1);
  }
}

function miss(shared: Shared, kind: string, item: FuzzItem, detail: string): void {
  shared.unanswered.add(kind);
  if (shared.unansweredSamples.length < 20) {
    const shown = item.expect.kind === 'parse' ? JSON.stringify(item.expect.text.slice(0, 200)) : item.frames.map((f) => `opcode ${f.opcode}`).join(', ');
    shared.unansweredSamples.push(`${kind}: ${item.label} ${shown}: ${detail}`);
  }
}

/** One fuzzing connection: optionally says hello, then sends fuzz frames until closed or done. */
async function session(shared: Shared, port: number, length: number, hello: boolean, polite: boolean): Promise<void> {
  let ws: RawWs;
  try {
    ws = await RawWs.connect(port, WAIT_MS);
  } catch (error) {
    if (shared.crashed()) return;
    throw error;
  }
  shared.connections++;
  const inbox: ServerFrame[] = [];
  let onFrame: (() => void) | undefined;
  ws.on('text', (text) => {
    const parsed = parseServerFrame(text);
    if (!parsed.ok) {
      if (shared.invalidServerFrames.length < 20) shared.invalidServerFrames.push(text.slice(0, 300));
      return;
    }
    const frame = parsed.frame;
    if (frame.type === 'error') {
      shared.errorCodes.add(frame.code);
      if (!KNOWN_ERROR_CODES.has(frame.code)) shared.unknownErrorCodes.add(frame.code);
    }
    learnPeers(shared, frame);
    learnEpochs(shared, frame);
    inbox.push(frame);
    onFrame?.();
  });
  ws.on('binary', () => shared.invalidServerFrames.length < 20 && shared.invalidServerFrames.push('(a binary frame from the server)'));
  let pongs: ((payload: string) => void) | undefined;
  ws.on('pong', (payload) => pongs?.(payload.toString()));
  let closed: ((code: number) => void) | undefined;
  let leaving = false;
  ws.on('close', (code) => {
    // Tallied when the server closed (not our own goodbye or disconnect at the end).
    if (!leaving) shared.closeCodes.add(code);
    closed?.(code);
  });
  ws.start();

  /** Waits for a frame matching `match` (already in the inbox or coming), or the close. */
  const frameOrClose = (match: (f: ServerFrame) => boolean): Promise<ServerFrame | undefined> =>
    withTimeout(
      new Promise<ServerFrame | undefined>((resolve) => {
        const check = () => {
          const found = inbox.find(match);
          if (found) resolve(found);
          else if (ws.closeCode !== undefined) resolve(undefined);
        };
        onFrame = check;
        closed = () => resolve(undefined);
        check();
      }),
      WAIT_MS,
      'a server frame',
    ).finally(() => {
      onFrame = undefined;
      closed = undefined;
    });

  /** Pings with a fresh token: resolves 'pong' once it comes back, 'closed' if the socket closes first, 'hang' if neither. */
  const barrier = (): Promise<'pong' | 'closed' | 'hang'> => {
    const token = `b${shared.nextToken++}`;
    const result = new Promise<'pong' | 'closed' | 'hang'>((resolve) => {
      const timer = setTimeout(() => resolve('hang'), WAIT_MS);
      pongs = (payload) => {
        if (payload !== token) return;
        clearTimeout(timer);
        resolve('pong');
      };
      closed = () => {
        clearTimeout(timer);
        resolve('closed');
      };
      if (ws.closeCode !== undefined) {
        clearTimeout(timer);
        resolve('closed');
      }
    });
    ws.ping(Buffer.from(token));
    return result.finally(() => {
      pongs = undefined;
      closed = undefined;
    });
  };

  try {
    // Not fuzz frames, but the server must get them right too: a challenge, and a welcome to a proper hello.
    const setup = (what: string) => {
      if (ws.closeCode !== undefined && KNOWN_CLOSE_CODES.has(ws.closeCode)) return;
      shared.unanswered.add(what);
      if (shared.unansweredSamples.length < 20) shared.unansweredSamples.push(`${what} (close code ${ws.closeCode ?? 'none'})`);
    };
    const challenge = await frameOrClose((f) => f.type === 'challenge').catch(() => undefined);
    if (!challenge || challenge.type !== 'challenge') return setup('no challenge');
    let welcomed = false;
    if (hello) {
      const identity = makeIdentity();
      const name = shared.sent % 3 === 0 ? undefined : `fuzz${shared.connections}`;
      ws.text(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, key: identity.key, sig: signChallenge(identity, challenge.nonce), name }));
      welcomed = (await frameOrClose((f) => f.type === 'welcome').catch(() => undefined)) !== undefined;
      if (!welcomed) return setup('no welcome to a proper hello');
    }

    for (let i = 0; i < length && ws.open; i++) {
      if (shared.sent >= shared.target || shared.crashed()) break;
      if (Date.now() > shared.deadline) {
        shared.stoppedByTimeLimit = true;
        break;
      }
      const item = shared.items.next().value!(shared.ctx);
      inbox.length = 0;
      shared.sent++;
      shared.labels.add(item.label);
      for (const frame of item.frames) ws.sendFrame(frame);
      const outcome = await barrier();
      const local = item.expect.kind === 'parse' ? parseClientFrame(item.expect.text) : undefined;
      const sentType = local?.ok ? local.frame.type : undefined;
      // A join into a room with a presence batch pending is answered with that batch.
      if (outcome === 'pong' && sentType === 'join' && !inbox.some((f) => f.type === 'joined' || f.type === 'error')) {
        await frameOrClose((f) => f.type === 'joined' || f.type === 'error').catch(() => undefined);
      }
      if (local?.ok && local.frame.type === 'join' && local.frame.since && replayedAfterSnapshot(inbox)) shared.recoveries++;
      const answers = inbox.filter((f) => !UNSOLICITED.has(f.type) || (sentType !== undefined && ANSWER_TO[sentType] === f.type));
      const errors = answers.filter((f) => f.type === 'error');
      if (outcome === 'hang') {
        miss(shared, 'no pong and no close', item, `got ${answers.map((f) => f.type).join(', ') || 'nothing'}`);
        return;
      }
      if (outcome === 'closed') {
        const code = ws.closeCode!;
        if (KNOWN_CLOSE_CODES.has(code) || (item.expect.kind === 'echo' && code === item.expect.code)) shared.answeredByClose++;
        else {
          shared.unknownCloseCodes.add(code);
          miss(shared, `closed with unknown code ${code}`, item, `after ${answers.map((f) => f.type).join(', ') || 'nothing'}${ws.socketError ? ` (socket error ${ws.socketError})` : ''}`);
        }
        return;
      }
      // The pong came back and the socket is open.
      const expect = item.expect;
      if (expect.kind === 'close' || expect.kind === 'echo') {
        miss(shared, 'a violation that did not close the socket', item, `got ${answers.map((f) => f.type).join(', ') || 'nothing'}`);
      } else if (expect.kind === 'binary') {
        if (errors.some((e) => e.type === 'error' && e.code === ErrorCode.binaryFrame)) shared.answeredByError++;
        else miss(shared, 'a binary frame not refused', item, `got ${answers.map((f) => f.type).join(', ') || 'nothing'}`);
      } else if (expect.kind === 'silence') {
        shared.rightlySilent.add('pong (heartbeat answer)');
      } else if (local) {
        if (!local.ok) {
          if (errors.length > 0) shared.answeredByError++;
          else miss(shared, answers.length > 0 ? 'a bad frame answered without an error' : 'a bad frame not answered', item, `expected ${local.code}`);
        } else if (errors.length > 0) shared.answeredByError++;
        else if (answers.length > 0) shared.answeredByFrame++;
        else if (welcomed && SILENT_TYPES.has(local.frame.type)) shared.rightlySilent.add(local.frame.type);
        else miss(shared, 'a valid frame not answered', item, welcomed ? 'welcomed' : 'before hello');
      }
    }
  } finally {
    if (ws.open) {
      leaving = true;
      const gone = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      if (polite) ws.close(1000);
      else ws.destroy();
      await withTimeout(gone, WAIT_MS, 'the close').catch(() => ws.destroy());
    }
  }
}

async function fuzz(shared: Shared, port: number, workers: number, rand: () => number): Promise<void> {
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let round = 0; round < 1_000_000 && shared.sent < shared.target && !shared.crashed(); round++) {
        if (Date.now() > shared.deadline) {
          shared.stoppedByTimeLimit = true;
          return;
        }
        // Sessions of 1 to 150 frames: most end earlier, closed for abuse.
        await session(shared, port, 1 + Math.floor(rand() * 150), rand() < 0.7, rand() < 0.5);
      }
    }),
  );
}

/** Seeded, for session shapes (lengths, hello or not): mulberry32. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Waits (a bounded number of times) until the server holds only `count` connections. */
async function settle(server: FuzzServer, count: number): Promise<ServerStats> {
  let stats = await server.stats();
  for (let i = 0; i < 50 && stats.connections > count; i++) {
    await sleep(100);
    stats = await server.stats();
  }
  return stats;
}

export async function runLiveFuzz(options: LiveFuzzOptions): Promise<LiveFuzzReport> {
  const started = Date.now();
  const seed = options.seed ?? 20_250_611;
  const log = options.log ?? (() => {});
  const warmupFrames = options.warmupFrames ?? Math.min(1000, Math.ceil(options.frames / 10));
  const deadline = started + (options.timeLimitMs ?? 120_000);
  const server = await FuzzServer.start();
  const clients: TestClient[] = [];
  try {
    const url = `http://127.0.0.1:${server.port}`;
    const a = await TestClient.connect(url, { name: 'honest-a' });
    const b = await TestClient.connect(url, { name: 'honest-b' });
    clients.push(a, b);
    a.send({ type: 'join', room: HONEST_ROOM });
    const honestRoom = await a.next('joined', (f) => f.room === HONEST_ROOM);
    b.send({ type: 'join', room: HONEST_ROOM });
    await b.next('joined', (f) => f.room === HONEST_ROOM);

    const shared: Shared = {
      items: itemStream(seed),
      // The honest room's epoch: joins with a cursor in it get the honest chat replayed.
      ctx: { peers: [a.id, b.id], rooms: [...FUZZ_ROOMS, HONEST_ROOM], epochs: [{ room: HONEST_ROOM, epoch: honestRoom.history.epoch, seq: 0 }] },
      target: warmupFrames,
      sent: 0,
      connections: 0,
      deadline,
      stoppedByTimeLimit: false,
      answeredByError: 0,
      answeredByFrame: 0,
      recoveries: 0,
      answeredByClose: 0,
      rightlySilent: new Tally(),
      unanswered: new Tally(),
      unansweredSamples: [],
      unknownErrorCodes: new Set(),
      unknownCloseCodes: new Set(),
      invalidServerFrames: [],
      labels: new Tally(),
      errorCodes: new Tally(),
      closeCodes: new Tally(),
      nextToken: 0,
      crashed: () => server.exited,
    };

    let chatting = true;
    const chatters: Chatter[] = [a, b].map((client) => ({ client, sent: [], problems: [] }));
    const talk = Promise.all(chatters.map((c) => chat(c, () => !chatting, deadline + 30_000)));

    const workers = options.workers ?? 4;
    const rand = random(seed);
    await fuzz(shared, server.port, workers, rand);
    const warm = await settle(server, 2);
    log(`warm-up: ${shared.sent} frames; server RSS ${mb(warm.rssBytes)} MB, heap ${mb(warm.heapUsedBytes)} of ${mb(warm.heapTotalBytes)} MB, external ${mb(warm.externalBytes)} MB`);

    // In steps, reading the server's memory after each: a leak climbs step after step.
    const rssSeriesMb = [mb(warm.rssBytes)];
    const steps = 5;
    for (let step = 1; step <= steps && !server.exited && !shared.stoppedByTimeLimit; step++) {
      shared.target = warmupFrames + Math.round((options.frames * step) / steps);
      await fuzz(shared, server.port, workers, rand);
      const stats = await server.stats().catch(() => undefined);
      if (stats) rssSeriesMb.push(mb(stats.rssBytes));
    }
    const after = await settle(server, 2).catch(() => undefined);
    if (after) log(`fuzzed: ${shared.sent} frames over ${shared.connections} connections; server RSS ${mb(after.rssBytes)} MB, heap ${mb(after.heapUsedBytes)} of ${mb(after.heapTotalBytes)} MB, external ${mb(after.externalBytes)} MB`);

    chatting = false;
    await talk;
    const honest: HonestReport = { sent: [], delivered: [], inOrder: true, problems: chatters.flatMap((c) => c.problems) };
    for (const [me, other] of [
      [chatters[0], chatters[1]],
      [chatters[1], chatters[0]],
    ] as const) {
      await roundTrip(other.client).catch((error: unknown) => honest.problems.push(`${other.client.name}: ${(error as Error).message}`));
      const got = other.client.all('message').filter((m) => m.room === HONEST_ROOM && m.from === me.client.id).map((m) => m.text);
      honest.sent.push(me.sent.length);
      honest.delivered.push(got.length);
      if (JSON.stringify(got) !== JSON.stringify(me.sent)) {
        honest.inOrder = false;
        honest.problems.push(`${me.client.name} sent ${me.sent.length}, ${other.client.name} got ${got.length} (not the same list in order)`);
      }
    }
    for (const c of chatters) {
      if (c.client.closed) honest.problems.push(`${c.client.name} was disconnected (${c.client.closed.code})`);
      if (c.client.invalid.length > 0) honest.problems.push(`${c.client.name} got invalid frames: ${c.client.invalid.slice(0, 3).join(' | ')}`);
      const errors = c.client.all('error');
      if (errors.length > 0) honest.problems.push(`${c.client.name} got errors: ${errors.map((e) => e.code).join(', ')}`);
    }

    // Still serving: /healthz, and a newcomer chats with an honest client.
    let servesAfterwards = false;
    if (!server.exited && (await server.healthy())) {
      try {
        const newcomer = await TestClient.connect(url, { name: 'newcomer' });
        clients.push(newcomer);
        newcomer.send({ type: 'join', room: HONEST_ROOM });
        await newcomer.next('joined', (f) => f.room === HONEST_ROOM, 10_000);
        newcomer.send({ type: 'say', room: HONEST_ROOM, cid: 'n1', text: 'after the storm' });
        await newcomer.next('ack', (f) => f.cid === 'n1', 10_000);
        await a.next('message', (m) => m.text === 'after the storm', 10_000);
        servesAfterwards = true;
      } catch (error) {
        honest.problems.push(`a newcomer could not chat after the fuzzing: ${(error as Error).message}`);
      }
    }
    const final = server.exited ? undefined : await server.stats().catch(() => undefined);

    const unanswered = Object.values(shared.unanswered.counts).reduce((s, n) => s + n, 0);
    return {
      seed,
      framesSent: shared.sent,
      warmupFrames,
      connections: shared.connections,
      stoppedByTimeLimit: shared.stoppedByTimeLimit,
      answeredByError: shared.answeredByError,
      answeredByFrame: shared.answeredByFrame,
      recoveries: shared.recoveries,
      answeredByClose: shared.answeredByClose,
      rightlySilent: shared.rightlySilent.counts,
      unanswered,
      unansweredKinds: shared.unanswered.counts,
      unansweredSamples: shared.unansweredSamples,
      unknownErrorCodes: [...shared.unknownErrorCodes],
      unknownCloseCodes: [...shared.unknownCloseCodes],
      invalidServerFrames: shared.invalidServerFrames,
      labels: shared.labels.counts,
      errorCodes: shared.errorCodes.counts,
      closeCodes: shared.closeCodes.counts,
      crashes: server.exited || !servesAfterwards ? 1 : 0,
      uncaughtExceptions: final?.uncaughtExceptions ?? after?.uncaughtExceptions ?? -1,
      unhandledRejections: final?.unhandledRejections ?? after?.unhandledRejections ?? -1,
      serverStderr: server.stderr + (server.unexpectedExit ? `\n(the server ${server.unexpectedExit})` : ''),
      connectionsLeft: after?.connections ?? -1,
      rssWarmMb: mb(warm.rssBytes),
      rssAfterMb: after ? mb(after.rssBytes) : NaN,
      rssGrowthMb: after ? mb(after.rssBytes - warm.rssBytes) : NaN,
      rssSeriesMb,
      heapWarmMb: mb(warm.heapUsedBytes),
      heapAfterMb: after ? mb(after.heapUsedBytes) : NaN,
      honest,
      servesAfterwards,
      durationMs: Date.now() - started,
    };
  } finally {
    for (const client of clients) client.ws.terminate();
    await server.stop();
  }
}

/** A few lines for logs and failure messages. */
export function describeReport(r: LiveFuzzReport): string {
  return [
    `seed ${r.seed}: ${r.framesSent} frames (${r.warmupFrames} warm-up) over ${r.connections} connections in ${(r.durationMs / 1000).toFixed(1)} s${r.stoppedByTimeLimit ? ' (stopped by the time limit)' : ''}`,
    `answered: ${r.answeredByError} by an error, ${r.answeredByFrame} by a reply, ${r.answeredByClose} by a close; rightly silent ${JSON.stringify(r.rightlySilent)}; joins with a cursor that got a replay ${r.recoveries}`,
    `unanswered ${r.unanswered} ${JSON.stringify(r.unansweredKinds)}${r.unansweredSamples.length ? `\n  ${r.unansweredSamples.join('\n  ')}` : ''}`,
    `unknown error codes ${JSON.stringify(r.unknownErrorCodes)}, unknown close codes ${JSON.stringify(r.unknownCloseCodes)}, invalid server frames ${r.invalidServerFrames.length}`,
    `crashes ${r.crashes}, uncaught exceptions ${r.uncaughtExceptions}, unhandled rejections ${r.unhandledRejections}, connections left ${r.connectionsLeft}`,
    `server RSS ${r.rssWarmMb} MB after the warm-up, ${r.rssAfterMb} MB after (${r.rssGrowthMb >= 0 ? '+' : ''}${r.rssGrowthMb} MB; steps ${r.rssSeriesMb.join(', ')}); heap ${r.heapWarmMb} -> ${r.heapAfterMb} MB`,
    `honest: sent ${JSON.stringify(r.honest.sent)}, delivered ${JSON.stringify(r.honest.delivered)}, in order ${r.honest.inOrder}${r.honest.problems.length ? `; problems: ${r.honest.problems.join('; ')}` : ''}`,
    `close codes ${JSON.stringify(r.closeCodes)}`,
    `error codes ${JSON.stringify(r.errorCodes)}`,
    `frame kinds ${JSON.stringify(r.labels)}`,
    r.serverStderr ? `server stderr:\n${r.serverStderr.slice(0, 4000)}` : 'server stderr: (empty)',
  ].join('\n');
}
