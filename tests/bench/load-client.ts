// A load-generating process for server-load.bench.ts: owns up to a few thousand real
// WebSocket clients of the signal server, each with its own identity key (challenge,
// signed hello, welcome), and does what the parent asks over the IPC channel. Run as
//   node --import tsx tests/bench/load-client.ts <server base url>
//
// Requests are { id, cmd, ... }; every reply is { id, ok: true, ... } or
// { id, ok: false, error }. Every wait is bounded by a deadline the parent gives.
//   open   { start, count, concurrency, timeoutMs }       connect + hello -> welcome
//   join   { from, to, room | roomPrefix+roomSize | roomPrefix+roomCount, concurrency?, schedule?, track?, timeoutMs }
//   report {}                                             the tracked room, per client
//   probe  { index, room, samples, gapMs, timeoutMs }     join -> joined round trips
//   relay  { from, to, senders, room, ratePerSender, window, sendFrom, startAt, endAt, drainMs }
//   say    { from, to, room | roomPrefix+roomSize, count, textLength, window, ratePerSecond?, timeoutMs }
//                                                         each sends `count` messages, at most `window` unacked
//                                                         (and, with a rate, at most 100 + that many a second)
//   leave  { from, to, room | roomPrefix+roomSize, timeoutMs }  leave -> left
//   drop   { from, to }                                   cut the connections (no close handshake)
//   reconnect { from, to, timeoutMs }                     a new connection with the same identity -> welcome
//   rejoin { from, to, room, expect, startAt?, timeoutMs } join with the cursor each has (all at once,
//                                                         at startAt), until `expect` messages came back
//   counts { from, to }                                   room messages each got since its last join (min, max)
//   failover { from, to, urls, room, expect, timeoutMs }  once each socket's server is gone: reconnect as the
//                                                         app does (its backoff) to one of `urls`, join with
//                                                         the cursor, until `expect` messages came back
//   close  {}                                             close every socket, then exit
import WebSocket from 'ws';
import { PROTOCOL_VERSION, SUBPROTOCOL, WS_PATH } from '../../signal-server/protocol/protocol.ts';
import { makeIdentity, signChallenge, type Identity } from '../support/test-client.ts';
import { Backoff } from '../../app/net/backoff.ts';

const baseUrl = process.argv[2];
if (!baseUrl) throw new Error('usage: load-client.ts <server base url>');
const toWsUrl = (url: string) => url.replace(/^http/, 'ws') + WS_PATH;
const wsUrl = toWsUrl(baseUrl);

const MESSAGE_PREFIX = '{"type":"message"';
const ACK_PREFIX = '{"type":"ack"';
const PRESENCE_PREFIX = '{"type":"presence"';
const JOINED_PREFIX = '{"type":"joined","room":';
/** Errors kept verbatim for the report; the rest are only counted by code. */
const KEEP_ERRORS = 5;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Frame {
  type: string;
  [field: string]: unknown;
}
type Waiter = { match: (f: Frame) => boolean; resolve: (f: Frame) => void };

/** What the process counts across its sockets. */
const errors = new Map<string, number>();
const errorSamples: string[] = [];
const closes = new Map<number, number>();
function noteError(code: string, message: string): void {
  errors.set(code, (errors.get(code) ?? 0) + 1);
  if (errorSamples.length < KEEP_ERRORS) errorSamples.push(`${code}: ${message}`);
}

/** Relay counting: message frames whose server time falls in [startAt, endAt). */
const relay = { startAt: 0, endAt: 0, inWindow: 0, total: 0, maxLagMs: 0 };

const prefixCache = new Map<string, { joined: Buffer; presence: Buffer }>();
/** How the server's frames about `room` begin (it writes "type" first, then "room"). */
function trackPrefixes(room: string): { joined: Buffer; presence: Buffer } {
  let prefixes = prefixCache.get(room);
  if (!prefixes) {
    prefixes = { joined: Buffer.from(`{"type":"joined","room":${JSON.stringify(room)},`), presence: Buffer.from(`{"type":"presence","room":${JSON.stringify(room)},`) };
    prefixCache.set(room, prefixes);
  }
  return prefixes;
}

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

type PresenceChange = readonly [join: boolean, id: string];

/**
 * The tracked frames this process has parsed, by their bytes. The server sends one
 * presence batch, and one snapshot to everyone who joined during it, as the same bytes
 * to many sockets: each distinct frame is parsed once here (exactly, with JSON.parse),
 * and every socket applies the result to its own view. A thousand clients share two
 * cores with the server, and parsing every copy would make the storm measure them.
 */
class FrameMemo<T> {
  private entries: { bytes: Buffer; value: T }[] = [];
  constructor(private readonly parse: (frame: unknown) => T) {}

  get(bytes: Buffer): T {
    const seen = this.entries.find((e) => e.bytes.length === bytes.length && e.bytes.equals(bytes));
    if (seen) return seen.value;
    const value = this.parse(JSON.parse(bytes.toString()));
    this.entries.push({ bytes, value });
    if (this.entries.length > MEMO_FRAMES) this.entries.shift();
    return value;
  }
}
const MEMO_FRAMES = 64;
const snapshots = new FrameMemo<ReadonlySet<string>>((f) => new Set((f as { members: { id: string }[] }).members.map((m) => m.id)));
const batches = new FrameMemo<PresenceChange[]>((f) =>
  (f as { events: { k: string; id?: string; member?: { id: string } }[] }).events
    .filter((e) => e.k === 'join' || e.k === 'leave')
    .map((e): PresenceChange => (e.k === 'join' ? [true, e.member!.id] : [false, e.id!])),
);

/** One socket's view of the tracked room: a (shared, read-only) snapshot and its own changes since. */
class RoomView {
  private readonly added = new Set<string>();
  private readonly removed = new Set<string>();
  constructor(private readonly snapshot: ReadonlySet<string>) {}

  get size(): number {
    return this.snapshot.size - this.removed.size + this.added.size;
  }

  apply(changes: PresenceChange[]): void {
    for (const [join, id] of changes) {
      const inSnapshot = this.snapshot.has(id);
      if (join) {
        if (inSnapshot) this.removed.delete(id);
        else this.added.add(id);
      } else if (inSnapshot) this.removed.add(id);
      else this.added.delete(id);
    }
  }
}

/** Where a client's copy of a room's history ends, as a device keeps it. */
interface Cursor {
  epoch: string;
  seq: number;
}

class LoadSocket {
  readonly ws: WebSocket;
  id = '';
  welcomed = false;
  private waiters: Waiter[] = [];
  // The tracked room (join storm): this client's view of who is in it.
  track?: { room: string; expect: number };
  view?: RoomView;
  presenceFrames = 0;
  joinSentAt = 0;
  doneAt = 0;
  // Relay: says sent and not yet acknowledged.
  inflight = 0;
  sent = 0;
  // History: the cursor of the last room joined, and the room messages since the last join.
  cursor?: Cursor;
  messages = 0;
  lastMessageAt = 0;
  private counted?: { count: number; resolve: () => void };
  /** Read only the name and history of snapshots (see skimJoined). */
  skimSnapshots = false;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly identity: Identity = makeIdentity(),
    url: string = wsUrl,
  ) {
    this.ws = new WebSocket(url, SUBPROTOCOL, { perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 256 * 1024 * 1024 });
    this.ws.on('message', (data: Buffer) => {
      if (this.track && this.receiveTracked(data)) return;
      this.receive(data.toString());
    });
    this.ws.on('close', (code) => {
      closes.set(code, (closes.get(code) ?? 0) + 1);
      for (const w of this.waiters) w.resolve({ type: 'closed', code });
      this.waiters = [];
    });
    this.ws.on('error', () => {});
  }

  send(frame: object): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  /** The next frame matching `match` (a close resolves it too, as { type: 'closed' }). */
  next(match: (f: Frame) => boolean, timeoutMs: number): Promise<Frame> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve({ type: 'closed' });
    return new Promise((resolve) => {
      const waiter: Waiter = {
        match,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve({ type: 'timeout' });
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private receive(text: string): void {
    if (text.startsWith(MESSAGE_PREFIX)) {
      // Cheap on purpose (the relay phase receives hundreds of thousands): the fields
      // before "ts" are the server's and ours, so the first "ts" is the frame's.
      const at = text.indexOf('"ts":');
      const ts = at < 0 ? NaN : parseInt(text.slice(at + 5, at + 25), 10);
      relay.total++;
      if (ts >= relay.startAt && ts < relay.endAt) relay.inWindow++;
      const lag = Date.now() - ts;
      if (lag > relay.maxLagMs) relay.maxLagMs = lag;
      // The first "seq" after "ts" is the server's (the text comes later).
      const seqAt = text.indexOf('"seq":', at);
      if (this.cursor && seqAt > 0) this.cursor.seq = Math.max(this.cursor.seq, parseInt(text.slice(seqAt + 6, seqAt + 26), 10));
      this.messages++;
      this.lastMessageAt = Date.now();
      if (this.counted && this.messages >= this.counted.count) this.counted.resolve();
      return;
    }
    if (text.startsWith(ACK_PREFIX)) {
      this.inflight--;
      return;
    }
    // Presence about rooms nobody here tracks: nothing waits for it.
    if (text.startsWith(PRESENCE_PREFIX)) return;
    if (this.skimSnapshots && text.startsWith(JOINED_PREFIX)) return this.skimJoined(text);
    let frame: Frame;
    try {
      frame = JSON.parse(text) as Frame;
    } catch {
      noteError('bad-json', text.slice(0, 80));
      return;
    }
    if (frame.type === 'challenge') {
      this.send({ type: 'hello', v: PROTOCOL_VERSION, key: this.identity.key, sig: signChallenge(this.identity, String(frame.nonce)), name: this.name });
    } else if (frame.type === 'welcome') {
      this.id = String(frame.id);
      this.welcomed = true;
    } else if (frame.type === 'error') {
      noteError(String(frame.code), String(frame.message));
    } else if (frame.type === 'joined') {
      const history = frame.history as Cursor;
      this.cursor = { epoch: history.epoch, seq: history.seq };
    }
    this.resolveWaiters(frame);
  }

  /**
   * A snapshot of an untracked room: only its name and history are read. Parsing the
   * member list (a thousand members in a storm, a thousand snapshots) would make the load
   * clients, not the server, the figure.
   */
  private skimJoined(text: string): void {
    const room = JSON.parse(text.slice(JOINED_PREFIX.length, text.indexOf('",', JOINED_PREFIX.length) + 1)) as string;
    const at = text.lastIndexOf('"history":');
    const history = JSON.parse(text.slice(at + 10, text.indexOf('}', at) + 1)) as Cursor;
    this.cursor = { epoch: history.epoch, seq: history.seq };
    this.resolveWaiters({ type: 'joined', room, history });
  }

  /** The tracked room's `joined` and `presence` frames: this client's view of who is in it. */
  private receiveTracked(data: Buffer): boolean {
    const { room } = this.track!;
    const prefixes = trackPrefixes(room);
    if (startsWith(data, prefixes.joined)) {
      this.view = new RoomView(snapshots.get(data));
      this.checkDone();
      this.resolveWaiters({ type: 'joined', room });
      return true;
    }
    if (startsWith(data, prefixes.presence) && this.view) {
      this.view.apply(batches.get(data));
      this.presenceFrames++;
      this.checkDone();
      return true;
    }
    return false;
  }

  private resolveWaiters(frame: Frame): void {
    if (this.waiters.length > 0) {
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(frame)) return true;
        w.resolve(frame);
        return false;
      });
    }
  }

  private checkDone(): void {
    if (!this.doneAt && this.view!.size === this.track!.expect) this.doneAt = Date.now();
  }

  /** Resolves once welcomed (true) or when the socket fails or the time is up (false). */
  async open(timeoutMs: number): Promise<boolean> {
    const welcome = await this.next((f) => f.type === 'welcome', timeoutMs);
    if (welcome.type !== 'welcome') {
      this.ws.terminate();
      return false;
    }
    return true;
  }

  /** Sends a join (with a history cursor, when given) and waits for `joined` (true), an error about the room or a close (false). */
  async join(room: string, timeoutMs: number, since?: Cursor): Promise<boolean> {
    const reply = this.next((f) => (f.type === 'joined' && f.room === room) || (f.type === 'error' && f.ref === room), timeoutMs);
    this.joinSentAt = Date.now();
    this.messages = 0;
    this.send(since ? { type: 'join', room, since } : { type: 'join', room });
    return (await reply).type === 'joined';
  }

  /** Resolves once `count` room messages have come since the last join (true), or at the deadline or a close (false). */
  until(count: number, deadline: number): Promise<boolean> {
    if (this.messages >= count) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.ws.off('close', onClose);
        this.counted = undefined;
        resolve(ok);
      };
      const onClose = () => finish(false);
      const timer = setTimeout(() => finish(false), Math.max(0, deadline - Date.now()));
      this.ws.once('close', onClose);
      this.counted = { count, resolve: () => finish(true) };
    });
  }
}

const sockets: LoadSocket[] = [];

/** Runs `task` over the items with at most `concurrency` at once. */
async function pool<T>(items: T[], concurrency: number, task: (item: T) => Promise<boolean>): Promise<number> {
  let next = 0;
  let ok = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      if (await task(item)) ok++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return ok;
}

function problems(): object {
  return { errors: Object.fromEntries(errors), errorSamples, closes: Object.fromEntries(closes) };
}

type Req = { id: number; cmd: string; [arg: string]: unknown };

async function open(req: Req): Promise<object> {
  const start = req.start as number;
  const count = req.count as number;
  const from = sockets.length;
  const indices = Array.from({ length: count }, (_, i) => start + i);
  const opened = await pool(indices, req.concurrency as number, async (index) => {
    // Names are unique server-wide and 2-24 letters or digits: "u" + the global index.
    const socket = new LoadSocket(index, `u${index}`);
    sockets.push(socket);
    return socket.open(req.timeoutMs as number);
  });
  return { from, to: sockets.length, opened, ...problems() };
}

function roomFor(req: Req, socket: LoadSocket): string {
  if (typeof req.room === 'string') return req.room;
  // Rooms dealt round-robin by index: a room then has members in every process (on every node of a cluster).
  if (typeof req.roomCount === 'number') return `${req.roomPrefix as string}${socket.index % req.roomCount}`;
  return `${req.roomPrefix as string}${Math.floor(socket.index / (req.roomSize as number))}`;
}

async function join(req: Req): Promise<object> {
  const chosen = sockets.slice(req.from as number, req.to as number).filter((s) => s.welcomed);
  const timeoutMs = req.timeoutMs as number;
  const track = req.track as { room: string; expect: number } | undefined;
  for (const socket of chosen) if (track) socket.track = track;
  const schedule = req.schedule as { startAt: number; spreadMs: number; base: number; total: number } | undefined;
  if (!schedule) {
    const joined = await pool(chosen, (req.concurrency as number) ?? 100, (s) => s.join(roomFor(req, s), timeoutMs));
    return { joined, ...problems() };
  }
  // A storm: socket with global index i joins at startAt + spreadMs * (i - base) / total.
  const due = (s: LoadSocket) => schedule.startAt + (schedule.spreadMs * (s.index - schedule.base)) / schedule.total;
  const order = [...chosen].sort((a, b) => due(a) - due(b));
  const replies: Promise<boolean>[] = [];
  for (const socket of order) {
    const wait = due(socket) - Date.now();
    if (wait > 0) await sleep(wait);
    replies.push(socket.join(roomFor(req, socket), timeoutMs));
  }
  const joined = (await Promise.all(replies)).filter(Boolean).length;
  const sentAt = order.map((s) => s.joinSentAt);
  return { joined, firstSentAt: Math.min(...sentAt), lastSentAt: Math.max(...sentAt), ...problems() };
}

function report(): object {
  const tracked = sockets.filter((s) => s.track);
  return {
    frames: tracked.map((s) => s.presenceFrames),
    doneAt: tracked.map((s) => s.doneAt || null),
    viewSizes: tracked.map((s) => s.view?.size ?? 0),
    ...problems(),
  };
}

async function probe(req: Req): Promise<object> {
  const socket = sockets[req.index as number];
  if (!socket?.welcomed) throw new Error('no welcomed socket to probe with');
  const room = req.room as string;
  const timeoutMs = req.timeoutMs as number;
  const rttMs: number[] = [];
  const memberCounts: number[] = [];
  for (let i = 0; i < (req.samples as number); i++) {
    const joined = socket.next((f) => (f.type === 'joined' && f.room === room) || (f.type === 'error' && f.ref === room), timeoutMs);
    const started = performance.now();
    socket.send({ type: 'join', room });
    const frame = await joined;
    if (frame.type !== 'joined') throw new Error(`probe join ${i + 1}: got ${frame.type} (${JSON.stringify(frame).slice(0, 200)})`);
    rttMs.push(performance.now() - started);
    const members = (frame.members as unknown[]).length;
    memberCounts.push(members);
    const left = socket.next((f) => f.type === 'left' && f.room === room, timeoutMs);
    socket.send({ type: 'leave', room });
    if ((await left).type !== 'left') throw new Error(`probe leave ${i + 1}: no "left"`);
    await sleep(req.gapMs as number);
  }
  return { rttMs, memberCounts, ...problems() };
}

let relayRounds = 0;

async function relayRound(req: Req): Promise<object> {
  const members = sockets.slice(req.from as number, req.to as number);
  const senders = members.slice(0, req.senders as number);
  const room = req.room as string;
  const rate = req.ratePerSender as number;
  const window = req.window as number;
  const sendFrom = req.sendFrom as number;
  const endAt = req.endAt as number;
  Object.assign(relay, { startAt: req.startAt as number, endAt, inWindow: 0, total: 0, maxLagMs: 0 });
  for (const s of senders) {
    s.inflight = 0;
    s.sent = 0;
  }
  const text = 'a load message of about the length people type in a chat room';
  // Client message ids are new in every round: the server acknowledges an id it has seen
  // (a resend after a reconnect) without relaying it again.
  const round = ++relayRounds;
  if (sendFrom > Date.now()) await sleep(sendFrom - Date.now());
  // Each sender keeps to `rate` says per second with at most `window` unacknowledged:
  // its ack comes behind the messages queued to it, so a lagging reader slows its sending.
  while (Date.now() < endAt) {
    const allowed = Math.floor(((Date.now() - sendFrom) * rate) / 1000) + 1;
    for (const s of senders) {
      while (s.sent < allowed && s.inflight < window && s.ws.readyState === WebSocket.OPEN) {
        s.ws.send(`{"type":"say","room":${JSON.stringify(room)},"cid":"r${round}c${s.sent}","text":"${text}"}`);
        s.sent++;
        s.inflight++;
      }
    }
    await sleep(5);
  }
  // Drain: frames stamped inside the window may still be on their way (to these sockets,
  // from the other processes' senders too). Wait until nothing has come for 300 ms.
  const drainUntil = Date.now() + (req.drainMs as number);
  for (let seen = -1; Date.now() < drainUntil && (seen !== relay.total || senders.some((s) => s.inflight > 0)); ) {
    seen = relay.total;
    await sleep(300);
  }
  return {
    inWindow: relay.inWindow,
    total: relay.total,
    maxLagMs: relay.maxLagMs,
    sent: senders.reduce((n, s) => n + s.sent, 0),
    unacked: senders.reduce((n, s) => n + s.inflight, 0),
    open: members.filter((s) => s.ws.readyState === WebSocket.OPEN).length,
    ...problems(),
  };
}

/** Each socket sends `count` messages to its room, keeping at most `window` unacknowledged. */
async function sayMany(req: Req): Promise<object> {
  const chosen = sockets.slice(req.from as number, req.to as number);
  const count = req.count as number;
  const window = req.window as number;
  const deadline = Date.now() + (req.timeoutMs as number);
  const text = 'x'.repeat(req.textLength as number);
  const rate = req.ratePerSecond as number | undefined;
  const started = Date.now();
  const round = ++relayRounds;
  for (const s of chosen) {
    s.inflight = 0;
    s.sent = 0;
  }
  while (chosen.some((s) => s.sent < count || s.inflight > 0) && Date.now() < deadline) {
    const allowed = rate === undefined ? count : Math.min(count, 100 + Math.floor(((Date.now() - started) * rate) / 1000));
    for (const s of chosen) {
      const room = JSON.stringify(roomFor(req, s));
      while (s.sent < allowed && s.inflight < window && s.ws.readyState === WebSocket.OPEN) {
        s.ws.send(`{"type":"say","room":${room},"cid":"s${round}c${s.sent}","text":"${text}"}`);
        s.sent++;
        s.inflight++;
      }
    }
    await sleep(2);
  }
  const acked = chosen.reduce((n, s) => n + s.sent - s.inflight, 0);
  return { acked, ...problems() };
}

async function leave(req: Req): Promise<object> {
  const chosen = sockets.slice(req.from as number, req.to as number);
  const replies = chosen.map((s) => {
    const room = roomFor(req, s);
    const left = s.next((f) => f.type === 'left' && f.room === room, req.timeoutMs as number);
    s.send({ type: 'leave', room });
    return left;
  });
  const left = (await Promise.all(replies)).filter((f) => f.type === 'left').length;
  return { left, ...problems() };
}

/** Each socket is replaced by a new connection with the same identity (and the cursor it had), welcomed; it skims snapshots. */
async function reconnect(req: Req): Promise<object> {
  const from = req.from as number;
  const startedAt = Date.now();
  const opened = await Promise.all(
    sockets.slice(from, req.to as number).map((old, i) => {
      old.ws.terminate();
      const socket = new LoadSocket(old.index, old.name, old.identity);
      socket.cursor = old.cursor;
      socket.skimSnapshots = true;
      sockets[from + i] = socket;
      return socket.open(req.timeoutMs as number);
    }),
  );
  return { opened: opened.filter(Boolean).length, ms: Date.now() - startedAt, ...problems() };
}

/** All at once (at startAt): each socket joins with the cursor it has and waits for `expect` room messages. Times are Date.now(). */
async function rejoin(req: Req): Promise<object> {
  const chosen = sockets.slice(req.from as number, req.to as number);
  const room = req.room as string;
  const expect = req.expect as number;
  const timeoutMs = req.timeoutMs as number;
  // Processes given the same start time begin together.
  if (typeof req.startAt === 'number' && req.startAt > Date.now()) await sleep(req.startAt - Date.now());
  const deadline = Date.now() + timeoutMs;
  const results = await Promise.all(
    chosen.map(async (socket) => {
      const joined = await socket.join(room, timeoutMs, socket.cursor);
      return joined && (await socket.until(expect, deadline));
    }),
  );
  // Anything beyond `expect` would be a message replayed twice: let it arrive before counting.
  await sleep(200);
  return {
    upToDate: results.filter(Boolean).length,
    exact: chosen.filter((s) => s.messages === expect).length,
    joinSentAt: chosen.map((s) => s.joinSentAt),
    doneAt: chosen.map((s) => s.lastMessageAt),
    ...problems(),
  };
}

function counts(req: Req): object {
  const chosen = sockets.slice(req.from as number, req.to as number).map((s) => s.messages);
  return { min: Math.min(...chosen), max: Math.max(...chosen) };
}

/** Resolves with the time the socket closed (at once if it is closed), or null at the deadline. */
function closedAt(socket: LoadSocket, deadline: number): Promise<number | null> {
  if (socket.ws.readyState === WebSocket.CLOSED) return Promise.resolve(Date.now());
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), Math.max(0, deadline - Date.now()));
    socket.ws.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now());
    });
  });
}

interface FailoverResult {
  closedAt: number | null;
  welcomedAt: number | null;
  joinedAt: number | null;
  doneAt: number | null;
  attempts: number;
}

/**
 * A node was killed: each of these sockets, once closed, does what the app does. It waits
 * the app's backoff (app/net/backoff.ts), connects again with the same identity (through
 * the proxy, which picks a live node: here the next of `urls`), joins with the cursor it
 * had, and counts the room messages replayed and relayed until `expect` came. A refused or
 * failed try backs off further and tries the next node, until the deadline.
 */
async function failover(req: Req): Promise<object> {
  const from = req.from as number;
  const urls = (req.urls as string[]).map(toWsUrl);
  const room = req.room as string;
  const expect = req.expect as number;
  const deadline = Date.now() + (req.timeoutMs as number);
  const results = await Promise.all(
    sockets.slice(from, req.to as number).map(async (old, i): Promise<FailoverResult> => {
      const result: FailoverResult = { closedAt: await closedAt(old, deadline), welcomedAt: null, joinedAt: null, doneAt: null, attempts: 0 };
      if (result.closedAt === null) return result;
      const backoff = new Backoff();
      while (Date.now() < deadline) {
        await sleep(backoff.next());
        const socket = new LoadSocket(old.index, old.name, old.identity, urls[(i + result.attempts) % urls.length]);
        result.attempts++;
        socket.cursor = old.cursor;
        socket.skimSnapshots = true;
        sockets[from + i] = socket;
        const left = () => Math.max(0, deadline - Date.now());
        if (!(await socket.open(left()))) continue;
        result.welcomedAt = Date.now();
        if (!(await socket.join(room, left(), socket.cursor))) {
          socket.ws.terminate();
          continue;
        }
        result.joinedAt = Date.now();
        if (await socket.until(expect, deadline)) result.doneAt = expect > 0 ? socket.lastMessageAt : result.joinedAt;
        return result;
      }
      return result;
    }),
  );
  // Anything beyond `expect` would be a message replayed twice: let it arrive before counting.
  await sleep(200);
  const chosen = sockets.slice(from, req.to as number);
  return {
    results,
    exact: chosen.filter((s) => s.messages === expect).length,
    received: chosen.map((s) => s.messages),
    ...problems(),
  };
}

async function closeAll(): Promise<object> {
  for (const socket of sockets) socket.ws.terminate();
  return {};
}

const handlers: Record<string, (req: Req) => Promise<object>> = {
  open,
  join,
  report: async () => report(),
  probe,
  relay: relayRound,
  say: sayMany,
  leave,
  drop: async (req) => {
    for (const socket of sockets.slice(req.from as number, req.to as number)) socket.ws.terminate();
    return {};
  },
  reconnect,
  rejoin,
  counts: async (req) => counts(req),
  failover,
  close: closeAll,
};

process.on('message', (raw: unknown) => {
  const req = raw as Req;
  const handler = handlers[req.cmd];
  const done = handler ? handler(req) : Promise.reject(new Error(`unknown command ${req.cmd}`));
  done.then(
    (result) => process.connected && process.send!({ id: req.id, ok: true, ...result }),
    (error: unknown) => process.connected && process.send!({ id: req.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
  if (req.cmd === 'close') void done.then(() => setTimeout(() => process.exit(0), 100));
});
// The parent went away: nothing here is worth keeping.
process.on('disconnect', () => process.exit(0));
process.send!({ event: 'ready' });
