// Limits and bad input: rate limits, abuse, frame size, malformed and invalid frames,
// the per-address connection cap and the heartbeat. Every bad input gets a clear error,
// the server stays up and other people are unaffected.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode, ErrorCode, LIMITS, LOBBY, PROTOCOL_VERSION } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { makeIdentity, signChallenge } from '../support/test-client.ts';
import { Scope, TestClient, closeCode, join, nextError, presenceEvent, roundTrip, until } from './helpers.ts';

let scope: Scope;
beforeEach(() => {
  scope = new Scope();
});
afterEach(() => scope.dispose());

/** Two people in the lobby who have seen each other. */
async function pair(server: RunningServer): Promise<[TestClient, TestClient]> {
  const [a, b] = await scope.clientsOf(server, 2);
  await join(a, LOBBY);
  await join(b, LOBBY);
  await presenceEvent(a, LOBBY, (e) => e.k === 'join' && e.member.id === b.id);
  return [a, b];
}

/** Chats once from `from` to `to` and checks it arrived: "the server still serves". */
async function chats(from: TestClient, to: TestClient, cid: string): Promise<void> {
  from.send({ type: 'say', room: LOBBY, cid, text: `still here ${cid}` });
  await from.next('ack', (a) => a.cid === cid);
  await to.next('message', (m) => m.text === `still here ${cid}`);
}

describe('rate limit', () => {
  test('the say after the burst gets rate-limited with ref = cid and retryAfterMs; others are unaffected', async () => {
    const server = await scope.server({ sayPerMinute: 30, sayBurst: 3 });
    const [fast, other] = await pair(server);
    for (const cid of ['m1', 'm2', 'm3', 'm4']) fast.send({ type: 'say', room: LOBBY, cid, text: cid });
    for (const cid of ['m1', 'm2', 'm3']) await fast.next('ack', (a) => a.cid === cid);
    const error = await nextError(fast, ErrorCode.rateLimited, 'm4');
    assert.ok(error.retryAfterMs !== undefined && error.retryAfterMs > 0, `retryAfterMs = ${error.retryAfterMs}`);
    // 30 per minute: one token every 2 s at most.
    assert.ok(error.retryAfterMs! <= 2000, `retryAfterMs = ${error.retryAfterMs}`);
    await roundTrip(fast);
    assert.equal(fast.all('ack').length, 0, 'm4 was not acked');

    await roundTrip(other);
    assert.deepEqual(other.all('message').map((m) => m.text), ['m1', 'm2', 'm3'], 'm4 was not relayed');
    // The other person has a bucket of their own; the limited one is still connected.
    await chats(other, fast, 'o1');
    assert.equal(fast.closed, undefined);
  });

  test('a rate-limited cid is not remembered: it can be sent again later', async () => {
    const server = await scope.server({ sayPerMinute: 30, sayBurst: 1 });
    const [fast] = await pair(server);
    fast.send({ type: 'say', room: LOBBY, cid: 'x1', text: 'one' });
    fast.send({ type: 'say', room: LOBBY, cid: 'x2', text: 'two' });
    await fast.next('ack', (a) => a.cid === 'x1');
    await nextError(fast, ErrorCode.rateLimited, 'x2');
    // Resending at once is still limited (not acked as if it had been sent).
    fast.send({ type: 'say', room: LOBBY, cid: 'x2', text: 'two' });
    await nextError(fast, ErrorCode.rateLimited, 'x2');
    await roundTrip(fast);
    assert.equal(fast.all('ack').length, 0);
  });

  test('repeatedly exceeding the rate closes the socket with 4001', async () => {
    const server = await scope.server({ sayPerMinute: 30, sayBurst: 1 });
    const [fast, other] = await pair(server);
    for (let i = 0; i < LIMITS.rateStrikesBeforeClose + 5; i++) fast.send({ type: 'say', room: LOBBY, cid: `f${i}`, text: 'spam' });
    const closed = await fast.waitClose();
    assert.equal(closed.code, CloseCode.rateLimited);
    assert.ok(fast.all('error').filter((e) => e.code === ErrorCode.rateLimited).length >= LIMITS.rateStrikesBeforeClose - 1);
    await roundTrip(other);
    assert.equal(other.all('message').length, 1, 'only the first (within the burst) was relayed');
  });
});

describe('abuse', () => {
  test('many bad frames close the socket with 4000; the server keeps serving others', async () => {
    const server = await scope.server();
    const [bad, a] = await pair(server);
    const b = await scope.client(server);
    await join(b, LOBBY);
    for (let i = 0; i < LIMITS.rateStrikesBeforeClose + 5; i++) bad.sendRaw('{not json');
    const closed = await bad.waitClose();
    assert.equal(closed.code, CloseCode.protocolError);
    assert.ok(bad.all('error').length >= LIMITS.rateStrikesBeforeClose - 1);
    await chats(a, b, 'after-abuse');
  });

  test('frames that arrive after the server closed a socket for abuse are not acted on', async () => {
    const server = await scope.server();
    const [bad, other] = await pair(server);
    // All in one go: the say is already on the wire when the server decides to close.
    for (let i = 0; i < LIMITS.rateStrikesBeforeClose; i++) bad.sendRaw('{not json');
    bad.send({ type: 'say', room: LOBBY, cid: 'parting-shot', text: 'after the close' });
    bad.send({ type: 'join', room: 'haunted' });
    assert.equal((await bad.waitClose()).code, CloseCode.protocolError);
    // The server handled every frame of `bad` before the close completed, so any relay
    // to `other` is already queued before this round trip's pong.
    await roundTrip(other);
    assert.equal(other.all('message').length, 0, 'a message from a socket closed for abuse was relayed');
    other.send({ type: 'list-rooms' });
    const rooms = (await other.next('rooms')).rooms;
    assert.ok(!rooms.some((r) => r.name === 'haunted'), 'a closed socket joined a room');
  });

  test('too many frames of any kind are rate-limited too', async () => {
    const server = await scope.server();
    const client = await scope.client(server);
    const count = LIMITS.framesBurst + 10;
    for (let i = 0; i < count; i++) client.send({ type: 'ping' });
    // Every ping is answered by a pong or a rate-limited error, in order.
    const pongs = () => client.all('pong').length;
    const limited = () => client.all('error').filter((e) => e.code === ErrorCode.rateLimited).length;
    await until(client, () => pongs() + limited() === count, 'every ping was answered');
    // The bucket refills at 10 frames a second, so at most a few more than the burst pass.
    assert.ok(limited() >= 1, `${pongs()} pongs, ${limited()} rate-limited`);
    assert.ok(pongs() >= LIMITS.framesBurst - 1, 'the burst itself (less the hello) is allowed');
    assert.equal(client.closed, undefined, 'a few excess frames do not close the socket');
  });
});

describe('frame size', () => {
  test('a 1 MiB frame is refused with close 1009 while another client still chats', async () => {
    const server = await scope.server();
    const [big, a] = await pair(server);
    const b = await scope.client(server);
    await join(b, LOBBY);
    big.send({ type: 'say', room: LOBBY, cid: 'huge', text: 'x'.repeat(1024 * 1024) });
    assert.equal((await big.waitClose()).code, CloseCode.tooBig);
    await chats(a, b, 'after-big');
    await presenceEvent(a, LOBBY, (e) => e.k === 'leave' && e.id === big.id);
  });

  test('a frame just over 64 KiB is refused too; one just under is read (and judged by its schema)', async () => {
    const server = await scope.server();
    const under = await scope.client(server);
    under.sendRaw(JSON.stringify({ type: 'ping', pad: 'p'.repeat(LIMITS.maxFrameBytes - 100) }));
    await under.next('pong');
    const over = await scope.client(server);
    over.sendRaw(JSON.stringify({ type: 'ping', pad: 'p'.repeat(LIMITS.maxFrameBytes) }));
    assert.equal((await over.waitClose()).code, CloseCode.tooBig);
  });
});

describe('malformed and invalid frames', () => {
  let server: RunningServer;
  let client: TestClient;
  beforeEach(async () => {
    server = await scope.server();
    client = await scope.client(server);
    await join(client, LOBBY);
  });

  /** Sends raw text, expects one error with `code`, and checks the connection still works. */
  async function expectError(raw: string, code: string): Promise<void> {
    client.sendRaw(raw);
    const error = await nextError(client, code);
    assert.ok(error.message.length > 5, 'the error explains itself');
    await roundTrip(client);
    assert.equal(client.closed, undefined);
  }

  test('malformed JSON gets bad-json', () => expectError('{"type": "ping"', ErrorCode.badJson));
  test('an empty frame gets bad-json', () => expectError('', ErrorCode.badJson));
  test('a JSON array gets bad-frame', () => expectError('[{"type":"ping"}]', ErrorCode.badFrame));
  test('JSON null gets bad-frame', () => expectError('null', ErrorCode.badFrame));
  test('a JSON string gets bad-frame', () => expectError('"ping"', ErrorCode.badFrame));

  test('an unknown type gets unknown-type with the type as ref', async () => {
    client.send({ type: 'teleport', to: 'mars' });
    assert.equal((await nextError(client, ErrorCode.unknownType)).ref, 'teleport');
  });

  test('a missing or non-string type gets unknown-type', async () => {
    await expectError('{"room":"lobby"}', ErrorCode.unknownType);
    await expectError('{"type":42}', ErrorCode.unknownType);
  });

  test('a server-only type sent by a client gets unknown-type', () => expectError('{"type":"welcome"}', ErrorCode.unknownType));

  test('a binary frame gets binary-frame', async () => {
    client.sendRaw(Buffer.from(JSON.stringify({ type: 'ping' })), true);
    await nextError(client, ErrorCode.binaryFrame);
    await roundTrip(client);
    assert.equal(client.all('pong').length, 0, 'the binary ping was not answered');
  });

  const schemaViolations: [string, unknown][] = [
    ['text one character too long', { type: 'say', room: LOBBY, cid: 'long', text: 'x'.repeat(LIMITS.messageMaxLength + 1) }],
    ['empty text', { type: 'say', room: LOBBY, cid: 'empty', text: '' }],
    ['a missing cid', { type: 'say', room: LOBBY, text: 'hi' }],
    ['a cid with odd characters', { type: 'say', room: LOBBY, cid: 'a b/c', text: 'hi' }],
    ['a cid that is too long', { type: 'say', room: LOBBY, cid: 'c'.repeat(LIMITS.clientMessageIdMaxLength + 1), text: 'hi' }],
    ['an unknown message kind', { type: 'say', room: LOBBY, cid: 'k', text: 'hi', kind: 'shout' }],
    ['a number where a string belongs', { type: 'join', room: 5 }],
    ['an object where a string belongs', { type: 'say', room: LOBBY, cid: 'o', text: { toString: 'x' } }],
    ['an array where a string belongs', { type: 'rename', name: ['Bob'] }],
    ['a missing room', { type: 'join' }],
    ['an empty room', { type: 'join', room: '' }],
    ['a huge version number', { type: 'hello', v: 1e308, key: 'k', sig: 's' }],
    ['a non-integer version', { type: 'hello', v: 1.5, key: 'k', sig: 's' }],
    ['a negative version', { type: 'hello', v: -1, key: 'k', sig: 's' }],
    ['a version beyond 2^53', { type: 'hello', v: 2 ** 60, key: 'k', sig: 's' }],
    ['deep nesting', { type: 'say', room: LOBBY, cid: 'deep', text: nest(500) }],
  ];
  for (const [why, frame] of schemaViolations) {
    test(`bad-frame: ${why}`, async () => {
      client.send(frame);
      const error = await nextError(client, ErrorCode.badFrame);
      assert.equal(error.ref, (frame as { type: string }).type);
      await roundTrip(client);
      assert.equal(client.all('ack').length, 0);
      assert.equal(client.all('joined').length, 0);
      assert.equal(client.closed, undefined);
    });
  }

  test('bad-frame: deep nesting written out as raw JSON', async () => {
    const depth = 20_000;
    await expectError(`{"type":"join","room":${'['.repeat(depth)}${']'.repeat(depth)}}`, ErrorCode.badFrame);
  });

  test('huge numbers in raw JSON are refused, not misread', async () => {
    const key = client.identity.key;
    await expectError(`{"type":"hello","v":1e999,"key":"${key}","sig":"x"}`, ErrorCode.badFrame);
    await expectError(`{"type":"hello","v":100000000000000000000001,"key":"${key}","sig":"x"}`, ErrorCode.badFrame);
  });

  test('unknown extra fields are ignored, and a __proto__ key does no harm', async () => {
    client.sendRaw('{"type":"ping","extra":1,"__proto__":{"polluted":true}}');
    await client.next('pong');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('after all of that, the same connection still chats', async () => {
    client.sendRaw('{');
    client.send({ type: 'nope' });
    client.sendRaw(Buffer.from([1, 2, 3]), true);
    client.send({ type: 'say', room: LOBBY, cid: 'x'.repeat(100), text: 'x' });
    for (const code of [ErrorCode.badJson, ErrorCode.unknownType, ErrorCode.binaryFrame, ErrorCode.badFrame]) await nextError(client, code);
    const other = await scope.client(server);
    await join(other, LOBBY);
    await chats(client, other, 'survivor');
  });
});

describe('connection cap per address', () => {
  test('with maxConnectionsPerIp 3, the 4th connection is closed with 4007; a freed slot can be reused', async () => {
    const server = await scope.server({ maxConnectionsPerIp: 3 });
    const clients = await scope.clientsOf(server, 3);
    const fourth = scope.raw(server);
    assert.equal(await closeCode(fourth), CloseCode.tooManyConnections);
    // The three are untouched.
    for (const c of clients) await roundTrip(c);
    assert.equal(server.hub.size, 3);

    clients[0].close();
    await clients[0].waitClose();
    // The server may see the close a moment after the client does: retry a few times
    // (each attempt is refused or accepted, no timing is asserted).
    let accepted: TestClient | undefined;
    for (let attempt = 0; attempt < 20 && !accepted; attempt++) {
      accepted = await scope.client(server, { timeoutMs: 1000 }).catch(() => undefined);
    }
    assert.ok(accepted, 'a slot freed by a disconnect is available again');
    assert.equal(server.hub.size, 3);
  });

  test('connections that never say hello count against the cap too', async () => {
    const server = await scope.server({ maxConnectionsPerIp: 2 });
    await scope.client(server, { noHello: true });
    await scope.client(server, { noHello: true });
    assert.equal(await closeCode(scope.raw(server)), CloseCode.tooManyConnections);
  });
});

describe('heartbeat', () => {
  test('a client that never answers pings is dropped; one that answers stays', async () => {
    const server = await scope.server({ heartbeatMs: 250 });
    const live = await scope.client(server);
    await join(live, LOBBY);

    const silent = scope.raw(server, { ws: { autoPong: false } });
    let pings = 0;
    silent.on('ping', () => pings++);
    // The silent socket says hello properly, so it is a full member of the lobby.
    const challenge = await new Promise<string>((resolve) => silent.once('message', (data) => resolve(JSON.parse(data.toString()).nonce)));
    const identity = makeIdentity();
    silent.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, key: identity.key, sig: signChallenge(identity, challenge) }));
    const welcome = await new Promise<{ id: string }>((resolve) => silent.once('message', (data) => resolve(JSON.parse(data.toString()))));
    silent.send(JSON.stringify({ type: 'join', room: LOBBY }));

    const code = await closeCode(silent, 10_000);
    // Terminated, not closed politely: there is no close frame, so ws reports 1006.
    assert.equal(code, 1006);
    assert.ok(pings >= 1, 'the server pinged before dropping');
    await presenceEvent(live, LOBBY, (e) => e.k === 'leave' && e.id === welcome.id);
    // The client that answers pings is still here.
    await roundTrip(live);
    assert.equal(live.closed, undefined);
    assert.equal(server.hub.size, 1);
  });
});

function nest(depth: number): unknown {
  let value: unknown = 'core';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}
