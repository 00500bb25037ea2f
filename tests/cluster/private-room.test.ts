// A private room across nodes: the passphrase's verifier made on node A lets people in on
// B and C and refuses a wrong one there; sealed messages reach every node; and Redis holds
// only ciphertext: after the messages, every key and value in Redis is read back and the
// plaintext marker (and the verifier itself) is nowhere, while the sealed text is there.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { ErrorCode, type ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import { nextFrame } from '../server/moderation-helpers.ts';
import { nextError } from '../server/helpers.ts';
import { cursorAfter, rejoin } from '../server/history-helpers.ts';
import { makeIdentity, type TestClient } from '../support/test-client.ts';
import { CROSS_NODE_MS, redisDump, seesJoin, seesLeave, uniqueName, useCluster } from './cluster-helpers.ts';

/** What the app sends for a passphrase: 32 bytes, base64url. */
const newVerifier = (): string => randomBytes(32).toString('base64url');

/** AES-256-GCM over `plaintext` with a key the server never sees: IV, ciphertext and tag, base64url. */
function seal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

async function joinPrivate(client: TestClient, room: string, verifier?: string): Promise<ServerFrameOf<'joined'> | ServerFrameOf<'error'>> {
  client.send({ type: 'join', room, ...(verifier && { verifier }) });
  return (await nextFrame(client, (f) => (f.type === 'joined' && f.room === room) || (f.type === 'error' && f.ref === room), `the answer to joining #${room}`, CROSS_NODE_MS)) as
    | ServerFrameOf<'joined'>
    | ServerFrameOf<'error'>;
}

describe('private rooms across nodes', () => {
  const ctx = useCluster();

  test('the verifier set on A admits on B and C, a wrong one is refused; sealed messages cross nodes; Redis holds only ciphertext', async () => {
    const [a, b, c] = ctx.nodes;
    const room = 'secret';
    const verifier = newVerifier();
    const roomKey = randomBytes(32);
    const marker = `PLAINTEXT-MARKER-${randomBytes(6).toString('hex')}`;

    const ann = await ctx.connect(a!, { name: uniqueName('Ann') });
    const created = await joinPrivate(ann, room, verifier);
    assert.equal(created.type, 'joined', JSON.stringify(created));
    assert.equal((created as ServerFrameOf<'joined'>).private, true);

    const bob = await ctx.connect(b!, { name: uniqueName('Bob') });
    const bobJoined = await joinPrivate(bob, room, verifier);
    assert.equal(bobJoined.type, 'joined', `the verifier made on A admits on B: ${JSON.stringify(bobJoined)}`);
    assert.equal((bobJoined as ServerFrameOf<'joined'>).private, true);

    const eve = await ctx.connect(c!, { name: uniqueName('Eve') });
    const wrong = await joinPrivate(eve, room, newVerifier());
    assert.equal(wrong.type, 'error', `a wrong verifier on C is refused: ${JSON.stringify(wrong)}`);
    assert.equal((wrong as ServerFrameOf<'error'>).code, ErrorCode.passphraseWrong);
    const bare = await joinPrivate(eve, room);
    assert.equal(bare.type, 'error', `no verifier on C is refused: ${JSON.stringify(bare)}`);
    assert.equal((bare as ServerFrameOf<'error'>).code, ErrorCode.passphraseRequired);
    await seesJoin(ann, created as ServerFrameOf<'joined'>, room, bob.id);

    // Plain text in a private room is refused wherever it is sent, and never stored.
    bob.send({ type: 'say', room, cid: 'plain', text: marker });
    const refusal = await bob.next('error', (e) => e.ref === 'plain', CROSS_NODE_MS);
    assert.equal(refusal.code, ErrorCode.sealedOnly);

    const sealed = [seal(roomKey, `${marker} one`), seal(roomKey, `${marker} two`)];
    ann.send({ type: 'say', room, cid: 's1', sealed: sealed[0] });
    await ann.next('ack', (x) => x.cid === 's1');
    bob.send({ type: 'say', room, cid: 's2', sealed: sealed[1] });
    await bob.next('ack', (x) => x.cid === 's2');
    const atBob = await bob.next('message', (m) => m.room === room, CROSS_NODE_MS);
    assert.equal(atBob.sealed, sealed[0]);
    assert.equal(atBob.key, ann.identity.key, 'the seal is bound to the sender\'s key');
    assert.equal(atBob.text, undefined);
    const atAnn = await ann.next('message', (m) => m.room === room, CROSS_NODE_MS);
    assert.equal(atAnn.sealed, sealed[1]);

    // A member coming back on C recovers the sealed messages.
    const carl = await ctx.connect(c!, { identity: makeIdentity(), name: uniqueName('Carl') });
    const back = await rejoin(carl, room, undefined, verifier);
    assert.ok(back.replay.every((m) => m.sealed !== undefined && m.text === undefined));
    assert.equal(cursorAfter(back).seq, 2);

    const dump = await redisDump(ctx.redis);
    assert.ok(dump.length > 0, 'the cluster keeps its state in Redis');
    for (const s of sealed) assert.ok(dump.includes(s), 'the sealed text is in Redis (the room\'s ring)');
    assert.ok(!dump.includes('PLAINTEXT-MARKER'), 'no plaintext anywhere in Redis');
    assert.ok(!dump.includes(verifier), 'the verifier itself is nowhere in Redis (only its hash)');
  });

  test('a new passphrase set on A puts the member on B out; on C only the new verifier admits', async () => {
    const [a, b, c] = ctx.nodes;
    const room = 'vault';
    const oldVerifier = newVerifier();
    const newOne = newVerifier();
    const owner = await ctx.connect(a!, { name: uniqueName('Owner') });
    const ownerJoined = await joinPrivate(owner, room, oldVerifier);
    assert.equal(ownerJoined.type, 'joined');
    const member = await ctx.connect(b!, { name: uniqueName('Mem') });
    assert.equal((await joinPrivate(member, room, oldVerifier)).type, 'joined');
    await seesJoin(owner, ownerJoined as ServerFrameOf<'joined'>, room, member.id);

    owner.send({ type: 'room-passphrase', room, verifier: newOne });
    assert.deepEqual(await member.next('passphrase-changed', () => true, CROSS_NODE_MS), { type: 'passphrase-changed', room, by: owner.name });
    const leave = await seesLeave(owner, room, member.id);
    assert.deepEqual(leave, { k: 'leave', id: member.id, removed: { kind: 'rekeyed', by: owner.name } });
    member.send({ type: 'say', room, cid: 'after', sealed: seal(randomBytes(32), 'still in the room?') });
    const out = await member.next('error', (e) => e.ref === 'after');
    assert.equal(out.code, ErrorCode.notInRoom, JSON.stringify(out));

    const latecomer = await ctx.connect(c!, { name: uniqueName('Late') });
    const old = await joinPrivate(latecomer, room, oldVerifier);
    assert.equal(old.type === 'error' && old.code, ErrorCode.passphraseWrong, `the old verifier on C: ${JSON.stringify(old)}`);
    const admitted = await joinPrivate(latecomer, room, newOne);
    assert.equal(admitted.type, 'joined', `the new verifier on C: ${JSON.stringify(admitted)}`);
  });
});
