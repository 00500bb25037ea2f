// Room chat across nodes: senders on three nodes talking at once, and every member, on
// every node, sees the same messages in the same order with consecutive seq numbers that
// match the senders' acks.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import { join } from '../server/helpers.ts';
import { sayAll, texts } from '../server/history-helpers.ts';
import type { TestClient } from '../support/test-client.ts';
import { CROSS_NODE_MS, seesJoin, uniqueName, useCluster } from './cluster-helpers.ts';

const PER_SENDER = 25;

/** Waits until `client` holds `count` messages of `room` and returns them in arrival order. */
async function messagesOf(client: TestClient, room: string, count: number): Promise<ServerFrameOf<'message'>[]> {
  const got: ServerFrameOf<'message'>[] = [];
  while (got.length < count) got.push(await client.next('message', (m) => m.room === room, CROSS_NODE_MS));
  return got;
}

describe('chat across nodes', () => {
  const ctx = useCluster();

  test('three senders on three nodes: everyone sees one order, seq 1..N without a gap, matching the acks', async () => {
    const senders = await Promise.all(ctx.nodes.map((node, i) => ctx.connect(node, { name: uniqueName(`S${i}`) })));
    const listeners = await Promise.all(ctx.nodes.map((node, i) => ctx.connect(node, { name: uniqueName(`L${i}`) })));
    const everyone = [...senders, ...listeners];
    const snapshots = [];
    for (const client of everyone) snapshots.push(await join(client, 'talk'));
    // Everyone knows everyone before the first message, so nobody misses one.
    for (const [i, client] of everyone.entries()) {
      for (const other of everyone) if (other !== client) await seesJoin(client, snapshots[i], 'talk', other.id);
    }

    const acks = await Promise.all(senders.map((s, i) => sayAll(s, 'talk', texts(1, PER_SENDER, `n${i}-`))));
    const total = senders.length * PER_SENDER;
    const allAcks = acks.flat();
    assert.deepEqual(allAcks.map((a) => a.seq).sort((x, y) => x - y), Array.from({ length: total }, (_, i) => i + 1), 'the acks hold seq 1..N, each once');

    // Listeners get every message; a sender gets everyone else's (its own come back as acks).
    const orders: string[][] = [];
    for (const listener of listeners) {
      const got = await messagesOf(listener, 'talk', total);
      assert.deepEqual(got.map((m) => m.seq), Array.from({ length: total }, (_, i) => i + 1), `${listener.name} sees consecutive seq in order`);
      orders.push(got.map((m) => `${m.seq}:${m.text}`));
    }
    assert.deepEqual(orders[1], orders[0], 'node B shows the order node A shows');
    assert.deepEqual(orders[2], orders[0], 'node C shows the order node A shows');

    // Each sender's own messages keep their order, and the acks agree with what others saw.
    const bySeq = new Map(orders[0]!.map((line) => [Number(line.split(':')[0]), line.slice(line.indexOf(':') + 1)]));
    for (const [i, senderAcks] of acks.entries()) {
      const seqs = senderAcks.map((a) => a.seq);
      assert.deepEqual([...seqs].sort((x, y) => x - y), seqs, `sender ${i}'s messages keep their order`);
      senderAcks.forEach((ack, k) => assert.equal(bySeq.get(ack.seq), `n${i}-${k + 1}`));
    }
    for (const [i, sender] of senders.entries()) {
      const got = await messagesOf(sender, 'talk', total - PER_SENDER);
      assert.ok(got.every((m) => m.from !== sender.id), 'a sender does not get its own messages back');
      assert.deepEqual(got.map((m) => `${m.seq}:${m.text}`), orders[0]!.filter((line) => !line.includes(`:n${i}-`)));
    }
  });

  test('a message names its sender as the other nodes know them', async () => {
    const [a, b] = ctx.nodes;
    const ann = await ctx.connect(a!, { name: uniqueName('Ann') });
    const bob = await ctx.connect(b!, { name: uniqueName('Bob') });
    const annJoined = await join(ann, 'talk');
    await join(bob, 'talk');
    await seesJoin(ann, annJoined, 'talk', bob.id);
    const [ack] = await sayAll(bob, 'talk', ['hello from B']);
    const message = await ann.next('message', (m) => m.room === 'talk', CROSS_NODE_MS);
    assert.equal(message.from, bob.id);
    assert.equal(message.name, bob.name);
    assert.equal(message.text, 'hello from B');
    assert.equal(message.id, ack!.id);
    assert.equal(message.seq, ack!.seq);
    assert.equal(message.ts, ack!.ts);
  });
});
