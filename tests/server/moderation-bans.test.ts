// Kicks and bans: by identity key and by address, room and server-wide, with expiry,
// unban, the ban list (IPs for the admin only), and the end of signalling and relaying
// between people who no longer share a room.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CloseCode, ErrorCode, LOBBY, type ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { join, nextError, presenceEvent, roundTrip, type TestClient } from './helpers.ts';
import { ModScope, becomeAdmin, noneOf, nextFrame, pollUntil, sendHello, tryJoin } from './moderation-helpers.ts';

/** What a reconnect with this identity gets: welcomed, or refused at hello. */
async function reconnect(scope: ModScope, server: RunningServer, identity: TestClient['identity'], from?: string): Promise<{ welcomed: true; client: TestClient } | { welcomed: false; error: ServerFrameOf<'error'>; close: number }> {
  const client = await scope.connect(server, { identity, from, noHello: true });
  sendHello(client);
  const answer = await nextFrame(client, (f) => f.type === 'welcome' || (f.type === 'error' && f.ref === 'hello'), 'the answer to hello');
  if (answer.type === 'welcome') return { welcomed: true, client };
  const close = (await client.waitClose()).code;
  return { welcomed: false, error: answer as ServerFrameOf<'error'>, close };
}

function errorOf(answer: ServerFrameOf<'joined'> | ServerFrameOf<'error'>): ServerFrameOf<'error'> {
  assert.equal(answer.type, 'error', `expected a refusal, got ${JSON.stringify(answer)}`);
  return answer as ServerFrameOf<'error'>;
}

describe('bans by identity key', () => {
  let scope: ModScope;
  let server: RunningServer;
  beforeEach(async () => {
    scope = new ModScope();
    server = await scope.start();
  });
  afterEach(() => scope.dispose());

  test('a server ban closes the person with 4005; the same identity is refused at hello with a sentence', async () => {
    const admin = await scope.connect(server, { name: 'Root' });
    await becomeAdmin(admin);
    const troll = await scope.connect(server, { name: 'Troll' });
    const watcher = await scope.connect(server, { name: 'Watcher' });
    await join(troll, LOBBY);
    await join(watcher, LOBBY);
    admin.send({ type: 'ban', target: troll.id, reason: 'flooding' });
    assert.deepEqual(await troll.next('banned'), { type: 'banned', by: 'Root', reason: 'flooding' });
    assert.equal((await troll.waitClose()).code, CloseCode.banned);
    await presenceEvent(watcher, LOBBY, (e) => e.k === 'leave' && e.id === troll.id && e.removed?.kind === 'banned' && e.removed.by === 'Root');

    const again = await reconnect(scope, server, troll.identity);
    assert.equal(again.welcomed, false);
    if (again.welcomed) return;
    assert.equal(again.error.code, ErrorCode.banned);
    assert.equal(again.error.message, 'You are banned from this server: flooding');
    // The ban's parts, for the app to say in the reader's own time and format.
    assert.deepEqual(again.error.ban, { reason: 'flooding' });
    assert.equal(again.close, CloseCode.banned);

    // Only that identity: someone else from the same address (127.0.0.1) is welcome.
    const neighbour = await scope.connect(server);
    assert.ok(neighbour.welcome);
  });

  test('a room ban refuses joins of that identity with a sentence, in that room only', async () => {
    const owner = await scope.connect(server, { name: 'Owner' });
    await join(owner, 'games');
    const pest = await scope.connect(server, { name: 'Pest' });
    await join(pest, 'games');
    owner.send({ type: 'ban', room: 'games', target: pest.id, reason: 'cheating' });
    assert.deepEqual(await pest.next('banned'), { type: 'banned', room: 'games', by: 'Owner', reason: 'cheating' });

    const refused = errorOf(await tryJoin(pest, 'games'));
    assert.equal(refused.code, ErrorCode.banned);
    assert.equal(refused.message, 'You are banned from #games: cheating');
    // A new session of the same identity is still banned; the rest of the server is open.
    pest.close();
    const back = await reconnect(scope, server, pest.identity);
    assert.ok(back.welcomed);
    if (!back.welcomed) return;
    assert.equal(errorOf(await tryJoin(back.client, 'games')).code, ErrorCode.banned);
    assert.equal((await tryJoin(back.client, LOBBY)).type, 'joined');
    // Someone else from the same address can join.
    const other = await scope.connect(server);
    assert.equal((await tryJoin(other, 'games')).type, 'joined');
  });

  test('a ban without a reason says so in a sentence too', async () => {
    const owner = await scope.connect(server, { name: 'Owner' });
    await join(owner, 'games');
    const pest = await scope.connect(server);
    await join(pest, 'games');
    owner.send({ type: 'ban', room: 'games', target: pest.id, reason: '   ' });
    assert.deepEqual(await pest.next('banned'), { type: 'banned', room: 'games', by: 'Owner' });
    assert.equal(errorOf(await tryJoin(pest, 'games')).message, 'You are banned from #games.');
  });

  test('banning or kicking someone who is not there is not-found', async () => {
    const owner = await scope.connect(server, { name: 'Owner' });
    await join(owner, 'games');
    const elsewhere = await scope.connect(server);
    owner.send({ type: 'kick', room: 'games', target: elsewhere.id });
    await nextError(owner, ErrorCode.notFound, 'kick');
    owner.send({ type: 'ban', room: 'games', target: 'p-nobody' });
    await nextError(owner, ErrorCode.notFound, 'p-nobody');
    owner.send({ type: 'ban', room: 'games', target: elsewhere.id, durationMs: 10 });
    await nextError(owner, ErrorCode.badFrame, 'ban');
    assert.ok(await noneOf(elsewhere, 'banned'));
  });
});

describe('bans by address (trust-proxy, X-Forwarded-For)', () => {
  let scope: ModScope;
  let server: RunningServer;
  beforeEach(async () => {
    scope = new ModScope();
    server = await scope.start({ trustProxy: ['127.0.0.1'] });
  });
  afterEach(() => scope.dispose());

  test('a server ban by IP refuses every identity from that address, and the banned identity from anywhere', async () => {
    const admin = await scope.connect(server, { name: 'Root', from: '192.0.2.1' });
    await becomeAdmin(admin);
    const troll = await scope.connect(server, { name: 'Troll', from: '198.51.100.7' });
    // Another person behind the same address, online at the time of the ban.
    const flatmate = await scope.connect(server, { name: 'Flatmate', from: '198.51.100.7' });
    const bystander = await scope.connect(server, { name: 'Bystander', from: '203.0.113.9' });
    admin.send({ type: 'ban', target: troll.id, reason: 'abuse', byIp: true });
    assert.equal((await troll.waitClose()).code, CloseCode.banned);
    // Everyone matching the ban leaves: the flatmate shares the address.
    assert.deepEqual(await flatmate.next('banned'), { type: 'banned', by: 'Root', reason: 'abuse' });
    assert.equal((await flatmate.waitClose()).code, CloseCode.banned);
    await roundTrip(bystander);
    await roundTrip(admin);

    const newcomer = await scope.connect(server, { from: '198.51.100.7', noHello: true });
    sendHello(newcomer);
    assert.match((await nextError(newcomer, ErrorCode.banned, 'hello')).message, /^You are banned from this server: abuse/);
    assert.equal((await newcomer.waitClose()).code, CloseCode.banned);

    const moved = await reconnect(scope, server, troll.identity, '203.0.113.50');
    assert.equal(moved.welcomed, false, 'the identity is banned from any address');
    const stranger = await scope.connect(server, { from: '203.0.113.51' });
    assert.ok(stranger.welcome, 'other addresses are not affected');
  });

  test('without byIp, another identity from the banned address is welcome', async () => {
    const admin = await scope.connect(server, { name: 'Root', from: '192.0.2.1' });
    await becomeAdmin(admin);
    const troll = await scope.connect(server, { from: '198.51.100.7' });
    const flatmate = await scope.connect(server, { from: '198.51.100.7' });
    admin.send({ type: 'ban', target: troll.id });
    await troll.waitClose();
    await roundTrip(flatmate);
    assert.ok(await noneOf(flatmate, 'banned'));
    const newcomer = await scope.connect(server, { from: '198.51.100.7' });
    assert.ok(newcomer.welcome);
  });

  test('a room ban by IP refuses joins from that address; other addresses may join', async () => {
    const owner = await scope.connect(server, { name: 'Owner', from: '192.0.2.1' });
    await join(owner, 'games');
    const pest = await scope.connect(server, { from: '198.51.100.7' });
    await join(pest, 'games');
    owner.send({ type: 'ban', room: 'games', target: pest.id, reason: 'alts', byIp: true });
    await pest.next('banned');
    const alt = await scope.connect(server, { from: '198.51.100.7' });
    assert.equal(errorOf(await tryJoin(alt, 'games')).message, 'You are banned from #games: alts');
    assert.equal((await tryJoin(alt, LOBBY)).type, 'joined', 'the room ban is not a server ban');
    const friend = await scope.connect(server, { from: '198.51.100.8' });
    assert.equal((await tryJoin(friend, 'games')).type, 'joined');
  });

  test('a ban by address is refused when it would shut out the one who bans', async () => {
    const admin = await scope.connect(server, { name: 'Root', from: '198.51.100.7' });
    await becomeAdmin(admin);
    await join(admin, 'games');
    const housemate = await scope.connect(server, { name: 'Housemate', from: '198.51.100.7' });
    await join(housemate, 'games');
    for (const room of [undefined, 'games']) {
      admin.send({ type: 'ban', room, target: housemate.id, byIp: true });
      assert.match((await nextError(admin, ErrorCode.forbidden, 'ban')).message, /shut you out too/);
    }
    admin.send({ type: 'list-bans' });
    assert.deepEqual((await admin.next('bans')).bans, [], 'no ban was made');
    assert.ok(await noneOf(housemate, 'banned'));
    assert.equal(admin.closed, undefined);
    // Without --ip the same ban works, and the admin stays.
    admin.send({ type: 'ban', target: housemate.id, reason: 'just them' });
    await housemate.waitClose();
    await roundTrip(admin);
    assert.equal(admin.closed, undefined);
    assert.ok((await scope.connect(server, { from: '198.51.100.7' })).welcome, 'the address is not banned');
  });

  test('unban lifts an IP ban for the identity and the address', async () => {
    const admin = await scope.connect(server, { name: 'Root', from: '192.0.2.1' });
    await becomeAdmin(admin);
    const troll = await scope.connect(server, { from: '198.51.100.7' });
    admin.send({ type: 'ban', target: troll.id, byIp: true });
    await troll.waitClose();
    admin.send({ type: 'list-bans' });
    const [ban] = (await admin.next('bans')).bans;
    admin.send({ type: 'unban', ban: ban.id });
    const afterUnban = await admin.next('bans');
    assert.deepEqual(afterUnban.bans, []);
    // The answer names the ban it lifted, so the app can say so.
    assert.deepEqual(afterUnban.lifted, { id: ban.id, name: ban.name });
    assert.equal((await reconnect(scope, server, troll.identity, '198.51.100.7')).welcomed, true);
    assert.ok((await scope.connect(server, { from: '198.51.100.7' })).welcome);
    // An unknown ban id is not-found.
    admin.send({ type: 'unban', ban: ban.id });
    await nextError(admin, ErrorCode.notFound, ban.id);
  });
});

describe('ban expiry and the ban list', () => {
  let scope: ModScope;
  let server: RunningServer;
  beforeEach(async () => {
    scope = new ModScope();
    server = await scope.start({ trustProxy: ['loopback'] });
  });
  afterEach(() => scope.dispose());

  test('a room ban with a duration ends by itself', async () => {
    const owner = await scope.connect(server, { name: 'Owner' });
    await join(owner, 'games');
    const pest = await scope.connect(server);
    await join(pest, 'games');
    const before = Date.now();
    owner.send({ type: 'ban', room: 'games', target: pest.id, durationMs: 1500, reason: 'cool off' });
    const banned = await pest.next('banned');
    assert.ok(banned.until !== undefined && banned.until >= before + 1500 && banned.until <= Date.now() + 1500, `until ${banned.until}`);

    const first = await tryJoin(pest, 'games');
    // Refused while the ban runs (the check is only meaningful if it is still running).
    if (Date.now() < banned.until!) {
      assert.equal(errorOf(first).code, ErrorCode.banned);
      assert.match(errorOf(first).message, /^You are banned from #games until \d{4}-\d\d-\d\d \d\d:\d\d UTC: cool off$/);
      // The end as a number too: the app formats it in the reader's locale.
      assert.deepEqual(errorOf(first).ban, { room: 'games', until: banned.until, reason: 'cool off' });
    }
    const joined = await pollUntil('the ban has ended', async () => {
      const answer = await tryJoin(pest, 'games');
      return answer.type === 'joined' ? answer : undefined;
    });
    assert.ok(joined.members.some((m) => m.id === pest.id));
    assert.ok(Date.now() >= banned.until!, 'let in only once the ban ended');
    owner.send({ type: 'list-bans', room: 'games' });
    assert.deepEqual((await owner.next('bans')).bans, [], 'an ended ban is no longer listed');
  });

  test('a server ban with a duration ends by itself', async () => {
    const admin = await scope.connect(server, { name: 'Root', from: '192.0.2.1' });
    await becomeAdmin(admin);
    const troll = await scope.connect(server, { from: '198.51.100.7' });
    admin.send({ type: 'ban', target: troll.id, durationMs: 1000, byIp: true });
    const banned = await troll.next('banned');
    await troll.waitClose();
    await pollUntil('the server ban has ended', async () => {
      const answer = await reconnect(scope, server, troll.identity, '198.51.100.7');
      if (!answer.welcomed) {
        assert.equal(answer.error.code, ErrorCode.banned);
        return undefined;
      }
      return answer;
    });
    assert.ok(Date.now() >= banned.until!);
  });

  test('the ban list shows who, by whom, when, why and until when; addresses only to the admin', async () => {
    const owner = await scope.connect(server, { name: 'Owner', from: '192.0.2.1' });
    await join(owner, 'games');
    const moderator = await scope.connect(server, { name: 'Mod', from: '192.0.2.2' });
    await join(moderator, 'games');
    owner.send({ type: 'op', room: 'games', target: moderator.id });
    await presenceEvent(owner, 'games', (e) => e.k === 'role' && e.id === moderator.id && e.role === 'moderator');
    const admin = await scope.connect(server, { name: 'Root', from: '192.0.2.3' });
    await becomeAdmin(admin);
    const pest = await scope.connect(server, { name: 'Pest', from: '198.51.100.7' });
    await join(pest, 'games');
    const troll = await scope.connect(server, { name: 'Troll', from: '198.51.100.8' });

    const before = Date.now();
    moderator.send({ type: 'ban', room: 'games', target: pest.id, reason: 'spoilers', durationMs: 3_600_000, byIp: true });
    await pest.next('banned');
    admin.send({ type: 'ban', target: troll.id, reason: 'threats' });
    await troll.waitClose();
    const after = Date.now();
    const fingerprint = (c: TestClient) => createHash('sha256').update(Buffer.from(c.identity.key, 'base64url')).digest('hex').slice(0, 16);

    owner.send({ type: 'list-bans', room: 'games' });
    const forOwner = await owner.next('bans');
    assert.equal(forOwner.room, 'games');
    assert.equal(forOwner.bans.length, 1);
    const [ban] = forOwner.bans;
    assert.match(ban.id, /^[A-Za-z0-9_-]+$/);
    assert.equal(ban.room, 'games');
    assert.equal(ban.name, 'Pest');
    assert.equal(ban.fingerprint, fingerprint(pest));
    assert.equal(ban.by, 'Mod');
    assert.ok(ban.at >= before && ban.at <= after);
    assert.equal(ban.reason, 'spoilers');
    assert.equal(ban.until, ban.at + 3_600_000);
    assert.equal(ban.ip, undefined, 'the owner never sees an address');

    moderator.send({ type: 'list-bans', room: 'games' });
    assert.equal((await moderator.next('bans')).bans[0].ip, undefined, 'nor does a moderator');

    admin.send({ type: 'list-bans', room: 'games' });
    assert.deepEqual((await admin.next('bans')).bans, [{ ...ban, ip: '198.51.100.7' }], 'the admin sees the address');

    admin.send({ type: 'list-bans' });
    const serverWide = await admin.next('bans');
    assert.equal(serverWide.room, undefined);
    assert.equal(serverWide.bans.length, 1, 'the server list holds only server bans');
    assert.equal(serverWide.bans[0].name, 'Troll');
    assert.equal(serverWide.bans[0].by, 'Root');
    assert.equal(serverWide.bans[0].reason, 'threats');
    assert.equal(serverWide.bans[0].until, undefined, 'no duration: until lifted');
    assert.equal(serverWide.bans[0].ip, undefined, 'not banned by address');
    assert.equal(serverWide.bans[0].fingerprint, fingerprint(troll));
  });
});

describe('a kick or ban ends signalling and relaying between the two', () => {
  let scope: ModScope;
  let server: RunningServer;
  beforeEach(async () => {
    scope = new ModScope();
    server = await scope.start();
  });
  afterEach(() => scope.dispose());

  /** A signal and a relay frame from `from` to `to`: both delivered, or both peer-unreachable. */
  async function reachable(from: TestClient, to: TestClient): Promise<boolean> {
    from.send({ type: 'signal', to: to.id, data: 'offer-sdp' });
    from.send({ type: 'relay', to: to.id, data: 'Y2lwaGVydGV4dA' });
    await roundTrip(from);
    const refused = from.all('error').filter((e) => e.code === ErrorCode.peerUnreachable && e.ref === to.id).length;
    from.frames.splice(0, from.frames.length, ...from.frames.filter((f) => !(f.type === 'error' && f.ref === to.id)));
    if (refused === 2) return false;
    assert.equal(refused, 0, 'signal and relay are treated alike');
    await to.next('signal', (f) => f.from === from.id);
    await to.next('relay', (f) => f.from === from.id);
    return true;
  }

  for (const action of ['kick', 'ban'] as const) {
    test(`after a ${action}, former room-mates who share no other room cannot signal or relay to each other`, async () => {
      const owner = await scope.connect(server, { name: 'Owner' });
      await join(owner, 'games');
      const mate = await scope.connect(server, { name: 'Mate' });
      const loner = await scope.connect(server, { name: 'Loner' });
      await join(mate, 'games');
      await join(loner, 'games');
      // Owner and Mate also share the lobby; only #games links Loner to them.
      await join(owner, LOBBY);
      await join(mate, LOBBY);
      assert.ok(await reachable(mate, loner));
      assert.ok(await reachable(loner, mate));

      owner.send({ type: action, room: 'games', target: loner.id });
      await loner.next(action === 'kick' ? 'kicked' : 'banned');
      assert.equal(await reachable(mate, loner), false, 'to the removed person');
      assert.equal(await reachable(loner, mate), false, 'from the removed person');
      assert.equal(await reachable(owner, loner), false);
      // People who still share a room keep their links.
      assert.ok(await reachable(mate, owner));
    });
  }

  test('after a kick, people who still share another room can still signal', async () => {
    const owner = await scope.connect(server, { name: 'Owner' });
    await join(owner, 'games');
    const mate = await scope.connect(server);
    const kicked = await scope.connect(server);
    for (const client of [mate, kicked]) {
      await join(client, 'games');
      await join(client, 'chess');
    }
    owner.send({ type: 'kick', room: 'games', target: kicked.id });
    await kicked.next('kicked');
    assert.ok(await reachable(mate, kicked), 'they still share #chess');
    assert.equal(await reachable(owner, kicked), false, 'the owner shared only #games');
  });
});
