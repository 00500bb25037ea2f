// Cluster mode when Redis lets the store down: a corrupt entry is a StoreError naming it
// (at start, and the command stops with it), never silently dropped, and one that turns
// up while running leaves the node's copy as it was; Redis away during a ban answers
// store-failed like a full disk, and the node keeps serving.
import { test, describe, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore } from '../../signal-server/cluster/redis-store.ts';
import { ErrorCode } from '../../signal-server/protocol/protocol.ts';
import { StoreError } from '../../signal-server/store.ts';
import { makeIdentity } from '../support/test-client.ts';
import { nextError, roundTrip } from '../server/helpers.ts';
import { becomeAdmin } from '../server/moderation-helpers.ts';
import { eventually, runWisp, useRedisNodes } from './store-helpers.ts';

const CORRUPT: { key: string; field?: string; value: string; problem: RegExp }[] = [
  { key: 'wisp:store:bans', field: 'b1', value: '{"id":"b1","name":', problem: /wisp:store:bans b1: is not valid JSON/ },
  { key: 'wisp:store:bans', field: 'b2', value: '{"id":"b2","name":"x","by":"y"}', problem: /wisp:store:bans b2: has unexpected content at at/ },
  { key: 'wisp:store:bans', field: 'b3', value: '{"id":"other","name":"x","by":"y","at":1}', problem: /wisp:store:bans b3: holds the ban other/ },
  { key: 'wisp:store:rooms', field: 'hall', value: '{"name":"hall","moderators":"none","createdAt":1}', problem: /wisp:store:rooms hall: has unexpected content at moderators/ },
  { key: 'wisp:store:members', field: 'k'.repeat(600), value: '1', problem: /wisp:store:members k{16}…: has unexpected content/ },
  { key: 'wisp:store:admin', value: '{"version":1,"tokenHash":"nope","createdAt":1}', problem: /wisp:store:admin: has unexpected content at tokenHash/ },
  { key: 'wisp:store:server', value: '{"version":1,"id":"short","createdAt":1}', problem: /wisp:store:server: has unexpected content at id/ },
];

describe('cluster: Redis lets the store down', () => {
  const ctx = useRedisNodes();
  afterEach(() => mock.restoreAll());

  for (const { key, field, value, problem } of CORRUPT) {
    test(`a corrupt ${key}${field ? ` ${field.slice(0, 8)}` : ''} entry (${problem.source.split(': ')[1]}): StoreError naming it, left as it was`, async () => {
      await (field === undefined ? ctx.redis.command('SET', key, value) : ctx.redis.command('HSET', key, field, value));
      await assert.rejects(RedisStore.connect(ctx.redis.url), (error: unknown) => {
        assert.ok(error instanceof StoreError, String(error));
        assert.equal(error.code, 'store-invalid');
        assert.match(error.message, problem);
        return true;
      });
      const stored = field === undefined ? await ctx.redis.command('GET', key) : await ctx.redis.command('HGET', key, field);
      assert.equal(stored, value);
    });
  }

  test('the wisp command stops at start with the corrupt entry named and exit code 2', async () => {
    await ctx.redis.command('HSET', 'wisp:store:bans', 'b1', 'not json');
    const run = await runWisp(['--host', '127.0.0.1', '--port', '0', '--local-ca', 'off', '--quiet', '--data-dir', ctx.scope.tempDir(), '--static-dir', ctx.scope.staticDir(), '--redis', ctx.redis.url]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /the shared state in Redis has a problem: Redis at 127\.0\.0\.1:\d+ wisp:store:bans b1: is not valid JSON/);
  });

  test('a corrupt entry written while a node runs: the node says so and keeps the bans it had', async () => {
    const node = await ctx.scope.start({ redisUrl: ctx.redis.url });
    const admin = await ctx.scope.connect(node, { name: 'Root' });
    await becomeAdmin(admin);
    const troll = await ctx.scope.connect(node, { name: 'Troll' });
    admin.send({ type: 'ban', target: troll.id });
    await troll.next('banned');
    const errors: string[] = [];
    mock.method(console, 'error', (line: string) => void errors.push(line));
    await ctx.redis.command('HSET', 'wisp:store:bans', 'bad', '{');
    await ctx.redis.command('PUBLISH', 'wisp:store', 'bans elsewhere');
    await eventually(() => (errors.some((e) => /could not re-read bans .*wisp:store:bans bad: is not valid JSON/.test(e)) ? true : undefined), 'the node says the entry is corrupt');
    assert.equal(node.hub.store.bans.length, 1, 'the ban it had still holds');
  });

  test('Redis away during a ban: store-failed, the connection and the node keep working, and bans work again once Redis is back', async () => {
    const node = await ctx.scope.start({ redisUrl: ctx.redis.url });
    const admin = await ctx.scope.connect(node, { name: 'Root' });
    await becomeAdmin(admin);
    const target = await ctx.scope.connect(node, { name: 'Target' });
    const errors: string[] = [];
    mock.method(console, 'error', (line: string) => void errors.push(line));

    await ctx.redis.stop();
    admin.send({ type: 'ban', target: target.id, reason: 'while Redis is away' });
    const error = await nextError(admin, ErrorCode.storeFailed);
    assert.equal(error.message, 'The server could not save that change; ask the operator to check its disk.');
    await roundTrip(admin);
    const newcomer = await ctx.scope.connect(node, { name: 'Newcomer', identity: makeIdentity() });
    assert.ok(newcomer.welcome, 'the node still admits people');
    assert.ok(errors.some((e) => e.startsWith('wisp: could not write')), 'the operator is told on stderr');

    await ctx.redis.start();
    await eventually(async () => {
      admin.send({ type: 'ban', target: newcomer.id, reason: 'Redis is back' });
      const answer = await Promise.race([newcomer.next('banned').then(() => 'banned' as const), nextError(admin, ErrorCode.storeFailed).then(() => 'failed' as const)]);
      return answer === 'banned' ? true : undefined;
    }, 'a ban is saved once Redis is back');
    const stored = (await ctx.redis.command('HVALS', 'wisp:store:bans')) as string[];
    assert.ok(stored.some((raw) => (JSON.parse(raw) as { reason?: string }).reason === 'Redis is back'));
  });
});
