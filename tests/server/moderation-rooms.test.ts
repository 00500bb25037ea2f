// Room administration: purge, shutdown, persistent rooms (create, delete, roles in them),
// topics, and roles held by identity across sessions.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CloseCode, ErrorCode, LIMITS, LOBBY } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { join, listRooms, nextError, presenceEvent, roundTrip } from './helpers.ts';
import { ModScope, becomeAdmin, everyonePurged, noneOf, presenceBarrier, tryJoin } from './moderation-helpers.ts';

describe('purge', () => {
  let scope: ModScope;
  let server: RunningServer;
  beforeEach(async () => {
    scope = new ModScope();
    server = await scope.start();
  });
  afterEach(() => scope.dispose());

  test('the owner purges a user room: every member gets purged, the room is gone, other rooms untouched', async () => {
    const owner = await scope.connect(server, { name: 'Owner' });
    await join(owner, 'games');
    const members = [await scope.connect(server), await scope.connect(server), await scope.connect(server)];
    for (const member of members) {
      await join(member, 'games');
      await join(member, LOBBY);
    }
    const outsider = await scope.connect(server);
    await join(outsider, LOBBY);
    await presenceBarrier(scope, server, 'games', [owner, ...members]);

    const sentAt = Date.now();
    owner.send({ type: 'purge', room: 'games' });
    await everyonePurged([owner, ...members], 'games', 'Owner', sentAt);
    assert.ok(await noneOf(outsider, 'purged'));
    assert.ok(!(await listRooms(outsider)).some((r) => r.name === 'games'), 'the user room is gone');
    // Everyone is out of it: writing there fails; the lobby still works.
    members[0].send({ type: 'say', room: 'games', cid: 'after-purge', text: 'still here?' });
    await nextError(members[0], ErrorCode.notInRoom, 'after-purge');
    members[0].send({ type: 'say', room: LOBBY, cid: 'in-lobby', text: 'lobby still works' });
    await members[0].next('ack');
    await outsider.next('message', (m) => m.text === 'lobby still works');
    // Joining again starts a fresh room, owned by whoever comes first.
    const fresh = await join(members[1], 'games');
    assert.deepEqual(fresh.members.map((m) => [m.id, m.role]), [[members[1].id, 'owner']]);
  });

  test('the admin purges a persistent room: it is emptied but stays', async () => {
    const admin = await scope.connect(server, { name: 'Root' });
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: 'hall' });
    await admin.next('rooms');
    const people = [await scope.connect(server), await scope.connect(server)];
    for (const person of people) await join(person, 'hall');
    const sentAt = Date.now();
    admin.send({ type: 'purge', room: 'hall' });
    await everyonePurged(people, 'hall', 'Root', sentAt);
    assert.deepEqual((await listRooms(admin)).find((r) => r.name === 'hall'), { name: 'hall', members: 0 });
    admin.send({ type: 'audit' });
    const entry = (await admin.next('audit')).entries.find((e) => e.action === 'purge');
    assert.deepEqual({ room: entry?.room, detail: entry?.detail }, { room: 'hall', detail: '2 removed' });
  });
});

describe('shutdown', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  test('/shutdown by the admin runs the operator callback, which closes every client with 4002', async () => {
    let requests = 0;
    let closing: Promise<void> | undefined;
    const server: RunningServer = await scope.start({}, {
      onShutdownRequest: () => {
        requests++;
        closing = server.close();
      },
    });
    const admin = await scope.connect(server, { name: 'Root' });
    await becomeAdmin(admin);
    const people = [await scope.connect(server), await scope.connect(server)];
    await join(people[0], LOBBY);
    const early = await scope.connect(server, { noHello: true });
    admin.send({ type: 'shutdown' });
    for (const client of [admin, ...people, early]) assert.equal((await client.waitClose()).code, CloseCode.shuttingDown);
    await closing;
    assert.equal(requests, 1);
    await assert.rejects(fetch(`${server.url}/healthz`), 'the server stopped listening');
  });

  test('without a callback the server closes itself; the audit trail records who', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const server = await scope.start({ dataDir });
    const admin = await scope.connect(server, { name: 'Root' });
    await becomeAdmin(admin);
    const person = await scope.connect(server);
    admin.send({ type: 'shutdown' });
    assert.equal((await person.waitClose()).code, CloseCode.shuttingDown);
    assert.equal((await admin.waitClose()).code, CloseCode.shuttingDown);
    await server.close();
    const audit = { entries: readFileSync(path.join(dataDir, 'audit.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line)) };
    assert.deepEqual(audit.entries.map((e: { action: string }) => e.action), ['admin-granted', 'shutdown']);
    assert.match(audit.entries[1].actor, /^Root \([0-9a-f]{12}\)$/);
  });
});

describe('persistent rooms', () => {
  let scope: ModScope;
  let server: RunningServer;
  beforeEach(async () => {
    scope = new ModScope();
    server = await scope.start();
  });
  afterEach(() => scope.dispose());

  test('a persistent room is listed empty, stays when its last member leaves, and has no owner', async () => {
    const admin = await scope.connect(server, { name: 'Root' });
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: '#Hall' });
    assert.deepEqual((await admin.next('rooms')).rooms.find((r) => r.name === 'hall'), { name: 'hall', members: 0 });
    const person = await scope.connect(server);
    const joined = await join(person, 'hall');
    assert.equal(joined.persistent, true);
    assert.deepEqual(joined.members.map((m) => m.role), ['member'], 'the first to join does not own a persistent room');
    person.send({ type: 'purge', room: 'hall' });
    await nextError(person, ErrorCode.forbidden, 'purge');
    person.send({ type: 'leave', room: 'hall' });
    await person.next('left');
    assert.deepEqual((await listRooms(person)).find((r) => r.name === 'hall'), { name: 'hall', members: 0 });

    admin.send({ type: 'room-create', room: 'hall' });
    await nextError(admin, ErrorCode.roomExists, 'hall');
  });

  test('only the admin makes moderators in a persistent room', async () => {
    const admin = await scope.connect(server, { name: 'Root' });
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: 'hall' });
    await admin.next('rooms');
    const [first, second, third] = [await scope.connect(server), await scope.connect(server), await scope.connect(server)];
    for (const client of [first, second, third]) await join(client, 'hall');
    first.send({ type: 'op', room: 'hall', target: second.id });
    await nextError(first, ErrorCode.forbidden, 'op');
    admin.send({ type: 'op', room: 'hall', target: second.id });
    await presenceEvent(third, 'hall', (e) => e.k === 'role' && e.id === second.id && e.role === 'moderator');
    second.send({ type: 'kick', room: 'hall', target: third.id, reason: 'test' });
    assert.equal((await third.next('kicked')).by, second.name);
  });

  test('making a live user room persistent hands it to the admin: its creator is a member now, and the room hears it', async () => {
    const creator = await scope.connect(server, { name: 'Creator' });
    await join(creator, 'games');
    const member = await scope.connect(server);
    await join(member, 'games');
    const admin = await scope.connect(server, { name: 'Root' });
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: 'games' });
    await admin.next('rooms');
    await presenceEvent(member, 'games', (e) => e.k === 'role' && e.id === creator.id && e.role === 'member');
    const snapshot = await presenceBarrier(scope, server, 'games', [member]);
    assert.equal(snapshot.persistent, true);
    assert.equal(snapshot.members.find((m) => m.id === creator.id)?.role, 'member');
    creator.send({ type: 'purge', room: 'games' });
    await nextError(creator, ErrorCode.forbidden, 'purge');
    creator.send({ type: 'kick', room: 'games', target: member.id });
    await nextError(creator, ErrorCode.forbidden, 'kick');
  });

  test('deleting a persistent room removes its members and ends it; the lobby cannot be deleted', async () => {
    const admin = await scope.connect(server, { name: 'Root' });
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: 'hall' });
    await admin.next('rooms');
    const person = await scope.connect(server);
    await join(person, 'hall');
    admin.send({ type: 'room-delete', room: 'hall' });
    assert.ok(!(await admin.next('rooms')).rooms.some((r) => r.name === 'hall'));
    assert.deepEqual(await person.next('left'), { type: 'left', room: 'hall' });
    // A later join makes an ordinary user room, owned by its creator.
    const again = await join(person, 'hall');
    assert.equal(again.persistent, undefined);
    assert.equal(again.members[0].role, 'owner');

    admin.send({ type: 'room-delete', room: 'hall' });
    await nextError(admin, ErrorCode.notFound, 'hall');
    admin.send({ type: 'room-delete', room: LOBBY });
    await nextError(admin, ErrorCode.forbidden, 'room-delete');
    assert.ok((await listRooms(admin)).some((r) => r.name === LOBBY));
  });
});

describe('topics and roles by identity', () => {
  let scope: ModScope;
  let server: RunningServer;
  beforeEach(async () => {
    scope = new ModScope();
    server = await scope.start();
  });
  afterEach(() => scope.dispose());

  test('a topic reaches everyone in the room and every newcomer; an empty topic clears it', async () => {
    const owner = await scope.connect(server, { name: 'Owner' });
    await join(owner, 'games');
    const member = await scope.connect(server);
    await join(member, 'games');
    owner.send({ type: 'topic', room: 'games', topic: '  Chess night: Friday  ' });
    await presenceEvent(member, 'games', (e) => e.k === 'topic' && e.topic === 'Chess night: Friday' && e.by === 'Owner');
    const newcomer = await scope.connect(server);
    assert.equal((await join(newcomer, 'games')).topic, 'Chess night: Friday');
    owner.send({ type: 'topic', room: 'games', topic: '' });
    await presenceEvent(member, 'games', (e) => e.k === 'topic' && e.topic === '');
    const later = await scope.connect(server);
    assert.equal((await join(later, 'games')).topic, undefined);

    owner.send({ type: 'topic', room: 'games', topic: 'x'.repeat(LIMITS.topicMaxLength + 1) });
    await nextError(owner, ErrorCode.badFrame, 'topic');
    owner.send({ type: 'topic', room: 'elsewhere', topic: 'not mine' });
    await nextError(owner, ErrorCode.notInRoom, 'elsewhere');
  });

  test('the admin gets not-found for a topic or purge of a room that does not exist (and nothing is audited)', async () => {
    const admin = await scope.connect(server, { name: 'Root' });
    await becomeAdmin(admin);
    admin.send({ type: 'topic', room: 'nowhere', topic: 'hello?' });
    await nextError(admin, ErrorCode.notFound, 'nowhere');
    admin.send({ type: 'purge', room: 'nowhere' });
    await nextError(admin, ErrorCode.notFound, 'nowhere');
    admin.send({ type: 'audit' });
    assert.deepEqual((await admin.next('audit')).entries.map((e) => e.action), ['admin-granted']);
  });

  test('roles belong to the identity: an owner or moderator who reconnects keeps the role', async () => {
    const owner = await scope.connect(server, { name: 'Owner' });
    await join(owner, 'games');
    const moderator = await scope.connect(server, { name: 'Mod' });
    await join(moderator, 'games');
    const member = await scope.connect(server, { name: 'Member' });
    await join(member, 'games');
    owner.send({ type: 'op', room: 'games', target: moderator.id });
    await presenceEvent(member, 'games', (e) => e.k === 'role' && e.id === moderator.id);

    // Both reload (a new session of the same identity replaces the old one).
    const owner2 = await scope.connect(server, { identity: owner.identity, name: 'Owner' });
    const moderator2 = await scope.connect(server, { identity: moderator.identity, name: 'Mod' });
    const snapshot = await join(owner2, 'games');
    await join(moderator2, 'games');
    assert.equal(snapshot.members.find((m) => m.id === owner2.id)?.role, 'owner');
    const now = await presenceBarrier(scope, server, 'games', [member]);
    assert.equal(now.members.find((m) => m.id === moderator2.id)?.role, 'moderator');
    moderator2.send({ type: 'kick', room: 'games', target: member.id });
    await member.next('kicked');
    assert.equal((await tryJoin(member, 'games')).type, 'joined');
    owner2.send({ type: 'purge', room: 'games' });
    await member.next('purged');
    await roundTrip(owner2);
  });
});
