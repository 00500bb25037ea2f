// Where a room's history stands on this device: the cursor a join sends, which messages
// after a `joined` are replayed (and whether to someone coming back or to a new member),
// and that the cursor survives a reload.
import { expect } from '@esm-bundle/chai';
import { RoomRecovery } from '../../app/state/recovery.ts';
import { loadRoomCursors } from '../../app/storage/room-cursors.ts';
import { KEYS, remove, write } from '../../app/storage/db.ts';

const history = (epoch: string, seq: number) => ({ epoch, seq, newMembers: 50 });

/** Resolves once the cursors kept in IndexedDB are `want` (writes are coalesced, so poll). */
async function savedCursors(want: unknown): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (JSON.stringify(await loadRoomCursors()) === JSON.stringify(want)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(await loadRoomCursors()).to.deep.equal(want);
}

describe('room recovery cursors', () => {
  beforeEach(() => Promise.all([remove(KEYS.roomCursors), remove(KEYS.closedEpochs)]));

  it('a first join is a new member: no cursor sent, and what follows up to the snapshot is history', async () => {
    const recovery = new RoomRecovery();
    await recovery.load();
    expect(recovery.since('lobby')).to.equal(undefined);
    recovery.onJoined('lobby', history('e1', 5));
    expect(recovery.onMessage('lobby', 4)).to.equal('history');
    expect(recovery.onMessage('lobby', 5)).to.equal('history');
    expect(recovery.onMessage('lobby', 6)).to.equal('live');
    expect(recovery.since('lobby')).to.deep.equal({ epoch: 'e1', seq: 6 });
  });

  it('coming back with a cursor: the replayed messages are "missed", live ones move the cursor on, own acks too', async () => {
    const recovery = new RoomRecovery();
    recovery.onJoined('lobby', history('e1', 2));
    recovery.onMessage('lobby', 3);
    recovery.onDisconnect();
    // Not joined on this connection (or the answer was refused): its numbers move nothing.
    expect(recovery.onMessage('lobby', 50)).to.equal('live');
    expect(recovery.since('lobby')).to.deep.equal({ epoch: 'e1', seq: 3 });
    recovery.onJoined('lobby', history('e1', 9));
    expect(recovery.onMessage('lobby', 8)).to.equal('missed');
    expect(recovery.onMessage('lobby', 10)).to.equal('live');
    recovery.onOwnMessage('lobby', 11);
    recovery.onOwnMessage('lobby', 7);
    expect(recovery.since('lobby')).to.deep.equal({ epoch: 'e1', seq: 11 });
  });

  it('a new epoch replaces the cursor; a room left forgets it', async () => {
    const recovery = new RoomRecovery();
    recovery.onJoined('lobby', history('e1', 20));
    recovery.onJoined('music', history('m1', 1));
    recovery.onJoined('lobby', history('e2', 0));
    expect(recovery.since('lobby')).to.deep.equal({ epoch: 'e2', seq: 0 });
    recovery.forget('music');
    expect(recovery.since('music')).to.equal(undefined);
    await savedCursors({ lobby: { epoch: 'e2', seq: 0 } });
  });

  it('what is gone: the server says so for its epoch; an earlier epoch lost nothing only if this device saw its server stop', async () => {
    const recovery = new RoomRecovery();
    expect(recovery.onJoined('lobby', history('e1', 3)), 'a first join misses nothing').to.equal(false);
    expect(recovery.onJoined('lobby', { ...history('e1', 9), missed: true as const }), 'the server says the ring does not reach back').to.equal(true);
    // The connection dropped, then the server restarted: what e1 said after the cursor may be gone.
    recovery.onDisconnect();
    expect(recovery.onJoined('lobby', history('e2', 0))).to.equal(true);
    // This time the device was there when the server said it was stopping: nothing of e2 was missed.
    await recovery.onServerStopped();
    recovery.onDisconnect();
    expect(recovery.onJoined('lobby', history('e3', 2))).to.equal(false);

    // A reload in between keeps knowing it.
    await recovery.onServerStopped();
    recovery.onDisconnect();
    const reloaded = new RoomRecovery();
    await reloaded.load();
    expect(reloaded.onJoined('lobby', history('e4', 0))).to.equal(false);
  });

  it('the cursor survives a reload, and a malformed saved one is dropped', async () => {
    const first = new RoomRecovery();
    first.onJoined('lobby', history('e1', 3));
    for (let seq = 4; seq <= 40; seq++) first.onMessage('lobby', seq);
    await savedCursors({ lobby: { epoch: 'e1', seq: 40 } });
    const reloaded = new RoomRecovery();
    await reloaded.load();
    expect(reloaded.since('lobby')).to.deep.equal({ epoch: 'e1', seq: 40 });

    await write(KEYS.roomCursors, { lobby: { epoch: 'e1', seq: 2 }, bad: { epoch: 'not an epoch!', seq: 1 }, worse: { epoch: 'e1', seq: -1 } });
    expect(await loadRoomCursors()).to.deep.equal({ lobby: { epoch: 'e1', seq: 2 } });
  });
});
