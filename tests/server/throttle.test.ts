// The guess throttle (passphrases, the admin token, the server password): limits within a
// window, per guesser and not per neighbour, and forgets keys that never come back (or
// the stalest, past a cap) instead of growing with every closed connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuessThrottles, Throttle } from '../../signal-server/guess-throttles.ts';
import { LIMITS } from '../../signal-server/protocol/protocol.ts';

const WINDOW = 60_000;

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('past the limit within the window, the wait is until the oldest failure leaves it', () => {
  const c = clock();
  const throttle = new Throttle(3, WINDOW, c.now);
  for (let i = 0; i < 3; i++) {
    assert.equal(throttle.waitFor('ip'), 0);
    throttle.fail('ip');
    c.advance(1000);
  }
  assert.equal(throttle.waitFor('ip'), WINDOW - 3000);
  assert.equal(throttle.waitFor('other'), 0, 'another key is not affected');
  c.advance(WINDOW - 3000);
  assert.equal(throttle.waitFor('ip'), 0);
});

test('keys with no failure in the last window are forgotten: closed connections do not pile up', () => {
  const c = clock();
  const throttle = new Throttle(5, WINDOW, c.now);
  for (let i = 0; i < 1000; i++) throttle.fail(`connection-${i}`, `203.0.113.1|room-${i}`);
  assert.equal(throttle.size, 2000);
  c.advance(WINDOW / 2);
  throttle.fail('recent');
  c.advance(WINDOW / 2);
  throttle.fail('new');
  assert.equal(throttle.size, 2, 'only the keys failed within the window are left');
  assert.ok(throttle.waitFor('recent') === 0 && throttle.waitFor('new') === 0);
});

test('a key still failing is kept through a sweep, and stays throttled', () => {
  const c = clock();
  const throttle = new Throttle(2, WINDOW, c.now);
  throttle.fail('guesser');
  c.advance(WINDOW - 1);
  throttle.fail('guesser');
  throttle.fail('guesser');
  c.advance(1);
  throttle.fail('someone-else'); // a window since the last sweep: this one sweeps
  assert.equal(throttle.size, 2);
  assert.equal(throttle.waitFor('guesser'), WINDOW - 1, 'its two recent failures still count');
});

test('a full map forgets the key whose last failure is oldest, and a key keeps only its last `limit` failures', () => {
  const c = clock();
  const throttle = new Throttle(2, WINDOW, c.now, 3);
  for (const key of ['a', 'b', 'c']) throttle.fail(key);
  throttle.fail('a'); // a failed again: now b is the stalest
  throttle.fail('d');
  assert.equal(throttle.size, 3, 'never more keys than the cap');
  assert.equal(throttle.count('b'), 0, 'the stalest key is forgotten');
  assert.equal(throttle.count('a'), 2, 'a key failing again is kept');
  assert.equal(throttle.count('d'), 1, 'the newest key is kept');
  for (let i = 0; i < 100; i++) throttle.fail('a');
  assert.equal(throttle.count('a'), 2, 'a key past its limit holds only its last failures');
});

const who = (nonce: string, key: string, ip = '203.0.113.7') => ({ nonce, key, ip });

test('GuessThrottles: a neighbour past its own limit does not stop another identity on the same address', () => {
  const c = clock();
  const guesses = new GuessThrottles(c.now);
  const neighbour = [who('n1', 'neighbour'), who('n2', 'neighbour')];
  for (let i = 0; i < LIMITS.secretGuessesPerIdentity; i++) guesses.secretFailed('admin-token', neighbour[i % 2]!);
  assert.ok(guesses.secretWait('admin-token', who('n3', 'neighbour')) > 0, 'the neighbour is throttled');
  assert.equal(guesses.secretWait('admin-token', who('admin-conn', 'admin')), 0, 'the admin on the same address may try');
  for (let i = 0; i < LIMITS.secretGuessesPerIdentity; i++) guesses.secretFailed('password', who('p1', `guesser-${i % 2}`));
  assert.equal(guesses.secretWait('password', who('newcomer-conn', 'newcomer')), 0, 'a newcomer on the same address may try');
});

test('GuessThrottles: the guesser is stopped per connection, and per identity across connections', () => {
  const c = clock();
  const guesses = new GuessThrottles(c.now);
  const first = who('c1', 'guesser');
  for (let i = 0; i < LIMITS.secretGuessesPerConnection; i++) {
    assert.equal(guesses.secretWait('admin-token', first), 0);
    guesses.secretFailed('admin-token', first);
  }
  assert.equal(guesses.secretWait('admin-token', first), LIMITS.secretGuessWindowMs, 'this connection waits a whole window');
  const again = who('c2', 'guesser');
  for (let i = LIMITS.secretGuessesPerConnection; i < LIMITS.secretGuessesPerIdentity; i++) {
    assert.equal(guesses.secretWait('admin-token', again), 0, 'a new connection has what is left of the identity\'s allowance');
    guesses.secretFailed('admin-token', again);
  }
  assert.ok(guesses.secretWait('admin-token', again) > 0, 'the identity has used up its guesses');
  assert.ok(guesses.secretWait('admin-token', who('c3', 'guesser', '198.51.100.1')) > 0, 'from another address too');
  assert.equal(guesses.secretWait('password', again), 0, 'server password guesses are counted apart');
  assert.equal(guesses.passphraseWait(again, 'vault'), 0, 'passphrase guesses are counted apart');
  c.advance(LIMITS.secretGuessWindowMs);
  assert.equal(guesses.secretWait('admin-token', again), 0);
});

test('GuessThrottles: past the per-address bound, identities that guessed wrong are stopped and a fresh one keeps exactly one try', () => {
  const c = clock();
  const guesses = new GuessThrottles(c.now);
  // A flood: each identity guesses once, far under its own limit.
  for (let i = 0; i < LIMITS.secretGuessesPerIp; i++) guesses.secretFailed('password', who(`n${i}`, `flood-${i}`));
  const wait = guesses.secretWait('password', who('n0', 'flood-0'));
  assert.ok(wait > 0 && wait <= LIMITS.secretGuessWindowMs, 'an identity with a wrong guess is stopped by the address bound');
  assert.ok(guesses.secretWait('password', who('n-new', 'flood-0')) > 0, 'on a new connection too');
  const fresh = who('fresh-conn', 'fresh');
  assert.equal(guesses.secretWait('password', fresh), 0, 'an identity with no wrong guess may still try (a right answer gets in)');
  guesses.secretFailed('password', fresh);
  assert.ok(guesses.secretWait('password', fresh) > 0, 'and it has only that one try');
  assert.equal(guesses.secretWait('password', who('y', 'other', '198.51.100.1')), 0, 'another address is not bounded');
  assert.equal(guesses.secretWait('admin-token', who('n0', 'flood-0')), 0, 'the admin token has its own address count');
  c.advance(LIMITS.secretGuessWindowMs);
  assert.equal(guesses.secretWait('password', who('n0', 'flood-0')), 0);
});

test('GuessThrottles: a flood of fresh identities and connections keeps every map within LIMITS.guessThrottleMaxKeys', () => {
  const c = clock();
  const guesses = new GuessThrottles(c.now);
  const flood = LIMITS.guessThrottleMaxKeys + 500;
  for (let i = 0; i < flood; i++) guesses.secretFailed('admin-token', who(`n${i}`, `id-${i}`, `10.0.${i >> 8}.${i & 255}`));
  const sizes = guesses.secretSizes('admin-token');
  assert.deepEqual(sizes, { connections: LIMITS.guessThrottleMaxKeys, identities: LIMITS.guessThrottleMaxKeys, addresses: LIMITS.guessThrottleMaxKeys });
  assert.ok(guesses.secretWait('admin-token', who(`n${flood - 1}`, `id-${flood - 1}`)) === 0, 'under its own limit');
});

test('GuessThrottles: wrong passphrases count per connection, and per address for each room', () => {
  const c = clock();
  const guesses = new GuessThrottles(c.now);
  const nonces = Array.from({ length: LIMITS.passphraseGuessesPerIp }, (_, i) => `n${i}`);
  // From one address, each connection stays under its own limit; the address reaches its limit for #vault.
  for (const nonce of nonces) guesses.passphraseFailed({ nonce, ip: '203.0.113.7' }, 'vault');
  assert.ok(guesses.passphraseWait({ nonce: 'fresh', ip: '203.0.113.7' }, 'vault') > 0);
  assert.equal(guesses.passphraseWait({ nonce: 'fresh', ip: '203.0.113.7' }, 'other'), 0, 'another room is open to the same address');
  assert.equal(guesses.secretWait('admin-token', { nonce: 'fresh', ip: '203.0.113.7', key: 'k' }), 0, 'admin token and password guesses are counted apart');
  const one = { nonce: 'solo', ip: '198.51.100.1' };
  for (let i = 0; i < LIMITS.passphraseGuessesPerConnection; i++) guesses.passphraseFailed(one, `room-${i}`);
  assert.ok(guesses.passphraseWait(one, 'yet-another') > 0, 'per connection, whatever the room');
});
