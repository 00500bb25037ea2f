// Who a sealed room message may be shown from, live and replayed from the room's history:
// a replayed one may come from someone who left (shown under the name it came with), but
// never under the name of someone else in the room now.
import { expect } from '@esm-bundle/chai';
import { PrivateRoomFlow } from '../../app/state/private-room-flow.ts';
import { Store } from '../../app/state/store.ts';
import type { ServerFrameOf } from '../../signal-server/protocol/protocol.ts';

const alice = { id: 'pA', name: 'alice', key: 'kA', role: 'owner' as const };
const REFUSED = /was refused: the server attributed it to someone who did not seal it/;

function flowInRoom(): { flow: PrivateRoomFlow; store: Store; shown: string[] } {
  const store = new Store();
  store.dispatch({ t: 'open-room', room: 'vault', activate: true });
  store.dispatch({ t: 'joined', room: 'vault', members: [alice], private: true, newMembers: 50 });
  const shown: string[] = [];
  const flow = new PrivateRoomFlow({
    store,
    send: () => undefined,
    online: () => true,
    ownKey: () => 'kMe',
    leave: () => undefined,
    discardQueued: () => undefined,
    show: (message) => shown.push(message.text),
    since: () => undefined,
  });
  return { flow, store, shown };
}

function sealedFrom(key: string, name: string): ServerFrameOf<'message'> {
  return { type: 'message', room: 'vault', id: `s-${name}`, from: 'p-old', name, ts: 1, sealed: 'AAAA', key, seq: 1 };
}

/** Resolves once `check` holds (the seal is opened asynchronously); fails after 200 tries. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check(), 'the condition came true').to.equal(true);
}

const lines = (store: Store) => store.state.rooms.vault!.lines.map((l) => l.text);

describe('sealed messages: who they may be shown from', () => {
  it('live, someone not in the member list is refused', () => {
    const { flow, store } = flowInRoom();
    flow.open(sealedFrom('kC', 'carol'), 'live');
    expect(lines(store)).to.have.length(1);
    expect(lines(store)[0]).to.match(REFUSED);
  });

  it('replayed, a sender who left is not refused for it (the seal decides)', async () => {
    const { flow, store } = flowInRoom();
    flow.open(sealedFrom('kC', 'carol'), 'history');
    // No key for the room on this device: it gets past the attribution to opening the seal, and says so.
    const opened = 'A message from carol was rejected: this device has no key for this room.';
    await until(() => lines(store).includes(opened));
    expect(lines(store)).to.deep.equal([opened]);
  });

  it("replayed under the name of someone else in the room now: refused", () => {
    const { flow, store } = flowInRoom();
    flow.open(sealedFrom('kC', 'Alice'), 'missed');
    expect(lines(store)[0]).to.match(REFUSED);
  });
});
