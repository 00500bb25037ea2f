// Cluster mode: bans live in Redis, so a ban made on one node refuses the person on every
// other node, at hello (server bans) and at join (room bans), and an unban lifts it there
// too. Real redis-server, real nodes (in-process, each with its own data directory).
import { test, describe, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { makeIdentity } from '../support/test-client.ts';
import { join } from '../server/helpers.ts';
import { becomeAdmin, tryJoin } from '../server/moderation-helpers.ts';
import { eventually, helloUntil, useRedisNodes } from './store-helpers.ts';

describe('cluster: bans hold on every node', () => {
  const ctx = useRedisNodes(2);
  let a: RunningServer;
  let b: RunningServer;
  beforeEach(() => void ([a, b] = ctx.nodes as [RunningServer, RunningServer]));

  test('a server ban made on node A refuses that identity at hello on node B; an unban on B lets it in on A', async () => {
    const admin = await ctx.scope.connect(a, { name: 'Root' });
    await becomeAdmin(admin);
    const identity = makeIdentity();
    const troll = await ctx.scope.connect(a, { name: 'Troll', identity });
    admin.send({ type: 'ban', target: troll.id, reason: 'threats' });
    await troll.next('banned');

    const { answer } = await helloUntil(ctx.scope, b.url, { identity, name: 'Troll' }, (f) => f.type === 'error', 'node B refuses the banned identity');
    assert.equal(answer.type === 'error' && answer.code, ErrorCode.banned);
    assert.equal(answer.type === 'error' && answer.ban?.reason, 'threats', 'the refusal names the reason given on node A');

    // The ban is one entry in the shared hash, named by its id.
    const ids = (await ctx.redis.command('HKEYS', 'wisp:store:bans')) as string[];
    assert.equal(ids.length, 1);
    assert.equal(b.hub.store.bans[0]?.id, ids[0], 'node B holds the same ban as Redis');

    const adminOnB = await ctx.scope.connect(b, { name: 'Root2', identity: admin.identity });
    await becomeAdmin(adminOnB);
    adminOnB.send({ type: 'unban', ban: ids[0] });
    const answerToUnban = await adminOnB.next('bans');
    assert.equal(answerToUnban.lifted?.id, ids[0]);
    const back = await helloUntil(ctx.scope, a.url, { identity, name: 'Troll' }, (f) => f.type === 'welcome', 'node A lets the unbanned identity in');
    assert.equal(back.answer.type, 'welcome');
    assert.equal(await ctx.redis.command('HLEN', 'wisp:store:bans'), 0, 'the unban removed the entry from Redis');
  });

  test('a room ban made on node A refuses a join of that room on node B; other rooms stay open', async () => {
    const admin = await ctx.scope.connect(a, { name: 'Root' });
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: 'hall' });
    await admin.next('rooms');
    const identity = makeIdentity();
    const pest = await ctx.scope.connect(a, { name: 'Pest', identity });
    await join(pest, 'hall');
    admin.send({ type: 'ban', room: 'hall', target: pest.id, reason: 'spam links' });
    await pest.next('banned');

    const pestOnB = await ctx.scope.connect(b, { name: 'Pest', identity });
    const refused = await eventually(async () => {
      const answer = await tryJoin(pestOnB, 'hall');
      return answer.type === 'error' ? answer : (pestOnB.send({ type: 'leave', room: 'hall' }), undefined);
    }, 'node B refuses the join of #hall');
    assert.equal(refused.code, ErrorCode.banned);
    assert.equal(refused.ban?.room, 'hall');
    const elsewhere = await tryJoin(pestOnB, 'kitchen');
    assert.equal(elsewhere.type, 'joined', 'the ban is for #hall only');
  });

  test('two nodes banning at the same moment both keep their ban (entries, not whole documents)', async () => {
    const adminA = await ctx.scope.connect(a, { name: 'RootA' });
    const adminB = await ctx.scope.connect(b, { name: 'RootB' });
    await Promise.all([becomeAdmin(adminA), becomeAdmin(adminB)]);
    const one = await ctx.scope.connect(a, { name: 'One' });
    const two = await ctx.scope.connect(b, { name: 'Two' });
    adminA.send({ type: 'ban', target: one.id, reason: 'first' });
    adminB.send({ type: 'ban', target: two.id, reason: 'second' });
    await Promise.all([one.next('banned'), two.next('banned')]);
    const stored = (await ctx.redis.command('HVALS', 'wisp:store:bans')) as string[];
    assert.deepEqual(stored.map((raw) => (JSON.parse(raw) as { reason: string }).reason).sort(), ['first', 'second']);
    for (const node of [a, b]) {
      await eventually(() => (node.hub.store.bans.length === 2 ? true : undefined), 'each node holds both bans');
    }
  });
});
