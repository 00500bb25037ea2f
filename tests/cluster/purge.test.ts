// Purge across nodes: the owner on node A purges a room; its members on B and C are told,
// with one purge time, and are out of it; its messages are gone from the shared ring, so a
// join on any node replays nothing and carries purgedAt; the admin's purge of a persistent
// room empties it on every node and it stays.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, LOBBY } from '../../signal-server/protocol/protocol.ts';
import { join, listRooms, nextError } from '../server/helpers.ts';
import { becomeAdmin } from '../server/moderation-helpers.ts';
import { cursorAfter, rejoin, sayAll, texts } from '../server/history-helpers.ts';
import type { TestClient } from '../support/test-client.ts';
import { CROSS_NODE_MS, seesJoin, uniqueName, useCluster } from './cluster-helpers.ts';

/** Each client's `purged` for `room` by `by`: one purge time for all, taken between `sentAt` and now. */
async function everyonePurged(clients: TestClient[], room: string, by: string, sentAt: number): Promise<number> {
  const frames = await Promise.all(clients.map((client) => client.next('purged', (f) => f.room === room, CROSS_NODE_MS)));
  const at = frames[0]!.at;
  for (const frame of frames) assert.deepEqual(frame, { type: 'purged', room, by, at });
  assert.ok(at >= sentAt && at <= Date.now(), `the purge time ${at} is the time of the purge`);
  return at;
}

describe('purge across nodes', () => {
  const ctx = useCluster();

  test('the owner on A purges a user room: members on B and C are told and out, a later join on C replays nothing', async () => {
    const [a, b, c] = ctx.nodes;
    const owner = await ctx.connect(a!, { name: uniqueName('Owner') });
    const ownerJoined = await join(owner, 'games');
    const onB = await ctx.connect(b!, { name: uniqueName('B') });
    const onC = await ctx.connect(c!, { name: uniqueName('C') });
    await join(onB, 'games');
    await join(onC, 'games');
    await seesJoin(owner, ownerJoined, 'games', onB.id);
    await seesJoin(owner, ownerJoined, 'games', onC.id);
    await sayAll(onB, 'games', texts(1, 5));

    const sentAt = Date.now();
    owner.send({ type: 'purge', room: 'games' });
    const at = await everyonePurged([owner, onB, onC], 'games', owner.name, sentAt);
    onC.send({ type: 'say', room: 'games', cid: 'after-purge', text: 'still here?' });
    await nextError(onC, ErrorCode.notInRoom, 'after-purge');
    assert.ok(!(await listRooms(onB)).some((r) => r.name === 'games'), 'the user room is gone on B');

    const later = await rejoin(await ctx.connect(c!), 'games');
    assert.deepEqual(later.replay, [], 'nothing of the purged room is replayed');
    assert.equal(later.joined.history.purgedAt, at);
  });

  test('the admin on B purges a persistent room made on A: emptied on every node, it stays', async () => {
    const [a, b, c] = ctx.nodes;
    const admin = await ctx.connect(a!, { name: uniqueName('Root') });
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: 'hall' });
    await admin.next('rooms');
    const talker = await ctx.connect(c!, { name: uniqueName('T') });
    const talkerJoined = await rejoin(talker, 'hall');
    await sayAll(talker, 'hall', texts(1, 4));

    const admin2 = await ctx.connect(b!, { name: uniqueName('Root') });
    await becomeAdmin(admin2);
    await join(admin2, 'hall');
    const sentAt = Date.now();
    admin2.send({ type: 'purge', room: 'hall' });
    const at = await everyonePurged([talker, admin2], 'hall', admin2.name, sentAt);

    const back = await rejoin(await ctx.connect(a!), 'hall', { epoch: cursorAfter(talkerJoined).epoch, seq: 2 });
    assert.equal(back.joined.history.purgedAt, at);
    assert.equal(back.joined.history.missed, true, 'a cursor from before the purge finds a gap');
    assert.deepEqual(back.replay, []);
    assert.ok((await listRooms(admin)).some((r) => r.name === 'hall'), 'the persistent room stays');
    const lobby = await rejoin(await ctx.connect(a!), LOBBY);
    assert.equal(lobby.joined.history.purgedAt, undefined, 'only the purged room carries it');
  });
});
