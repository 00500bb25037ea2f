// Names across nodes: a name held on node A is taken on B and C (by rename, whatever its
// case), free again on every node once its holder leaves or renames; a rename on one node
// reaches room members on the others.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, LOBBY } from '../../signal-server/protocol/protocol.ts';
import { join, rename } from '../server/helpers.ts';
import { pollUntil, sendHello } from '../server/moderation-helpers.ts';
import { eventually } from '../support/cluster-nodes.ts';
import type { TestClient } from '../support/test-client.ts';
import { CROSS_NODE_MS, seesJoin, seesLeave, uniqueName, useCluster } from './cluster-helpers.ts';

/** Renames until it is accepted (a name freed on another node is free there a moment later). */
async function renameWhenFree(client: TestClient, name: string): Promise<void> {
  await pollUntil(`${name} is free for ${client.name}`, async () => {
    const result = await rename(client, name);
    return 'name' in result ? result : undefined;
  }, CROSS_NODE_MS);
}

describe('names across nodes', () => {
  const ctx = useCluster();

  test('a name held on A is refused on B and C in any case; once its holder leaves it is free on B', async () => {
    const [a, b, c] = ctx.nodes;
    const name = uniqueName('Hazel');
    const holder = await ctx.connect(a!, { name });
    const watcher = await ctx.connect(b!);
    const other = await ctx.connect(c!);
    const holderJoined = await join(holder, LOBBY);
    const watcherJoined = await join(watcher, LOBBY);
    await seesJoin(watcher, watcherJoined, LOBBY, holder.id);
    await seesJoin(holder, holderJoined, LOBBY, watcher.id);

    for (const [client, wanted] of [[watcher, name], [other, name.toUpperCase()], [watcher, name.toLowerCase()]] as const) {
      const result = await rename(client, wanted);
      assert.ok('error' in result && result.error === ErrorCode.nameTaken, `${wanted} refused on another node: ${JSON.stringify(result)}`);
    }

    holder.ws.terminate();
    await seesLeave(watcher, LOBBY, holder.id);
    await renameWhenFree(watcher, name);
    // Now B's person holds it: refused on C, and on A.
    const onC = await rename(other, name);
    assert.ok('error' in onC && onC.error === ErrorCode.nameTaken, JSON.stringify(onC));
    const latecomer = await ctx.connect(a!);
    const onA = await rename(latecomer, name);
    assert.ok('error' in onA && onA.error === ErrorCode.nameTaken, JSON.stringify(onA));
  });

  test('a name asked for at hello on B while held on A is not given twice', async () => {
    const [a, b] = ctx.nodes;
    const name = uniqueName('Iris');
    const first = await ctx.connect(a!, { name });
    assert.equal(first.name, name);
    const second = await ctx.connect(b!, { name });
    assert.notEqual(second.name.toLowerCase(), name.toLowerCase(), `node B gave out ${second.name} while A holds ${name}`);
  });

  test('one name asked for on A and B at the same moment ends with one holder: the other is told and gets another name', async () => {
    const [a, b, c] = ctx.nodes;
    const name = uniqueName('Twin');
    const one = await ctx.connect(a!, { noHello: true });
    const two = await ctx.connect(b!, { noHello: true });
    // Both hellos in one turn: each node may give the name out before it hears of the other.
    sendHello(one, name);
    sendHello(two, name);
    const welcomes = await Promise.all([one.next('welcome', () => true, CROSS_NODE_MS), two.next('welcome', () => true, CROSS_NODE_MS)]);
    one.welcome = welcomes[0];
    two.welcome = welcomes[1];
    const current = (client: typeof one, welcomed: string) => client.all('name').at(-1)?.name ?? welcomed;
    const welcomedAs = welcomes.map((w) => w.name);
    await eventually(() => {
      const names = [current(one, welcomedAs[0]!), current(two, welcomedAs[1]!)];
      return names.filter((n) => n.toLowerCase() === name.toLowerCase()).length === 1 ? true : undefined;
    }, 'exactly one of the two holds the name', CROSS_NODE_MS);
    // A third person on C sees two different names.
    const watcher = await ctx.connect(c!);
    const joined = await join(watcher, LOBBY);
    for (const client of [one, two]) await join(client, LOBBY);
    await seesJoin(watcher, joined, LOBBY, one.id);
    await seesJoin(watcher, joined, LOBBY, two.id);
    const namesOnC = watcher.all('presence').flatMap((p) => p.events).filter((e) => e.k === 'join').map((e) => ('member' in e ? e.member.name : ''));
    const twins = namesOnC.filter((n) => n.toLowerCase() === name.toLowerCase());
    assert.equal(twins.length, 1, `C sees ${JSON.stringify(namesOnC)}`);
  });

  test('an old name is free on every node after a rename on A', async () => {
    const [a, , c] = ctx.nodes;
    const before = uniqueName('Before');
    const after = uniqueName('After');
    const first = await ctx.connect(a!, { name: before });
    assert.deepEqual(await rename(first, after), { name: after });
    const onC = await ctx.connect(c!);
    await renameWhenFree(onC, before);
    const taken = await rename(await ctx.connect(c!), after);
    assert.ok('error' in taken && taken.error === ErrorCode.nameTaken, 'the new name is held');
  });
});
