// The per-address connection cap counts over the whole cluster: with maxConnectionsPerIp
// 3, three people from one address on nodes A and B leave no room for a fourth on C (4007)
// once C knows about them (the count is each node's replica: connections that arrive on
// several nodes within the same instant can pass it briefly), other addresses are not
// affected, and a slot freed on A can be used on C.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { CloseCode, LOBBY, PROTOCOL_VERSION, SUBPROTOCOL, WS_PATH, parseServerFrame } from '../../signal-server/protocol/protocol.ts';
import { pollUntil } from '../server/moderation-helpers.ts';
import { makeIdentity, signChallenge } from '../support/test-client.ts';
import type { ClusterNode } from '../support/cluster-nodes.ts';
import { join } from '../server/helpers.ts';
import { CROSS_NODE_MS, seesJoin, useCluster } from './cluster-helpers.ts';

type Attempt = { welcomed: true; ws: WebSocket; id: string } | { welcomed: false; code: number };

const sockets: WebSocket[] = [];
after(() => {
  for (const ws of sockets) ws.terminate();
});

/**
 * Connects to `node` as if from `from` (X-Forwarded-For through the trusted loopback proxy)
 * and says hello: welcomed, or the close code it was refused with (at the upgrade or at hello).
 */
function attempt(node: ClusterNode, from: string): Promise<Attempt> {
  const identity = makeIdentity();
  const ws = new WebSocket(node.url.replace(/^http/, 'ws') + WS_PATH, SUBPROTOCOL, { headers: { 'X-Forwarded-For': from } });
  sockets.push(ws);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no welcome and no close from node ${node.name}`)), CROSS_NODE_MS);
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const parsed = parseServerFrame(String(data));
      if (!parsed.ok) return;
      const frame = parsed.frame;
      if (frame.type === 'challenge') {
        ws.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, key: identity.key, sig: signChallenge(identity, frame.nonce) }));
      } else if (frame.type === 'welcome') {
        clearTimeout(timer);
        // In the lobby, so the other nodes' people see that this one is here.
        ws.send(JSON.stringify({ type: 'join', room: LOBBY }));
        resolve({ welcomed: true, ws, id: frame.id });
      }
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      resolve({ welcomed: false, code });
    });
  });
}

describe('the per-address cap across nodes', () => {
  const ctx = useCluster({ maxConnectionsPerIp: 3 });

  test('three from one address on A and B: a fourth on C is refused with 4007; other addresses are welcome; a slot freed on A is usable on C', async () => {
    const [a, b, c] = ctx.nodes;
    const home = '203.0.113.5';
    // Someone on C, from elsewhere, sees in the lobby when C knows about a connection.
    const watcher = await ctx.connect(c!, { from: '192.0.2.1' });
    const watcherJoined = await join(watcher, LOBBY);
    const first = await attempt(a!, home);
    const second = await attempt(a!, home);
    const third = await attempt(b!, home);
    for (const [i, x] of [first, second, third].entries()) {
      assert.ok(x.welcomed, `connection ${i + 1} of 3 is welcome`);
      if (x.welcomed) await seesJoin(watcher, watcherJoined, LOBBY, x.id);
    }

    const fourth = await attempt(c!, home);
    assert.deepEqual(fourth, { welcomed: false, code: CloseCode.tooManyConnections }, 'the fourth, on another node, is over the cluster-wide cap');
    const neighbour = await attempt(c!, '203.0.113.6');
    assert.ok(neighbour.welcomed, 'another address is not affected');

    // One from that address leaves A: C takes one more (once the cluster counts the leave), and no more.
    if (first.welcomed) first.ws.close();
    const reused = await pollUntil('node C has a free slot for the address', async () => {
      const x = await attempt(c!, home);
      return x.welcomed ? x : undefined;
    }, CROSS_NODE_MS);
    assert.ok(reused.welcomed);
    if (reused.welcomed) await seesJoin(watcher, undefined, LOBBY, reused.id);
    // Two on A and B and one on C again: full.
    const fifth = await attempt(c!, home);
    assert.deepEqual(fifth, { welcomed: false, code: CloseCode.tooManyConnections });
  });
});
