// Per-receiver fairness: relay and whisper signalling frames waiting for one receiver are
// bounded per sender and in all, so a co-member flooding within the rate limits gets
// receiver-busy errors instead of getting a slow receiver dropped.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { ErrorCode, LIMITS, LOBBY } from '../../signal-server/protocol/protocol.ts';
import { TokenBucket } from '../../signal-server/protocol/token-bucket.ts';
import { ForwardBudget } from '../../signal-server/forward-budget.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { Scope, TestClient, join, roundTrip, until } from './helpers.ts';

/** A failure bound, not a measured threshold: these things happen well within it or not at all. */
const BOUND_MS = 30_000;
/** The largest relay frame the schema accepts. */
const BIG = 'A'.repeat(LIMITS.relayMaxLength);
/** More frames than the kernel's buffers and the server's drop limit together could take. */
const FLOOD_CAP = 400;

let scope: Scope;
beforeEach(() => {
  scope = new Scope();
});
afterEach(() => scope.dispose());

/** The server's side of the next connection accepted. */
function spyAccept(server: RunningServer): { sockets: WebSocket[]; stop(): void } {
  const sockets: WebSocket[] = [];
  const accept = server.hub.accept.bind(server.hub);
  server.hub.accept = (ws, ip) => {
    sockets.push(ws);
    accept(ws, ip);
  };
  return { sockets, stop: () => void (server.hub.accept = accept) };
}

/** A member that can stop reading: its TCP socket is paused, so the server's writes back up. */
async function slowMember(server: RunningServer): Promise<{ client: TestClient; serverSide: WebSocket; pause(): void; resume(): void }> {
  const spy = spyAccept(server);
  const client = await scope.client(server);
  spy.stop();
  await join(client, LOBBY);
  const socket = (client.ws as unknown as { _socket: Socket })._socket;
  return { client, serverSide: spy.sockets[0], pause: () => socket.pause(), resume: () => socket.resume() };
}

/**
 * Relay frames within the server's relay bucket, so none is rate-limited: first its burst
 * at once, then, once the server has handled that (a round trip), one frame at a time at a
 * slightly slower rate from an empty bucket. The server's bucket then always holds at
 * least as much as ours, whenever the frames reach it.
 */
class Flooder {
  private pace?: TokenBucket;
  sent = new Map<string, number>();
  constructor(readonly client: TestClient) {}

  async relay(to: string, data = BIG): Promise<void> {
    if (!this.pace) throw new Error('burst() first');
    for (let wait = this.pace.take(); wait > 0; wait = this.pace.take()) await new Promise((r) => setTimeout(r, wait));
    this.send(to, data);
  }

  /** The relay bucket's burst, spread over `targets`; then paced frames only. */
  async burst(targets: string[]): Promise<void> {
    for (let i = 0; i < LIMITS.relayFramesBurst; i++) this.send(targets[i % targets.length], BIG);
    await roundTrip(this.client);
    this.pace = new TokenBucket(LIMITS.relayFramesPerMinute - 60, 1);
    this.pace.take();
  }

  private send(to: string, data: string): void {
    this.client.send({ type: 'relay', to, data });
    this.sent.set(to, (this.sent.get(to) ?? 0) + 1);
  }

  /** Errors other than receiver-busy: there must be none (no frame was rate-limited). */
  others(): string[] {
    return this.client.all('error').filter((e) => e.code !== ErrorCode.receiverBusy).map((e) => e.code);
  }

  busy(to: string): number {
    return this.client.all('error').filter((e) => e.code === ErrorCode.receiverBusy && e.ref === to).length;
  }

  /** Relays to `to` (and to each of `also` alongside) until the server refuses one, or the cap. */
  async untilBusy(to: string, stop: () => boolean, also: string[] = []): Promise<void> {
    await this.burst([to, ...also]);
    for (let i = 0; i < FLOOD_CAP && this.busy(to) === 0 && !stop(); i++) {
      await this.relay(to);
      for (const other of also) await this.relay(other);
    }
  }
}

function relaysFrom(client: TestClient, from: string): number {
  return client.all('relay').filter((f) => f.from === from).length;
}

describe('forward budget', () => {
  test('each sender may have a bounded amount waiting for a receiver, and everyone together a bounded total', () => {
    const budget = new ForwardBudget(100, 250);
    const [a, b, c] = [{}, {}, {}];
    assert.equal(budget.take(a, 60), true);
    assert.equal(budget.take(a, 40), true);
    assert.equal(budget.take(a, 1), false, 'a sender over its own budget is refused');
    assert.equal(budget.queued(a), 100, 'a refused frame is not counted');
    assert.equal(budget.take(b, 100), true, 'another sender has a budget of its own');
    assert.equal(budget.take(c, 60), false, 'the total is full before c reaches its own budget');
    assert.equal(budget.take(c, 50), true);
    assert.equal(budget.queued(), 250);
    budget.release(a, 60);
    assert.equal(budget.take(a, 60), true, 'written bytes leave the budget');
    assert.equal(budget.take(c, 1), false);
    budget.release(b, 100);
    assert.equal(budget.take(c, 50), true);
    assert.equal(budget.queued(c), 100);
    for (const [sender, bytes] of [[a, 100], [c, 100]] as const) budget.release(sender, bytes);
    assert.equal(budget.queued(), 0);
  });

  test('the limits leave forwarded frames from everyone below the drop limit', () => {
    assert.ok(LIMITS.forwardPerReceiverMaxBytes < LIMITS.sendBufferMaxBytes);
    assert.ok(LIMITS.forwardPerSenderMaxBytes <= LIMITS.forwardPerReceiverMaxBytes);
    assert.ok(LIMITS.forwardPerSenderMaxBytes >= 8 * LIMITS.maxFrameBytes, 'a relay file keeps several frames in flight');
  });
});

describe('per-receiver fairness', () => {
  test('a relay flood within the rate limit does not get a slow member dropped: the flooder is throttled until it reads again; a reading member gets every frame', async () => {
    const server = await scope.server();
    const flooder = new Flooder(await scope.client(server));
    await join(flooder.client, LOBBY);
    const fast = await scope.client(server);
    await join(fast, LOBBY);
    const slow = await slowMember(server);
    let dropped = false;
    slow.serverSide.once('close', () => (dropped = true));
    slow.pause();

    await flooder.untilBusy(slow.client.id, () => dropped, [fast.id]);
    await roundTrip(flooder.client);
    assert.equal(dropped, false, 'the slow member was not dropped');
    assert.ok(flooder.busy(slow.client.id) > 0, `refused after ${flooder.sent.get(slow.client.id)} frames`);
    const error = flooder.client.all('error').find((e) => e.code === ErrorCode.receiverBusy)!;
    assert.equal(error.message, "That person's connection is slow; wait a moment.");

    // While it does not read, every further frame to it is refused; none is held, and
    // refusals are no abuse: the flooder stays connected past the strike count.
    const before = flooder.busy(slow.client.id);
    const more = LIMITS.rateStrikesBeforeClose + 5;
    for (let i = 0; i < more; i++) await flooder.relay(slow.client.id);
    await roundTrip(flooder.client);
    assert.equal(flooder.busy(slow.client.id), before + more);
    const relaysRefused = before + more;
    // Whisper signalling to it shares the budget: of more signals than it could hold, some are refused.
    const signals = Math.ceil(LIMITS.forwardPerSenderMaxBytes / LIMITS.signalMaxLength) + 1;
    for (let i = 0; i < signals; i++) flooder.client.send({ type: 'signal', to: slow.client.id, data: 'x'.repeat(LIMITS.signalMaxLength) });
    await roundTrip(flooder.client);
    const refused = flooder.busy(slow.client.id);
    assert.ok(refused > relaysRefused, 'signals are refused too');
    assert.equal(flooder.client.closed, undefined);
    assert.deepEqual(flooder.others(), []);
    assert.equal(slow.serverSide.readyState, slow.serverSide.OPEN);
    assert.equal(dropped, false);

    // The reading member got every frame, and no refusal.
    await until(fast, () => relaysFrom(fast, flooder.client.id) === flooder.sent.get(fast.id), 'the reading member has every frame', BOUND_MS);
    assert.equal(flooder.busy(fast.id), 0);

    // It reads again: what was accepted arrives, the budget frees, and forwarding resumes.
    slow.resume();
    const accepted = flooder.sent.get(slow.client.id)! - relaysRefused;
    await until(slow.client, () => relaysFrom(slow.client, flooder.client.id) === accepted, 'the slow member has every accepted frame', BOUND_MS);
    await flooder.relay(slow.client.id, 'bGFzdA');
    await slow.client.next('relay', (f) => f.data === 'bGFzdA', BOUND_MS);
    await roundTrip(flooder.client);
    assert.equal(flooder.busy(slow.client.id), refused, 'no refusal once it reads');
    await roundTrip(slow.client);
    assert.equal(slow.client.closed, undefined);
  });

  test('two flooders together cannot get a slow member dropped; each is throttled', async () => {
    const server = await scope.server();
    const flooders = [new Flooder(await scope.client(server)), new Flooder(await scope.client(server))];
    for (const f of flooders) await join(f.client, LOBBY);
    const slow = await slowMember(server);
    let dropped = false;
    slow.serverSide.once('close', () => (dropped = true));
    slow.pause();

    await Promise.all(flooders.map((f) => f.untilBusy(slow.client.id, () => dropped)));
    for (const f of flooders) await roundTrip(f.client);
    assert.equal(dropped, false, 'the slow member was not dropped');
    for (const f of flooders) assert.ok(f.busy(slow.client.id) > 0, `refused after ${f.sent.get(slow.client.id)} frames`);
    // Both keep going as fast as the rate limit lets them: refused, and nobody is dropped.
    await Promise.all(flooders.map(async (f) => {
      for (let i = 0; i < 20; i++) await f.relay(slow.client.id);
      await roundTrip(f.client);
    }));
    assert.equal(dropped, false);
    assert.equal(slow.serverSide.readyState, slow.serverSide.OPEN);
    for (const f of flooders) assert.deepEqual(f.others(), []);

    slow.resume();
    const accepted = flooders.reduce((sum, f) => sum + f.sent.get(slow.client.id)! - f.busy(slow.client.id), 0);
    const total = () => flooders.reduce((sum, f) => sum + relaysFrom(slow.client, f.client.id), 0);
    await until(slow.client, () => total() === accepted, 'the slow member has every accepted frame', BOUND_MS);
    await roundTrip(slow.client);
    assert.equal(slow.client.closed, undefined);
  });
});
