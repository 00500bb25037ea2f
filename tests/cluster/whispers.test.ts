// Whisper signalling across nodes: signal and relay frames pass between people on different
// nodes who share a room, stamped with the sender; they are refused (peer-unreachable)
// when the two share no room, and again once the last shared room is left.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../signal-server/protocol/protocol.ts';
import { join, nextError, roundTrip } from '../server/helpers.ts';
import { CROSS_NODE_MS, seesJoin, seesLeave, uniqueName, useCluster } from './cluster-helpers.ts';

describe('whispers across nodes', () => {
  const ctx = useCluster();

  test('signal and relay reach a room-mate on another node, both ways, stamped with the sender', async () => {
    const [a, b] = ctx.nodes;
    const ann = await ctx.connect(a!, { name: uniqueName('Ann') });
    const bob = await ctx.connect(b!, { name: uniqueName('Bob') });
    const annJoined = await join(ann, 'club');
    const bobJoined = await join(bob, 'club');
    await seesJoin(ann, annJoined, 'club', bob.id);
    await seesJoin(bob, bobJoined, 'club', ann.id);

    ann.send({ type: 'signal', to: bob.id, data: '{"k":"offer"}' });
    assert.deepEqual(await bob.next('signal', () => true, CROSS_NODE_MS), { type: 'signal', from: ann.id, data: '{"k":"offer"}' });
    bob.send({ type: 'signal', to: ann.id, data: '{"k":"answer"}' });
    assert.deepEqual(await ann.next('signal', () => true, CROSS_NODE_MS), { type: 'signal', from: bob.id, data: '{"k":"answer"}' });
    ann.send({ type: 'relay', to: bob.id, data: 'AQIDBA' });
    assert.deepEqual(await bob.next('relay', () => true, CROSS_NODE_MS), { type: 'relay', from: ann.id, data: 'AQIDBA' });
    bob.send({ type: 'relay', to: ann.id, data: 'BQYHCA' });
    assert.deepEqual(await ann.next('relay', () => true, CROSS_NODE_MS), { type: 'relay', from: bob.id, data: 'BQYHCA' });

    // Many relay frames keep their order across nodes.
    const frames = Array.from({ length: 50 }, (_, i) => Buffer.from(`frame-${i}`).toString('base64url'));
    for (const data of frames) ann.send({ type: 'relay', to: bob.id, data });
    const got: string[] = [];
    while (got.length < frames.length) got.push((await bob.next('relay', () => true, CROSS_NODE_MS)).data);
    assert.deepEqual(got, frames);
  });

  test('someone on another node who shares no room is unreachable and gets nothing', async () => {
    const [a, , c] = ctx.nodes;
    const ann = await ctx.connect(a!, { name: uniqueName('Ann') });
    const cat = await ctx.connect(c!, { name: uniqueName('Cat') });
    await join(ann, 'one');
    await join(cat, 'two');
    ann.send({ type: 'signal', to: cat.id, data: 'x' });
    await nextError(ann, ErrorCode.peerUnreachable, cat.id);
    ann.send({ type: 'relay', to: cat.id, data: 'AQID' });
    await nextError(ann, ErrorCode.peerUnreachable, cat.id);
    await roundTrip(cat);
    assert.deepEqual(cat.all('signal'), []);
    assert.deepEqual(cat.all('relay'), []);
  });

  test('after the last shared room is left on the other node, signalling stops', async () => {
    const [a, b] = ctx.nodes;
    const ann = await ctx.connect(a!, { name: uniqueName('Ann') });
    const bob = await ctx.connect(b!, { name: uniqueName('Bob') });
    const annJoined = await join(ann, 'club');
    await join(bob, 'club');
    await seesJoin(ann, annJoined, 'club', bob.id);
    ann.send({ type: 'signal', to: bob.id, data: 'first' });
    await bob.next('signal', () => true, CROSS_NODE_MS);

    bob.send({ type: 'leave', room: 'club' });
    await bob.next('left');
    await seesLeave(ann, 'club', bob.id);
    ann.send({ type: 'signal', to: bob.id, data: 'second' });
    await nextError(ann, ErrorCode.peerUnreachable, bob.id);
    await roundTrip(bob);
    assert.deepEqual(bob.all('signal'), []);
  });
});
