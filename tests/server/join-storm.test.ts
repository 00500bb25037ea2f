// A burst of joins into one room over real sockets, each joiner saying something as soon
// as it is in: every member ends with the same complete list, got exactly one snapshot
// before anything else about the room, and never heard from someone not yet in its list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerFrame } from '../../signal-server/protocol/protocol.ts';
import { Scope, join, until, type TestClient } from './helpers.ts';

const ROOM = 'storm';
const RESIDENTS = 2;
const JOINERS = 150;

/**
 * Every frame a client receives, in order (TestClient's own list drops what it hands out),
 * and how many were live room messages (not the recent ones replayed after a snapshot).
 */
function record(client: TestClient): { log: ServerFrame[]; messages: number } {
  const recorded = { log: [] as ServerFrame[], messages: 0 };
  let snapshotSeq = 0;
  client.ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as ServerFrame;
    recorded.log.push(frame);
    if (frame.type === 'joined' && frame.room === ROOM) snapshotSeq = frame.history.seq;
    if (frame.type === 'message' && frame.room === ROOM && frame.seq > snapshotSeq) recorded.messages++;
  });
  return recorded;
}

/**
 * Replays one client's frames about the room. Its view starts at its snapshot and follows
 * the presence batches; returns the final view, or throws at the first frame out of order.
 */
function replay(log: ServerFrame[], who: string): Set<string> {
  let view: Set<string> | undefined;
  let snapshotSeq = 0;
  for (const frame of log) {
    if (!('room' in frame) || frame.room !== ROOM) continue;
    if (frame.type === 'joined') {
      assert.equal(view, undefined, `${who}: a second snapshot`);
      view = new Set(frame.members.map((m) => m.id));
      snapshotSeq = frame.history.seq;
    } else if (frame.type === 'presence') {
      assert.ok(view, `${who}: a presence batch before its snapshot`);
      for (const e of frame.events) {
        if (e.k === 'join') view.add(e.member.id);
        else if (e.k === 'leave') view.delete(e.id);
      }
    } else if (frame.type === 'message') {
      assert.ok(view, `${who}: a message before its snapshot`);
      // A replayed recent message may be from someone who has left since.
      if (frame.seq <= snapshotSeq) continue;
      assert.ok(view.has(frame.from), `${who}: a message from ${frame.from}, who is not in its list yet`);
    }
  }
  assert.ok(view, `${who}: no snapshot`);
  return view;
}

test(`${JOINERS} joins at once: one snapshot each, first; no message from someone unseen; everyone ends with the same list`, { timeout: 60_000 }, async () => {
  const scope = new Scope();
  try {
    const server = await scope.server({ maxConnectionsPerIp: RESIDENTS + JOINERS + 10 });
    const residents = await scope.clientsOf(server, RESIDENTS);
    const residentLogs = residents.map(record);
    for (const r of residents) await join(r, ROOM);

    const joiners = await scope.clientsOf(server, JOINERS);
    const joinerLogs = joiners.map(record);
    // Each joiner speaks the moment its snapshot arrives: the others must know it by then.
    for (const j of joiners) {
      void j.next('joined', (f) => f.room === ROOM, 30_000).then(() => j.send({ type: 'say', room: ROOM, cid: `hello-${j.id}`, text: `hello from ${j.id}` }));
    }
    for (const j of joiners) j.send({ type: 'join', room: ROOM });

    const everyone = [...residents, ...joiners];
    const records = [...residentLogs, ...joinerLogs];
    const ids = new Set(everyone.map((c) => c.id));
    // Everyone hears every joiner's message except its own.
    await until(everyone, () => records.every((r, i) => r.messages === JOINERS - (i >= RESIDENTS ? 1 : 0)), 'every message delivered', 30_000);

    everyone.forEach((c, i) => assert.deepEqual([...replay(records[i]!.log, c.id)].sort(), [...ids].sort(), `${c.id}: the final list`));
    const errors = records.flatMap((r) => r.log.filter((f) => f.type === 'error'));
    assert.deepEqual(errors, []);
  } finally {
    await scope.dispose();
  }
});
