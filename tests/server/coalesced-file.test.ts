// Durable-state writes at a bounded rate: a burst of changes becomes a handful of writes,
// the newest state always wins, a write in flight plus at most one pending, one write
// per interval (on a fake clock), and a failed write reaches only the changes it held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoalescedFile } from '../../signal-server/coalesced-file.ts';
import { Store } from '../../signal-server/store.ts';
import { LIMITS } from '../../signal-server/protocol/protocol.ts';

/** A fake clock and timer list: time moves only when the test says. */
function fakeTimers() {
  let now = 1_000_000;
  let timers: { at: number; run: () => void; id: number }[] = [];
  let ids = 0;
  return {
    now: () => now,
    set: (run: () => void, ms: number) => {
      const id = ++ids;
      timers.push({ at: now + ms, run, id });
      return id;
    },
    clear: (id: unknown) => void (timers = timers.filter((t) => t.id !== id)),
    /** Moves the clock and runs the timers that are due. */
    advance(ms: number) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.run();
    },
    get armed() {
      return timers.length;
    },
  };
}

/** A writer whose writes finish only when the test releases them. */
function heldWriter() {
  const writes: { text: string; at: number; release: () => void; fail: (e: Error) => void }[] = [];
  let clock = () => 0;
  return {
    writes,
    useClock(now: () => number) {
      clock = now;
    },
    write: (_file: string, text: string) =>
      new Promise<void>((resolve, reject) => {
        writes.push({ text, at: clock(), release: resolve, fail: reject });
      }),
  };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test('1,000 changes in a burst: a handful of writes, and the file holds the last state', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wisp-coalesce-'));
  try {
    const store = await Store.open(dir);
    const texts: string[] = [];
    const atomic = store.writer;
    store.writer = (file, text) => {
      if (file.endsWith('rooms.json')) texts.push(text);
      return atomic(file, text);
    };
    const saved: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      store.rooms = [{ name: 'hall', topic: `topic ${i}`, moderators: [], createdAt: 1 }];
      saved.push(store.saveRooms());
    }
    await Promise.all(saved);
    assert.ok(texts.length >= 1 && texts.length <= 3, `a handful of writes, not one per change: ${texts.length}`);
    assert.equal(JSON.parse(readFileSync(path.join(dir, 'rooms.json'), 'utf8')).rooms[0].topic, 'topic 999', 'the newest state won');
    assert.equal((await Store.open(dir)).rooms[0]!.topic, 'topic 999');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one write in flight plus at most one pending, which writes the newest state when it starts', async () => {
  const timers = fakeTimers();
  const writer = heldWriter();
  writer.useClock(timers.now);
  let state = 0;
  const file = new CoalescedFile('f.json', () => String(state), writer.write, 500, timers);
  state = 1;
  const first = file.schedule();
  assert.equal(writer.writes.length, 1, 'the first change is written at once');
  const waiting: Promise<void>[] = [];
  for (state = 2; state <= 50; state++) waiting.push(file.schedule());
  state = 50;
  assert.equal(writer.writes.length, 1, 'nothing else starts while one is in flight');
  writer.writes[0]!.release();
  await first;
  await settle();
  assert.equal(writer.writes.length, 1, 'the pending write waits for the interval');
  timers.advance(499);
  assert.equal(writer.writes.length, 1);
  timers.advance(1);
  assert.equal(writer.writes.length, 2, 'then starts, once');
  assert.equal(writer.writes[1]!.text, '50', 'with the newest state');
  writer.writes[1]!.release();
  await Promise.all(waiting);
  assert.equal(timers.armed, 0, 'nothing left to write');
});

test('at most one write per interval while changes keep coming', async () => {
  const timers = fakeTimers();
  const writer = heldWriter();
  writer.useClock(timers.now);
  const file = new CoalescedFile('f.json', () => String(timers.now()), writer.write, LIMITS.storeWriteIntervalMs, timers);
  for (let step = 0; step < 100; step++) {
    void file.schedule();
    for (const w of writer.writes) w.release();
    await settle();
    timers.advance(50);
  }
  const starts = writer.writes.map((w) => w.at);
  assert.ok(starts.length >= 5 && starts.length <= 100 * 50 / LIMITS.storeWriteIntervalMs + 1, `${starts.length} writes over 5 s`);
  for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 1]! >= LIMITS.storeWriteIntervalMs, `writes ${i - 1} and ${i} are an interval apart`);
});

test('flush starts the pending write at once and resolves when it is on disk', async () => {
  const timers = fakeTimers();
  const writer = heldWriter();
  let state = 'a';
  const file = new CoalescedFile('f.json', () => state, writer.write, 500, timers);
  void file.schedule();
  state = 'b';
  void file.schedule();
  let flushed = false;
  const flushing = file.flush().then(() => (flushed = true));
  writer.writes[0]!.release();
  await settle();
  assert.equal(writer.writes.length, 2, 'the pending write did not wait for the interval');
  assert.equal(writer.writes[1]!.text, 'b');
  assert.equal(flushed, false, 'flush waits for it');
  writer.writes[1]!.release();
  await flushing;
  assert.equal(flushed, true);
});

test('a failed write rejects the changes it held; the next change is written again', async () => {
  const timers = fakeTimers();
  const writer = heldWriter();
  const file = new CoalescedFile('f.json', () => 'x', writer.write, 500, timers);
  const failed = file.schedule();
  writer.writes[0]!.fail(new Error('ENOSPC: no space left on device'));
  await assert.rejects(failed, /ENOSPC/);
  timers.advance(500);
  const retried = file.schedule();
  assert.equal(writer.writes.length, 2);
  writer.writes[1]!.release();
  await retried;
});
