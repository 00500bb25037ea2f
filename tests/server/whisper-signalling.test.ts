// Whisper signalling and the relay fallback: frames pass only between people who share
// a room, stamped with the sender; ICE servers and TURN REST credentials in welcome.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ErrorCode, LIMITS, LOBBY } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { iceServersFor } from '../../signal-server/ice.ts';
import { parseConfig, ConfigError } from '../../signal-server/config.ts';
import { Scope, join, nextError, presenceEvent, roundTrip } from './helpers.ts';

describe('whisper signalling', () => {
  let scope: Scope;
  let server: RunningServer;
  beforeEach(async () => {
    scope = new Scope();
    server = await scope.server();
  });
  afterEach(() => scope.dispose());

  test('signal and relay frames reach a room-mate, stamped with the sender id', async () => {
    const [ann, bob] = await Promise.all([scope.client(server, { name: 'Ann' }), scope.client(server, { name: 'Bob' })]);
    await join(ann, LOBBY);
    await join(bob, LOBBY);
    ann.send({ type: 'signal', to: bob.id, data: '{"k":"open"}' });
    assert.deepEqual(await bob.next('signal'), { type: 'signal', from: ann.id, data: '{"k":"open"}' });
    ann.send({ type: 'relay', to: bob.id, data: 'AQIDBA' });
    assert.deepEqual(await bob.next('relay'), { type: 'relay', from: ann.id, data: 'AQIDBA' });
  });

  test('a joiner who signals at once reaches someone who already knows them: the join comes first', async () => {
    // A wide presence window: the joiner has the room's snapshot long before the batch is due.
    const slow = await scope.server({ presenceWindowMs: 1_000 });
    const [ann, bob] = await Promise.all([scope.client(slow, { name: 'Ann' }), scope.client(slow, { name: 'Bob' })]);
    await join(ann, LOBBY);
    await presenceEvent(ann, LOBBY, (e) => e.k === 'join' && e.member.id === ann.id);
    await join(bob, LOBBY);
    bob.send({ type: 'signal', to: ann.id, data: '{"k":"open"}' });
    bob.send({ type: 'relay', to: ann.id, data: 'AQIDBA' });
    await ann.next('relay');
    const order = ann.frames.map((f) => (f.type === 'presence' && f.events.some((e) => e.k === 'join' && e.member.id === bob.id) ? 'join' : f.type));
    assert.deepEqual(order.filter((t) => t === 'join' || t === 'signal'), ['join', 'signal']);
  });

  test('a forged "from" is ignored: the server stamps the real sender', async () => {
    const [ann, bob, cat] = await Promise.all([scope.client(server), scope.client(server), scope.client(server)]);
    for (const c of [ann, bob, cat]) await join(c, LOBBY);
    ann.send({ type: 'signal', to: bob.id, from: cat.id, data: 'x' });
    assert.equal((await bob.next('signal')).from, ann.id);
  });

  test('someone who shares no room is unreachable, and gets nothing', async () => {
    const [ann, bob] = await Promise.all([scope.client(server), scope.client(server)]);
    await join(ann, 'music');
    await join(bob, 'games');
    ann.send({ type: 'signal', to: bob.id, data: 'offer' });
    const error = await nextError(ann, ErrorCode.peerUnreachable, bob.id);
    assert.match(error.message, /not in any room with you/);
    ann.send({ type: 'relay', to: bob.id, data: 'AAAA' });
    await nextError(ann, ErrorCode.peerUnreachable, bob.id);
    await roundTrip(bob);
    assert.equal(bob.all('signal').length + bob.all('relay').length, 0);
  });

  test('after the last shared room is left, signalling stops', async () => {
    const [ann, bob] = await Promise.all([scope.client(server), scope.client(server)]);
    await join(ann, LOBBY);
    await join(bob, LOBBY);
    bob.send({ type: 'leave', room: LOBBY });
    await bob.next('left');
    ann.send({ type: 'signal', to: bob.id, data: 'x' });
    await nextError(ann, ErrorCode.peerUnreachable, bob.id);
  });

  test('unknown peer ids, oneself, bad relay data and oversized payloads get typed errors', async () => {
    const ann = await scope.client(server);
    await join(ann, LOBBY);
    ann.send({ type: 'signal', to: 'pnobody', data: 'x' });
    await nextError(ann, ErrorCode.peerUnreachable, 'pnobody');
    ann.send({ type: 'signal', to: ann.id, data: 'x' });
    await nextError(ann, ErrorCode.peerUnreachable, ann.id);
    ann.send({ type: 'relay', to: ann.id, data: 'not base64!' });
    await nextError(ann, ErrorCode.badFrame);
    ann.send({ type: 'signal', to: ann.id, data: 'x'.repeat(LIMITS.signalMaxLength + 1) });
    await nextError(ann, ErrorCode.badFrame);
  });

  test('signalling also reaches the other person when they rejoin with a new peer id', async () => {
    const ann = await scope.client(server);
    const bob = await scope.client(server);
    await join(ann, LOBBY);
    await join(bob, LOBBY);
    const bobAgain = await scope.client(server, { identity: bob.identity });
    assert.notEqual(bobAgain.id, bob.id);
    await join(bobAgain, LOBBY);
    await presenceEvent(ann, LOBBY, (e) => e.k === 'join' && e.member.id === bobAgain.id);
    ann.send({ type: 'signal', to: bob.id, data: 'old' });
    await nextError(ann, ErrorCode.peerUnreachable, bob.id);
    ann.send({ type: 'signal', to: bobAgain.id, data: 'new' });
    assert.equal((await bobAgain.next('signal')).data, 'new');
  });
});

describe('ICE servers in welcome', () => {
  let scope: Scope;
  beforeEach(() => {
    scope = new Scope();
  });
  afterEach(() => scope.dispose());

  test('none by default: a LAN needs none', async () => {
    const server = await scope.server();
    const ann = await scope.client(server);
    assert.deepEqual(ann.welcome!.iceServers, []);
  });

  test('STUN and TURN with time-limited coturn REST credentials', async () => {
    const ice = { stunUrls: ['stun:127.0.0.1:3478'], turnUrls: ['turn:127.0.0.1:3478'], turnSecret: 's3cret', turnTtlSeconds: 600 };
    const server = await scope.server({ ice });
    const before = Math.floor(Date.now() / 1000);
    const ann = await scope.client(server);
    const [stun, turn] = ann.welcome!.iceServers;
    assert.deepEqual(stun, { urls: ['stun:127.0.0.1:3478'] });
    assert.deepEqual(turn.urls, ['turn:127.0.0.1:3478']);
    const [expiry, peer] = turn.username!.split(':');
    assert.equal(peer, ann.id);
    assert.ok(Number(expiry) >= before + 600 && Number(expiry) <= before + 602, `expiry ${expiry}`);
    assert.equal(turn.credential, createHmac('sha1', 's3cret').update(turn.username!).digest('base64'));
  });

  test('each connection gets its own credential', () => {
    const ice = { stunUrls: [], turnUrls: ['turns:turn.example.org:5349'], turnSecret: 'k', turnTtlSeconds: 60 };
    const a = iceServersFor(ice, 'pa', 1_000_000);
    const b = iceServersFor(ice, 'pb', 1_000_000);
    assert.notEqual(a[0].username, b[0].username);
    assert.notEqual(a[0].credential, b[0].credential);
    assert.equal(a[0].username, '1060:pa');
  });

  test('flags: repeatable URLs, env lists, and TURN without a secret is refused', () => {
    const parsed = parseConfig(['--stun', 'stun:a.example:3478', '--stun', 'stun:b.example', '--turn', 'turn:t.example', '--turn-secret', 'x'], {}, '/tmp');
    assert.ok(!parsed.help);
    if (!parsed.help) {
      assert.deepEqual(parsed.config.ice.stunUrls, ['stun:a.example:3478', 'stun:b.example']);
      assert.deepEqual(parsed.config.ice.turnUrls, ['turn:t.example']);
      assert.equal(parsed.config.ice.turnTtlSeconds, 3600);
    }
    const fromEnv = parseConfig([], { WISP_STUN: 'stun:x.example, stun:y.example' }, '/tmp');
    assert.ok(!fromEnv.help && fromEnv.config.ice.stunUrls.length === 2);
    assert.throws(() => parseConfig(['--turn', 'turn:t.example'], {}, '/tmp'), ConfigError);
    assert.throws(() => parseConfig(['--stun', 'http://nope'], {}, '/tmp'), ConfigError);
    assert.throws(() => parseConfig(['--turn-ttl', '5'], {}, '/tmp'), ConfigError);
  });
});
