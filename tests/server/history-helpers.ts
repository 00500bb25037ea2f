// Helpers for the room history tests: joins that collect what the server replays after
// the snapshot, and senders that wait for their acks.
import assert from 'node:assert/strict';
import type { HistoryCursor, ServerFrame, ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import { roundTrip, type TestClient } from './helpers.ts';

/** A snapshot and the messages replayed right after it (seq at most the snapshot's). */
export interface Rejoin {
  joined: ServerFrameOf<'joined'>;
  replay: ServerFrameOf<'message'>[];
}

/** Records every frame a client gets from now on, in order (TestClient's own list drops what it hands out). */
export function recordFrames(client: TestClient): ServerFrame[] {
  const log: ServerFrame[] = [];
  client.ws.on('message', (data) => log.push(JSON.parse(String(data)) as ServerFrame));
  return log;
}

/**
 * Picks out of a client's frames, in order, its snapshot of `room` and the replay after it:
 * the replayed messages must come right after the snapshot, before any other frame about
 * the room, and nothing about the room may come before the snapshot.
 */
export function replayIn(log: readonly ServerFrame[], room: string): Rejoin {
  const about = log.filter((f) => 'room' in f && f.room === room);
  const at = about.findIndex((f) => f.type === 'joined');
  assert.ok(at >= 0, `no snapshot of #${room}`);
  assert.deepEqual(about.slice(0, at).map((f) => f.type), [], `frames about #${room} before its snapshot`);
  const joined = about[at] as ServerFrameOf<'joined'>;
  const replay: ServerFrameOf<'message'>[] = [];
  for (const frame of about.slice(at + 1)) {
    if (frame.type !== 'message' || frame.seq > joined.history.seq) break;
    replay.push(frame);
  }
  const late = about.slice(at + 1 + replay.length).filter((f) => f.type === 'message' && f.seq <= joined.history.seq);
  assert.deepEqual(late, [], 'a replayed message arrived after other frames');
  return { joined, replay };
}

/** Joins (with a cursor, when given) and returns the snapshot and what was replayed after it. */
export async function rejoin(client: TestClient, room: string, since?: HistoryCursor, verifier?: string): Promise<Rejoin> {
  const log = recordFrames(client);
  client.send({ type: 'join', room, ...(since && { since }), ...(verifier && { verifier }) });
  await client.next('joined', (f) => f.room === room, 10_000);
  // The replay is sent with the snapshot, in one go: after a round trip it is all here.
  await roundTrip(client);
  return replayIn(log, room);
}

/** Says each text in turn and waits for every ack; returns the acks. */
export async function sayAll(client: TestClient, room: string, texts: string[]): Promise<ServerFrameOf<'ack'>[]> {
  const tag = Math.random().toString(36).slice(2, 8);
  texts.forEach((text, i) => client.send({ type: 'say', room, cid: `${tag}-${i}`, text }));
  return Promise.all(texts.map((_, i) => client.next('ack', (a) => a.cid === `${tag}-${i}`, 10_000)));
}

/** "m1" … "mN" from `from` to `to`. */
export function texts(from: number, to: number, prefix = 'm'): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);
}

/** The cursor a device would keep after this snapshot and these messages. */
export function cursorAfter(rejoined: Rejoin, live: ServerFrameOf<'message'>[] = []): HistoryCursor {
  const seqs = [rejoined.joined.history.seq, ...live.map((m) => m.seq)];
  return { epoch: rejoined.joined.history.epoch, seq: Math.max(...seqs) };
}
