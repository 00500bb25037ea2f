// Presence across nodes: who joins, leaves and renames on one node is seen by the members
// on every other node, in the room's snapshot and in presence batches, and a burst of joins
// on other nodes reaches a member in a few batches, not one frame per join.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { LOBBY, type ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import { recordFrames } from '../server/history-helpers.ts';
import { join, rename } from '../server/helpers.ts';
import { seesEvent, seesJoin, seesLeave, uniqueName, useCluster } from './cluster-helpers.ts';

describe('presence across nodes', () => {
  const ctx = useCluster();

  test('a join on node B is seen on A and C, and a newcomer on C knows everyone, with names, keys and roles', async () => {
    const [a, b, c] = ctx.nodes;
    const ann = await ctx.connect(a!, { name: uniqueName('Ann') });
    const annJoined = await join(ann, 'club');
    const bob = await ctx.connect(b!, { name: uniqueName('Bob') });
    const bobJoined = await join(bob, 'club');
    await seesJoin(ann, annJoined, 'club', bob.id);
    await seesJoin(bob, bobJoined, 'club', ann.id);

    const cat = await ctx.connect(c!, { name: uniqueName('Cat') });
    const catJoined = await join(cat, 'club');
    await seesJoin(ann, undefined, 'club', cat.id);
    await seesJoin(bob, undefined, 'club', cat.id);
    // C knows the members of A and B (in its snapshot, or in the batch right after) as they are.
    await seesJoin(cat, catJoined, 'club', ann.id);
    await seesJoin(cat, catJoined, 'club', bob.id);
    const known = [...catJoined.members, ...cat.all('presence').flatMap((f) => f.events.flatMap((e) => (e.k === 'join' ? [e.member] : [])))];
    for (const who of [ann, bob, cat]) {
      const m = known.find((x) => x.id === who.id);
      assert.ok(m, `C knows ${who.name}`);
      assert.equal(m.name, who.name);
      assert.equal(m.key, who.identity.key);
      assert.equal(m.role, who === ann ? 'owner' : 'member', `${who.name}'s role on C`);
    }
  });

  test('a leave (with farewell) and a disconnect on one node reach the others', async () => {
    const [a, b, c] = ctx.nodes;
    const ann = await ctx.connect(a!, { name: uniqueName('Ann') });
    const bob = await ctx.connect(b!, { name: uniqueName('Bob') });
    const cat = await ctx.connect(c!, { name: uniqueName('Cat') });
    const annJoined = await join(ann, 'club');
    await join(bob, 'club');
    await join(cat, 'club');
    await seesJoin(ann, annJoined, 'club', bob.id);
    await seesJoin(ann, annJoined, 'club', cat.id);

    bob.send({ type: 'leave', room: 'club', farewell: 'see you' });
    await bob.next('left');
    const left = await seesLeave(ann, 'club', bob.id);
    assert.equal(left.k === 'leave' && left.farewell, 'see you');
    await seesLeave(cat, 'club', bob.id);

    cat.ws.terminate();
    await seesLeave(ann, 'club', cat.id);
  });

  test('a rename on node C reaches members on A and B; list-rooms counts members of every node', async () => {
    const [a, b, c] = ctx.nodes;
    const ann = await ctx.connect(a!, { name: uniqueName('Ann') });
    const bob = await ctx.connect(b!, { name: uniqueName('Bob') });
    const cat = await ctx.connect(c!, { name: uniqueName('Cat') });
    const annJoined = await join(ann, LOBBY);
    const bobJoined = await join(bob, LOBBY);
    await join(cat, LOBBY);
    await seesJoin(ann, annJoined, LOBBY, cat.id);
    await seesJoin(bob, bobJoined, LOBBY, cat.id);

    const newName = uniqueName('Kit');
    assert.deepEqual(await rename(cat, newName), { name: newName });
    for (const watcher of [ann, bob]) await seesEvent(watcher, LOBBY, (e) => e.k === 'rename' && e.id === cat.id && e.name === newName, 'the rename');

    ann.send({ type: 'list-rooms' });
    const rooms = (await ann.next('rooms')).rooms;
    assert.deepEqual(rooms.find((r) => r.name === LOBBY), { name: LOBBY, members: 3 });
  });
});

describe('presence batching across nodes', () => {
  // A wide window: joins that arrive together from other nodes go out in one batch.
  const ctx = useCluster({ presenceWindowMs: 500 });

  test('twelve joins on nodes B and C reach a member on A in a few presence frames, every join once', async () => {
    const [a, b, c] = ctx.nodes;
    const ann = await ctx.connect(a!, { name: uniqueName('Ann') });
    const annJoined = await join(ann, 'storm');
    const joiners = await Promise.all(Array.from({ length: 12 }, (_, i) => ctx.connect(i % 2 ? b! : c!, { name: uniqueName('J') })));
    const log = recordFrames(ann);
    for (const j of joiners) j.send({ type: 'join', room: 'storm' });
    await Promise.all(joiners.map((j) => j.next('joined')));
    for (const j of joiners) await seesJoin(ann, annJoined, 'storm', j.id);
    const frames = log.filter((f): f is ServerFrameOf<'presence'> => f.type === 'presence' && f.room === 'storm');
    // Ann's own join may come in the first batch too; the joiners' are what count here.
    const joins = frames.flatMap((f) => f.events.flatMap((e) => (e.k === 'join' && e.member.id !== ann.id ? [e.member.id] : [])));
    assert.deepEqual([...joins].sort(), joiners.map((j) => j.id).sort(), 'every join once');
    assert.ok(frames.length <= 4, `12 joins in ${frames.length} presence frames: batched, not one frame per join`);
  });
});
