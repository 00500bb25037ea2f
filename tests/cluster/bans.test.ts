// Bans across nodes: a room ban made on node A removes the person on node B and refuses
// their join on every node; a server ban (by key, or by address) made on A closes them on C
// and refuses their hello on every node; the ban list is the same on every node, and an
// unban on one node lets them back in on the others.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode, ErrorCode, LOBBY, type ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import { join } from '../server/helpers.ts';
import { becomeAdmin, nextFrame, pollUntil, sendHello, tryJoin } from '../server/moderation-helpers.ts';
import type { Identity, TestClient } from '../support/test-client.ts';
import type { ClusterNode } from '../support/cluster-nodes.ts';
import { CROSS_NODE_MS, seesJoin, seesLeave, uniqueName, useCluster, type ClusterContext } from './cluster-helpers.ts';

type HelloAnswer = { welcomed: true; client: TestClient } | { welcomed: false; error: ServerFrameOf<'error'>; close: number };

/** What a reconnect of this identity to `node` gets: welcomed, or refused at hello. */
async function reconnect(ctx: ClusterContext, node: ClusterNode, identity: Identity, from?: string): Promise<HelloAnswer> {
  const client = await ctx.connect(node, { identity, from, noHello: true });
  sendHello(client);
  const answer = await nextFrame(client, (f) => f.type === 'welcome' || (f.type === 'error' && f.ref === 'hello'), 'the answer to hello', CROSS_NODE_MS);
  if (answer.type === 'welcome') return { welcomed: true, client };
  return { welcomed: false, error: answer as ServerFrameOf<'error'>, close: (await client.waitClose()).code };
}

describe('bans across nodes', () => {
  const ctx = useCluster();

  test('a room ban made on A removes the person on B and refuses their join on A, B and C', async () => {
    const [a, b, c] = ctx.nodes;
    const owner = await ctx.connect(a!, { name: uniqueName('Owner') });
    const ownerJoined = await join(owner, 'games');
    const pest = await ctx.connect(b!, { name: uniqueName('Pest') });
    const witness = await ctx.connect(c!, { name: uniqueName('Wit') });
    await join(pest, 'games');
    const witnessJoined = await join(witness, 'games');
    await seesJoin(owner, ownerJoined, 'games', pest.id);
    await seesJoin(witness, witnessJoined, 'games', pest.id);

    owner.send({ type: 'ban', room: 'games', target: pest.id, reason: 'cheating' });
    assert.deepEqual(await pest.next('banned', () => true, CROSS_NODE_MS), { type: 'banned', room: 'games', by: owner.name, reason: 'cheating' });
    const leave = await seesLeave(witness, 'games', pest.id);
    assert.deepEqual(leave, { k: 'leave', id: pest.id, removed: { kind: 'banned', by: owner.name, reason: 'cheating' } });

    const onB = await tryJoin(pest, 'games');
    assert.equal(onB.type, 'error', JSON.stringify(onB));
    assert.equal((onB as ServerFrameOf<'error'>).code, ErrorCode.banned);
    pest.ws.terminate();
    for (const node of [a!, c!]) {
      const back = await reconnect(ctx, node, pest.identity);
      assert.ok(back.welcomed, 'a room ban does not keep anyone off the server');
      if (!back.welcomed) return;
      const refused = await tryJoin(back.client, 'games');
      assert.equal(refused.type, 'error', `node ${node.name}: ${JSON.stringify(refused)}`);
      assert.equal((refused as ServerFrameOf<'error'>).code, ErrorCode.banned);
      assert.equal((refused as ServerFrameOf<'error'>).message, 'You are banned from #games: cheating');
      assert.equal((await tryJoin(back.client, LOBBY)).type, 'joined', 'other rooms stay open');
      back.client.ws.terminate();
    }
  });

  test('a server ban made on A closes the person on C (4005) and refuses their hello on every node; unban on B lets them in', async () => {
    const [a, b, c] = ctx.nodes;
    const admin = await ctx.connect(a!, { name: uniqueName('Root') });
    await becomeAdmin(admin);
    const adminJoined = await join(admin, LOBBY);
    const troll = await ctx.connect(c!, { name: uniqueName('Troll') });
    const watcher = await ctx.connect(b!, { name: uniqueName('Wat') });
    await join(troll, LOBBY);
    const watcherJoined = await join(watcher, LOBBY);
    await seesJoin(watcher, watcherJoined, LOBBY, troll.id);
    await seesJoin(admin, adminJoined, LOBBY, troll.id);

    admin.send({ type: 'ban', target: troll.id, reason: 'flooding' });
    assert.deepEqual(await troll.next('banned', () => true, CROSS_NODE_MS), { type: 'banned', by: admin.name, reason: 'flooding' });
    assert.equal((await troll.waitClose(CROSS_NODE_MS)).code, CloseCode.banned);
    const leave = await seesLeave(watcher, LOBBY, troll.id);
    assert.equal(leave.k === 'leave' && leave.removed?.kind, 'banned');

    for (const node of [a!, b!, c!]) {
      const again = await reconnect(ctx, node, troll.identity);
      assert.equal(again.welcomed, false, `node ${node.name} refuses the banned identity`);
      if (again.welcomed) return;
      assert.equal(again.error.code, ErrorCode.banned);
      assert.equal(again.error.message, 'You are banned from this server: flooding');
      assert.equal(again.close, CloseCode.banned);
    }

    // The ban list is the cluster's: the admin sees it from node B too.
    const admin2 = await ctx.connect(b!, { name: uniqueName('Root') });
    await becomeAdmin(admin2);
    admin2.send({ type: 'list-bans' });
    const bans = (await admin2.next('bans')).bans;
    assert.equal(bans.length, 1, JSON.stringify(bans));
    admin2.send({ type: 'unban', ban: bans[0]!.id });
    assert.deepEqual((await admin2.next('bans')).bans, []);
    const welcomed = await pollUntil('node C lets the unbanned identity in', async () => {
      const attempt = await reconnect(ctx, c!, troll.identity);
      return attempt.welcomed ? attempt : undefined;
    }, CROSS_NODE_MS);
    assert.ok(welcomed.welcomed);
  });

  test('a ban by address made on A refuses that address on B and C, and leaves other addresses alone', async () => {
    const [a, b, c] = ctx.nodes;
    const admin = await ctx.connect(a!, { name: uniqueName('Root'), from: '192.0.2.1' });
    await becomeAdmin(admin);
    const adminJoined = await join(admin, LOBBY);
    const troll = await ctx.connect(b!, { name: uniqueName('Troll'), from: '198.51.100.7' });
    await join(troll, LOBBY);
    // An admin bans someone they can see: node A must have heard of them first.
    await seesJoin(admin, adminJoined, LOBBY, troll.id);
    admin.send({ type: 'ban', target: troll.id, byIp: true, reason: 'evading' });
    assert.equal((await troll.waitClose(CROSS_NODE_MS)).code, CloseCode.banned);
    // A new identity from the same address is refused on C; another address is welcome.
    const fresh = await pollUntil('node C refuses the banned address', async () => {
      const client = await ctx.connect(c!, { from: '198.51.100.7', noHello: true });
      sendHello(client);
      const answer = await nextFrame(client, (f) => f.type === 'welcome' || (f.type === 'error' && f.ref === 'hello'), 'the answer to hello', CROSS_NODE_MS);
      // Welcomed (not yet refused there): this connection goes, the next try is a new one.
      client.ws.terminate();
      return answer.type === 'error' ? answer : undefined;
    }, CROSS_NODE_MS);
    assert.equal((fresh as ServerFrameOf<'error'>).code, ErrorCode.banned);
    assert.ok((await ctx.connect(c!, { from: '198.51.100.8' })).welcome);
  });
});
