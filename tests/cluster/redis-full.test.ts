// A full Redis (maxmemory reached, noeviction) refuses writes: a message then gets a typed
// "server-busy" answer and stays with its sender to be sent again, nobody gets it numbered
// twice, /healthz says degraded; once Redis takes writes again the resend is numbered once
// and the next message gets the next number.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../signal-server/protocol/protocol.ts';
import { join } from '../server/helpers.ts';
import { eventually } from '../support/cluster-nodes.ts';
import { CROSS_NODE_MS, seesJoin, uniqueName, useCluster } from './cluster-helpers.ts';

async function health(url: string): Promise<string> {
  return ((await (await fetch(`${url}/healthz`)).json()) as { status: string }).status;
}

describe('a full Redis', () => {
  const ctx = useCluster({}, 2);

  test('a message Redis cannot take is answered server-busy, kept by its sender, and numbered once when it can', { timeout: 60_000 }, async () => {
    const [a, b] = ctx.nodes;
    const ann = await ctx.connect(a!, { name: uniqueName('Ann') });
    const bob = await ctx.connect(b!, { name: uniqueName('Bob') });
    const annJoined = await join(ann, 'full');
    await join(bob, 'full');
    await seesJoin(ann, annJoined, 'full', bob.id);
    ann.send({ type: 'say', room: 'full', text: 'before', cid: 'c1' });
    assert.equal((await ann.next('ack', (f) => f.cid === 'c1', CROSS_NODE_MS)).seq, 1);
    await bob.next('message', (m) => m.text === 'before', CROSS_NODE_MS);

    const info = String(await ctx.redis.command('INFO', 'memory'));
    const used = Number(/used_memory:(\d+)/.exec(info)![1]);
    await ctx.redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await ctx.redis.command('CONFIG', 'SET', 'maxmemory', String(Math.floor(used / 2)));
    try {
      ann.send({ type: 'say', room: 'full', text: 'while full', cid: 'c2' });
      const busy = await ann.next('error', (f) => f.ref === 'c2', CROSS_NODE_MS);
      assert.equal(busy.code, ErrorCode.serverBusy);
      assert.ok((busy.retryAfterMs ?? 0) > 0, 'the app is told when to send it again');
      assert.equal(await health(a!.url), 'degraded');
      assert.equal(bob.all('message').filter((m) => m.text === 'while full').length, 0, 'nobody got it numbered by one node alone');
    } finally {
      await ctx.redis.command('CONFIG', 'SET', 'maxmemory', '0');
    }
    await eventually(async () => ((await health(a!.url)) === 'ok' ? true : undefined), '/healthz on A says ok again', CROSS_NODE_MS);

    // What the app does: the same message, same cid, sent again.
    ann.send({ type: 'say', room: 'full', text: 'while full', cid: 'c2' });
    assert.equal((await ann.next('ack', (f) => f.cid === 'c2', CROSS_NODE_MS)).seq, 2);
    ann.send({ type: 'say', room: 'full', text: 'after', cid: 'c3' });
    assert.equal((await ann.next('ack', (f) => f.cid === 'c3', CROSS_NODE_MS)).seq, 3);
    // Bob's frames after "before", in the order they came: each message once, numbered 2 and 3.
    const later = [await bob.next('message', (m) => m.room === 'full', CROSS_NODE_MS), await bob.next('message', (m) => m.room === 'full', CROSS_NODE_MS)];
    assert.deepEqual(later.map((m) => [m.text, m.seq]), [['while full', 2], ['after', 3]]);
    assert.deepEqual(bob.all('message').filter((m) => m.room === 'full'), [], 'nothing twice');
  });
});
