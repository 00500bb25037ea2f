// Kicks across nodes: the owner on node A removes someone on node B, who is told and is out
// of the room on every node (and may come back); roles given on one node hold on the others;
// someone without the rank is refused whatever node the target is on.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../signal-server/protocol/protocol.ts';
import { join, nextError, roundTrip } from '../server/helpers.ts';
import { tryJoin } from '../server/moderation-helpers.ts';
import { CROSS_NODE_MS, seesEvent, seesJoin, seesLeave, uniqueName, useCluster } from './cluster-helpers.ts';

describe('kicks across nodes', () => {
  const ctx = useCluster();

  test('the owner on A kicks someone on B: told, out of the room on A, B and C, and may rejoin', async () => {
    const [a, b, c] = ctx.nodes;
    const owner = await ctx.connect(a!, { name: uniqueName('Owner') });
    const ownerJoined = await join(owner, 'games');
    assert.equal(ownerJoined.members.find((m) => m.id === owner.id)?.role, 'owner');
    const pest = await ctx.connect(b!, { name: uniqueName('Pest') });
    const witness = await ctx.connect(c!, { name: uniqueName('Wit') });
    await join(pest, 'games');
    const witnessJoined = await join(witness, 'games');
    await seesJoin(owner, ownerJoined, 'games', pest.id);
    await seesJoin(witness, witnessJoined, 'games', pest.id);

    owner.send({ type: 'kick', room: 'games', target: pest.id, reason: 'spam' });
    assert.deepEqual(await pest.next('kicked', () => true, CROSS_NODE_MS), { type: 'kicked', room: 'games', by: owner.name, reason: 'spam' });
    for (const watcher of [owner, witness]) {
      const leave = await seesLeave(watcher, 'games', pest.id);
      assert.deepEqual(leave, { k: 'leave', id: pest.id, removed: { kind: 'kicked', by: owner.name, reason: 'spam' } });
    }
    // Out of the room on its own node: saying something there is refused.
    pest.send({ type: 'say', room: 'games', cid: 'after', text: 'still here?' });
    await nextError(pest, ErrorCode.notInRoom, 'after');

    // A kick is not a ban: back in (the witness on C sees the join anew).
    witness.frames.length = 0;
    const again = await tryJoin(pest, 'games');
    assert.equal(again.type, 'joined', JSON.stringify(again));
    await seesJoin(witness, undefined, 'games', pest.id);
  });

  test('a moderator made on A kicks on B someone on C; a plain member cannot kick across nodes', async () => {
    const [a, b, c] = ctx.nodes;
    const owner = await ctx.connect(a!, { name: uniqueName('Owner') });
    const mod = await ctx.connect(b!, { name: uniqueName('Mod') });
    const member = await ctx.connect(c!, { name: uniqueName('Mem') });
    const other = await ctx.connect(a!, { name: uniqueName('Oth') });
    const ownerJoined = await join(owner, 'games');
    const modJoined = await join(mod, 'games');
    const memberJoined = await join(member, 'games');
    await join(other, 'games');
    for (const id of [mod.id, member.id, other.id]) await seesJoin(owner, ownerJoined, 'games', id);
    for (const id of [member.id, other.id]) await seesJoin(mod, modJoined, 'games', id);
    await seesJoin(member, memberJoined, 'games', other.id);

    // A member on C tries to kick someone on A: refused, nobody removed.
    member.send({ type: 'kick', room: 'games', target: other.id });
    await nextError(member, ErrorCode.forbidden, 'kick');
    await roundTrip(other);
    assert.deepEqual(other.all('kicked'), []);

    owner.send({ type: 'op', room: 'games', target: mod.id });
    await seesEvent(mod, 'games', (e) => e.k === 'role' && e.id === mod.id && e.role === 'moderator', 'the new moderator');
    mod.send({ type: 'kick', room: 'games', target: member.id, reason: 'off topic' });
    assert.deepEqual(await member.next('kicked', () => true, CROSS_NODE_MS), { type: 'kicked', room: 'games', by: mod.name, reason: 'off topic' });
    await seesLeave(owner, 'games', member.id);
  });
});
