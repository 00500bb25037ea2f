// Room settings across nodes: a topic set on node A reaches members on B and is in a
// newcomer's snapshot on C; the history setting the owner picks on A is what a newcomer on
// C is shown; a persistent room made on A is listed, empty, on C.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join, listRooms } from '../server/helpers.ts';
import { becomeAdmin, pollUntil } from '../server/moderation-helpers.ts';
import { rejoin, sayAll, texts } from '../server/history-helpers.ts';
import { CROSS_NODE_MS, seesEvent, seesJoin, uniqueName, useCluster } from './cluster-helpers.ts';

describe('room settings across nodes', () => {
  const ctx = useCluster();

  test('a topic set on A reaches B and is in a newcomer\'s snapshot on C', async () => {
    const [a, b, c] = ctx.nodes;
    const owner = await ctx.connect(a!, { name: uniqueName('Owner') });
    const ownerJoined = await join(owner, 'games');
    const member = await ctx.connect(b!, { name: uniqueName('Mem') });
    await join(member, 'games');
    await seesJoin(owner, ownerJoined, 'games', member.id);
    owner.send({ type: 'topic', room: 'games', topic: 'Chess night: Friday' });
    const event = await seesEvent(member, 'games', (e) => e.k === 'topic', 'the topic');
    assert.deepEqual(event, { k: 'topic', topic: 'Chess night: Friday', by: owner.name });
    const newcomer = await ctx.connect(c!, { name: uniqueName('New') });
    assert.equal((await join(newcomer, 'games')).topic, 'Chess night: Friday');
  });

  test('the history setting picked on A is what members on B are told and a newcomer on C is shown', async () => {
    const [a, b, c] = ctx.nodes;
    const owner = await ctx.connect(a!, { name: uniqueName('Owner') });
    const ownerJoined = await join(owner, 'games');
    const member = await ctx.connect(b!, { name: uniqueName('Mem') });
    await join(member, 'games');
    await seesJoin(owner, ownerJoined, 'games', member.id);
    await sayAll(member, 'games', texts(1, 6));
    owner.send({ type: 'room-history', room: 'games', newMembers: 2 });
    assert.deepEqual(await member.next('room-history', () => true, CROSS_NODE_MS), { type: 'room-history', room: 'games', newMembers: 2, by: owner.name });
    const newcomer = await rejoin(await ctx.connect(c!, { name: uniqueName('New') }), 'games');
    assert.equal(newcomer.joined.history.newMembers, 2);
    assert.deepEqual(newcomer.replay.map((m) => m.text), texts(5, 6), 'a newcomer on C sees the last two');
  });

  test('a persistent room made on A is listed on C while empty, and joining it there makes nobody its owner', async () => {
    const [a, , c] = ctx.nodes;
    const admin = await ctx.connect(a!, { name: uniqueName('Root') });
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: 'hall' });
    await admin.next('rooms');
    const visitor = await ctx.connect(c!, { name: uniqueName('Vis') });
    const listed = await pollUntil('node C lists #hall', async () => (await listRooms(visitor)).find((r) => r.name === 'hall'), CROSS_NODE_MS);
    assert.deepEqual(listed, { name: 'hall', members: 0 });
    const joined = await join(visitor, 'hall');
    assert.equal(joined.persistent, true);
    assert.equal(joined.members.find((m) => m.id === visitor.id)?.role, 'member', 'nobody owns a persistent room by joining first');
  });
});
