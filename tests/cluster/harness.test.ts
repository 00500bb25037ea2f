// The cluster tests' own harness: a real redis-server that truly restarts with and without
// its data and stops by PID, and Wisp nodes (in-process and child processes) on one Redis.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisHarnessError, RedisServer } from '../support/redis-server.ts';
import { Cluster, health } from '../support/cluster-nodes.ts';

/** Whether a process with this PID still exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('redis-server harness', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(() => redis.dispose());

  test('answers on its loopback port and restarts as a new process, with or without its data', async () => {
    assert.equal(await redis.command('PING'), 'PONG');
    assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    await redis.command('SET', 'wisp:test', 'kept');
    await redis.command('HSET', 'wisp:test:h', 'field', 'value');

    const first = redis.pid!;
    await redis.restart({ keepData: true });
    assert.notEqual(redis.pid, first, 'a new process');
    assert.equal(alive(first), false, 'the old process is gone');
    assert.equal(await redis.command('GET', 'wisp:test'), 'kept');
    assert.deepEqual(await redis.command('HGETALL', 'wisp:test:h'), ['field', 'value']);

    const second = redis.pid!;
    await redis.restart({ keepData: false });
    assert.notEqual(redis.pid, second, 'a new process');
    assert.equal(await redis.command('GET', 'wisp:test'), null, 'an empty restart forgets everything');
    assert.equal(await redis.command('DBSIZE'), 0);
  });

  test('kill() ends the process by its PID; start() brings it back on the same port', async () => {
    const pid = redis.pid!;
    const port = redis.port;
    await redis.kill();
    assert.equal(redis.running, false);
    assert.equal(alive(pid), false);
    await assert.rejects(redis.command('PING'), (error: RedisHarnessError) => error.code === 'redis-not-running');
    await redis.start();
    assert.equal(redis.port, port);
    assert.equal(await redis.command('PING'), 'PONG');
  });

  test('a missing redis-server is a clear error, not a hang', async () => {
    await assert.rejects(RedisServer.start({ bin: '/nonexistent/redis-server' }), (error: RedisHarnessError) => {
      assert.equal(error.code, 'redis-missing');
      assert.match(error.message, /apt-get install -y redis-server/);
      return true;
    });
  });
});

describe('cluster nodes harness', () => {
  let redis: RedisServer;
  let cluster: Cluster;
  before(async () => {
    redis = await RedisServer.start();
    cluster = new Cluster(redis.url);
  });
  after(async () => {
    await cluster.dispose();
    await redis.dispose();
  });

  test('in-process nodes each have their own data directory and port', async () => {
    const nodes = await cluster.start(3);
    assert.deepEqual(nodes.map((n) => n.name), ['A', 'B', 'C']);
    assert.equal(new Set(nodes.map((n) => n.dataDir)).size, 3);
    assert.equal(new Set(nodes.map((n) => n.port)).size, 3);
    for (const node of nodes) assert.equal((await health(node.url)).status, 200);
    const client = await cluster.client(nodes[1]!, { name: 'Bea' });
    assert.equal(client.name, 'Bea');
  });

  test('a child node answers /healthz, takes clients, and SIGKILL by its PID ends it', async () => {
    const node = await cluster.child();
    assert.ok(alive(node.pid));
    assert.equal((await health(node.url)).status, 200);
    const client = await cluster.client(node, { name: 'Kid' });
    assert.equal(client.name, 'Kid');
    await cluster.kill(node);
    assert.equal((await node.exit).signal, 'SIGKILL');
    assert.equal(alive(node.pid), false);
    await client.waitClose();
  });
});
