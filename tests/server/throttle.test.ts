// The guess throttle (passphrases, the admin token): limits within a window, and forgets
// keys that never come back instead of growing with every closed connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Throttle } from '../../signal-server/guess-throttles.ts';

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
