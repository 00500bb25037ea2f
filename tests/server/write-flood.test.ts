// Disk writes bounded by design: topic changes are limited per person (a token bucket, by
// the numbers in LIMITS) with a typed error, and a topic flood from 8 connections, a
// fixed number of frames each, writes little to the data directory and holds a bounded
// number of audit records in memory.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, LIMITS } from '../../signal-server/protocol/protocol.ts';
import { PersonThrottle } from '../../signal-server/change-throttles.ts';
import { join, nextError, roundTrip } from './helpers.ts';
import { ModScope } from './moderation-helpers.ts';
import { countWrites, freshIdentityFlood, topicFlood } from './flood-helpers.ts';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

describe('topic changes per person', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  test('past the burst, a topic change is refused with throttled, a sentence and retryAfterMs, also on a new connection', async () => {
    const server = await scope.start();
    const owner = await scope.connect(server, { name: 'Owner' });
    await join(owner, 'den');
    for (let i = 0; i < LIMITS.topicChangesBurst; i++) owner.send({ type: 'topic', room: 'den', topic: `t${i}` });
    await roundTrip(owner);
    assert.equal(owner.all('error').length, 0, 'the burst is allowed');
    owner.send({ type: 'topic', room: 'den', topic: 'one too many' });
    const error = await nextError(owner, ErrorCode.throttled, 'topic');
    assert.match(error.message, new RegExp(`at most ${LIMITS.topicChangesPerMinute} times a minute`));
    assert.ok(error.retryAfterMs! > 0 && error.retryAfterMs! <= 60_000 / LIMITS.topicChangesPerMinute);
    assert.equal(server.hub.rooms.topicOf('den'), `t${LIMITS.topicChangesBurst - 1}`, 'the refused change did not happen');
    // The same person on a second connection shares the bucket.
    const again = await scope.connect(server, { name: 'Owner2', identity: owner.identity });
    await join(again, 'den');
    again.send({ type: 'topic', room: 'den', topic: 'from elsewhere' });
    await nextError(again, ErrorCode.throttled, 'topic');
  });

  test('room creation: past the burst, joining a room that does not exist is refused with throttled; existing rooms still open', async () => {
    const server = await scope.start({}, {});
    const maker = await scope.connect(server, { name: 'Maker' });
    const other = await scope.connect(server, { name: 'Other' });
    await join(other, 'existing');
    for (let i = 0; i < LIMITS.roomCreationsBurst; i++) {
      await join(maker, `made-${i}`);
      maker.send({ type: 'leave', room: `made-${i}` });
    }
    await roundTrip(maker);
    maker.send({ type: 'join', room: 'one-more' });
    const error = await nextError(maker, ErrorCode.throttled, 'one-more');
    assert.match(error.message, /You can create at most/);
    assert.ok(error.retryAfterMs! > 0);
    assert.equal(server.hub.rooms.has('one-more'), false, 'not created');
    await join(maker, 'existing');
  });

  test('the bucket refills at the rate in LIMITS, and forgets people whose bucket is full again', () => {
    let now = 1_000_000;
    const throttle = new PersonThrottle(LIMITS.topicChangesPerMinute, LIMITS.topicChangesBurst, () => now);
    for (let i = 0; i < LIMITS.topicChangesBurst; i++) assert.equal(throttle.take('a'), 0);
    assert.ok(throttle.take('a') > 0);
    now += 60_000 / LIMITS.topicChangesPerMinute;
    assert.equal(throttle.take('a'), 0, 'one more after one refill interval');
    for (let i = 0; i < 1000; i++) throttle.take(`passer-by-${i}`);
    now += 60_000;
    throttle.take('b');
    assert.equal(throttle.size, 1, 'only the one active now is kept');
  });
});

describe('a topic flood', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  test('8 connections, 500 topic frames each: under 20 MB written to the data directory, audit records in memory bounded', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const server = await scope.start({ dataDir });
    const store = server.hub.store;
    const written = countWrites(store);
    const { sent } = await topicFlood(scope, server, 8, 500);
    await server.close();
    const onDisk = readdirSync(dataDir).reduce((sum, file) => sum + statSync(path.join(dataDir, file)).size, 0);
    console.log(`# topic flood: ${sent} frames sent, ${written.writes} writes, ${written.bytes} bytes written, ${onDisk} bytes on disk`);
    assert.ok(sent >= 8 * LIMITS.topicChangesBurst, `the flood was sent: ${sent}`);
    assert.ok(written.bytes < 20 * 1024 * 1024, `${written.bytes} bytes written`);
    assert.ok(onDisk < 20 * 1024 * 1024, `${onDisk} bytes on disk`);
    assert.ok(written.writes <= 8 * LIMITS.topicChangesBurst + 10, `${written.writes} writes: a handful per person, not one per frame`);
    assert.ok(store.audit.length <= LIMITS.auditRecordsInMemory);
  });

  test('8 connections for 20 s, each time with a fresh identity: writes stay under 20 MB and the memory the server keeps stays bounded', { timeout: 120_000 }, async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const server = await scope.start({ dataDir });
    const store = server.hub.store;
    const written = countWrites(store);
    const heapBefore = retainedHeap();
    const { sent, identities } = await freshIdentityFlood(server, 8, 20_000);
    // What the server still holds once the flooders are gone: not their frames' worth.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const heapGrowth = retainedHeap() - heapBefore;
    await server.close();
    const onDisk = readdirSync(dataDir).reduce((sum, file) => sum + statSync(path.join(dataDir, file)).size, 0);
    console.log(`# fresh-identity topic flood, 20 s: ${identities} identities, ${sent} frames, ${written.bytes} bytes written, ${onDisk} bytes on disk, retained heap +${(heapGrowth / 1048576).toFixed(1)} MiB`);
    assert.ok(identities > 8, `the flood used fresh identities: ${identities}`);
    // The audit trail's disk share is a fixed rate (LIMITS.auditWritesPerMinute after a burst),
    // whatever the number of identities: a few hundred short records, not one per change.
    assert.ok(written.bytes < 256 * 1024, `${written.bytes} bytes written: the fixed rate, not the flood's size`);
    assert.ok(written.bytes < 20 * 1024 * 1024, `${written.bytes} bytes written`);
    assert.ok(onDisk < 20 * 1024 * 1024, `${onDisk} bytes on disk`);
    assert.ok(store.audit.length <= LIMITS.auditRecordsInMemory);
    assert.ok(heapGrowth < 32 * 1024 * 1024, `retained heap grew ${heapGrowth} bytes`);
  });
});

/** Heap in use after a full collection: what is really kept, not garbage waiting. */
function retainedHeap(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
