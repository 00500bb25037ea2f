// What survives a restart (a second server on the same data directory): bans, persistent
// rooms with their topics and moderator grants, the admin token hash and the audit
// trail. What must not be written at all: anything anyone said.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CloseCode, ErrorCode, LOBBY } from '../../signal-server/protocol/protocol.ts';
import { join, listRooms, nextError, presenceEvent, type TestClient } from './helpers.ts';
import { ModScope, becomeAdmin, nextFrame, presenceBarrier, sendHello, tryJoin } from './moderation-helpers.ts';

describe('a restart keeps moderation state', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  test('bans, persistent rooms, topics, grants and the audit trail survive; messages are never stored', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const secret = `never-on-disk-${Math.random().toString(36).slice(2)}`;

    // ---- first run ---------------------------------------------------------
    const first = await scope.start({ dataDir, trustProxy: ['127.0.0.1'] });
    const admin = await scope.connect(first, { name: 'Root', from: '192.0.2.1' });
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: 'hall' });
    await admin.next('rooms');
    const mod = await scope.connect(first, { name: 'Mod', from: '192.0.2.2' });
    const regular = await scope.connect(first, { name: 'Regular', from: '192.0.2.3' });
    const troll = await scope.connect(first, { name: 'Troll', from: '198.51.100.7' });
    const pest = await scope.connect(first, { name: 'Pest', from: '198.51.100.8' });
    for (const client of [admin, mod, regular, pest]) await join(client, 'hall');
    admin.send({ type: 'topic', room: 'hall', topic: 'Club news' });
    admin.send({ type: 'op', room: 'hall', target: mod.id });
    await presenceEvent(regular, 'hall', (e) => e.k === 'role' && e.id === mod.id && e.role === 'moderator');
    regular.send({ type: 'say', room: 'hall', cid: 'secret-1', text: secret });
    await regular.next('ack');
    mod.send({ type: 'ban', room: 'hall', target: pest.id, reason: 'spam links', byIp: true });
    await pest.next('banned');
    admin.send({ type: 'ban', target: troll.id, reason: 'threats' });
    await troll.waitClose();
    admin.send({ type: 'list-bans' });
    const serverBans = (await admin.next('bans')).bans;
    admin.send({ type: 'list-bans', room: 'hall' });
    const hallBans = (await admin.next('bans')).bans;
    admin.send({ type: 'audit' });
    const auditBefore = (await admin.next('audit')).entries;
    await first.close();

    for (const file of readdirSync(dataDir)) {
      assert.ok(!readFileSync(path.join(dataDir, file), 'utf8').includes(secret), `${file} holds a message`);
    }

    // ---- second run, same data directory, no --admin-token ----------------
    const tokens: string[] = [];
    const second = await scope.start({ dataDir, trustProxy: ['127.0.0.1'], adminToken: undefined }, { onAdminToken: (_t, why) => tokens.push(why) });
    assert.deepEqual(tokens, [], 'the stored token hash is kept; no new token');

    const watcher = await scope.connect(second, { from: '192.0.2.9' });
    const rooms = await listRooms(watcher);
    assert.deepEqual(rooms.find((r) => r.name === 'hall'), { name: 'hall', members: 0 }, 'the persistent room is listed, empty');
    const joined = await join(watcher, 'hall');
    assert.equal(joined.persistent, true);
    assert.equal(joined.topic, 'Club news');

    // The moderator grant holds for the same identity.
    const mod2 = await scope.connect(second, { identity: mod.identity, name: 'Mod', from: '192.0.2.2' });
    await join(mod2, 'hall');
    const snapshot = await presenceBarrier(scope, second, 'hall', [watcher]);
    assert.equal(snapshot.members.find((m) => m.id === mod2.id)?.role, 'moderator');
    assert.equal(snapshot.members.find((m) => m.id === watcher.id)?.role, 'member');
    mod2.send({ type: 'topic', room: 'hall', topic: 'Set after the restart' });
    await presenceEvent(watcher, 'hall', (e) => e.k === 'topic' && e.topic === 'Set after the restart');

    // The server ban holds at hello.
    const trollBack = await scope.connect(second, { identity: troll.identity, from: '203.0.113.1', noHello: true });
    sendHello(trollBack);
    assert.equal((await nextError(trollBack, ErrorCode.banned, 'hello')).message, 'You are banned from this server: threats');
    assert.equal((await trollBack.waitClose()).code, CloseCode.banned);

    // The room ban holds, by identity and by address.
    const pestBack = await scope.connect(second, { identity: pest.identity, from: '203.0.113.2' });
    const refused = await tryJoin(pestBack, 'hall');
    assert.equal(refused.type === 'error' && refused.message, 'You are banned from #hall: spam links');
    const pestAlt = await scope.connect(second, { from: '198.51.100.8' });
    assert.equal((await tryJoin(pestAlt, 'hall')).type, 'error');
    assert.equal((await tryJoin(pestAlt, LOBBY)).type, 'joined');

    // The admin token from before works; the ban list and the audit trail are the same.
    const admin2 = await scope.connect(second, { name: 'Root', from: '192.0.2.1' });
    await becomeAdmin(admin2);
    admin2.send({ type: 'list-bans' });
    assert.deepEqual((await admin2.next('bans')).bans, serverBans);
    admin2.send({ type: 'list-bans', room: 'hall' });
    assert.deepEqual((await admin2.next('bans')).bans, hallBans);
    assert.equal(hallBans[0].ip, '198.51.100.8');
    admin2.send({ type: 'audit', limit: 500 });
    const auditAfter = (await admin2.next('audit')).entries;
    assert.deepEqual(auditAfter.slice(0, auditBefore.length), auditBefore);
    assert.deepEqual(
      auditBefore.map((e) => [e.action, e.room ?? '', e.target?.replace(/ \(.*\)$/, '') ?? '']),
      [
        ['admin-granted', '', ''],
        ['room-create', 'hall', ''],
        ['topic', 'hall', ''],
        ['op', 'hall', 'Mod'],
        ['ban', 'hall', 'Pest'],
        ['ban', '', 'Troll'],
      ],
    );
    assert.equal(auditBefore[4].detail, 'spam links; by address too');
    assert.match(auditBefore[4].actor, /^Mod \([0-9a-f]{12}\)$/);
    assert.deepEqual(auditAfter.slice(auditBefore.length).map((e) => e.action), ['topic', 'admin-granted']);
    for (const entry of auditAfter) assert.ok(!JSON.stringify(entry).includes(secret));

    // ---- a deop and a room deletion also survive ------------------------------
    admin2.send({ type: 'deop', room: 'hall', target: mod2.id });
    await presenceEvent(watcher, 'hall', (e) => e.k === 'role' && e.id === mod2.id && e.role === 'member');
    admin2.send({ type: 'room-create', room: 'annex' });
    await admin2.next('rooms');
    admin2.send({ type: 'room-delete', room: 'annex' });
    await admin2.next('rooms', (r) => !r.rooms.some((x) => x.name === 'annex'));
    await second.close();

    const third = await scope.start({ dataDir, trustProxy: ['127.0.0.1'], adminToken: undefined });
    const mod3 = await scope.connect(third, { identity: mod.identity, from: '192.0.2.2' });
    const hall = await join(mod3, 'hall');
    assert.equal(hall.members.find((m) => m.id === mod3.id)?.role, 'member', 'the deop was kept');
    assert.equal(hall.topic, 'Set after the restart');
    const names = (await listRooms(mod3)).map((r) => r.name);
    assert.ok(names.includes('hall') && !names.includes('annex'), `rooms after restart: ${names}`);
  });

  test('a user room is not persistent: it does not come back after a restart', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const first = await scope.start({ dataDir });
    const owner = await scope.connect(first, { name: 'Owner' });
    await join(owner, 'games');
    owner.send({ type: 'topic', room: 'games', topic: 'Tonight' });
    await nextFrame(owner, (f) => f.type === 'presence' && f.events.some((e) => e.k === 'topic'), 'the topic');
    await first.close();
    const second = await scope.start({ dataDir });
    const someone: TestClient = await scope.connect(second);
    assert.deepEqual(await listRooms(someone), [{ name: LOBBY, members: 0 }]);
    const fresh = await join(someone, 'games');
    assert.equal(fresh.topic, undefined);
    assert.equal(fresh.members[0].role, 'owner');
  });

  test('the lobby can be given a topic that survives a restart', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const first = await scope.start({ dataDir });
    const admin = await scope.connect(first);
    await becomeAdmin(admin);
    admin.send({ type: 'topic', room: LOBBY, topic: 'Welcome to the club' });
    admin.send({ type: 'audit' });
    await admin.next('audit');
    await first.close();
    const second = await scope.start({ dataDir });
    const someone = await scope.connect(second);
    assert.equal((await join(someone, LOBBY)).topic, 'Welcome to the club');
  });
});
