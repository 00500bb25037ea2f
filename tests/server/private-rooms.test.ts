// Private rooms: a join with a verifier (the app derives it from the passphrase) creates an
// unlisted room, or must match the room's verifier; messages there are sealed; wrong
// guesses are throttled per connection and per address; the owner changes the passphrase
// and everyone else must enter the new one; kicks, room bans, the end of the room, and
// the admin's persistent rooms all hold for private rooms too.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ErrorCode, LIMITS, LOBBY, type ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { join, listRooms, nextError, presenceEvent, roundTrip, until, type TestClient } from './helpers.ts';
import { ModScope, becomeAdmin, forget, nextFrame, noneOf } from './moderation-helpers.ts';

/** What the app sends for a passphrase: 32 bytes, base64url (43 characters). */
const newVerifier = (): string => randomBytes(32).toString('base64url');
/** Opaque ciphertext as far as the server is concerned. */
const newSealed = (bytes = 64): string => randomBytes(bytes).toString('base64url');

type JoinAnswer = ServerFrameOf<'joined'> | ServerFrameOf<'error'>;

/** Sends `join` (with a verifier when given) and resolves with the snapshot or the error that refused it. */
async function attempt(client: TestClient, room: string, verifier?: string): Promise<JoinAnswer> {
  client.send(verifier === undefined ? { type: 'join', room } : { type: 'join', room, verifier });
  const frame = await nextFrame(client, (f) => (f.type === 'joined' && f.room === room) || (f.type === 'error' && f.ref === room), `the answer to joining #${room}`);
  return frame as JoinAnswer;
}

async function joinWith(client: TestClient, room: string, verifier: string): Promise<ServerFrameOf<'joined'>> {
  const answer = await attempt(client, room, verifier);
  assert.equal(answer.type, 'joined', `expected to be let into #${room}, got ${JSON.stringify(answer)}`);
  return answer as ServerFrameOf<'joined'>;
}

/** A join that must be refused with `code` (ref: the room). */
async function refused(client: TestClient, room: string, verifier: string | undefined, code: string): Promise<ServerFrameOf<'error'>> {
  const answer = await attempt(client, room, verifier);
  assert.equal(answer.type, 'error', `expected ${code} for #${room}, got ${JSON.stringify(answer)}`);
  const error = answer as ServerFrameOf<'error'>;
  assert.equal(error.code, code, error.message);
  assert.equal(error.ref, room);
  return error;
}

/**
 * Proves earlier presence in a private room has been delivered: a fresh client joins with
 * the verifier and every watcher waits until it sees that join (presence in a room is
 * queued in order). Returns the newcomer's snapshot and, per watcher, every presence event
 * it had received in the room since its frames were last forgotten.
 */
async function privateBarrier(scope: ModScope, server: RunningServer, room: string, verifier: string, watchers: TestClient[]) {
  const sentinel = await scope.connect(server, { name: `s${Math.random().toString(36).slice(2, 9)}` });
  const snapshot = await joinWith(sentinel, room, verifier);
  const seen = await Promise.all(
    watchers.map(async (w) => {
      const last = await presenceEvent(w, room, (e) => e.k === 'join' && e.member.id === sentinel.id);
      return [...w.all('presence'), last].filter((f) => f.room === room).flatMap((f) => f.events);
    }),
  );
  return { sentinel, snapshot, seen };
}

type PresenceEvent = ServerFrameOf<'presence'>['events'][number];

/**
 * Waits until `client` has received, in `room`, an event matching each of `matches` (they
 * may come in one batch or several); frames are not consumed. Returns those events.
 */
async function eventsSeen(client: TestClient, room: string, matches: ((e: PresenceEvent) => boolean)[], what: string): Promise<PresenceEvent[]> {
  const events = () => client.all('presence').filter((f) => f.room === room).flatMap((f) => f.events);
  const found = () => matches.map((m) => events().find(m));
  await until(client, () => found().every((e) => e !== undefined), what);
  return found() as PresenceEvent[];
}

const ids = (snapshot: ServerFrameOf<'joined'>) => snapshot.members.map((m) => m.id).sort();

/** No frame failed the protocol schema (e.g. a message with both text and sealed). */
function allValid(...clients: TestClient[]): void {
  for (const client of clients) assert.deepEqual(client.invalid, [], 'every server frame matched the protocol');
}

// Every test gets its own server and clients.
let scope: ModScope;
let server: RunningServer;
beforeEach(async () => {
  scope = new ModScope();
  server = await scope.start();
});
afterEach(() => scope.dispose());

describe('private rooms: creating and joining', () => {
  test('a join with a verifier to a new name creates a private room the joiner owns; it is unlisted, a public room is listed', async () => {
    const owner = await scope.connect(server, { name: 'Owner' });
    const joined = await joinWith(owner, 'secret', newVerifier());
    assert.equal(joined.private, true);
    assert.equal(joined.persistent, undefined);
    assert.deepEqual(joined.members, [{ id: owner.id, name: 'Owner', key: owner.identity.key, role: 'owner' }]);

    const publicJoined = await join(owner, 'open');
    assert.equal(publicJoined.private, undefined, 'a room joined without a verifier is public');

    const other = await scope.connect(server);
    const rooms = await listRooms(other);
    assert.deepEqual(rooms.map((r) => r.name).sort(), ['lobby', 'open']);
    assert.deepEqual(rooms.find((r) => r.name === 'open'), { name: 'open', members: 1 });
    assert.ok(!(await listRooms(owner)).some((r) => r.name === 'secret'), 'unlisted even for its owner');
    allValid(owner, other);
  });

  test('the same verifier admits a second person; none gets passphrase-required, another gets passphrase-wrong, and neither gets in', async () => {
    const verifier = newVerifier();
    const owner = await scope.connect(server, { name: 'Owner' });
    await joinWith(owner, 'secret', verifier);
    const friend = await scope.connect(server, { name: 'Friend' });
    const friendJoined = await joinWith(friend, 'secret', verifier);
    assert.equal(friendJoined.private, true);
    assert.deepEqual(ids(friendJoined), [owner.id, friend.id].sort());
    assert.equal(friendJoined.members.find((m) => m.id === friend.id)?.role, 'member');
    const [arrival] = await eventsSeen(owner, 'secret', [(e) => e.k === 'join' && e.member.id === friend.id], 'the owner saw the friend arrive');
    assert.deepEqual(arrival, { k: 'join', member: { id: friend.id, name: 'Friend', key: friend.identity.key, role: 'member' } });

    forget(owner, friend);
    const stranger = await scope.connect(server, { name: 'Stranger' });
    const required = await refused(stranger, 'secret', undefined, ErrorCode.passphraseRequired);
    assert.match(required.message, /#secret/);
    await refused(stranger, 'secret', newVerifier(), ErrorCode.passphraseWrong);
    // The spelling is normalised before the check: "#SECRET" is the same private room.
    stranger.send({ type: 'join', room: '#SECRET' });
    await nextError(stranger, ErrorCode.passphraseRequired, 'secret');
    assert.equal(stranger.all('joined').length, 0);

    const { sentinel, snapshot, seen } = await privateBarrier(scope, server, 'secret', verifier, [owner, friend]);
    assert.deepEqual(ids(snapshot), [owner.id, friend.id, sentinel.id].sort(), 'the stranger is not in the room');
    for (const events of seen) {
      assert.ok(!events.some((e) => e.k === 'join' && e.member.id === stranger.id), 'nobody saw the stranger arrive');
    }
    // Not a member: writing there fails.
    stranger.send({ type: 'say', room: 'secret', cid: 'not-in', sealed: newSealed() });
    await nextError(stranger, ErrorCode.notInRoom, 'not-in');
    assert.ok(await noneOf(owner, 'message'));
    allValid(owner, friend, stranger);
  });

  test('a join with a verifier to an existing public room (or the lobby) gets not-private and does not join', async () => {
    const resident = await scope.connect(server, { name: 'Resident' });
    await join(resident, 'open');
    await join(resident, LOBBY);
    forget(resident);
    const newcomer = await scope.connect(server, { name: 'Newcomer' });
    await refused(newcomer, 'open', newVerifier(), ErrorCode.notPrivate);
    await refused(newcomer, LOBBY, newVerifier(), ErrorCode.notPrivate);
    assert.equal(newcomer.all('joined').length, 0);

    const sentinel = await scope.connect(server);
    for (const room of ['open', LOBBY]) {
      const snapshot = await join(sentinel, room);
      assert.equal(snapshot.private, undefined, `#${room} stays public`);
      assert.deepEqual(ids(snapshot), [resident.id, sentinel.id].sort(), `the newcomer is not in #${room}`);
      await presenceEvent(resident, room, (e) => e.k === 'join' && e.member.id === sentinel.id);
    }
    assert.ok(!resident.all('presence').some((f) => f.events.some((e) => e.k === 'join' && e.member.id === newcomer.id)));
    // The public room is still joinable the ordinary way.
    assert.equal((await attempt(newcomer, 'open')).type, 'joined');
    allValid(resident, newcomer);
  });
});

describe('private rooms: messages', () => {
  async function privatePair(): Promise<[TestClient, TestClient]> {
    const verifier = newVerifier();
    const ann = await scope.connect(server, { name: 'Ann' });
    const bob = await scope.connect(server, { name: 'Bob' });
    await joinWith(ann, 'secret', verifier);
    await joinWith(bob, 'secret', verifier);
    await presenceEvent(ann, 'secret', (e) => e.k === 'join' && e.member.id === bob.id);
    return [ann, bob];
  }

  test('in a private room plain text gets sealed-only and reaches nobody', async () => {
    const [ann, bob] = await privatePair();
    ann.send({ type: 'say', room: 'secret', cid: 'plain-1', text: 'in the clear' });
    const error = await nextError(ann, ErrorCode.sealedOnly, 'plain-1');
    assert.match(error.message, /#secret/);
    ann.send({ type: 'say', room: 'secret', cid: 'plain-2', text: 'waves', kind: 'action' });
    await nextError(ann, ErrorCode.sealedOnly, 'plain-2');
    assert.equal(ann.all('ack').length, 0);
    assert.ok(await noneOf(bob, 'message'), 'nothing was relayed');
    allValid(ann, bob);
  });

  test('a sealed message is acked and relayed as is, with the sender identity key and no text', async () => {
    const [ann, bob] = await privatePair();
    const sealed = newSealed();
    ann.send({ type: 'say', room: 'secret', cid: 'sealed-1', sealed });
    const ack = await ann.next('ack', (a) => a.cid === 'sealed-1');
    const message = await bob.next('message', (m) => m.room === 'secret');
    assert.deepEqual(message, { type: 'message', room: 'secret', id: ack.id, from: ann.id, name: 'Ann', ts: ack.ts, seq: ack.seq, sealed, key: ann.identity.key });
    assert.equal('text' in message, false);
    assert.equal('kind' in message, false);
    // The sender does not get its own message back.
    assert.ok(await noneOf(ann, 'message'));

    // The seal's length bounds: 40 and LIMITS.sealedMaxLength characters are accepted.
    for (const [cid, length] of [['shortest', 40], ['longest', LIMITS.sealedMaxLength]] as const) {
      const body = 'A'.repeat(length);
      ann.send({ type: 'say', room: 'secret', cid, sealed: body });
      await ann.next('ack', (a) => a.cid === cid);
      assert.equal((await bob.next('message', (m) => m.sealed === body)).key, ann.identity.key);
    }
    // A resent cid is acked again with the same id and not relayed twice.
    ann.send({ type: 'say', room: 'secret', cid: 'sealed-1', sealed });
    assert.deepEqual(await ann.next('ack', (a) => a.cid === 'sealed-1'), ack);
    assert.ok(await noneOf(bob, 'message'));
    allValid(ann, bob);
  });

  test('a sealed message in a public room gets not-private and reaches nobody', async () => {
    const ann = await scope.connect(server, { name: 'Ann' });
    const bob = await scope.connect(server, { name: 'Bob' });
    await join(ann, 'open');
    await join(bob, 'open');
    await join(ann, LOBBY);
    await join(bob, LOBBY);
    for (const room of ['open', LOBBY]) {
      ann.send({ type: 'say', room, cid: `sealed-${room}`, sealed: newSealed() });
      await nextError(ann, ErrorCode.notPrivate, `sealed-${room}`);
    }
    assert.ok(await noneOf(bob, 'message'));
    // Plain text still works there.
    ann.send({ type: 'say', room: 'open', cid: 'plain', text: 'hi' });
    await ann.next('ack', (a) => a.cid === 'plain');
    assert.equal((await bob.next('message', (m) => m.room === 'open')).text, 'hi');
    allValid(ann, bob);
  });

  test('say needs exactly one of text and sealed (sealed with no kind, of a valid length): otherwise bad-frame', async () => {
    const [ann, bob] = await privatePair();
    const bad: [string, Record<string, unknown>][] = [
      ['both', { text: 'hi', sealed: newSealed() }],
      ['neither', {}],
      ['neither, with a kind', { kind: 'action' }],
      ['sealed with a kind', { sealed: newSealed(), kind: 'text' }],
      ['sealed too short', { sealed: 'A'.repeat(39) }],
      ['sealed too long', { sealed: 'A'.repeat(LIMITS.sealedMaxLength + 1) }],
      ['sealed not base64url', { sealed: `${'A'.repeat(40)}+/=` }],
    ];
    for (const [why, body] of bad) {
      ann.send({ type: 'say', room: 'secret', cid: `bad-${why.replace(/\W+/g, '-')}`, ...body });
      const error = await nextError(ann, ErrorCode.badFrame, 'say');
      assert.ok(error.message.length > 0, why);
    }
    assert.equal(ann.all('ack').length, 0);
    assert.ok(await noneOf(bob, 'message'), 'no malformed say was relayed');
    // The socket is still usable.
    ann.send({ type: 'say', room: 'secret', cid: 'good', sealed: newSealed() });
    await ann.next('ack', (a) => a.cid === 'good');
    await bob.next('message', (m) => m.from === ann.id);
    allValid(ann, bob);
  });
});

describe('private rooms: guessing is throttled', () => {
  test(`after ${LIMITS.passphraseGuessesPerConnection} wrong verifiers a connection waits; others from the address get in until ${LIMITS.passphraseGuessesPerIp} per address and room`, async () => {
    const verifier = newVerifier();
    const owner = await scope.connect(server, { name: 'Owner' });
    await joinWith(owner, 'vault', verifier);

    const guesser = await scope.connect(server, { name: 'Guesser' });
    for (let i = 0; i < LIMITS.passphraseGuessesPerConnection; i++) await refused(guesser, 'vault', newVerifier(), ErrorCode.passphraseWrong);
    // The next attempt waits, even with the right verifier.
    const throttled = await refused(guesser, 'vault', verifier, ErrorCode.throttled);
    assert.ok(throttled.retryAfterMs !== undefined && throttled.retryAfterMs > 0, `retryAfterMs ${throttled.retryAfterMs}`);
    assert.ok(throttled.retryAfterMs <= LIMITS.passphraseGuessWindowMs);
    assert.equal(guesser.all('joined').length, 0);
    // Throttled attempts do not count as guesses, and a throttled socket stays open.
    await refused(guesser, 'vault', verifier, ErrorCode.throttled);
    await roundTrip(guesser);
    assert.equal(guesser.closed, undefined);
    // It is not a guess to join a public room or to create a new private one.
    assert.equal((await join(guesser, LOBBY)).room, LOBBY);
    assert.equal((await joinWith(guesser, 'own-room', newVerifier())).private, true);
    // Without a verifier there is nothing to guess: the usual refusal.
    await refused(guesser, 'vault', undefined, ErrorCode.passphraseRequired);

    // Another connection from the same address (127.0.0.1) still gets in.
    const friend = await scope.connect(server, { name: 'Friend' });
    const snapshot = await joinWith(friend, 'vault', verifier);
    assert.deepEqual(ids(snapshot), [owner.id, friend.id].sort());
    await presenceEvent(owner, 'vault', (e) => e.k === 'join' && e.member.id === friend.id);

    // The address has had 5 wrong guesses at #vault; 5 more from another connection reach
    // its limit for #vault, and only for #vault: other rooms stay open to that address.
    const otherVerifier = newVerifier();
    await joinWith(owner, 'other-vault', otherVerifier);
    const second = await scope.connect(server, { name: 'Second' });
    const perIpLeft = LIMITS.passphraseGuessesPerIp - LIMITS.passphraseGuessesPerConnection;
    for (let i = 0; i < perIpLeft; i++) await refused(second, 'vault', newVerifier(), ErrorCode.passphraseWrong);
    const late = await scope.connect(server, { name: 'Late' });
    const ipThrottled = await refused(late, 'vault', verifier, ErrorCode.throttled);
    assert.ok(ipThrottled.retryAfterMs !== undefined && ipThrottled.retryAfterMs > 0);
    assert.equal((await joinWith(late, 'other-vault', otherVerifier)).private, true, 'another room is not shut for the address');

    // The server is up and the members are unaffected.
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const sealed = newSealed();
    owner.send({ type: 'say', room: 'vault', cid: 'still-up', sealed });
    await owner.next('ack', (a) => a.cid === 'still-up');
    assert.equal((await friend.next('message', (m) => m.room === 'vault')).sealed, sealed);
    allValid(owner, guesser, friend, second, late);
  });
});

describe('private rooms: changing the passphrase', () => {
  test('only the owner may change it; then everyone else is out with passphrase-changed, and only the new verifier admits', async () => {
    const oldVerifier = newVerifier();
    const newOne = newVerifier();
    const owner = await scope.connect(server, { name: 'Owner' });
    const member = await scope.connect(server, { name: 'Member' });
    const moderator = await scope.connect(server, { name: 'Mod' });
    await joinWith(owner, 'secret', oldVerifier);
    await joinWith(member, 'secret', oldVerifier);
    await joinWith(moderator, 'secret', oldVerifier);
    owner.send({ type: 'op', room: 'secret', target: moderator.id });
    await presenceEvent(member, 'secret', (e) => e.k === 'role' && e.id === moderator.id && e.role === 'moderator');

    // Not the owner: forbidden, and nothing changes.
    for (const who of [member, moderator]) {
      who.send({ type: 'room-passphrase', room: 'secret', verifier: newVerifier() });
      await nextError(who, ErrorCode.forbidden, 'room-passphrase');
    }
    const outsider = await scope.connect(server, { name: 'Outsider' });
    outsider.send({ type: 'room-passphrase', room: 'secret', verifier: newVerifier() });
    await nextError(outsider, ErrorCode.notInRoom, 'secret');
    assert.ok(await noneOf(member, 'passphrase-changed'));
    assert.ok(await noneOf(owner, 'passphrase-changed'));
    const { sentinel } = await privateBarrier(scope, server, 'secret', oldVerifier, [owner, member, moderator]);

    forget(owner, member, moderator, sentinel);
    owner.send({ type: 'room-passphrase', room: '#Secret', verifier: newOne });
    const told = { type: 'passphrase-changed', room: 'secret', by: 'Owner' };
    for (const who of [member, moderator, sentinel, owner]) assert.deepEqual(await who.next('passphrase-changed'), told);
    const leaves = await eventsSeen(
      owner,
      'secret',
      [member, moderator, sentinel].map((gone) => (e: PresenceEvent) => e.k === 'leave' && e.id === gone.id),
      'the owner saw everyone else leave',
    );
    for (const [i, gone] of [member, moderator, sentinel].entries()) {
      assert.deepEqual(leaves[i], { k: 'leave', id: gone.id, removed: { kind: 'rekeyed', by: 'Owner' } });
    }
    // The others are out of the room: writing there fails, and no room frames reach them.
    member.send({ type: 'say', room: 'secret', cid: 'after', sealed: newSealed() });
    await nextError(member, ErrorCode.notInRoom, 'after');

    // The old verifier opens nothing now; the new one does, and the owner is still there.
    const latecomer = await scope.connect(server, { name: 'Latecomer' });
    await refused(latecomer, 'secret', oldVerifier, ErrorCode.passphraseWrong);
    await refused(member, 'secret', oldVerifier, ErrorCode.passphraseWrong);
    const admitted = await joinWith(latecomer, 'secret', newOne);
    assert.equal(admitted.private, true);
    assert.deepEqual(admitted.members.map((m) => [m.id, m.role]).sort(), [[latecomer.id, 'member'], [owner.id, 'owner']].sort());
    // The moderator role belongs to the identity and comes back with the new passphrase.
    const back = await joinWith(moderator, 'secret', newOne);
    assert.equal(back.members.find((m) => m.id === moderator.id)?.role, 'moderator');

    // The owner is still a member who can write there.
    const sealed = newSealed();
    owner.send({ type: 'say', room: 'secret', cid: 'owner-still-here', sealed });
    await owner.next('ack', (a) => a.cid === 'owner-still-here');
    assert.equal((await latecomer.next('message', (m) => m.room === 'secret')).sealed, sealed);
    assert.ok(await noneOf(member, 'message'), 'the rekeyed member gets no more room messages');
    allValid(owner, member, moderator, sentinel, latecomer, outsider);
  });

  test('room-passphrase on a public room gets not-private; an owner alone keeps the room', async () => {
    const owner = await scope.connect(server, { name: 'Owner' });
    await join(owner, 'open');
    owner.send({ type: 'room-passphrase', room: 'open', verifier: newVerifier() });
    await nextError(owner, ErrorCode.notPrivate, 'open');
    const newcomer = await scope.connect(server);
    assert.equal((await attempt(newcomer, 'open')).type, 'joined', 'the public room still needs no passphrase');

    const alone = newVerifier();
    await joinWith(owner, 'solo', alone);
    const next = newVerifier();
    owner.send({ type: 'room-passphrase', room: 'solo', verifier: next });
    assert.deepEqual(await owner.next('passphrase-changed'), { type: 'passphrase-changed', room: 'solo', by: 'Owner' });
    await refused(newcomer, 'solo', alone, ErrorCode.passphraseWrong);
    const snapshot = await joinWith(newcomer, 'solo', next);
    assert.deepEqual(ids(snapshot), [owner.id, newcomer.id].sort());
    allValid(owner, newcomer);
  });
  test('the admin changing it tells the owner too; the same passphrase again removes nobody; a member joining again is not guessing', async () => {
    const first = newVerifier();
    const owner = await scope.connect(server, { name: 'Owner' });
    const member = await scope.connect(server, { name: 'Member' });
    const admin = await scope.connect(server, { name: 'Root' });
    await becomeAdmin(admin);
    await joinWith(owner, 'secret', first);
    await joinWith(member, 'secret', first);
    await joinWith(admin, 'secret', first);

    // A member already in the room who sends join again (no or a wrong verifier) just gets the snapshot.
    for (const verifier of [undefined, newVerifier()]) {
      const answer = await attempt(member, 'secret', verifier);
      assert.equal(answer.type, 'joined', 'already in: the snapshot again');
    }
    // Those were no guesses: the right verifier still works on a new connection of this address at once.
    const friend = await scope.connect(server, { name: 'Friend' });
    await joinWith(friend, 'secret', first);

    // The same verifier again: confirmed to the one who sent it, and nobody is removed.
    forget(owner, member, admin, friend);
    owner.send({ type: 'room-passphrase', room: 'secret', verifier: first });
    assert.deepEqual(await owner.next('passphrase-changed'), { type: 'passphrase-changed', room: 'secret', by: 'Owner' });
    assert.ok(await noneOf(member, 'passphrase-changed'), 'nobody else is told to enter it again');
    const leaves = member.all('presence').flatMap((f) => f.events).filter((e) => e.k === 'leave');
    assert.deepEqual(leaves, [], 'and nobody leaves');

    // The admin sets a new one: the owner has to enter it like everyone else (and keeps the role).
    const second = newVerifier();
    admin.send({ type: 'room-passphrase', room: 'secret', verifier: second });
    const told = { type: 'passphrase-changed', room: 'secret', by: 'Root' };
    for (const who of [owner, member, friend, admin]) assert.deepEqual(await who.next('passphrase-changed'), told);
    await refused(owner, 'secret', first, ErrorCode.passphraseWrong);
    const back = await joinWith(owner, 'secret', second);
    assert.equal(back.members.find((m) => m.id === owner.id)?.role, 'owner', 'the owner is still the owner');
    allValid(owner, member, admin, friend);
  });
});

describe('private rooms: kicks, bans, the end of the room, persistent rooms', () => {
  test('a kicked member comes back with the current verifier; after a passphrase change the old one is refused', async () => {
    const verifier = newVerifier();
    const owner = await scope.connect(server, { name: 'Owner' });
    const kicked = await scope.connect(server, { name: 'Kicked' });
    await joinWith(owner, 'secret', verifier);
    await joinWith(kicked, 'secret', verifier);
    owner.send({ type: 'kick', room: 'secret', target: kicked.id, reason: 'cool off' });
    assert.deepEqual(await kicked.next('kicked'), { type: 'kicked', room: 'secret', by: 'Owner', reason: 'cool off' });
    await presenceEvent(owner, 'secret', (e) => e.k === 'leave' && e.id === kicked.id && e.removed?.kind === 'kicked');
    await refused(kicked, 'secret', undefined, ErrorCode.passphraseRequired);
    const back = await joinWith(kicked, 'secret', verifier);
    assert.deepEqual(ids(back), [owner.id, kicked.id].sort());

    owner.send({ type: 'kick', room: 'secret', target: kicked.id });
    await kicked.next('kicked');
    const next = newVerifier();
    owner.send({ type: 'room-passphrase', room: 'secret', verifier: next });
    await owner.next('passphrase-changed');
    assert.ok(await noneOf(kicked, 'passphrase-changed'), 'only members are told');
    await refused(kicked, 'secret', verifier, ErrorCode.passphraseWrong);
    assert.equal((await joinWith(kicked, 'secret', next)).private, true);
    allValid(owner, kicked);
  });

  test('a member banned from a private room is refused even with the right verifier', async () => {
    const verifier = newVerifier();
    const owner = await scope.connect(server, { name: 'Owner' });
    const pest = await scope.connect(server, { name: 'Pest' });
    await joinWith(owner, 'secret', verifier);
    await joinWith(pest, 'secret', verifier);
    owner.send({ type: 'ban', room: 'secret', target: pest.id, reason: 'spam' });
    assert.deepEqual(await pest.next('banned'), { type: 'banned', room: 'secret', by: 'Owner', reason: 'spam' });
    await presenceEvent(owner, 'secret', (e) => e.k === 'leave' && e.id === pest.id && e.removed?.kind === 'banned');
    const error = await refused(pest, 'secret', verifier, ErrorCode.banned);
    assert.equal(error.message, 'You are banned from #secret: spam');
    // The ban is checked before the verifier: a wrong guess by a banned member is not counted.
    await refused(pest, 'secret', newVerifier(), ErrorCode.banned);
    // Someone else still gets in with it.
    const friend = await scope.connect(server);
    const snapshot = await joinWith(friend, 'secret', verifier);
    assert.deepEqual(ids(snapshot), [owner.id, friend.id].sort());
    allValid(owner, pest, friend);
  });

  test('when the last member leaves, the private room ends: the name is free for a new private room with a new owner', async () => {
    const first = newVerifier();
    const owner = await scope.connect(server, { name: 'Owner' });
    const member = await scope.connect(server, { name: 'Member' });
    await joinWith(owner, 'secret', first);
    await joinWith(member, 'secret', first);
    owner.send({ type: 'leave', room: 'secret' });
    await owner.next('left');
    // Not ended yet: one member is left, and the verifier still rules.
    await refused(owner, 'secret', newVerifier(), ErrorCode.passphraseWrong);
    member.send({ type: 'leave', room: 'secret' });
    await member.next('left');

    const second = newVerifier();
    const newcomer = await scope.connect(server, { name: 'Newcomer' });
    const fresh = await joinWith(newcomer, 'secret', second);
    assert.equal(fresh.private, true);
    assert.deepEqual(fresh.members.map((m) => [m.id, m.role]), [[newcomer.id, 'owner']]);
    await refused(owner, 'secret', first, ErrorCode.passphraseWrong);
    const rejoined = await joinWith(owner, 'secret', second);
    assert.equal(rejoined.members.find((m) => m.id === owner.id)?.role, 'member', 'the old owner owns nothing in the new room');

    // Ending by disconnect works the same; a join without a verifier then makes a public room.
    const watcher = await scope.connect(server);
    await join(watcher, LOBBY);
    for (const who of [owner, newcomer]) await join(who, LOBBY);
    owner.close();
    newcomer.close();
    await eventsSeen(watcher, LOBBY, [owner, newcomer].map((gone) => (e: PresenceEvent) => e.k === 'leave' && e.id === gone.id), 'both left the lobby');
    const again = await attempt(watcher, 'secret');
    assert.equal(again.type, 'joined');
    assert.equal((again as ServerFrameOf<'joined'>).private, undefined);
    assert.deepEqual((again as ServerFrameOf<'joined'>).members.map((m) => [m.id, m.role]), [[watcher.id, 'owner']]);
    assert.ok((await listRooms(watcher)).some((r) => r.name === 'secret'), 'listed now that it is public');
    allValid(member, watcher);
  });

  test('the admin cannot make a live private room persistent: room-exists, and the room stays private and unlisted', async () => {
    const verifier = newVerifier();
    const owner = await scope.connect(server, { name: 'Owner' });
    await joinWith(owner, 'secret', verifier);
    const admin = await scope.connect(server, { name: 'Root' });
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: 'secret' });
    const error = await nextError(admin, ErrorCode.roomExists, 'secret');
    assert.match(error.message, /private/);
    assert.equal(admin.all('rooms').length, 0, 'no room list as for a created room');
    assert.ok(!(await listRooms(admin)).some((r) => r.name === 'secret'));
    // The admin needs the passphrase too.
    await refused(admin, 'secret', undefined, ErrorCode.passphraseRequired);
    const friend = await scope.connect(server);
    const snapshot = await joinWith(friend, 'secret', verifier);
    assert.equal(snapshot.private, true);
    assert.equal(snapshot.persistent, undefined);
    assert.equal(snapshot.members.find((m) => m.id === owner.id)?.role, 'owner', 'the owner is still the owner');
    assert.equal(server.hub.store.rooms.some((r) => r.name === 'secret'), false, 'nothing was saved');
    allValid(owner, admin, friend);
  });
});

describe('private rooms: verifier shapes', () => {
  const good = newVerifier();
  const shapes: [string, string][] = [
    ['42 characters', good.slice(0, 42)],
    ['44 characters', `${good}A`],
    ['empty', ''],
    ['standard base64 ("+" and "/")', `+/${good.slice(2)}`],
    ['padding "="', `${good.slice(0, 42)}=`],
    ['a space', ` ${good.slice(1)}`],
    ['non-ASCII', `é${good.slice(1)}`],
  ];

  test('a join with a verifier of the wrong shape is a bad frame; the socket stays open and nothing is created', async () => {
    assert.equal(good.length, LIMITS.verifierLength);
    const client = await scope.connect(server);
    for (const [why, verifier] of shapes) {
      client.send({ type: 'join', room: 'shapes', verifier });
      const error = await nextError(client, ErrorCode.badFrame, 'join');
      assert.match(error.message, /verifier/, why);
      await roundTrip(client);
    }
    client.send({ type: 'join', room: 'shapes', verifier: 42 });
    await nextError(client, ErrorCode.badFrame, 'join');
    await roundTrip(client);
    assert.equal(client.closed, undefined);
    assert.equal(client.all('joined').length, 0);
    assert.ok(!(await listRooms(client)).some((r) => r.name === 'shapes'));
    // Nothing was created: the name is free, and a well-formed verifier makes it private.
    const other = await scope.connect(server);
    const created = await joinWith(other, 'shapes', good);
    assert.deepEqual(created.members.map((m) => [m.id, m.role]), [[other.id, 'owner']]);
    allValid(client, other);
  });

  test('room-passphrase with a verifier of the wrong shape (or none) is a bad frame and changes nothing', async () => {
    const owner = await scope.connect(server, { name: 'Owner' });
    const member = await scope.connect(server);
    await joinWith(owner, 'secret', good);
    await joinWith(member, 'secret', good);
    for (const [why, verifier] of shapes) {
      owner.send({ type: 'room-passphrase', room: 'secret', verifier });
      const error = await nextError(owner, ErrorCode.badFrame, 'room-passphrase');
      assert.match(error.message, /verifier/, why);
    }
    owner.send({ type: 'room-passphrase', room: 'secret' });
    await nextError(owner, ErrorCode.badFrame, 'room-passphrase');
    await roundTrip(owner);
    assert.equal(owner.closed, undefined);
    assert.ok(await noneOf(member, 'passphrase-changed'));
    assert.ok(await noneOf(owner, 'passphrase-changed'));
    const { snapshot } = await privateBarrier(scope, server, 'secret', good, [owner, member]);
    assert.equal(snapshot.members.length, 3, 'the old verifier still opens the room and nobody was removed');
    allValid(owner, member);
  });
});
