// Redis away for a while: each node keeps delivering between its own people, /healthz says
// degraded while Redis is away and ok once it is back, and when Redis comes back (empty, or
// with its data) the nodes converge again: a newcomer anywhere sees everyone, and chat
// crosses nodes again.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from '../server/helpers.ts';
import { pollUntil } from '../server/moderation-helpers.ts';
import { sayAll } from '../server/history-helpers.ts';
import { eventually, health, type ClusterNode } from '../support/cluster-nodes.ts';
import type { TestClient } from '../support/test-client.ts';
import { seesJoin, seesLeave, uniqueName, useCluster, type ClusterContext } from './cluster-helpers.ts';

/** How long a node may take to notice Redis went away or came back (its retry backs off to a few seconds). */
const NOTICE_MS = 20_000;

/** /healthz says the node runs without its cluster: the word "degraded" anywhere in its answer. */
async function degraded(node: ClusterNode): Promise<boolean> {
  return JSON.stringify((await health(node.url)).body).includes('degraded');
}

async function healthy(node: ClusterNode): Promise<boolean> {
  const { status, body } = await health(node.url);
  return status === 200 && body.ok === true && !JSON.stringify(body).includes('degraded');
}

/** Three people on A (two) and B (one) in #club, everyone seeing everyone. */
async function people(ctx: ClusterContext): Promise<{ ann: TestClient; amy: TestClient; bob: TestClient }> {
  const [a, b] = ctx.nodes;
  const ann = await ctx.connect(a!, { name: uniqueName('Ann') });
  const amy = await ctx.connect(a!, { name: uniqueName('Amy') });
  const bob = await ctx.connect(b!, { name: uniqueName('Bob') });
  const joined = [await join(ann, 'club'), await join(amy, 'club'), await join(bob, 'club')];
  const all = [ann, amy, bob];
  for (const [i, client] of all.entries()) for (const other of all) if (other !== client) await seesJoin(client, joined[i], 'club', other.id);
  return { ann, amy, bob };
}

/** After Redis is back: a newcomer on C sees the people of A and B in #club, and chat crosses nodes again. */
async function converges(ctx: ClusterContext, { ann, amy, bob }: { ann: TestClient; amy: TestClient; bob: TestClient }): Promise<void> {
  const [a, b, c] = ctx.nodes;
  await eventually(async () => ((await healthy(a!)) && (await healthy(b!)) && (await healthy(c!)) ? true : undefined), '/healthz says ok on every node again', NOTICE_MS);
  await pollUntil('a newcomer on C sees Ann, Amy and Bob in #club', async () => {
    const newcomer = await ctx.connect(c!, { name: uniqueName('New') });
    const snapshot = await join(newcomer, 'club');
    const ids = new Set(snapshot.members.map((m) => m.id));
    newcomer.ws.terminate();
    return [ann, amy, bob].every((x) => ids.has(x.id)) ? true : undefined;
  }, NOTICE_MS);
  await sayAll(bob, 'club', ['across again']);
  await ann.next('message', (m) => m.text === 'across again', NOTICE_MS);
  await amy.next('message', (m) => m.text === 'across again', NOTICE_MS);
}

describe('Redis away for a while', () => {
  const ctx = useCluster();

  test('local delivery goes on and /healthz says degraded; Redis back empty: ok again and presence converges', { timeout: 90_000 }, async () => {
    const [a] = ctx.nodes;
    const group = await people(ctx);
    assert.ok(await healthy(a!), 'ok before the outage');

    await ctx.redis.stop();
    await eventually(async () => ((await degraded(a!)) ? true : undefined), '/healthz on A says degraded', NOTICE_MS);
    // Two people on the same node still talk.
    await sayAll(group.ann, 'club', ['while Redis is away']);
    const local = await group.amy.next('message', (m) => m.text === 'while Redis is away', NOTICE_MS);
    assert.equal(local.from, group.ann.id);

    // Changes made while Redis is away: someone new on B joins, someone on A leaves.
    const [, b] = ctx.nodes;
    const bea = await ctx.connect(b!, { name: uniqueName('Bea') });
    await join(bea, 'club');
    group.amy.send({ type: 'leave', room: 'club' });
    await group.amy.next('left');

    await ctx.redis.start({ empty: true });
    // Once Redis is back the nodes share them: A sees Bea come, B sees Amy gone.
    await seesJoin(group.ann, undefined, 'club', bea.id, NOTICE_MS);
    await seesLeave(group.bob, 'club', group.amy.id, NOTICE_MS);
    await join(group.amy, 'club');
    await converges(ctx, group);
  });

  test('Redis back with its data: ok again and presence converges', { timeout: 90_000 }, async () => {
    const [a] = ctx.nodes;
    const group = await people(ctx);
    await ctx.redis.stop({ save: true });
    await eventually(async () => ((await degraded(a!)) ? true : undefined), '/healthz on A says degraded', NOTICE_MS);
    await sayAll(group.amy, 'club', ['still local']);
    await group.ann.next('message', (m) => m.text === 'still local', NOTICE_MS);

    await ctx.redis.start();
    assert.ok(((await ctx.redis.command('DBSIZE')) as number) > 0, 'Redis came back with its data');
    await converges(ctx, group);
  });
});
