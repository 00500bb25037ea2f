// Cluster mode: the durable state every node shares through Redis: persistent rooms and
// topics outlive a restart of every node (on fresh data directories, so Redis is where
// they were), one server id for all, a remembered admin on every node, and one admin
// token: made and printed by the first node only, or set with --admin-token on any node.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join, listRooms } from '../server/helpers.ts';
import { becomeAdmin, nextFrame } from '../server/moderation-helpers.ts';
import { eventually, useRedisNodes } from './store-helpers.ts';

describe('cluster: durable state shared through Redis', () => {
  const ctx = useRedisNodes();

  test('a persistent room and its topic made on node A are there after every node restarts on empty data directories', async () => {
    const a = await ctx.scope.start({ redisUrl: ctx.redis.url });
    const b = await ctx.scope.start({ redisUrl: ctx.redis.url });
    const admin = await ctx.scope.connect(a, { name: 'Root' });
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: 'club' });
    await admin.next('rooms');
    await join(admin, 'club');
    admin.send({ type: 'topic', room: 'club', topic: 'Thursday quiz' });
    await eventually(async () => {
      const raw = (await ctx.redis.command('HGET', 'wisp:store:rooms', 'club')) as string | null;
      return raw && (JSON.parse(raw) as { topic?: string }).topic === 'Thursday quiz' ? true : undefined;
    }, 'the topic is in Redis');
    await eventually(() => (b.hub.store.rooms.some((r) => r.name === 'club' && r.topic === 'Thursday quiz') ? true : undefined), "node B's copy holds the room");
    await Promise.all([a.close(), b.close()]);

    // Fresh data directories: only Redis can bring the room back.
    const a2 = await ctx.scope.start({ redisUrl: ctx.redis.url });
    const b2 = await ctx.scope.start({ redisUrl: ctx.redis.url });
    for (const node of [a2, b2]) {
      const visitor = await ctx.scope.connect(node);
      assert.ok((await listRooms(visitor)).some((r) => r.name === 'club'), 'the persistent room is listed');
      const joined = await join(visitor, 'club');
      assert.equal(joined.topic, 'Thursday quiz');
    }
  });

  test('every node has the same server id, made once', async () => {
    const nodes = await Promise.all([ctx.scope.start({ redisUrl: ctx.redis.url }), ctx.scope.start({ redisUrl: ctx.redis.url }), ctx.scope.start({ redisUrl: ctx.redis.url })]);
    const ids = await Promise.all(nodes.map(async (node) => (await ctx.scope.connect(node)).welcome!.server.id));
    assert.equal(new Set(ids).size, 1, `one id: ${ids.join(', ')}`);
    const stored = JSON.parse((await ctx.redis.command('GET', 'wisp:store:server')) as string) as { id: string };
    assert.equal(stored.id, ids[0]);
  });

  test('an admin who proved the token on node A is remembered on node B; /admin forget on B reaches A', async () => {
    const a = await ctx.scope.start({ redisUrl: ctx.redis.url });
    const b = await ctx.scope.start({ redisUrl: ctx.redis.url });
    const admin = await ctx.scope.connect(a, { name: 'Root' });
    await becomeAdmin(admin);
    const onB = await eventually(async () => {
      const client = await ctx.scope.connect(b, { name: 'Root', identity: admin.identity });
      // The grant comes right after welcome, so before the pong of a ping sent now.
      client.send({ type: 'ping' });
      const remembered = await nextFrame(client, (f) => f.type === 'admin' || f.type === 'pong', 'admin or pong');
      return remembered?.type === 'admin' ? { client, remembered } : undefined;
    }, 'node B greets the identity as admin');
    assert.deepEqual(onB.remembered, { type: 'admin', remembered: true });

    onB.client.send({ type: 'admin-forget' });
    await onB.client.next('admin-forgotten');
    await eventually(() => (a.hub.store.admins.has(admin.identity.key) ? undefined : true), 'node A forgets the admin too');
    assert.equal(await ctx.redis.command('HLEN', 'wisp:store:admins'), 0);
  });

  test('with no token yet, nodes starting together make one token, printed once, and it works on every node', async () => {
    const made: string[] = [];
    const options = { onAdminToken: (token: string | undefined, why: string) => void (why === 'first-start' && token && made.push(token)) };
    const nodes = await Promise.all([0, 1, 2].map(() => ctx.scope.start({ redisUrl: ctx.redis.url, adminToken: undefined }, options)));
    assert.equal(made.length, 1, 'exactly one node printed a first-start token');
    for (const node of nodes) {
      const client = await ctx.scope.connect(node);
      await becomeAdmin(client, made[0]);
    }
  });

  test('--admin-token given to one node sets it for all, and the remembered admins are forgotten everywhere', async () => {
    const a = await ctx.scope.start({ redisUrl: ctx.redis.url });
    const b = await ctx.scope.start({ redisUrl: ctx.redis.url });
    const admin = await ctx.scope.connect(a, { name: 'Root' });
    await becomeAdmin(admin);
    await eventually(() => (b.hub.store.admins.size === 1 ? true : undefined), 'node B remembers the admin');

    const fresh = 'a-brand-new-admin-token-for-all';
    await ctx.scope.start({ redisUrl: ctx.redis.url, adminToken: fresh });
    await eventually(() => (b.hub.store.admins.size === 0 ? true : undefined), 'node B forgets the remembered admin');
    const onA = await ctx.scope.connect(a, { name: 'Other' });
    await eventually(async () => {
      onA.send({ type: 'admin', token: fresh });
      const answer = await nextFrame(onA, (f) => f.type === 'admin' || (f.type === 'error' && f.ref === 'admin'), 'the answer to /admin');
      return answer.type === 'admin' ? true : undefined;
    }, 'node A accepts the new token');
  });
});
