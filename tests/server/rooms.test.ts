// Room lifecycle, room-name rules, the per-client room cap, and presence batching.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, LIMITS, LOBBY, parseServerFrame, type ServerFrame } from '../../signal-server/protocol/protocol.ts';
import { Rooms } from '../../signal-server/rooms.ts';
import type { RoomMember } from '../../signal-server/room.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { Scope, join, listRooms, nextError, presenceEvent, roundTrip, until } from './helpers.ts';

describe('room lifecycle', () => {
  let scope: Scope;
  let server: RunningServer;
  beforeEach(async () => {
    scope = new Scope();
    server = await scope.server();
  });
  afterEach(() => scope.dispose());

  test('the lobby is listed even when nobody is in it', async () => {
    const client = await scope.client(server);
    assert.deepEqual(await listRooms(client), [{ name: LOBBY, members: 0 }]);
  });

  test('a user room is created on join and listed with member counts', async () => {
    const [a, b, c] = await scope.clientsOf(server, 3);
    await join(a, 'bookclub');
    await join(b, 'bookclub');
    await join(c, 'bookclub');
    await join(a, LOBBY);
    await join(b, 'chess');
    // Sorted by members (most first), then by name.
    assert.deepEqual(await listRooms(c), [
      { name: 'bookclub', members: 3 },
      { name: 'chess', members: 1 },
      { name: LOBBY, members: 1 },
    ]);
  });

  test('a user room disappears when its last member leaves; the lobby stays', async () => {
    const [a, b] = await scope.clientsOf(server, 2);
    await join(a, 'pop-up');
    await join(b, 'pop-up');
    await join(a, LOBBY);
    b.send({ type: 'leave', room: 'pop-up' });
    await b.next('left');
    assert.deepEqual(await listRooms(a), [
      { name: LOBBY, members: 1 },
      { name: 'pop-up', members: 1 },
    ]);
    a.send({ type: 'leave', room: 'pop-up' });
    await a.next('left');
    a.send({ type: 'leave', room: LOBBY });
    await a.next('left');
    assert.deepEqual(await listRooms(a), [{ name: LOBBY, members: 0 }]);
  });

  test('a user room disappears when its last member disconnects', async () => {
    const [a, watcher] = await scope.clientsOf(server, 2);
    await join(watcher, LOBBY);
    await join(a, LOBBY);
    await join(a, 'fleeting');
    assert.ok((await listRooms(watcher)).some((r) => r.name === 'fleeting'));
    a.close();
    // One disconnect removes a from every room at once: once the lobby hears of it,
    // "fleeting" is gone too.
    await presenceEvent(watcher, LOBBY, (e) => e.k === 'leave' && e.id === a.id);
    assert.deepEqual(await listRooms(watcher), [{ name: LOBBY, members: 1 }]);
  });

  test('a room that disappeared starts fresh when joined again', async () => {
    const [a, b] = await scope.clientsOf(server, 2);
    await join(a, 'again');
    a.send({ type: 'leave', room: 'again' });
    await a.next('left');
    const snapshot = await join(b, 'again');
    assert.deepEqual(snapshot.members.map((m) => m.id), [b.id]);
  });

  test('"#Music" is the room "music"', async () => {
    const [a, b] = await scope.clientsOf(server, 2);
    const joined = await join(a, '#Music');
    assert.equal(joined.room, 'music');
    const snapshot = await join(b, 'MUSIC');
    assert.deepEqual(snapshot.members.map((m) => m.id).sort(), [a.id, b.id].sort());
    assert.deepEqual(await listRooms(a), [
      { name: 'music', members: 2 },
      { name: LOBBY, members: 0 },
    ]);
    a.send({ type: 'leave', room: '#MUSIC' });
    assert.equal((await a.next('left')).room, 'music');
  });

  const invalidRooms: [string, string][] = [
    ['a space', 'two words'],
    ['punctuation', 'what!'],
    ['a dot', 'a.b'],
    ['only "#"', '#'],
    ['a second "#"', '##double'],
    ['too long', 'r'.repeat(LIMITS.roomNameMaxLength + 1)],
    ['a control character', 'bell\u0007'],
    ['a bidi override', 'room\u202E'],
    ['a leading "-"', '-dash'],
    ['an emoji', 'party\u{1F389}'],
  ];
  for (const [why, room] of invalidRooms) {
    test(`room-invalid: ${why}`, async () => {
      const client = await scope.client(server);
      client.send({ type: 'join', room });
      const error = await nextError(client, ErrorCode.roomInvalid);
      assert.equal(error.ref, room);
      await roundTrip(client);
      assert.equal(client.all('joined').length, 0);
      assert.deepEqual(await listRooms(client), [{ name: LOBBY, members: 0 }]);
    });
  }

  test('a room name of exactly the maximum length is fine', async () => {
    const client = await scope.client(server);
    const name = 'r'.repeat(LIMITS.roomNameMaxLength);
    assert.equal((await join(client, name)).room, name);
  });

  test(`a client can be in at most ${LIMITS.maxRoomsPerClient} rooms`, async () => {
    const client = await scope.client(server);
    await join(client, LOBBY);
    for (let i = 1; i < LIMITS.maxRoomsPerClient; i++) await join(client, `room-${i}`);
    client.send({ type: 'join', room: 'one-too-many' });
    const error = await nextError(client, ErrorCode.tooManyRooms, 'one-too-many');
    assert.match(error.message, new RegExp(String(LIMITS.maxRoomsPerClient)));
    assert.ok(!(await listRooms(client)).some((r) => r.name === 'one-too-many'));
    // Leaving one makes room for another.
    client.send({ type: 'leave', room: 'room-1' });
    await client.next('left');
    assert.equal((await join(client, 'one-too-many')).room, 'one-too-many');
  });
});

describe('presence batching', () => {
  let scope: Scope;
  beforeEach(() => {
    scope = new Scope();
  });
  afterEach(() => scope.dispose());

  test('20 people joining at once reach an existing member in far fewer presence frames than joins', async () => {
    const N = 20;
    // A wide window so that 20 joins sent together land in one or two windows on any machine.
    const server = await scope.server({ presenceWindowMs: 250 });
    const member = await scope.client(server, { name: 'Resident' });
    await join(member, 'busy');
    await presenceEvent(member, 'busy', (e) => e.k === 'join' && e.member.id === member.id);

    const joiners = await scope.clientsOf(server, N);
    const frames: ServerFrame[] = [];
    member.ws.on('message', (data) => {
      const parsed = parseServerFrame(data.toString());
      if (parsed.ok && parsed.frame.type === 'presence' && parsed.frame.room === 'busy') frames.push(parsed.frame);
    });
    for (const joiner of joiners) joiner.send({ type: 'join', room: 'busy' });

    const joinedIds = () =>
      new Set(frames.flatMap((f) => (f.type === 'presence' ? f.events : [])).flatMap((e) => (e.k === 'join' ? [e.member.id] : [])));
    await until(member, () => joinedIds().size === N, `all ${N} joins arrived`);

    assert.deepEqual([...joinedIds()].sort(), joiners.map((j) => j.id).sort());
    assert.ok(frames.length < N, `${frames.length} presence frames for ${N} joins`);
    assert.ok(frames.length <= 3, `expected one frame per window, got ${frames.length}`);
    // Each join is reported exactly once.
    const events = frames.flatMap((f) => (f.type === 'presence' ? f.events : []));
    assert.equal(events.length, N);
  });

  test('a single presence frame carries every kind of diff of one window, in order', async () => {
    const server = await scope.server({ presenceWindowMs: 250 });
    const [resident, a, b] = await Promise.all([
      scope.client(server, { name: 'Resident' }),
      scope.client(server, { name: 'Aa' }),
      scope.client(server, { name: 'Bb' }),
    ]);
    await join(resident, 'mixed');
    await join(b, 'mixed');
    await presenceEvent(resident, 'mixed', (e) => e.k === 'join' && e.member.id === b.id);
    // Within one window: a joins, b renames, b leaves with a farewell.
    a.send({ type: 'join', room: 'mixed' });
    b.send({ type: 'rename', name: 'Bee' });
    b.send({ type: 'leave', room: 'mixed', farewell: 'bye' });
    await b.next('left');
    const frame = await presenceEvent(resident, 'mixed', (e) => e.k === 'leave');
    assert.equal(frame.events.length, 3, JSON.stringify(frame.events));
    const byKind = Object.fromEntries(frame.events.map((e) => [e.k, e]));
    assert.deepEqual(byKind.join, { k: 'join', member: { id: a.id, name: 'Aa', key: a.identity.key, role: 'member' } });
    assert.deepEqual(byKind.rename, { k: 'rename', id: b.id, name: 'Bee' });
    assert.deepEqual(byKind.leave, { k: 'leave', id: b.id, farewell: 'bye' });
    assert.equal(frame.events[frame.events.length - 1].k, 'leave', 'the leave comes after the rename it follows');
  });
});

describe('Rooms (with fake members)', () => {
  class FakeMember implements RoomMember {
    readonly received: ServerFrame[] = [];
    admin = false;
    constructor(
      readonly id: string,
      public name: string,
      readonly key = `key-${id}`,
    ) {}
    readonly raw: (string | Buffer)[] = [];
    sendRaw(frame: string | Buffer): void {
      this.raw.push(frame);
      this.received.push(JSON.parse(frame.toString()) as ServerFrame);
    }
    presence(): Extract<ServerFrame, { type: 'presence' }>[] {
      return this.received.filter((f): f is Extract<ServerFrame, { type: 'presence' }> => f.type === 'presence');
    }
  }

  // An hour-long window: nothing is sent until flush() is called, so frame counts are exact.
  const make = () => new Rooms({ presenceWindowMs: 3_600_000, persistentRooms: [{ name: LOBBY, moderators: [] }] });

  test('one presence frame per window per member, however many joins', () => {
    const rooms = make();
    const residents = [new FakeMember('r1', 'One'), new FakeMember('r2', 'Two')];
    for (const r of residents) rooms.join(r, 'hall');
    rooms.flush();
    for (const r of residents) r.received.length = 0;

    const joiners = Array.from({ length: 50 }, (_, i) => new FakeMember(`j${i}`, `Joiner${i}`));
    for (const j of joiners) assert.equal(rooms.join(j, 'hall'), undefined);
    for (const r of residents) assert.deepEqual(r.presence(), [], 'nothing before the window ends');
    rooms.flush();
    for (const r of residents) {
      const frames = r.presence();
      assert.equal(frames.length, 1);
      assert.deepEqual(
        frames[0].events.map((e) => (e.k === 'join' ? e.member.id : '?')),
        joiners.map((j) => j.id),
      );
    }
    // The first joiner (the room was quiet) got its snapshot at once, then the batch.
    const [first, ...later] = joiners;
    assert.deepEqual(first!.received.map((f) => f.type), ['joined', 'presence']);
    // The rest joined while that batch was pending: one snapshot with the batch, no batch.
    for (const j of later) assert.deepEqual(j.received.map((f) => f.type), ['joined']);
    rooms.close();
  });

  test('joiners during a pending batch get one shared snapshot of the room as it is at the flush', () => {
    const rooms = make();
    const resident = new FakeMember('r', 'Resident');
    rooms.join(resident, 'hall');
    rooms.flush();
    resident.received.length = 0;
    const early = new FakeMember('e', 'Early');
    rooms.join(early, 'hall');
    const late = Array.from({ length: 5 }, (_, i) => new FakeMember(`l${i}`, `Late${i}`));
    for (const j of late) rooms.join(j, 'hall');
    for (const j of late) assert.deepEqual(j.received, [], 'no snapshot before the batch');
    rooms.setTopic('hall', 'Tea at five', 'Resident');
    rooms.rename(late[0]!, 'Renamed');
    rooms.flush();

    const expected = ['r', 'e', ...late.map((j) => j.id)];
    for (const j of late) {
      assert.equal(j.raw.length, 1);
      assert.equal(j.raw[0], late[0]!.raw[0], 'the same encoded snapshot for all of them');
      const snapshot = j.received[0] as Extract<ServerFrame, { type: 'joined' }>;
      assert.equal(snapshot.type, 'joined');
      assert.deepEqual(snapshot.members.map((m) => m.id), expected);
      assert.equal(snapshot.members.find((m) => m.id === 'l0')!.name, 'Renamed', 'what the batch changed is in it');
      assert.equal(snapshot.topic, 'Tea at five');
    }
    // The resident and the early joiner see the same room through the batch.
    const [batch] = resident.presence();
    assert.deepEqual(early.presence(), [batch]);
    assert.deepEqual(batch!.events.map((e) => e.k), ['join', 'join', 'join', 'join', 'join', 'join', 'topic', 'rename']);
    rooms.close();
  });

  test('a message in a room with a pending batch sends the batch first: nobody hears someone they cannot see', () => {
    const rooms = make();
    const resident = new FakeMember('r', 'Resident');
    rooms.join(resident, 'hall');
    const joiner = new FakeMember('j', 'Joiner');
    rooms.join(joiner, 'hall');
    const result = rooms.broadcastMessage(joiner, 'hall', { text: 'hello all', kind: 'text' });
    assert.ok(!('code' in result));
    assert.deepEqual(resident.received.map((f) => f.type), ['joined', 'presence', 'message']);
    assert.deepEqual(joiner.received.map((f) => f.type), ['joined'], 'its snapshot, and its own message is not echoed');
    const snapshot = joiner.received[0] as Extract<ServerFrame, { type: 'joined' }>;
    assert.deepEqual(snapshot.members.map((m) => m.id), ['r', 'j']);
    rooms.flush();
    assert.equal(resident.received.length, 3, 'the batch went out once');
    rooms.close();
  });

  test('a joiner who leaves or is removed before the batch gets no snapshot', () => {
    const rooms = make();
    const resident = new FakeMember('r', 'Resident');
    rooms.join(resident, 'hall');
    const leaver = new FakeMember('x', 'Leaver');
    const kicked = new FakeMember('k', 'Kicked');
    const again = new FakeMember('a', 'Again');
    for (const m of [leaver, kicked, again]) rooms.join(m, 'hall');
    assert.equal(rooms.leave(leaver, 'hall'), undefined);
    assert.equal(rooms.removeBy(kicked, 'hall', { kind: 'kicked', by: 'Resident' }), true);
    assert.equal(rooms.join(again, 'hall'), undefined, 'a second join while waiting');
    rooms.flush();
    assert.deepEqual(leaver.received.map((f) => f.type), ['left']);
    assert.deepEqual(kicked.received, []);
    assert.deepEqual(again.received.map((f) => f.type), ['joined'], 'one snapshot, not two');
    const snapshot = again.received[0] as Extract<ServerFrame, { type: 'joined' }>;
    assert.deepEqual(snapshot.members.map((m) => m.id), ['r', 'a']);
    rooms.close();
  });

  test('a flush with nothing pending sends nothing', () => {
    const rooms = make();
    const r = new FakeMember('r1', 'One');
    rooms.join(r, LOBBY);
    rooms.flush();
    r.received.length = 0;
    rooms.flush();
    assert.deepEqual(r.received, []);
    rooms.close();
  });

  test('a room emptied within a window is deleted and sends nothing more', () => {
    const rooms = make();
    const a = new FakeMember('a', 'Aa');
    rooms.join(a, 'brief');
    assert.equal(rooms.has('brief'), true);
    assert.equal(rooms.leave(a, 'brief'), undefined);
    assert.equal(rooms.has('brief'), false);
    rooms.flush();
    assert.deepEqual(a.received.map((f) => f.type), ['joined', 'left']);
    rooms.close();
  });
});
