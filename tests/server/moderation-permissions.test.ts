// The permission matrix: every moderation command by a member, a moderator, the room's
// owner and the server admin, on targets of each rank. Allowed exactly when the rules
// say; otherwise `forbidden`, and nothing happens (checked: presence, frames, snapshots).
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode, ErrorCode, type ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { join, listRooms, nextError, presenceEvent, roundTrip, type TestClient } from './helpers.ts';
import { ModScope, becomeAdmin, everyonePurged, forget, noneOf, presenceBarrier, sendHello, tryJoin } from './moderation-helpers.ts';

type Rank = 'member' | 'moderator' | 'owner' | 'admin';
const RANKS: Rank[] = ['member', 'moderator', 'owner', 'admin'];
const ROOM = 'club';

/**
 * The rules, written out rather than computed: who may do each targeted command to whom.
 * Nobody acts on an equal or higher rank; op/deop need the owner, kick and room bans a
 * moderator, server bans and userinfo the admin (userinfo reads, so it has no target rank).
 */
const ALLOWED: Record<string, Record<Rank, Rank[]>> = {
  op: { member: [], moderator: [], owner: ['member', 'moderator'], admin: ['member', 'moderator', 'owner'] },
  deop: { member: [], moderator: [], owner: ['member', 'moderator'], admin: ['member', 'moderator', 'owner'] },
  kick: { member: [], moderator: ['member'], owner: ['member', 'moderator'], admin: ['member', 'moderator', 'owner'] },
  'room ban': { member: [], moderator: ['member'], owner: ['member', 'moderator'], admin: ['member', 'moderator', 'owner'] },
  'server ban': { member: [], moderator: [], owner: [], admin: ['member', 'moderator', 'owner'] },
  userinfo: { member: [], moderator: [], owner: [], admin: ['member', 'moderator', 'owner', 'admin'] },
};

/** Who may run the commands that have no target. */
const ALLOWED_ACTORS: Record<string, Rank[]> = {
  'unban (room ban)': ['moderator', 'owner', 'admin'],
  'unban (server ban)': ['admin'],
  'list-bans (room)': ['moderator', 'owner', 'admin'],
  'list-bans (server)': ['admin'],
  'room-create': ['admin'],
  'room-delete': ['admin'],
  topic: ['moderator', 'owner', 'admin'],
  purge: ['owner', 'admin'],
  audit: ['admin'],
  shutdown: ['admin'],
};

/**
 * Everyone in #club: the owner (its creator), two moderators (op'd by the owner), two
 * members, two admins (members of the room who logged in) and a witness (a member who
 * is never acted on). The "twins" are the targets of equal rank; the owner's equal is
 * itself.
 */
interface Cast {
  server: RunningServer;
  owner: TestClient;
  moderator: TestClient;
  moderator2: TestClient;
  member: TestClient;
  member2: TestClient;
  admin: TestClient;
  admin2: TestClient;
  witness: TestClient;
  everyone: TestClient[];
  shutdowns: number;
}

async function assemble(scope: ModScope): Promise<Cast> {
  const cast = { shutdowns: 0 } as Cast;
  cast.server = await scope.start({}, { onShutdownRequest: () => void (cast.shutdowns++, cast.server.close()) });
  const names = ['owner', 'moderator', 'moderator2', 'member', 'member2', 'admin', 'admin2', 'witness'] as const;
  for (const name of names) {
    const client = await scope.connect(cast.server, { name: name[0].toUpperCase() + name.slice(1) });
    // The owner joins first and so creates the room.
    await join(client, ROOM);
    cast[name] = client;
  }
  cast.everyone = names.map((n) => cast[n]);
  await becomeAdmin(cast.admin);
  await becomeAdmin(cast.admin2);
  cast.owner.send({ type: 'op', room: ROOM, target: cast.moderator.id });
  cast.owner.send({ type: 'op', room: ROOM, target: cast.moderator2.id });
  const snapshot = await presenceBarrier(scope, cast.server, ROOM, cast.everyone);
  const role = (c: TestClient) => snapshot.members.find((m) => m.id === c.id);
  assert.equal(role(cast.owner)?.role, 'owner');
  assert.equal(role(cast.moderator)?.role, 'moderator');
  assert.equal(role(cast.moderator2)?.role, 'moderator');
  assert.equal(role(cast.member)?.role, 'member');
  assert.equal(role(cast.admin)?.admin, true);
  assert.equal(role(cast.admin2)?.admin, true);
  assert.equal(role(cast.witness)?.admin, undefined);
  forget(...cast.everyone);
  return cast;
}

function actorOf(cast: Cast, rank: Rank): TestClient {
  return cast[rank];
}

function targetOf(cast: Cast, actor: Rank, target: Rank): TestClient {
  if (actor !== target) return cast[target];
  if (target === 'owner') return cast.owner; // the only owner: acting on oneself
  return cast[`${target}2`];
}

/** The role the target has after an allowed op or deop (the owner stays owner). */
function roleAfter(command: 'op' | 'deop', target: Rank): string {
  if (target === 'owner') return 'owner';
  return command === 'op' ? 'moderator' : 'member';
}

function send(command: string, actor: TestClient, target: TestClient): void {
  const reason = `reason-${command.replace(' ', '-')}`;
  if (command === 'op' || command === 'deop') actor.send({ type: command, room: ROOM, target: target.id });
  else if (command === 'kick') actor.send({ type: 'kick', room: ROOM, target: target.id, reason });
  else if (command === 'room ban') actor.send({ type: 'ban', room: ROOM, target: target.id, reason });
  else if (command === 'server ban') actor.send({ type: 'ban', target: target.id, reason });
  else if (command === 'userinfo') actor.send({ type: 'userinfo', target: target.id });
}

const REF: Record<string, string> = { op: 'op', deop: 'deop', kick: 'kick', 'room ban': 'ban', 'server ban': 'ban', userinfo: 'userinfo' };

describe('permission matrix: commands on a person', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  for (const command of Object.keys(ALLOWED)) {
    for (const actorRank of RANKS) {
      for (const targetRank of RANKS) {
        const allowed = ALLOWED[command][actorRank].includes(targetRank);
        const sameRank = actorRank === targetRank ? (actorRank === 'owner' ? ' (itself)' : ' (another one)') : '';
        test(`${command}: ${actorRank} on ${targetRank}${sameRank} is ${allowed ? 'allowed' : 'forbidden'}`, async () => {
          const cast = await assemble(scope);
          const actor = actorOf(cast, actorRank);
          const target = targetOf(cast, actorRank, targetRank);
          const reason = `reason-${command.replace(' ', '-')}`;
          send(command, actor, target);

          if (!allowed) {
            const error = await nextError(actor, ErrorCode.forbidden, REF[command]);
            assert.ok(error.message.length > 10, 'the refusal is a sentence');
            // Nothing happened: no presence about the target, no notice to it, still in
            // the room with the same role, still connected, and no answer to the actor.
            const before = targetRank === 'moderator' ? 'moderator' : targetRank === 'owner' ? 'owner' : 'member';
            const snapshot = await presenceBarrier(scope, cast.server, ROOM, [cast.witness, target]);
            const now = snapshot.members.find((m) => m.id === target.id);
            assert.ok(now, 'the target is still in the room');
            assert.equal(now.role, before, 'the target keeps its role');
            const aboutTarget = cast.witness
              .all('presence')
              .flatMap((f) => f.events)
              .filter((e) => 'id' in e && e.id === target.id);
            assert.deepEqual(aboutTarget, [], 'no presence event about the target');
            assert.ok(await noneOf(target, 'kicked'));
            assert.ok(await noneOf(target, 'banned'));
            assert.ok(await noneOf(actor, 'userinfo'));
            assert.equal(target.closed, undefined, 'the target is still connected');
            assert.equal(actor.closed, undefined, 'the actor is still connected');
            return;
          }

          if (command === 'op' || command === 'deop') {
            const role = roleAfter(command, targetRank);
            await presenceEvent(cast.witness, ROOM, (e) => e.k === 'role' && e.id === target.id && e.role === role);
            const snapshot = await presenceBarrier(scope, cast.server, ROOM, [cast.witness]);
            assert.equal(snapshot.members.find((m) => m.id === target.id)?.role, role);
            // The new rank is real: a new moderator can kick a member, an ex-moderator cannot.
            if (targetRank !== 'owner') {
              target.send({ type: 'kick', room: ROOM, target: cast.witness.id });
              if (command === 'op') assert.equal((await cast.witness.next('kicked')).by, target.name);
              else await nextError(target, ErrorCode.forbidden, 'kick');
            }
          } else if (command === 'kick') {
            const kicked = await target.next('kicked');
            assert.deepEqual(kicked, { type: 'kicked', room: ROOM, by: actor.name, reason });
            const leave = await presenceEvent(cast.witness, ROOM, (e) => e.k === 'leave' && e.id === target.id);
            assert.deepEqual(
              leave.events.find((e) => e.k === 'leave' && e.id === target.id),
              { k: 'leave', id: target.id, removed: { kind: 'kicked', by: actor.name, reason } },
            );
            const snapshot = await presenceBarrier(scope, cast.server, ROOM, [cast.witness]);
            assert.ok(!snapshot.members.some((m) => m.id === target.id), 'the kicked person is out of the room');
            // A kick is not a ban: they may come back at once.
            const again = await tryJoin(target, ROOM);
            assert.equal(again.type, 'joined');
          } else if (command === 'room ban') {
            const banned = await target.next('banned');
            assert.deepEqual(banned, { type: 'banned', room: ROOM, by: actor.name, reason });
            await presenceEvent(
              cast.witness,
              ROOM,
              (e) => e.k === 'leave' && e.id === target.id && e.removed?.kind === 'banned' && e.removed.by === actor.name && e.removed.reason === reason,
            );
            const again = await tryJoin(target, ROOM);
            assert.equal(again.type, 'error');
            assert.equal((again as ServerFrameOf<'error'>).code, ErrorCode.banned);
            assert.match((again as ServerFrameOf<'error'>).message, /^You are banned from #club: reason-room-ban/);
            // Only this room: the rest of the server is open to them.
            assert.equal((await tryJoin(target, 'elsewhere')).type, 'joined');
          } else if (command === 'server ban') {
            const banned = await target.next('banned');
            assert.deepEqual(banned, { type: 'banned', by: actor.name, reason });
            assert.equal((await target.waitClose()).code, CloseCode.banned);
            await presenceEvent(cast.witness, ROOM, (e) => e.k === 'leave' && e.id === target.id && e.removed?.kind === 'banned');
            // The same identity is refused at hello.
            const back = await scope.connect(cast.server, { identity: target.identity, noHello: true });
            sendHello(back, 'Again');
            const refused = await nextError(back, ErrorCode.banned, 'hello');
            assert.match(refused.message, /^You are banned from this server: reason-server-ban/);
            assert.equal((await back.waitClose()).code, CloseCode.banned);
          } else if (command === 'userinfo') {
            const info = await actor.next('userinfo');
            assert.equal(info.id, target.id);
            assert.equal(info.name, target.name);
            assert.equal(info.ip, '127.0.0.1');
            assert.deepEqual(info.rooms, [ROOM]);
            assert.equal(info.admin, targetRank === 'admin');
            assert.match(info.fingerprint, /^[0-9a-f]{64}$/);
          }
          assert.equal(actor.closed, undefined, 'the actor is still connected');
        });
      }
    }
  }
});

describe('permission matrix: commands without a person', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  for (const command of Object.keys(ALLOWED_ACTORS)) {
    for (const actorRank of RANKS) {
      const allowed = ALLOWED_ACTORS[command].includes(actorRank);
      test(`${command} by ${actorRank} is ${allowed ? 'allowed' : 'forbidden'}`, async () => {
        const cast = await assemble(scope);
        const actor = actorOf(cast, actorRank);
        switch (command) {
          case 'unban (room ban)':
          case 'unban (server ban)': {
            const room = command === 'unban (room ban)' ? ROOM : undefined;
            const outcast = await scope.connect(cast.server, { name: 'Outcast' });
            await join(outcast, ROOM);
            // The admin bans (it outranks everyone, so the ban itself always works).
            cast.admin2.send({ type: 'ban', room, target: outcast.id, reason: 'spam' });
            await outcast.next('banned');
            cast.admin2.send({ type: 'list-bans', room });
            const [ban] = (await cast.admin2.next('bans')).bans;
            assert.equal(ban.name, 'Outcast');
            actor.send({ type: 'unban', ban: ban.id });
            if (allowed) {
              const answer = await actor.next('bans');
              assert.deepEqual(answer.bans, [], 'the answer lists the remaining bans');
            } else {
              await nextError(actor, ErrorCode.forbidden, 'unban');
            }
            cast.admin2.send({ type: 'list-bans', room });
            assert.equal((await cast.admin2.next('bans')).bans.length, allowed ? 0 : 1);
            // And the person is (or is not) let back in.
            if (room) {
              const again = await tryJoin(outcast, ROOM);
              assert.equal(again.type, allowed ? 'joined' : 'error');
            } else {
              const back = await scope.connect(cast.server, { identity: outcast.identity, noHello: true });
              sendHello(back);
              if (allowed) await back.next('welcome');
              else await nextError(back, ErrorCode.banned, 'hello');
            }
            break;
          }
          case 'list-bans (room)':
          case 'list-bans (server)': {
            const room = command === 'list-bans (room)' ? ROOM : undefined;
            actor.send({ type: 'list-bans', room });
            if (allowed) assert.deepEqual(await actor.next('bans'), room ? { type: 'bans', room, bans: [] } : { type: 'bans', bans: [] });
            else await nextError(actor, ErrorCode.forbidden, 'list-bans');
            assert.ok(allowed || (await noneOf(actor, 'bans')));
            break;
          }
          case 'room-create': {
            actor.send({ type: 'room-create', room: 'hall' });
            if (allowed) assert.ok((await actor.next('rooms')).rooms.some((r) => r.name === 'hall'));
            else await nextError(actor, ErrorCode.forbidden, 'room-create');
            assert.equal((await listRooms(cast.witness)).some((r) => r.name === 'hall'), allowed);
            break;
          }
          case 'room-delete': {
            cast.admin2.send({ type: 'room-create', room: 'hall' });
            await cast.admin2.next('rooms');
            actor.send({ type: 'room-delete', room: 'hall' });
            if (allowed) assert.ok(!(await actor.next('rooms')).rooms.some((r) => r.name === 'hall'));
            else await nextError(actor, ErrorCode.forbidden, 'room-delete');
            assert.equal((await listRooms(cast.witness)).some((r) => r.name === 'hall'), !allowed);
            break;
          }
          case 'topic': {
            actor.send({ type: 'topic', room: ROOM, topic: 'Board games on Friday' });
            if (allowed) {
              await presenceEvent(cast.witness, ROOM, (e) => e.k === 'topic' && e.topic === 'Board games on Friday' && e.by === actor.name);
            } else {
              await nextError(actor, ErrorCode.forbidden, 'topic');
            }
            const snapshot = await presenceBarrier(scope, cast.server, ROOM, [cast.witness]);
            assert.equal(snapshot.topic, allowed ? 'Board games on Friday' : undefined);
            break;
          }
          case 'purge': {
            const sentAt = Date.now();
            actor.send({ type: 'purge', room: ROOM });
            if (allowed) {
              await everyonePurged(cast.everyone, ROOM, actor.name, sentAt);
              assert.ok(!(await listRooms(cast.witness)).some((r) => r.name === ROOM), 'the user room is gone');
            } else {
              await nextError(actor, ErrorCode.forbidden, 'purge');
              for (const client of cast.everyone) assert.ok(await noneOf(client, 'purged'));
              assert.ok((await listRooms(cast.witness)).some((r) => r.name === ROOM && r.members === cast.everyone.length + 1));
            }
            break;
          }
          case 'audit': {
            actor.send({ type: 'audit' });
            if (allowed) {
              const { entries } = await actor.next('audit');
              // The cast's own setup is in it: two admin logins and two ops.
              assert.deepEqual(entries.map((e) => e.action).sort(), ['admin-granted', 'admin-granted', 'op', 'op']);
            } else {
              await nextError(actor, ErrorCode.forbidden, 'audit');
              assert.ok(await noneOf(actor, 'audit'));
            }
            break;
          }
          case 'shutdown': {
            actor.send({ type: 'shutdown' });
            if (allowed) {
              for (const client of cast.everyone) assert.equal((await client.waitClose()).code, CloseCode.shuttingDown);
              assert.equal(cast.shutdowns, 1);
            } else {
              await nextError(actor, ErrorCode.forbidden, 'shutdown');
              for (const client of cast.everyone) await roundTrip(client);
              assert.equal(cast.shutdowns, 0);
            }
            break;
          }
        }
        if (!(command === 'shutdown' && allowed)) assert.equal(actor.closed, undefined, 'the actor is still connected');
      });
    }
  }
});
