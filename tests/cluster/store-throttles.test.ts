// Cluster mode: guess and change limits hold per person across the cluster, not per node.
// Wrong admin tokens and server passwords made on node A count on node B (per identity,
// in Redis), and a person's room creations on A use up the same bucket as on B.
import { test, describe, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, LIMITS } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { randomBytes } from 'node:crypto';
import { makeIdentity } from '../support/test-client.ts';
import { nextError } from '../server/helpers.ts';
import { ADMIN_TOKEN, nextFrame, sendHello, tryJoin } from '../server/moderation-helpers.ts';
import type { TestClient } from '../server/helpers.ts';
import { eventually, useRedisNodes } from './store-helpers.ts';

/** Sends /admin with `token` and returns the answer: the grant or the error. */
async function tryAdmin(client: TestClient, token: string): Promise<{ type: string; code?: string; retryAfterMs?: number }> {
  client.send({ type: 'admin', token });
  return (await nextFrame(client, (f) => f.type === 'admin' || (f.type === 'error' && f.ref === 'admin'), 'the answer to /admin')) as { type: string; code?: string };
}

/** Joins with a verifier and returns the snapshot or the error. */
async function tryJoinWith(client: TestClient, room: string, verifier: string) {
  client.send({ type: 'join', room, verifier });
  return (await nextFrame(client, (f) => (f.type === 'joined' && f.room === room) || (f.type === 'error' && f.ref === room), `the answer to joining #${room}`)) as
    | { type: 'joined' }
    | { type: 'error'; code: string };
}

describe('cluster: guess and change limits across nodes', () => {
  const ctx = useRedisNodes(2);
  let a: RunningServer;
  let b: RunningServer;
  beforeEach(() => void ([a, b] = ctx.nodes as [RunningServer, RunningServer]));

  test('wrong admin tokens on node A and node B add up per identity: past the limit the right token waits on either node', async () => {
    assert.ok(LIMITS.secretGuessesPerConnection < LIMITS.secretGuessesPerIdentity, 'the per-identity limit is the one across connections');
    const identity = makeIdentity();
    const counted = (n: number) =>
      eventually(async () => (Number(await ctx.redis.command('GET', `wisp:throttle:admin-token:id:${identity.key}`)) === n ? true : undefined), `${n} wrong tokens counted in Redis`);

    const onA = await ctx.scope.connect(a, { identity });
    for (let i = 0; i < LIMITS.secretGuessesPerConnection; i++) assert.equal((await tryAdmin(onA, 'wrong-token-guess')).code, ErrorCode.adminWrong);
    await counted(LIMITS.secretGuessesPerConnection);

    // A fresh connection on node B: its own count is clean, the identity's is not.
    const onB = await ctx.scope.connect(b, { identity });
    const left = LIMITS.secretGuessesPerIdentity - LIMITS.secretGuessesPerConnection;
    for (let i = 0; i < left; i++) assert.equal((await tryAdmin(onB, 'wrong-token-guess')).code, ErrorCode.adminWrong);
    await counted(LIMITS.secretGuessesPerIdentity);

    for (const node of [b, a]) {
      const fresh = await ctx.scope.connect(node, { identity });
      const answer = await tryAdmin(fresh, ADMIN_TOKEN);
      assert.equal(answer.code, ErrorCode.throttled, 'the right token waits: this identity used up its guesses across the cluster');
      assert.ok(answer.retryAfterMs! > 0 && answer.retryAfterMs! <= LIMITS.secretGuessWindowMs);
    }
    // Someone else at the same address is not stopped by it.
    const neighbour = await ctx.scope.connect(b, { identity: makeIdentity() });
    assert.equal((await tryAdmin(neighbour, ADMIN_TOKEN)).type, 'admin');
  });

  test('wrong server passwords on node A count on node B', async () => {
    const password = 'club-door-password';
    const pa = await ctx.scope.start({ redisUrl: ctx.redis.url, password });
    const pb = await ctx.scope.start({ redisUrl: ctx.redis.url, password });
    const identity = makeIdentity();
    /** A connection of this identity, waiting for the password. */
    const locked = async (node: RunningServer) => {
      const client = await ctx.scope.connect(node, { identity, noHello: true });
      sendHello(client);
      await client.next('password-required');
      return client;
    };
    const onA = await locked(pa);
    for (let i = 0; i < LIMITS.secretGuessesPerConnection; i++) {
      onA.send({ type: 'password', password: 'not-the-password' });
      await nextError(onA, ErrorCode.passwordWrong, 'password');
    }
    await eventually(async () => (Number(await ctx.redis.command('GET', `wisp:throttle:password:id:${identity.key}`)) === LIMITS.secretGuessesPerConnection ? true : undefined), 'the wrong passwords are counted in Redis');
    const onB = await locked(pb);
    for (let i = LIMITS.secretGuessesPerConnection; i < LIMITS.secretGuessesPerIdentity; i++) {
      onB.send({ type: 'password', password: 'not-the-password' });
      await nextError(onB, ErrorCode.passwordWrong, 'password');
    }
    await eventually(async () => (Number(await ctx.redis.command('GET', `wisp:throttle:password:id:${identity.key}`)) === LIMITS.secretGuessesPerIdentity ? true : undefined), 'every wrong password is counted');
    const again = await locked(pa);
    again.send({ type: 'password', password });
    const refused = await nextError(again, ErrorCode.throttled, 'password');
    assert.ok(refused.retryAfterMs! > 0);
  });

  test('wrong passphrases for a private room from one address on node A and node B add up: the right one then waits', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const owner = await ctx.scope.connect(a, { name: 'Owner' });
    owner.send({ type: 'join', room: 'vault', verifier });
    await owner.next('joined');
    assert.equal(LIMITS.passphraseGuessesPerIp, 2 * LIMITS.passphraseGuessesPerConnection, 'one connection on each node reaches the address bound');
    // Every client is on 127.0.0.1: one address, one connection on each node.
    for (const node of [a, b]) {
      await eventually(() => (node.hub.rooms.isPrivate('vault') ? true : undefined), 'the node knows #vault is private');
      const guesser = await ctx.scope.connect(node);
      for (let i = 0; i < LIMITS.passphraseGuessesPerConnection; i++) {
        const wrong = await tryJoinWith(guesser, 'vault', randomBytes(32).toString('base64url'));
        assert.equal(wrong.type === 'error' && wrong.code, ErrorCode.passphraseWrong);
      }
    }
    await eventually(
      async () => (Number(await ctx.redis.command('GET', 'wisp:throttle:passphrase:127.0.0.1|vault')) === LIMITS.passphraseGuessesPerIp ? true : undefined),
      'every wrong passphrase is counted in Redis',
    );
    const late = await ctx.scope.connect(a);
    const answer = await tryJoinWith(late, 'vault', verifier);
    assert.equal(answer.type === 'error' && answer.code, ErrorCode.throttled, 'the guesses on node B count on node A');
  });

  test("a person's room creations on node A and node B come out of one bucket", async () => {
    const identity = makeIdentity();
    const onA = await ctx.scope.connect(a, { identity });
    for (let i = 0; i < LIMITS.roomCreationsBurst; i++) assert.equal((await tryJoin(onA, `made-on-a-${i}`)).type, 'joined');
    const onB = await ctx.scope.connect(b, { identity });
    const answer = await tryJoin(onB, 'one-more-on-b');
    assert.equal(answer.type === 'error' && answer.code, ErrorCode.throttled, 'the burst was used up on node A');
    // Another person on node B still creates rooms.
    const other = await ctx.scope.connect(b, { identity: makeIdentity() });
    assert.equal((await tryJoin(other, 'someone-elses')).type, 'joined');
  });
});
