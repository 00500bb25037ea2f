// A node SIGKILLed (no goodbye to Redis or its clients): its people leave every room on the
// other nodes within the bound (node TTL + reap interval), their names are free again, and
// its clients reconnect to another node and recover their rooms and what they missed.
// Child processes here: only a real process can be killed.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS } from '../../signal-server/protocol/protocol.ts';
import { join, rename } from '../server/helpers.ts';
import { cursorAfter, rejoin, sayAll, texts } from '../server/history-helpers.ts';
import { connectClient } from '../server/moderation-helpers.ts';
import { RedisServer } from '../support/redis-server.ts';
import { Cluster, type ChildNode, type ClusterNode } from '../support/cluster-nodes.ts';
import type { ConnectOptions, TestClient } from '../support/test-client.ts';
import { seesJoin, seesLeave, uniqueName } from './cluster-helpers.ts';

/**
 * The bound for a dead node's people to leave: the node is dead once missing from the
 * registry in two reaps in a row (docs/ARCHITECTURE.md, "Several nodes"), at most TTL + two
 * reap intervals after its last heartbeat (the kill comes after that); plus room for the
 * leave to cross Redis on a busy machine.
 */
const DEAD_NODE_BOUND_MS = LIMITS.clusterNodeTtlMs + 2 * LIMITS.clusterReapMs + 2_000;

describe('a node SIGKILLed', () => {
  let redis: RedisServer;
  let cluster: Cluster;
  let nodes: ChildNode[];
  before(async () => {
    redis = await RedisServer.start();
    cluster = new Cluster(redis.url);
    const extra = ['--rate-burst', '1000', '--rate-per-minute', '100000'];
    nodes = [];
    for (let i = 0; i < 3; i++) nodes.push(await cluster.child({ args: extra }));
  });
  after(async () => {
    await cluster.dispose();
    await redis.dispose();
  });

  const connect = async (node: ClusterNode, options: ConnectOptions = {}): Promise<TestClient> => cluster.track(await connectClient(node.url, options));

  test('its people leave every room on B and C within the bound; its clients recover on B what they missed', { timeout: 90_000 }, async () => {
    const [a, b, c] = nodes as [ChildNode, ChildNode, ChildNode];
    const annName = uniqueName('Ann');
    const danName = uniqueName('Dan');
    const ann = await connect(a, { name: annName });
    const dan = await connect(a, { name: danName });
    const bob = await connect(b, { name: uniqueName('Bob') });
    const cat = await connect(c, { name: uniqueName('Cat') });
    const annJoined = await join(ann, 'club');
    await join(ann, 'games');
    await join(dan, 'club');
    const bobJoined = await join(bob, 'club');
    const catClub = await join(cat, 'club');
    const catGames = await join(cat, 'games');
    for (const id of [ann.id, dan.id]) {
      await seesJoin(bob, bobJoined, 'club', id);
      await seesJoin(cat, catClub, 'club', id);
    }
    await seesJoin(cat, catGames, 'games', ann.id);
    await seesJoin(ann, annJoined, 'club', cat.id);
    await sayAll(cat, 'club', texts(1, 3));
    const seenByAnn = [];
    while (seenByAnn.length < 3) seenByAnn.push(await ann.next('message', (m) => m.room === 'club'));
    const cursor = { epoch: annJoined.history.epoch, seq: seenByAnn[2]!.seq };

    const killedAt = Date.now();
    await cluster.kill(a);
    await ann.waitClose();
    // Cat keeps talking while Ann is away.
    await sayAll(cat, 'club', texts(4, 8));

    // Ann's app reconnects at once, to node B, with the same identity, and rejoins with its cursor.
    const annAgain = await connect(b, { identity: ann.identity, name: annName });
    const back = await rejoin(annAgain, 'club', cursor);
    assert.equal(back.joined.history.missed, undefined, 'nothing was lost');
    assert.deepEqual(back.replay.map((m) => m.text), texts(4, 8), 'exactly what was said while away');
    assert.equal(cursorAfter(back).seq, cursor.seq + 5);
    await rejoin(annAgain, 'games');

    // The dead node's sessions leave every room on the other nodes, within the bound.
    const left = (client: TestClient, room: string, id: string) => seesLeave(client, room, id, Math.max(1, killedAt + DEAD_NODE_BOUND_MS - Date.now()));
    await left(bob, 'club', dan.id);
    await left(cat, 'club', dan.id);
    await left(bob, 'club', ann.id);
    await left(cat, 'club', ann.id);
    await left(cat, 'games', ann.id);
    // Ann's new session is in her rooms, and Dan's name is free again.
    await seesJoin(cat, undefined, 'club', annAgain.id);
    await seesJoin(cat, undefined, 'games', annAgain.id);
    assert.deepEqual(await rename(cat, danName), { name: danName });

    // The room goes on across the surviving nodes.
    await sayAll(annAgain, 'club', ['back on B']);
    const live = await cat.next('message', (m) => m.text === 'back on B', 10_000);
    assert.equal(live.seq, cursor.seq + 6);
  });
});
