// The guess throttle (passphrases, the admin token): limits within a window, and forgets
// keys that never come back instead of growing with every closed connection.
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

test('GuessThrottles: admin tokens and server passwords share one count per connection and per address, by the numbers in LIMITS', () => {
  const c = clock();
  const guesses = new GuessThrottles(c.now);
  const conn = { nonce: 'n1', ip: '203.0.113.7' };
  for (let i = 0; i < LIMITS.secretGuessesPerConnection; i++) {
    assert.equal(guesses.secretWait(conn), 0);
    guesses.secretFailed(conn);
  }
  assert.equal(guesses.secretWait(conn), LIMITS.secretGuessWindowMs, 'this connection waits a whole window');
  const sameAddress = { nonce: 'n2', ip: conn.ip };
  for (let i = LIMITS.secretGuessesPerConnection; i < LIMITS.secretGuessesPerIp; i++) {
    assert.equal(guesses.secretWait(sameAddress), 0);
    guesses.secretFailed(sameAddress);
  }
  assert.ok(guesses.secretWait({ nonce: 'n3', ip: conn.ip }) > 0, 'the address has used up its guesses');
  assert.equal(guesses.secretWait({ nonce: 'n4', ip: '198.51.100.1' }), 0, 'another address may try');
  assert.equal(guesses.passphraseWait(conn, 'vault'), 0, 'passphrase guesses are counted apart');
  c.advance(LIMITS.secretGuessWindowMs);
  assert.equal(guesses.secretWait(conn), 0);
});

test('GuessThrottles: wrong passphrases count per connection, and per address for each room', () => {
  const c = clock();
  const guesses = new GuessThrottles(c.now);
  const nonces = Array.from({ length: LIMITS.passphraseGuessesPerIp }, (_, i) => `n${i}`);
  // From one address, each connection stays under its own limit; the address reaches its limit for #vault.
  for (const nonce of nonces) guesses.passphraseFailed({ nonce, ip: '203.0.113.7' }, 'vault');
  assert.ok(guesses.passphraseWait({ nonce: 'fresh', ip: '203.0.113.7' }, 'vault') > 0);
  assert.equal(guesses.passphraseWait({ nonce: 'fresh', ip: '203.0.113.7' }, 'other'), 0, 'another room is open to the same address');
  assert.equal(guesses.secretWait({ nonce: 'fresh', ip: '203.0.113.7' }), 0, 'admin token and password guesses are counted apart');
  const one = { nonce: 'solo', ip: '198.51.100.1' };
  for (let i = 0; i < LIMITS.passphraseGuessesPerConnection; i++) guesses.passphraseFailed(one, `room-${i}`);
  assert.ok(guesses.passphraseWait(one, 'yet-another') > 0, 'per connection, whatever the room');
});
