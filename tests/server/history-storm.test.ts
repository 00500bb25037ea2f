// Recovery across a join storm: many members come back at once, each with its own cursor,
// while the room's presence batch is pending (their snapshots are deferred and sent with
// it). Each gets its snapshot first, then exactly the messages it missed, in order, and
// "missed" only when the ring no longer reaches back to its cursor. Also: messages a
// sender queued during an outage reach members who come back later than the sender.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Config } from '../../signal-server/config.ts';
import { LOBBY, type HistoryCursor } from '../../signal-server/protocol/protocol.ts';
import { makeIdentity, type Identity } from '../support/test-client.ts';
import { join, until, type TestClient } from './helpers.ts';
import { ModScope } from './moderation-helpers.ts';
import { recordFrames, rejoin, replayIn, sayAll, texts } from './history-helpers.ts';

const ROOM = 'storm';
const RETURNING = 200;
const RING = 25;
const FAST: Partial<Config> = { sayBurst: 10_000, sayPerMinute: 100_000, maxConnectionsPerIp: RETURNING + 20, historyMessages: RING };

test(`${RETURNING} members rejoin at once with their cursors: each gets its snapshot, then exactly what it missed, in order`, { timeout: 120_000 }, async () => {
  const scope = new ModScope();
  try {
    const server = await scope.start(FAST);
    const ann = await scope.connect(server, { name: 'Ann' });
    const epoch = (await join(ann, ROOM)).history.epoch;
    const identities: Identity[] = Array.from({ length: RETURNING }, () => makeIdentity());
    const first = await Promise.all(identities.map((identity) => scope.connect(server, { identity })));
    for (const client of first) client.send({ type: 'join', room: ROOM });
    await Promise.all(first.map((client) => client.next('joined', (f) => f.room === ROOM, 30_000)));
    await sayAll(ann, ROOM, texts(1, 10));
    // Everyone drops; the room goes on.
    for (const client of first) client.ws.terminate();
    await sayAll(ann, ROOM, texts(11, 30));

    // Each had seen up to its own point (0 to 10); the ring holds 6 to 30.
    const cursors: HistoryCursor[] = identities.map((_, i) => ({ epoch, seq: i % 11 }));
    const back = await Promise.all(identities.map((identity) => scope.connect(server, { identity })));
    const logs = back.map(recordFrames);
    back.forEach((client, i) => client.send({ type: 'join', room: ROOM, since: cursors[i] }));
    await until(back, () => logs.every((log, i) => log.filter((f) => f.type === 'message').length >= 30 - Math.max(cursors[i]!.seq, 30 - RING)), 'every replay arrived', 60_000);
    // A live message after the storm: every member gets it once, after its replay.
    await sayAll(ann, ROOM, ['after the storm']);
    await until(back, () => logs.every((log) => log.some((f) => f.type === 'message' && f.text === 'after the storm')), 'the live message arrived', 30_000);

    back.forEach((client, i) => {
      const { joined, replay } = replayIn(logs[i]!, ROOM);
      const from = cursors[i]!.seq;
      const expectMissed = from < 30 - RING;
      assert.equal(joined.history.seq, 30, `${client.id}: the snapshot is at the room's last message`);
      assert.equal(joined.history.missed, expectMissed ? true : undefined, `${client.id} from ${from}: missed`);
      const expected = Array.from({ length: 30 - Math.max(from, 30 - RING) }, (_, k) => Math.max(from, 30 - RING) + 1 + k);
      assert.deepEqual(replay.map((m) => m.seq), expected, `${client.id} from ${from}: the replay`);
      assert.deepEqual(replay.map((m) => m.text), expected.map((n) => `m${n}`));
      const all = logs[i]!.filter((f) => f.type === 'message').map((m) => m.seq);
      assert.deepEqual(all, [...expected, 31], `${client.id}: every message once, the live one last`);
      assert.deepEqual(logs[i]!.filter((f) => f.type === 'joined').length, 1, `${client.id}: one snapshot`);
      assert.deepEqual(client.invalid, []);
    });
  } finally {
    await scope.dispose();
  }
});

test("messages a sender queued during an outage reach members who come back later than the sender", async () => {
  const scope = new ModScope();
  try {
    const server = await scope.start(FAST);
    const annId = makeIdentity();
    const bobId = makeIdentity();
    let ann: TestClient = await scope.connect(server, { identity: annId, name: 'Ann' });
    let bob: TestClient = await scope.connect(server, { identity: bobId, name: 'Bob' });
    const annJoined = await rejoin(ann, LOBBY);
    const bobJoined = await rejoin(bob, LOBBY);
    // The outage: both drop. Ann comes back first and sends what her outbox held.
    ann.ws.terminate();
    bob.ws.terminate();
    ann = await scope.connect(server, { identity: annId, name: 'Ann' });
    await rejoin(ann, LOBBY, { epoch: annJoined.joined.history.epoch, seq: annJoined.joined.history.seq });
    await sayAll(ann, LOBBY, ['queued 1', 'queued 2', 'queued 3']);
    ann.ws.terminate();
    // Bob comes back after Ann has gone again: the lobby (persistent, so it outlives its
    // members; a user room ends with its last member and its history with it) still has them.
    bob = await scope.connect(server, { identity: bobId, name: 'Bob' });
    const back = await rejoin(bob, LOBBY, { epoch: bobJoined.joined.history.epoch, seq: bobJoined.joined.history.seq });
    assert.deepEqual(back.replay.map((m) => m.text), ['queued 1', 'queued 2', 'queued 3']);
    assert.equal(back.joined.history.missed, undefined);
  } finally {
    await scope.dispose();
  }
});
