// The rings of recent room messages on their own (signal-server/room-history.ts): bounded
// by count per room, by age (an injected clock), and by bytes across all rooms, with the
// globally oldest evicted first; recovery says when the ring no longer reaches back.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ENTRY_OVERHEAD_BYTES, RoomHistory, type HistoryBounds, type Ring } from '../../signal-server/room-history.ts';

const BIG: HistoryBounds = { maxMessages: 1000, maxAgeMs: 3600_000, maxBytes: 1024 * 1024 * 1024 };

/** A history on a clock the test moves by hand. */
function historyOn(bounds: Partial<HistoryBounds>): { history: RoomHistory; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const history = new RoomHistory({ ...BIG, ...bounds }, () => clock.now);
  return { history, clock };
}

function frame(room: string, seq: number, padding = 0): Buffer {
  return Buffer.from(JSON.stringify({ type: 'message', room, seq, text: 'x'.repeat(padding + 1) }));
}

function seqsOf(frames: Buffer[]): number[] {
  return frames.map((f) => (JSON.parse(f.toString()) as { seq: number }).seq);
}

function fill(history: RoomHistory, ring: Ring, room: string, from: number, to: number, padding = 0): void {
  for (let seq = from; seq <= to; seq++) history.append(ring, seq, frame(room, seq, padding));
}

describe('room history rings', () => {
  test('by count: a room keeps its newest maxMessages, in order; recovery says when it no longer reaches back', () => {
    const { history } = historyOn({ maxMessages: 5 });
    const ring = history.ring();
    fill(history, ring, 'a', 1, 12);
    assert.equal(ring.size, 5);
    assert.deepEqual(seqsOf(history.last(ring, 100)), [8, 9, 10, 11, 12]);
    assert.deepEqual(seqsOf(history.last(ring, 2)), [11, 12]);
    assert.deepEqual(history.after(ring, 9, 12), { frames: history.last(ring, 3), complete: true });
    assert.deepEqual(seqsOf(history.after(ring, 7, 12).frames), [8, 9, 10, 11, 12]);
    assert.equal(history.after(ring, 7, 12).complete, true, 'everything after 7 is still there');
    const gap = history.after(ring, 3, 12);
    assert.deepEqual(seqsOf(gap.frames), [8, 9, 10, 11, 12]);
    assert.equal(gap.complete, false, '4 to 7 are gone');
    assert.deepEqual(history.after(ring, 12, 12), { frames: [], complete: true });
    history.close();
  });

  test('a gap in the middle (messages sent while the room kept none) makes recovery incomplete', () => {
    const { history } = historyOn({});
    const ring = history.ring();
    fill(history, ring, 'a', 1, 3);
    fill(history, ring, 'a', 6, 7);
    const recovery = history.after(ring, 2, 7);
    assert.deepEqual(seqsOf(recovery.frames), [3, 6, 7]);
    assert.equal(recovery.complete, false);
    history.close();
  });

  test('by age: messages older than maxAgeMs go, on the next append or read and on the sweep of idle rooms', () => {
    const { history, clock } = historyOn({ maxAgeMs: 60_000 });
    const busy = history.ring();
    const idle = history.ring();
    fill(history, idle, 'idle', 1, 3);
    clock.now += 30_000;
    fill(history, busy, 'busy', 1, 2);
    clock.now += 30_000;
    // The idle room's messages are now exactly maxAgeMs old: gone at the next look.
    history.append(busy, 3, frame('busy', 3));
    assert.equal(idle.size, 0, 'expired on append, although nobody wrote in that room');
    assert.deepEqual(seqsOf(history.last(busy, 10)), [1, 2, 3]);
    clock.now += 30_000;
    assert.deepEqual(seqsOf(history.last(busy, 10)), [3], 'expired on read');
    assert.equal(history.entries, 1);
    clock.now += 30_000;
    assert.deepEqual(history.after(busy, 0, 3), { frames: [], complete: false });
    assert.equal(history.bytes, 0, 'nothing is accounted for what is gone');
    history.close();
  });

  test('by total bytes: with thousands of busy rooms the accounted bytes never pass the cap, and the globally oldest go first', () => {
    const maxBytes = 2 * 1024 * 1024;
    const { history } = historyOn({ maxMessages: 50, maxBytes });
    const rooms = Array.from({ length: 3000 }, () => history.ring());
    let peak = 0;
    let appended = 0;
    for (let round = 1; round <= 20; round++) {
      rooms.forEach((ring, i) => {
        history.append(ring, round, frame(`r${i}`, round, 200 + (i % 7) * 40));
        appended++;
        peak = Math.max(peak, history.bytes);
      });
    }
    assert.ok(peak <= maxBytes, `peak ${peak} bytes over the cap ${maxBytes}`);
    assert.ok(history.bytes > maxBytes * 0.9, 'the cap is used, not left mostly empty');
    assert.ok(history.entries < appended, 'something was evicted');
    // Accounting matches the buffers kept: frames plus the fixed overhead per entry.
    const kept = rooms.flatMap((ring) => history.last(ring, 1000));
    assert.equal(history.entries, kept.length);
    assert.equal(history.bytes, kept.reduce((sum, f) => sum + f.byteLength + ENTRY_OVERHEAD_BYTES, 0));
    // Oldest first across rooms: every room keeps the same newest rounds (within one), none lost its latest.
    const oldestKept = rooms.map((ring) => seqsOf(history.last(ring, 1000))[0] ?? Infinity);
    assert.ok(Math.max(...oldestKept) - Math.min(...oldestKept) <= 1, 'eviction followed arrival order across rooms');
    for (const ring of rooms) assert.equal(seqsOf(history.last(ring, 1)).at(0), 20, 'the newest message of every room is kept');
    history.close();
  });

  test('clear empties one room and frees its bytes; the others keep theirs', () => {
    const { history } = historyOn({});
    const a = history.ring();
    const b = history.ring();
    fill(history, a, 'a', 1, 40, 100);
    fill(history, b, 'b', 1, 3);
    const bBytes = history.last(b, 10).reduce((sum, f) => sum + f.byteLength + ENTRY_OVERHEAD_BYTES, 0);
    history.clear(a);
    assert.equal(a.size, 0);
    assert.deepEqual(history.last(a, 10), []);
    assert.equal(history.bytes, bBytes);
    assert.deepEqual(seqsOf(history.last(b, 10)), [1, 2, 3]);
    // The cleared ring works again (eviction order stays consistent after the unlinking).
    fill(history, a, 'a', 41, 42);
    assert.deepEqual(seqsOf(history.last(a, 10)), [41, 42]);
    history.close();
  });

  test('any bound 0 turns history off: nothing is kept, and the per-room figure says 0', () => {
    for (const off of [{ maxMessages: 0 }, { maxAgeMs: 0 }, { maxBytes: 0 }]) {
      const { history } = historyOn(off);
      const ring = history.ring();
      fill(history, ring, 'a', 1, 3);
      assert.equal(history.enabled, false);
      assert.equal(history.perRoom, 0);
      assert.equal(history.entries, 0);
      assert.deepEqual(history.after(ring, 0, 3), { frames: [], complete: false });
      history.close();
    }
    const { history } = historyOn({ maxMessages: 7 });
    assert.equal(history.perRoom, 7);
    history.close();
  });

  test('a frame larger than the whole byte cap is not kept (and evicts nothing)', () => {
    const { history } = historyOn({ maxBytes: 4096 });
    const ring = history.ring();
    fill(history, ring, 'a', 1, 2);
    history.append(ring, 3, frame('a', 3, 5000));
    assert.deepEqual(seqsOf(history.last(ring, 10)), [1, 2]);
    history.close();
  });
});
