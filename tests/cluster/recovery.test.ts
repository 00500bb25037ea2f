// Recovery on another node: a member who leaves on node A and comes back on node C with its
// cursor gets exactly what it missed, in order; a newcomer on any node sees the room's last
// messages; one room has one epoch across the cluster.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from '../server/helpers.ts';
import { cursorAfter, rejoin, sayAll, texts } from '../server/history-helpers.ts';
import { makeIdentity } from '../support/test-client.ts';
import { CROSS_NODE_MS, seesJoin, uniqueName, useCluster } from './cluster-helpers.ts';

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

describe('recovery across nodes', () => {
  const ctx = useCluster();

  test('leave on A, messages said on B, come back on C with since: exactly what was missed, in order', async () => {
    const [a, b, c] = ctx.nodes;
    const ann = await ctx.connect(b!, { name: uniqueName('Ann') });
    await join(ann, 'club');
    await sayAll(ann, 'club', texts(1, 3));
    const identity = makeIdentity();
    const bobName = uniqueName('Bob');
    let bob = await ctx.connect(a!, { identity, name: bobName });
    const first = await rejoin(bob, 'club');
    assert.deepEqual(first.replay.map((m) => m.text), texts(1, 3), 'a newcomer on A sees what was said on B');
    let cursor = cursorAfter(first);
    assert.equal(cursor.seq, 3);

    bob.ws.terminate();
    await sayAll(ann, 'club', texts(4, 10));
    bob = await ctx.connect(c!, { identity, name: bobName });
    const back = await rejoin(bob, 'club', cursor);
    assert.equal(back.joined.history.epoch, cursor.epoch, 'one epoch for the room on every node');
    assert.equal(back.joined.history.missed, undefined, 'nothing was lost');
    assert.equal(back.joined.history.seq, 10);
    assert.deepEqual(back.replay.map((m) => m.seq), range(4, 10));
    assert.deepEqual(back.replay.map((m) => m.text), texts(4, 10));
    assert.ok(back.replay.every((m) => m.from === ann.id && m.name === ann.name));
    cursor = cursorAfter(back);

    // Live messages continue the count on the new node.
    const [ack] = await sayAll(ann, 'club', ['live']);
    const live = await bob.next('message', (m) => m.text === 'live', CROSS_NODE_MS);
    assert.equal(live.seq, 11);
    assert.equal(ack!.seq, 11);

    // Back on A once more, having missed nothing: no replay.
    bob.ws.terminate();
    bob = await ctx.connect(a!, { identity, name: bobName });
    const again = await rejoin(bob, 'club', { epoch: cursor.epoch, seq: 11 });
    assert.deepEqual(again.replay, []);
    assert.equal(again.joined.history.missed, undefined);
  });

  test('a message resent after reconnecting to another node is acked with the same id and seq, and not sent twice', async () => {
    const [a, b, c] = ctx.nodes;
    const watcher = await ctx.connect(c!, { name: uniqueName('Wat') });
    const watcherJoined = await join(watcher, 'club');
    const identity = makeIdentity();
    const annName = uniqueName('Ann');
    const ann = await ctx.connect(a!, { identity, name: annName });
    await join(ann, 'club');
    await seesJoin(watcher, watcherJoined, 'club', ann.id);
    ann.send({ type: 'say', room: 'club', cid: 'outbox-1', text: 'sent before the drop' });
    const ack = await ann.next('ack', (x) => x.cid === 'outbox-1');
    await watcher.next('message', (m) => m.id === ack.id, CROSS_NODE_MS);

    // The app did not see the ack (say), reconnects to B and sends the same message again.
    ann.ws.terminate();
    const again = await ctx.connect(b!, { identity, name: annName });
    await join(again, 'club');
    again.send({ type: 'say', room: 'club', cid: 'outbox-1', text: 'sent before the drop' });
    const second = await again.next('ack', (x) => x.cid === 'outbox-1', CROSS_NODE_MS);
    assert.equal(second.id, ack.id);
    assert.equal(second.seq, ack.seq);
    assert.equal(second.ts, ack.ts);
    // A later message is the next one: the resend took no number and reached nobody.
    const [next] = await sayAll(again, 'club', ['after the resend']);
    assert.equal(next!.seq, ack.seq + 1);
    await watcher.next('message', (m) => m.text === 'after the resend', CROSS_NODE_MS);
    assert.deepEqual(watcher.all('message').filter((m) => m.room === 'club'), [], 'the resent message came once');
  });

  test('a cursor from another epoch gets all of this epoch\'s messages', async () => {
    const [a, , c] = ctx.nodes;
    const ann = await ctx.connect(a!, { name: uniqueName('Ann') });
    await join(ann, 'club');
    await sayAll(ann, 'club', texts(1, 4));
    const bob = await ctx.connect(c!, { name: uniqueName('Bob') });
    const back = await rejoin(bob, 'club', { epoch: 'someotherepoch', seq: 2 });
    assert.deepEqual(back.replay.map((m) => m.seq), range(1, 4));
  });
});
