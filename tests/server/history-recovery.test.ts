// Room history over real sockets: a member who comes back with a cursor gets what it
// missed right after its snapshot, in order, each message once; a gap (the ring no longer
// reaches back, or a new epoch after a restart) is said; new members see the room's last
// messages; private rooms replay only their sealed frames; purge and the end of a room
// drop what the server kept.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { LIMITS, LOBBY, type ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import type { Config } from '../../signal-server/config.ts';
import { makeIdentity } from '../support/test-client.ts';
import { join, roundTrip } from './helpers.ts';
import { ModScope, becomeAdmin, everyonePurged } from './moderation-helpers.ts';
import { cursorAfter, rejoin, sayAll, texts } from './history-helpers.ts';

/** Rates out of the way: these tests send many messages at once. */
const FAST: Partial<Config> = { sayBurst: 10_000, sayPerMinute: 100_000, maxConnectionsPerIp: 5000 };

const seqs = (messages: ServerFrameOf<'message'>[]) => messages.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

let scope: ModScope;
beforeEach(() => {
  scope = new ModScope();
});
afterEach(() => scope.dispose());

describe('recovery after a reconnect', () => {
  test('a member who comes back gets exactly what it missed, in order, each once, over several reconnects; then live messages follow', async () => {
    const server = await scope.start(FAST);
    const ann = await scope.connect(server, { name: 'Ann' });
    await join(ann, 'club');
    const identity = makeIdentity();
    let bob = await scope.connect(server, { identity, name: 'Bob' });
    const first = await rejoin(bob, 'club');
    assert.deepEqual(first.replay, [], 'a new room has nothing to show');
    let cursor = cursorAfter(first);
    const received: ServerFrameOf<'message'>[] = [];
    let said = 0;
    for (const count of [3, 1, 7, 2]) {
      // Bob's connection drops; Ann keeps talking; Bob comes back on a new connection.
      bob.ws.terminate();
      await sayAll(ann, 'club', texts(said + 1, said + count));
      said += count;
      bob = await scope.connect(server, { identity, name: 'Bob' });
      const back = await rejoin(bob, 'club', cursor);
      assert.equal(back.joined.history.missed, undefined, 'nothing was lost');
      assert.equal(back.joined.history.epoch, cursor.epoch);
      assert.equal(back.joined.history.seq, said);
      assert.deepEqual(seqs(back.replay), range(cursor.seq + 1, said));
      received.push(...back.replay);
      cursor = cursorAfter(back);
    }
    assert.deepEqual(seqs(received), range(1, said), 'every message exactly once, in order');
    assert.deepEqual(received.map((m) => m.text), texts(1, said));
    assert.ok(received.every((m) => m.from === ann.id && m.name === 'Ann'));

    // Coming back with nothing missed replays nothing; a live message has the next seq.
    const again = await rejoin(bob, 'club', cursor);
    assert.deepEqual(again.replay, []);
    assert.equal(again.joined.history.missed, undefined);
    const [ack] = await sayAll(ann, 'club', ['live']);
    const live = await bob.next('message', (m) => m.text === 'live');
    assert.equal(live.seq, said + 1);
    assert.equal(ack!.seq, said + 1);
  });

  test('when the ring no longer reaches back, the member gets what it has and is told it missed some', async () => {
    const server = await scope.start({ ...FAST, historyMessages: 5 });
    const ann = await scope.connect(server, { name: 'Ann' });
    const bob = await scope.connect(server, { name: 'Bob' });
    await join(ann, 'club');
    const joined = await rejoin(bob, 'club');
    bob.send({ type: 'leave', room: 'club' });
    await bob.next('left');
    await sayAll(ann, 'club', texts(1, 8));
    const back = await rejoin(bob, 'club', cursorAfter(joined));
    assert.equal(back.joined.history.missed, true);
    assert.deepEqual(seqs(back.replay), [4, 5, 6, 7, 8]);
    assert.equal(bob.welcome!.limits.historyMessages, 5);
  });

  test('a second join while already in the room honours its cursor too', async () => {
    const server = await scope.start(FAST);
    const ann = await scope.connect(server, { name: 'Ann' });
    const bob = await scope.connect(server, { name: 'Bob' });
    await join(ann, 'club');
    const joined = await rejoin(bob, 'club');
    await sayAll(ann, 'club', texts(1, 4));
    await roundTrip(bob);
    // A reconnect race: Bob thinks it missed the last two and joins again without leaving.
    const again = await rejoin(bob, 'club', { epoch: joined.joined.history.epoch, seq: 2 });
    assert.deepEqual(seqs(again.replay), [3, 4]);
    assert.equal(again.joined.history.missed, undefined);
  });

  test('after a restart the epoch is new: a cursor from before gets all of the new epoch, not missed while the ring holds it all', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const first = await scope.start({ ...FAST, dataDir });
    const ann = await scope.connect(first, { name: 'Ann' });
    const bob = await scope.connect(first, { name: 'Bob' });
    await join(ann, LOBBY);
    await sayAll(ann, LOBBY, texts(1, 3));
    const before = await rejoin(bob, LOBBY);
    assert.deepEqual(seqs(before.replay), [1, 2, 3], 'a new member sees the recent messages');
    const cursor = cursorAfter(before);
    await first.close();

    const second = await scope.start({ ...FAST, dataDir });
    const ann2 = await scope.connect(second, { name: 'Ann' });
    await join(ann2, LOBBY);
    await sayAll(ann2, LOBBY, ['after 1', 'after 2']);
    const bob2 = await scope.connect(second, { name: 'Bob' });
    const back = await rejoin(bob2, LOBBY, cursor);
    assert.notEqual(back.joined.history.epoch, cursor.epoch);
    // What the old epoch held after the cursor only the app can judge (was it there when that server stopped?).
    assert.equal(back.joined.history.missed, undefined);
    assert.deepEqual(seqs(back.replay), [1, 2]);
    assert.deepEqual(back.replay.map((m) => m.text), ['after 1', 'after 2']);
  });

  test('a server started with history off keeps nothing: newMembers 0, no replay, a gap is said', async () => {
    for (const off of [{ historyMessages: 0 }, { historyMaxAgeMs: 0 }, { historyMaxBytes: 0 }]) {
      const server = await scope.start({ ...FAST, ...off });
      const ann = await scope.connect(server, { name: 'Ann' });
      const bob = await scope.connect(server, { name: 'Bob' });
      assert.equal(ann.welcome!.limits.historyMessages, 0);
      await join(ann, 'club');
      const joined = await rejoin(bob, 'club');
      assert.equal(joined.joined.history.newMembers, 0);
      bob.send({ type: 'leave', room: 'club' });
      await bob.next('left');
      await sayAll(ann, 'club', texts(1, 2));
      const back = await rejoin(bob, 'club', cursorAfter(joined));
      assert.deepEqual(back.replay, []);
      assert.equal(back.joined.history.missed, true);
      assert.equal(server.hub.rooms.history.entries, 0);
    }
  });
});

describe('bad history frames', () => {
  test('a malformed cursor or history setting is refused as bad-frame naming the field; the server and the room carry on', async () => {
    const server = await scope.start(FAST);
    const ann = await scope.connect(server, { name: 'Ann' });
    const joined = await rejoin(ann, 'club');
    const bad: [unknown, string][] = [
      [{ type: 'join', room: 'club', since: { epoch: 'not an epoch!', seq: 1 } }, 'since.epoch'],
      [{ type: 'join', room: 'club', since: { epoch: joined.joined.history.epoch, seq: -1 } }, 'since.seq'],
      [{ type: 'join', room: 'club', since: { epoch: joined.joined.history.epoch, seq: 1.5 } }, 'since.seq'],
      [{ type: 'join', room: 'club', since: [] }, 'since'],
      [{ type: 'room-history', room: 'club', newMembers: LIMITS.historyMessagesMax + 1 }, 'newMembers'],
      [{ type: 'room-history', room: 'club', newMembers: -1 }, 'newMembers'],
    ];
    for (const [frame, field] of bad) {
      ann.send(frame);
      const error = await ann.next('error');
      assert.equal(error.code, 'bad-frame', JSON.stringify(frame));
      assert.ok(error.message.includes(`at ${field}`), `${error.message} names ${field}`);
    }
    await sayAll(ann, 'club', ['still here']);
    const back = await rejoin(ann, 'club', { epoch: joined.joined.history.epoch, seq: 0 });
    assert.deepEqual(back.replay.map((m) => m.text), ['still here']);
  });
});

describe('what new members see', () => {
  test('a new member gets the last newMembers messages of the ring (never "missed"); the default is LIMITS.historyNewMembersDefault', async () => {
    const server = await scope.start(FAST);
    const ann = await scope.connect(server, { name: 'Ann' });
    await join(ann, 'club');
    const total = LIMITS.historyNewMembersDefault + 10;
    await sayAll(ann, 'club', texts(1, total));
    const newcomer = await scope.connect(server);
    const joined = await rejoin(newcomer, 'club');
    assert.equal(joined.joined.history.newMembers, LIMITS.historyNewMembersDefault);
    assert.equal(joined.joined.history.missed, undefined);
    assert.deepEqual(seqs(joined.replay), range(total - LIMITS.historyNewMembersDefault + 1, total));
    assert.equal(ann.welcome!.limits.historyMessages, LIMITS.historyMessages);
  });

  test('room-history: the owner sets N (new members get the last N), 0 (the ring is emptied at once, nothing more is kept); members are told; others may not', async () => {
    const server = await scope.start(FAST);
    const owner = await scope.connect(server, { name: 'Owner' });
    const member = await scope.connect(server, { name: 'Member' });
    await join(owner, 'club');
    await join(member, 'club');
    await sayAll(owner, 'club', texts(1, 10));

    member.send({ type: 'room-history', room: 'club', newMembers: 3 });
    assert.equal((await member.next('error', (e) => e.ref === 'room-history')).code, 'forbidden');

    owner.send({ type: 'room-history', room: 'club', newMembers: 3 });
    const told = { type: 'room-history', room: 'club', newMembers: 3, by: 'Owner' };
    for (const who of [owner, member]) assert.deepEqual(await who.next('room-history'), told);
    const three = await rejoin(await scope.connect(server), 'club');
    assert.equal(three.joined.history.newMembers, 3);
    assert.deepEqual(seqs(three.replay), [8, 9, 10]);

    // More than a ring keeps is clamped to what it keeps.
    owner.send({ type: 'room-history', room: 'club', newMembers: LIMITS.historyMessagesMax });
    assert.equal((await owner.next('room-history')).newMembers, LIMITS.historyMessages);

    owner.send({ type: 'room-history', room: 'club', newMembers: 0 });
    assert.equal((await member.next('room-history', (f) => f.newMembers === 0)).by, 'Owner');
    assert.equal(server.hub.rooms.history.entries, 0, 'the ring was emptied at once');
    await sayAll(owner, 'club', ['not kept']);
    assert.equal(server.hub.rooms.history.entries, 0, 'and keeps nothing more');
    const none = await rejoin(await scope.connect(server), 'club');
    assert.equal(none.joined.history.newMembers, 0);
    assert.deepEqual(none.replay, []);
  });

  test('room-history in a persistent room: only the admin; the setting survives a restart', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const first = await scope.start({ ...FAST, dataDir });
    const admin = await scope.connect(first, { name: 'Root' });
    const member = await scope.connect(first, { name: 'Member' });
    await becomeAdmin(admin);
    await join(member, LOBBY);
    member.send({ type: 'room-history', room: LOBBY, newMembers: 2 });
    assert.equal((await member.next('error', (e) => e.ref === 'room-history')).code, 'forbidden');
    // The admin need not be in the room; it is told all the same.
    admin.send({ type: 'room-history', room: LOBBY, newMembers: 2 });
    assert.deepEqual(await admin.next('room-history'), { type: 'room-history', room: LOBBY, newMembers: 2, by: 'Root' });
    assert.equal((await member.next('room-history')).newMembers, 2);
    admin.send({ type: 'audit' });
    const entry = (await admin.next('audit')).entries.find((e) => e.action === 'room-history');
    assert.deepEqual({ room: entry?.room, detail: entry?.detail }, { room: LOBBY, detail: 'new members see 2 messages' });
    await first.close();

    const second = await scope.start({ ...FAST, dataDir });
    const talker = await scope.connect(second, { name: 'Talker' });
    await join(talker, LOBBY);
    await sayAll(talker, LOBBY, texts(1, 5));
    const newcomer = await rejoin(await scope.connect(second), LOBBY);
    assert.equal(newcomer.joined.history.newMembers, 2);
    assert.deepEqual(seqs(newcomer.replay), [4, 5]);
  });
});

describe('private rooms, purge and the end of a room', () => {
  test("a private room's ring holds only its sealed frames: a returning member gets ciphertext and the sender's key, never text", async () => {
    const server = await scope.start(FAST);
    const verifier = randomBytes(32).toString('base64url');
    const ann = await scope.connect(server, { name: 'Ann' });
    const bob = await scope.connect(server, { name: 'Bob' });
    const created = await rejoin(ann, 'secret', undefined, verifier);
    assert.equal(created.joined.private, true);
    const bobJoined = await rejoin(bob, 'secret', undefined, verifier);
    bob.send({ type: 'leave', room: 'secret' });
    await bob.next('left');
    const sealed = [1, 2, 3].map(() => randomBytes(80).toString('base64url'));
    sealed.forEach((body, i) => ann.send({ type: 'say', room: 'secret', cid: `s${i}`, sealed: body }));
    await Promise.all(sealed.map((_, i) => ann.next('ack', (a) => a.cid === `s${i}`)));

    const raw: string[] = [];
    bob.ws.on('message', (data) => raw.push(String(data)));
    const back = await rejoin(bob, 'secret', cursorAfter(bobJoined), verifier);
    assert.deepEqual(back.replay.map((m) => m.sealed), sealed);
    for (const message of back.replay) {
      assert.equal(message.key, ann.identity.key);
      assert.equal('text' in message, false);
      assert.equal('kind' in message, false);
    }
    const replayedRaw = raw.filter((t) => t.startsWith('{"type":"message"'));
    assert.equal(replayedRaw.length, 3);
    for (const text of replayedRaw) assert.deepEqual(Object.keys(JSON.parse(text) as object).sort(), ['from', 'id', 'key', 'name', 'room', 'sealed', 'seq', 'ts', 'type']);
  });

  test("a new passphrase empties a private room's ring: nobody who enters it is sent what was sealed under the old one", async () => {
    const server = await scope.start(FAST);
    const oldVerifier = randomBytes(32).toString('base64url');
    const newVerifier = randomBytes(32).toString('base64url');
    const ann = await scope.connect(server, { name: 'Ann' });
    await rejoin(ann, 'secret', undefined, oldVerifier);
    ann.send({ type: 'say', room: 'secret', cid: 'old', sealed: randomBytes(80).toString('base64url') });
    await ann.next('ack', (a) => a.cid === 'old');
    ann.send({ type: 'room-passphrase', room: 'secret', verifier: newVerifier });
    await ann.next('passphrase-changed');
    const fresh = randomBytes(80).toString('base64url');
    ann.send({ type: 'say', room: 'secret', cid: 'new', sealed: fresh });
    await ann.next('ack', (a) => a.cid === 'new');

    const cy = await scope.connect(server, { name: 'Cy' });
    const joined = await rejoin(cy, 'secret', undefined, newVerifier);
    assert.deepEqual(joined.replay.map((m) => m.sealed), [fresh]);
  });

  test('purge empties the ring; later joins under that name carry purgedAt, a persistent room\'s across a restart', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const first = await scope.start({ ...FAST, dataDir });
    const admin = await scope.connect(first, { name: 'Root' });
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: 'hall' });
    await admin.next('rooms');
    const owner = await scope.connect(first, { name: 'Owner' });
    const talker = await scope.connect(first, { name: 'Talker' });
    for (const [who, room] of [[owner, 'games'], [talker, 'hall']] as const) {
      await join(who, room);
      await sayAll(who, room, texts(1, 4));
    }
    assert.equal(first.hub.rooms.history.entries, 8);

    // A user room: purged by its owner, it ends; its name remembers the purge.
    let sentAt = Date.now();
    owner.send({ type: 'purge', room: 'games' });
    const gamesAt = await everyonePurged([owner], 'games', 'Owner', sentAt);
    assert.equal(first.hub.rooms.history.entries, 4);
    const games = await rejoin(owner, 'games');
    assert.equal(games.joined.history.purgedAt, gamesAt);
    assert.deepEqual(games.replay, []);

    // A persistent room: emptied, it stays; a cursor from before the purge finds a gap.
    const talkerJoined = await rejoin(await scope.connect(first), 'hall');
    sentAt = Date.now();
    admin.send({ type: 'purge', room: 'hall' });
    const hallAt = await everyonePurged([talker], 'hall', 'Root', sentAt);
    assert.equal(first.hub.rooms.history.entries, 0);
    const hall = await rejoin(talker, 'hall', { epoch: talkerJoined.joined.history.epoch, seq: 2 });
    assert.equal(hall.joined.history.purgedAt, hallAt);
    assert.equal(hall.joined.history.missed, true);
    assert.deepEqual(hall.replay, []);
    await first.close();

    const second = await scope.start({ ...FAST, dataDir });
    const later = await rejoin(await scope.connect(second), 'hall');
    assert.equal(later.joined.history.purgedAt, hallAt, 'remembered across the restart');
    const lobby = await rejoin(await scope.connect(second), LOBBY);
    assert.equal(lobby.joined.history.purgedAt, undefined, 'only the purged room carries it');
  });

  test('the end of a transient room drops its messages: the next room of that name starts a new epoch with nothing', async () => {
    const server = await scope.start(FAST);
    const ann = await scope.connect(server, { name: 'Ann' });
    const first = await rejoin(ann, 'pop-up');
    await sayAll(ann, 'pop-up', texts(1, 5));
    assert.equal(server.hub.rooms.history.entries, 5);
    ann.send({ type: 'leave', room: 'pop-up' });
    await ann.next('left');
    assert.equal(server.hub.rooms.history.entries, 0);
    assert.equal(server.hub.rooms.history.bytes, 0);
    const again = await rejoin(ann, 'pop-up', { epoch: first.joined.history.epoch, seq: 5 });
    assert.notEqual(again.joined.history.epoch, first.joined.history.epoch);
    assert.equal(again.joined.history.seq, 0);
    // Nothing of the new epoch is gone; the old one the app judges (here its cursor was complete).
    assert.equal(again.joined.history.missed, undefined);
    assert.deepEqual(again.replay, []);
  });
});
