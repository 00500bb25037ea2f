// Redis keeps nothing on disk, so a restart empties it. The running nodes still hold the
// durable state and write it back: a node started afterwards has the cluster's server id
// (private room keys depend on it) and enforces the bans made before the restart.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, type ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import { becomeAdmin, nextFrame, sendHello } from '../server/moderation-helpers.ts';
import { eventually } from '../support/cluster-nodes.ts';
import { CROSS_NODE_MS, NODE_CONFIG, uniqueName, useCluster } from './cluster-helpers.ts';

describe('durable state after Redis restarts empty', () => {
  const ctx = useCluster({}, 2);

  test('the running nodes write bans and the server id back; a node started afterwards has both', { timeout: 90_000 }, async () => {
    const [a] = ctx.nodes;
    const admin = await ctx.connect(a!, { name: uniqueName('Admin') });
    await becomeAdmin(admin);
    const serverId = admin.welcome!.server.id;
    const pest = await ctx.connect(a!, { name: uniqueName('Pest') });
    admin.send({ type: 'ban', target: pest.id, reason: 'spam' });
    await pest.next('banned', () => true, CROSS_NODE_MS);

    await ctx.redis.stop();
    await ctx.redis.start({ empty: true });
    await eventually(async () => ((await ctx.redis.command('EXISTS', 'wisp:store:bans')) === 1 ? true : undefined), 'the bans are back in Redis', CROSS_NODE_MS);

    const [late] = await ctx.cluster.start(1, NODE_CONFIG);
    const newcomer = await ctx.connect(late!, { name: uniqueName('New') });
    assert.equal(newcomer.welcome!.server.id, serverId, 'the same server id as before the restart');
    const again = await ctx.connect(late!, { identity: pest.identity, noHello: true });
    sendHello(again);
    const answer = await nextFrame(again, (f) => f.type === 'welcome' || (f.type === 'error' && f.ref === 'hello'), 'the answer to hello', CROSS_NODE_MS);
    assert.equal(answer.type, 'error', JSON.stringify(answer));
    assert.equal((answer as ServerFrameOf<'error'>).code, ErrorCode.banned);
  });
});
