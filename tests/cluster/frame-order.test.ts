// A node handles one person's frames in the order they were sent, even when one of them
// waits for Redis (making a room reads the shared creation bucket): a message sent right
// after the join that makes its room is delivered, not refused as "not in the room".
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CROSS_NODE_MS, uniqueName, useCluster } from './cluster-helpers.ts';

describe('frame order in a cluster', () => {
  const ctx = useCluster();

  test('a say sent right after the join that makes a new room arrives, in order, on another node', async () => {
    const [a, b] = ctx.nodes;
    const maker = await ctx.connect(a!, { name: uniqueName('Maker') });
    const watcher = await ctx.connect(b!, { name: uniqueName('Watcher') });
    // Both frames in one go: the join waits for Redis before the say is handled.
    maker.send({ type: 'join', room: 'fresh' });
    maker.send({ type: 'say', room: 'fresh', text: 'first words', cid: 'f1' });
    const ack = await maker.next('ack', (f) => f.cid === 'f1', CROSS_NODE_MS);
    assert.equal(ack.seq, 1);
    assert.deepEqual(maker.all('error'), [], 'no frame of the maker was refused');

    watcher.send({ type: 'join', room: 'fresh' });
    const joined = await watcher.next('joined', (f) => f.room === 'fresh', CROSS_NODE_MS);
    assert.equal(joined.history.seq, 1, 'the other node knows the message was said');
    const recovered = await watcher.next('message', (m) => m.room === 'fresh', CROSS_NODE_MS);
    assert.equal(recovered.text, 'first words');
  });
});
