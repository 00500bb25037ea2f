// Two Wisp nodes sharing one real Redis (issue 19), each serving the real build: person A's
// browser on node 1, person B's on node 2, each talking only to its own node (through a
// recording proxy, so the test sees what crossed). They see each other in #lobby, chat in
// one order, whisper over a direct WebRTC data channel whose signalling crossed the nodes,
// and a file sent on that link arrives byte for byte.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, waitUntil, type Person } from './support/browser.ts';
import { ClusterScene } from './support/cluster.ts';
import { describeViolations, watchCsp } from './support/csp.ts';
import { TempFiles, accept, attach, save, showConversation, waitTransfer } from './support/files.ts';
import { frameType, type WsProxy } from './support/proxy.ts';
import { RedisServer } from '../support/redis-server.ts';
import {
  installProbe,
  marker,
  openByClick,
  ownKey,
  pathChip,
  readProbe,
  selectWhisper,
  waitSecure,
  waitWhisperDelivered,
  whisperInfo,
  whisperTab,
} from './support/whisper.ts';

const TEST_TIMEOUT = 240_000;
const FILE_WAIT_MS = 60_000;

let browser: Browser;
let redis: RedisServer;
before(async () => {
  browser = await launchBrowser();
  redis = await RedisServer.start();
});
after(async () => {
  await browser?.close();
  // After the nodes (closed by each test's scene): a node that loses Redis says so on stderr.
  await redis?.dispose();
});

type Json = Record<string, unknown>;

/** The JSON frames of `type` that passed `proxy` in `direction`. */
function framesOf(proxy: WsProxy, type: string, direction: 'up' | 'down'): Json[] {
  return proxy.frames.filter((f) => f.direction === direction && frameType(f.text) === type).map((f) => JSON.parse(f.text) as Json);
}

/** The markers among `texts` in the order this person's active room shows them. */
async function shownOrder(p: Person, texts: string[]): Promise<string[]> {
  const lines = await p.lineTexts();
  return lines.flatMap((line) => texts.filter((text) => line.includes(text)));
}

async function myId(p: Person): Promise<string> {
  return waitUntil(`${p.label}'s peer id`, async () => (await p.state()).me.id);
}

test('two people on two nodes: presence, room chat in one order, a direct whisper and a file', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await ClusterScene.open(t, browser, redis.url, 2);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const a = await scene.person('A', 0, { init: watchCsp });
  const b = await scene.person('B', 1, { init: watchCsp });
  const [node1, node2] = [scene.node(0), scene.node(1)];

  // Each node runs the Redis engine and holds exactly one of the two connections.
  for (const index of [0, 1]) {
    const health = await scene.health(index);
    assert.equal(health.engine, 'redis', `node ${index + 1} is a cluster member`);
    assert.equal(health.status, 'ok', `node ${index + 1} reaches Redis`);
    assert.equal(health.connections, 1, `node ${index + 1} serves one person`);
  }
  assert.ok(node1.proxy.frames.some((f) => frameType(f.text) === 'hello') && node2.proxy.frames.some((f) => frameType(f.text) === 'hello'), 'each browser said hello to its own node');

  // Presence crosses the nodes: both see both in #lobby.
  const [aName, bName] = [await a.myName(), await b.myName()];
  await a.waitForMembers([aName, bName]);
  await b.waitForMembers([aName, bName]);
  const [aId, bId] = [await myId(a), await myId(b)];

  // Room chat both ways: A's three lines, then (once B shows them) B's three. Every line
  // has one number, the same on both nodes, and both show all six in that one order.
  const fromA = [marker('room line 1 from A'), marker('room line 2 from A'), marker('room line 3 from A')];
  const fromB = [marker('room line 1 from B'), marker('room line 2 from B'), marker('room line 3 from B')];
  for (const text of fromA) await a.say(text);
  await b.waitForLine(fromA[2]!);
  for (const text of fromB) await b.say(text);
  await a.waitForLine(fromB[2]!);
  for (const text of fromA) await a.waitDelivered(text);
  for (const text of fromB) await b.waitDelivered(text);
  const all = [...fromA, ...fromB];
  await waitUntil("A's #lobby to show the six lines in order", async () => (await shownOrder(a, all)).join('\n') === all.join('\n'));
  await waitUntil("B's #lobby to show the six lines in order", async () => (await shownOrder(b, all)).join('\n') === all.join('\n'));

  // The sender's ack (from its node) and the receiver's message (from the other node) carry the same number.
  const seqs: number[] = [];
  for (const [text, sender, receiver] of [...fromA.map((x) => [x, node1, node2] as const), ...fromB.map((x) => [x, node2, node1] as const)]) {
    const say = framesOf(sender.proxy, 'say', 'up').find((f) => f.text === text);
    assert.ok(say, `the sender's node got "${text}"`);
    const ack = framesOf(sender.proxy, 'ack', 'down').find((f) => f.cid === say.cid);
    const message = framesOf(receiver.proxy, 'message', 'down').find((f) => f.text === text);
    assert.ok(ack && message, `"${text}": an ack on the sender's node (${JSON.stringify(ack)}) and a message on the other (${JSON.stringify(message)})`);
    assert.equal(message.seq, ack.seq, `"${text}" has one number on both nodes`);
    seqs.push(ack.seq as number);
  }
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), `the six lines are numbered in the order they were said: ${seqs.join(', ')}`);
  assert.equal(new Set(seqs).size, 6, 'six different numbers');

  // A whisper: A clicks B in the member list; the link is a direct data channel.
  await installProbe(a);
  await installProbe(b);
  const bKey = await openByClick(a, bName);
  const aKey = await ownKey(a);
  await waitSecure(a, 'direct');
  assert.equal((await pathChip(a).textContent())?.trim(), 'Direct');
  const whisper = marker('whisper from A on node 1');
  await a.say(whisper);
  await waitWhisperDelivered(a, whisper);
  await whisperTab(b, aKey).waitFor();
  await selectWhisper(b, aKey);
  await b.waitForLine(whisper);
  await waitSecure(b, 'direct');
  assert.equal((await pathChip(b).textContent())?.trim(), 'Direct');
  const reply = marker('whisper from B on node 2');
  await b.say(reply);
  await waitWhisperDelivered(b, reply);
  await a.waitForLine(reply);
  assert.deepEqual((await readProbe(b)).received, [whisper], 'B received exactly the one whisper');
  assert.deepEqual((await readProbe(a)).received, [reply], 'A received exactly the one reply');
  assert.equal(await b.countLines(whisper), 1, 'B shows the whisper once');
  assert.equal(await a.countLines(reply), 1, 'A shows the reply once');

  // The WebRTC signalling crossed the nodes: every signal A gave node 1 for B reached B
  // from node 2, and the other way round; none was refused as unreachable.
  const crossed = (from: WsProxy, to: WsProxy, fromId: string, toId: string) => {
    const sent = framesOf(from, 'signal', 'up').filter((f) => f.to === toId).map((f) => f.data);
    const got = new Set(framesOf(to, 'signal', 'down').filter((f) => f.from === fromId).map((f) => f.data));
    return sent.length > 0 && sent.every((data) => got.has(data));
  };
  await waitUntil("every signal from A to reach B through the other node", () => crossed(node1.proxy, node2.proxy, aId, bId));
  await waitUntil("every signal from B to reach A through the other node", () => crossed(node2.proxy, node1.proxy, bId, aId));
  for (const node of [node1, node2]) {
    assert.deepEqual(framesOf(node.proxy, 'error', 'down'), [], 'no error frame from either node');
  }

  // A file on that link: B's conversation with A is open; A attaches, B accepts and saves.
  const file = files.random('cluster-file.bin', 256 * 1024);
  await showConversation(b, aKey);
  await attach(a, file);
  const offered = await waitTransfer(b, file.name, 'in', ['offered']);
  assert.equal(offered.size, file.size, 'the offer announces the size');
  await accept(b, file.name);
  const received = await waitTransfer(b, file.name, 'in', ['done', 'failed', 'cancelled'], FILE_WAIT_MS);
  assert.equal(received.status, 'done', `B's transfer ended ${received.status}: ${received.sentence ?? ''}`);
  const sent = await waitTransfer(a, file.name, 'out', ['done', 'failed', 'cancelled'], FILE_WAIT_MS);
  assert.equal(sent.status, 'done', `A's transfer ended ${sent.status}: ${sent.sentence ?? ''}`);
  const saved = await save(b, file.name);
  assert.equal(saved.sha256, file.sha256, 'the saved file has the SHA-256 of the file A picked');
  assert.equal(saved.suggestedFilename, file.name);

  // Peer to peer all along: the link stayed direct and nothing went through the relay.
  assert.equal((await whisperInfo(a, bKey))?.path, 'direct');
  assert.equal((await whisperInfo(b, aKey))?.path, 'direct');
  for (const node of [node1, node2]) assert.equal(node.proxy.framesOfType('relay').length, 0, 'no relay frame through either node');
  for (const p of [a, b]) assert.deepEqual(describeViolations(await watchCsp(p)), [], `${p.label}: no CSP or Trusted Types violation`);
});
