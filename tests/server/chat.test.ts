// The client message types after hello: join, leave (with farewell), say (ack, relay,
// actions, dedup), rename, list-rooms and ping; and the leave on disconnect.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, LOBBY } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { Scope, TestClient, join, listRooms, nextError, presenceEvent, roundTrip } from './helpers.ts';

describe('chat', () => {
  let scope: Scope;
  let server: RunningServer;
  beforeEach(async () => {
    scope = new Scope();
    server = await scope.server();
  });
  afterEach(() => scope.dispose());

  /** Two people in the lobby, each having seen the other arrive. */
  async function pair(): Promise<[TestClient, TestClient]> {
    const [ann, bob] = await Promise.all([scope.client(server, { name: 'Ann' }), scope.client(server, { name: 'Bob' })]);
    await join(ann, LOBBY);
    await join(bob, LOBBY);
    await presenceEvent(ann, LOBBY, (e) => e.k === 'join' && e.member.id === bob.id);
    return [ann, bob];
  }

  test('join sends a snapshot of the members, and the others see a presence join', async () => {
    const ann = await scope.client(server, { name: 'Ann' });
    const annJoined = await join(ann, LOBBY);
    assert.deepEqual(annJoined.members, [{ id: ann.id, name: 'Ann', key: ann.identity.key, role: 'member' }]);

    const bob = await scope.client(server, { name: 'Bob' });
    const bobJoined = await join(bob, LOBBY);
    assert.deepEqual(
      bobJoined.members.map((m) => m.name).sort(),
      ['Ann', 'Bob'],
    );
    const presence = await presenceEvent(ann, LOBBY, (e) => e.k === 'join' && e.member.id === bob.id);
    const event = presence.events.find((e) => e.k === 'join' && e.member.id === bob.id);
    assert.deepEqual(event, { k: 'join', member: { id: bob.id, name: 'Bob', key: bob.identity.key, role: 'member' } });
  });

  test('joining a room one is already in resends the snapshot without a second presence join', async () => {
    const [ann, bob] = await pair();
    const again = await join(bob, LOBBY);
    assert.equal(again.members.length, 2);
    await roundTrip(bob);
    // A later join flushes any presence the second join might have queued before it.
    const cat = await scope.client(server, { name: 'Cat' });
    await join(cat, LOBBY);
    await presenceEvent(ann, LOBBY, (e) => e.k === 'join' && e.member.id === cat.id);
    const bobJoins = ann.all('presence').flatMap((f) => f.events).filter((e) => e.k === 'join' && e.member.id === bob.id);
    assert.equal(bobJoins.length, 0, 'Bob joined once, so Ann saw exactly one join (already consumed)');
    assert.deepEqual(await listRooms(ann), [{ name: LOBBY, members: 3 }]);
  });

  test('say is acked to the sender and relayed once to the others with a server id and time', async () => {
    const [ann, bob] = await pair();
    const before = Date.now();
    ann.send({ type: 'say', room: LOBBY, cid: 'c1', text: 'hello there' });
    const ack = await ann.next('ack', (a) => a.cid === 'c1');
    const message = await bob.next('message');
    assert.equal(message.id, ack.id);
    assert.equal(message.ts, ack.ts);
    assert.ok(ack.ts >= before && ack.ts <= Date.now(), 'the timestamp is the server clock');
    assert.equal(message.from, ann.id);
    assert.equal(message.name, 'Ann');
    assert.equal(message.room, LOBBY);
    assert.equal(message.text, 'hello there');
    assert.equal(message.kind, 'text');
    // The sender is not echoed its own message.
    await roundTrip(ann);
    assert.equal(ann.all('message').length, 0);
  });

  test('each message gets a different server id', async () => {
    const [ann, bob] = await pair();
    ann.send({ type: 'say', room: LOBBY, cid: 'a', text: 'one' });
    ann.send({ type: 'say', room: LOBBY, cid: 'b', text: 'two' });
    const first = await bob.next('message', (m) => m.text === 'one');
    const second = await bob.next('message', (m) => m.text === 'two');
    assert.notEqual(first.id, second.id);
  });

  test("say with kind 'action' is relayed as an action", async () => {
    const [ann, bob] = await pair();
    ann.send({ type: 'say', room: LOBBY, cid: 'act1', text: 'waves', kind: 'action' });
    const message = await bob.next('message');
    assert.equal(message.kind, 'action');
    assert.equal(message.text, 'waves');
    await ann.next('ack', (a) => a.cid === 'act1');
  });

  test('the sender id is stamped by the server, not taken from the frame', async () => {
    const [ann, bob] = await pair();
    ann.send({ type: 'say', room: LOBBY, cid: 'spoof', text: 'it was Bob', from: bob.id, name: 'Bob' });
    const message = await bob.next('message');
    assert.equal(message.from, ann.id);
    assert.equal(message.name, 'Ann');
  });

  test('say to a room one is not in gets not-in-room and is not relayed', async () => {
    const [ann, bob] = await pair();
    await join(bob, 'secret');
    ann.send({ type: 'say', room: 'secret', cid: 'intrude', text: 'hi' });
    const error = await nextError(ann, ErrorCode.notInRoom, 'intrude');
    assert.match(error.message, /secret/);
    await roundTrip(ann);
    await roundTrip(bob);
    assert.equal(bob.all('message').length, 0);
    assert.equal(ann.all('ack').length, 0);
  });

  test('say accepts the same room spelling as join ("#Music")', async () => {
    const [ann, bob] = await Promise.all([scope.client(server), scope.client(server)]);
    await join(ann, '#Music');
    await join(bob, 'music');
    ann.send({ type: 'say', room: '#Music', cid: 'm1', text: 'la la' });
    await ann.next('ack', (a) => a.cid === 'm1');
    const message = await bob.next('message');
    assert.equal(message.room, 'music');
  });

  test('the same cid sent twice is acked twice with the same id and relayed once', async () => {
    const [ann, bob] = await pair();
    ann.send({ type: 'say', room: LOBBY, cid: 'dup', text: 'only once' });
    ann.send({ type: 'say', room: LOBBY, cid: 'dup', text: 'only once' });
    const first = await ann.next('ack', (a) => a.cid === 'dup');
    const second = await ann.next('ack', (a) => a.cid === 'dup');
    assert.equal(second.id, first.id);
    assert.equal(second.ts, first.ts);
    await roundTrip(ann);
    await roundTrip(bob);
    assert.equal(bob.all('message').length, 1);
  });

  test('a cid resent after a reconnect with the same identity is acked with the same id and not relayed again', async () => {
    const [ann, bob] = await pair();
    ann.send({ type: 'say', room: LOBBY, cid: 'outbox-1', text: 'sent before the drop' });
    const ack = await ann.next('ack', (a) => a.cid === 'outbox-1');
    await bob.next('message', (m) => m.id === ack.id);

    ann.ws.terminate();
    await presenceEvent(bob, LOBBY, (e) => e.k === 'leave' && e.id === ann.id);
    const again = await scope.client(server, { identity: ann.identity, name: 'Ann' });
    await join(again, LOBBY);
    again.send({ type: 'say', room: LOBBY, cid: 'outbox-1', text: 'sent before the drop' });
    const secondAck = await again.next('ack', (a) => a.cid === 'outbox-1');
    assert.equal(secondAck.id, ack.id);

    await roundTrip(again);
    await roundTrip(bob);
    assert.equal(bob.all('message').length, 0, 'Bob got the message once, before the reconnect');
  });

  test('message ids are remembered per identity: another person may reuse a cid', async () => {
    const [ann, bob] = await pair();
    ann.send({ type: 'say', room: LOBBY, cid: 'same', text: 'from Ann' });
    const annAck = await ann.next('ack');
    bob.send({ type: 'say', room: LOBBY, cid: 'same', text: 'from Bob' });
    const bobAck = await bob.next('ack');
    assert.notEqual(bobAck.id, annAck.id);
    const toAnn = await ann.next('message');
    assert.equal(toAnn.text, 'from Bob');
  });

  test('leave with a farewell: the leaver gets left, the others a presence leave with the farewell', async () => {
    const [ann, bob] = await pair();
    bob.send({ type: 'leave', room: LOBBY, farewell: 'see you tomorrow' });
    const left = await bob.next('left');
    assert.equal(left.room, LOBBY);
    const presence = await presenceEvent(ann, LOBBY, (e) => e.k === 'leave' && e.id === bob.id);
    const event = presence.events.find((e) => e.k === 'leave' && e.id === bob.id);
    assert.deepEqual(event, { k: 'leave', id: bob.id, farewell: 'see you tomorrow' });
    // Bob no longer gets the room's messages.
    ann.send({ type: 'say', room: LOBBY, cid: 'after', text: 'gone?' });
    await ann.next('ack');
    await roundTrip(bob);
    assert.equal(bob.all('message').length, 0);
  });

  test('leave without a farewell (or a blank one) sends a leave without farewell', async () => {
    const [ann, bob] = await pair();
    bob.send({ type: 'leave', room: LOBBY, farewell: '   ' });
    await bob.next('left');
    const presence = await presenceEvent(ann, LOBBY, (e) => e.k === 'leave' && e.id === bob.id);
    assert.deepEqual(presence.events.find((e) => e.k === 'leave'), { k: 'leave', id: bob.id });
  });

  test('leave of a room one is not in gets not-in-room', async () => {
    const ann = await scope.client(server);
    ann.send({ type: 'leave', room: 'nowhere' });
    await nextError(ann, ErrorCode.notInRoom, 'nowhere');
    assert.equal(ann.all('left').length, 0);
  });

  test('a farewell longer than the limit is a bad frame', async () => {
    const [, bob] = await pair();
    bob.send({ type: 'leave', room: LOBBY, farewell: 'x'.repeat(201) });
    await nextError(bob, ErrorCode.badFrame, 'leave');
    await roundTrip(bob);
    assert.equal(bob.all('left').length, 0);
  });

  test('a disconnect is a presence leave for every room the person was in', async () => {
    const [ann, bob] = await pair();
    await join(ann, 'kitchen');
    await join(bob, 'kitchen');
    await presenceEvent(ann, 'kitchen', (e) => e.k === 'join' && e.member.id === bob.id);
    bob.close();
    const lobbyLeave = await presenceEvent(ann, LOBBY, (e) => e.k === 'leave' && e.id === bob.id);
    const kitchenLeave = await presenceEvent(ann, 'kitchen', (e) => e.k === 'leave' && e.id === bob.id);
    assert.deepEqual(lobbyLeave.events.find((e) => e.k === 'leave'), { k: 'leave', id: bob.id });
    assert.ok(kitchenLeave);
  });

  test('rename answers with the new name and tells every shared room', async () => {
    const [ann, bob] = await pair();
    await join(ann, 'garden');
    await join(bob, 'garden');
    await presenceEvent(ann, 'garden', (e) => e.k === 'join' && e.member.id === bob.id);
    bob.send({ type: 'rename', name: 'Robert' });
    assert.equal((await bob.next('name')).name, 'Robert');
    for (const room of [LOBBY, 'garden']) {
      const presence = await presenceEvent(ann, room, (e) => e.k === 'rename' && e.id === bob.id);
      assert.deepEqual(presence.events.find((e) => e.k === 'rename'), { k: 'rename', id: bob.id, name: 'Robert' });
    }
    // Messages now carry the new name, and snapshots list it.
    bob.send({ type: 'say', room: LOBBY, cid: 'r1', text: 'call me Robert' });
    assert.equal((await ann.next('message')).name, 'Robert');
    const cat = await scope.client(server);
    const snapshot = await join(cat, 'garden');
    assert.ok(snapshot.members.some((m) => m.id === bob.id && m.name === 'Robert'));
  });

  test('list-rooms answers with rooms and member counts', async () => {
    const [ann, bob] = await pair();
    await join(ann, 'attic');
    const rooms = await listRooms(bob);
    assert.deepEqual(rooms, [
      { name: LOBBY, members: 2 },
      { name: 'attic', members: 1 },
    ]);
  });

  test('ping gets pong', async () => {
    const ann = await scope.client(server);
    ann.send({ type: 'ping' });
    await ann.next('pong');
    assert.deepEqual(ann.invalid, []);
  });
});
