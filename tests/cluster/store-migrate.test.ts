// `migrate-to-redis`: a real data directory, made by running the single-node server
// (a persistent room with a topic, a server ban, a room ban, a remembered admin, an audit
// trail), copied into a real Redis by the operator's command; the files stay as they
// were, a cluster node then enforces all of it, and a second copy needs --force.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../../signal-server/protocol/protocol.ts';
import { makeIdentity, type Identity } from '../support/test-client.ts';
import { join, listRooms } from '../server/helpers.ts';
import { ModScope, becomeAdmin, nextFrame, tryJoin } from '../server/moderation-helpers.ts';
import { RedisServer, helloUntil, runWisp } from './store-helpers.ts';

/** Every file of a directory (recursively) with its bytes, to prove nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files[path.relative(dir, file)] = readFileSync(file, 'base64');
  }
  return files;
}

describe('migrate-to-redis', () => {
  let redis: RedisServer;
  let scope: ModScope;
  let dataDir: string;
  let serverId: string;
  let adminIdentity: Identity;
  const troll = makeIdentity();
  const pest = makeIdentity();

  before(async () => {
    redis = await RedisServer.start();
    scope = new ModScope();
    dataDir = scope.tempDir('wisp-single-');
    // The single-node server, as it runs today, makes the data directory.
    const single = await scope.start({ dataDir, trustProxy: ['127.0.0.1'] });
    const admin = await scope.connect(single, { name: 'Root' });
    adminIdentity = admin.identity;
    serverId = admin.welcome!.server.id;
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: 'club' });
    await admin.next('rooms');
    await join(admin, 'club');
    admin.send({ type: 'topic', room: 'club', topic: 'Members only' });
    const trollClient = await scope.connect(single, { name: 'Troll', identity: troll, from: '198.51.100.7' });
    admin.send({ type: 'ban', target: trollClient.id, reason: 'threats' });
    await trollClient.next('banned');
    const pestClient = await scope.connect(single, { name: 'Pest', identity: pest });
    await join(pestClient, 'club');
    admin.send({ type: 'ban', room: 'club', target: pestClient.id, reason: 'spam' });
    await pestClient.next('banned');
    await single.close();
  });
  after(async () => {
    await scope.dispose();
    await redis.dispose();
  });

  test('copies the data directory into Redis, says what it copied, and leaves the files as they were', async () => {
    const before = snapshot(dataDir);
    const run = await runWisp(['migrate-to-redis', '--data-dir', dataDir, '--redis', redis.url]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`server id ${serverId}`));
    assert.match(run.stdout, /admin token hash: yes/);
    assert.match(run.stdout, /\b2 bans\b/);
    assert.match(run.stdout, /\b1 persistent room\b/);
    assert.match(run.stdout, /\b1 remembered admin\b/);
    const auditCount = Number(/(\d+) audit records?/.exec(run.stdout)?.[1]);
    assert.ok(auditCount >= 4, `the audit trail came along (grant, room, topic, two bans): ${run.stdout}`);
    assert.equal(await redis.command('XLEN', 'wisp:store:audit'), auditCount);
    assert.deepEqual(snapshot(dataDir), before, 'no file was written, removed or changed');
  });

  test('a cluster node on an empty data directory then enforces the migrated state', async () => {
    const node = await scope.start({ redisUrl: redis.url, adminToken: undefined });
    // Same server id: private rooms' keys still work.
    const admin = await scope.connect(node, { name: 'Root', identity: adminIdentity });
    assert.equal(admin.welcome!.server.id, serverId);
    assert.deepEqual(await nextFrame(admin, (f) => f.type === 'admin', 'the remembered grant'), { type: 'admin', remembered: true });

    const refused = await helloUntil(scope, node.url, { identity: troll, name: 'Troll' }, (f) => f.type === 'error', 'the server ban holds');
    assert.equal(refused.answer.type === 'error' && refused.answer.code, ErrorCode.banned);
    const pestClient = await scope.connect(node, { name: 'Pest', identity: pest });
    const answer = await tryJoin(pestClient, 'club');
    assert.equal(answer.type === 'error' && answer.code, ErrorCode.banned, 'the room ban holds');

    const visitor = await scope.connect(node);
    assert.ok((await listRooms(visitor)).some((r) => r.name === 'club'));
    assert.equal((await join(visitor, 'club')).topic, 'Members only');

    admin.send({ type: 'audit' });
    const actions = (await admin.next('audit')).entries.map((e) => e.action);
    for (const action of ['admin-granted', 'room-create', 'topic', 'ban']) assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);
    // A node left running would keep writing to Redis (its heartbeat, and its copy of the
    // state once Redis is emptied): the tests below look at what migrations write alone.
    await node.close();
  });

  test('a second migration is refused without --force and changes nothing; --force replaces the state', async () => {
    const marker = JSON.stringify({ id: 'marker1', name: 'Later', by: 'Root', at: 1 });
    await redis.command('HSET', 'wisp:store:bans', 'marker1', marker);
    const refused = await runWisp(['migrate-to-redis', '--data-dir', dataDir, '--redis', redis.url]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /already holds Wisp's state/);
    assert.match(refused.stderr, /--force/);
    assert.equal(await redis.command('HGET', 'wisp:store:bans', 'marker1'), marker, 'the ban made since is still there');

    const forced = await runWisp(['migrate-to-redis', '--data-dir', dataDir, '--redis', redis.url, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(await redis.command('HGET', 'wisp:store:bans', 'marker1'), null, 'replaced by the data directory');
    assert.equal(await redis.command('HLEN', 'wisp:store:bans'), 2);
  });

  test('a directory with no Wisp data is refused and nothing is written to Redis', async () => {
    const empty = scope.tempDir('wisp-empty-');
    await redis.command('FLUSHALL');
    const run = await runWisp(['migrate-to-redis', '--data-dir', empty, '--redis', redis.url]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /holds no Wisp data/);
    assert.equal(await redis.command('DBSIZE'), 0);
  });
});
