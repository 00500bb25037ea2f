// The reducer: presence is idempotent and produces the right system lines, messages are
// deduplicated, unread counts follow the active room, acks settle own lines.
import { expect } from '@esm-bundle/chai';
import { MAX_LINES_PER_ROOM, Store, initialState, reduce, type Action, type AppState } from '../../app/state/store.ts';

const alice = { id: 'pA', name: 'alice', key: 'kA', role: 'member' as const };
const bob = { id: 'pB', name: 'bob', key: 'kB', role: 'member' as const };
const limits = { maxFrameBytes: 65536, nameMinLength: 2, nameMaxLength: 24, roomNameMaxLength: 32, messageMaxLength: 2000, farewellMaxLength: 200, maxRoomsPerClient: 20, sayPerMinute: 30, sayBurst: 8, maxFileBytes: 50 * 1024 * 1024, relayFileMaxBytes: 5 * 1024 * 1024, historyMessages: 200 };

function run(actions: Action[], state: AppState = initialState()): AppState {
  return actions.reduce(reduce, state);
}

function inLobby(): AppState {
  return run([
    { t: 'welcome', id: alice.id, name: alice.name, limits, iceServers: [] },
    { t: 'open-room', room: 'lobby', activate: true },
    { t: 'joined', room: 'lobby', members: [alice] },
  ]);
}

const texts = (state: AppState, room = 'lobby') => state.rooms[room].lines.map((l) => l.text);

describe('store reducer', () => {
  it('opens the first room as active and keeps tab order', () => {
    const state = run([
      { t: 'open-room', room: 'lobby', activate: false },
      { t: 'open-room', room: 'music', activate: false },
    ]);
    expect(state.order).to.deep.equal(['lobby', 'music']);
    expect(state.active).to.equal('lobby');
    expect(state.rooms.music.synced).to.equal(false);
  });

  it('a snapshot syncs the member list without system lines', () => {
    const state = inLobby();
    expect(state.rooms.lobby.synced).to.equal(true);
    expect(Object.keys(state.rooms.lobby.members)).to.deep.equal([alice.id]);
    expect(state.rooms.lobby.lines).to.have.length(0);
  });

  it('presence join, rename and leave with farewell each give one system line', () => {
    const state = run(
      [
        { t: 'presence', room: 'lobby', events: [{ k: 'join', member: bob }], ts: 1, id: 'p1' },
        { t: 'presence', room: 'lobby', events: [{ k: 'rename', id: bob.id, name: 'robert' }], ts: 2, id: 'p2' },
        { t: 'presence', room: 'lobby', events: [{ k: 'leave', id: bob.id, farewell: 'bye all' }], ts: 3, id: 'p3' },
      ],
      inLobby(),
    );
    expect(texts(state)).to.deep.equal(['bob joined', 'bob is now known as robert', 'robert left: “bye all”']);
    expect(state.rooms.lobby.members[bob.id]).to.equal(undefined);
  });

  it('a join for someone already in the snapshot is silent (idempotent)', () => {
    const state = run(
      [
        { t: 'joined', room: 'lobby', members: [alice, bob] },
        { t: 'presence', room: 'lobby', events: [{ k: 'join', member: bob }, { k: 'join', member: alice }], ts: 4, id: 'p4' },
      ],
      inLobby(),
    );
    expect(state.rooms.lobby.lines).to.have.length(0);
    expect(Object.keys(state.rooms.lobby.members)).to.have.members([alice.id, bob.id]);
  });

  it('a leave for an unknown member changes nothing', () => {
    const before = inLobby();
    const after = reduce(before, { t: 'presence', room: 'lobby', events: [{ k: 'leave', id: 'nobody' }], ts: 5, id: 'p5' });
    expect(after.rooms.lobby.lines).to.have.length(0);
  });

  it('role, topic and removals each give a line', () => {
    const state = run(
      [
        { t: 'presence', room: 'lobby', events: [{ k: 'join', member: bob }], ts: 6, id: 'p6' },
        { t: 'presence', room: 'lobby', events: [{ k: 'role', id: bob.id, role: 'moderator' }], ts: 7, id: 'p7' },
        { t: 'presence', room: 'lobby', events: [{ k: 'role', id: alice.id, role: 'member', admin: true }], ts: 8, id: 'p8' },
        { t: 'presence', room: 'lobby', events: [{ k: 'topic', topic: 'Board games on Friday', by: 'alice' }], ts: 9, id: 'p9' },
        { t: 'presence', room: 'lobby', events: [{ k: 'leave', id: bob.id, removed: { kind: 'kicked', by: 'alice', reason: 'spam' } }], ts: 10, id: 'p10' },
      ],
      inLobby(),
    );
    expect(texts(state)).to.deep.equal([
      'bob joined',
      'bob is now a moderator',
      'You are now the server admin',
      'alice set the topic: Board games on Friday',
      'bob was removed by alice: spam',
    ]);
    expect(state.rooms.lobby.topic).to.equal('Board games on Friday');
    expect(state.rooms.lobby.members[alice.id].admin).to.equal(true);
  });

  it('being removed from a room closes its tab with a sentence', () => {
    const state = reduce(inLobby(), { t: 'removed', room: 'lobby', sentence: 'You were removed from #lobby by bob.' });
    expect(state.order).to.deep.equal([]);
    expect(state.notice?.text).to.equal('You were removed from #lobby by bob.');
  });

  it('my own rename reads "You are now known as"', () => {
    const state = run([{ t: 'presence', room: 'lobby', events: [{ k: 'rename', id: alice.id, name: 'ally' }], ts: 11, id: 'p11' }], inLobby());
    expect(texts(state)).to.deep.equal(['You are now known as ally']);
  });

  it('messages are deduplicated by server id and count as unread only outside the active room', () => {
    const message = { t: 'message' as const, room: 'music', id: 's1', from: bob.id, name: bob.name, ts: 1, text: 'hi', kind: 'text' as const };
    let state = run([{ t: 'open-room', room: 'music', activate: false }, message, message], inLobby());
    expect(texts(state, 'music')).to.deep.equal(['hi']);
    expect(state.rooms.music.unread).to.equal(1);
    state = reduce(state, { t: 'activate', room: 'music' });
    expect(state.rooms.music.unread).to.equal(0);
    state = reduce(state, { ...message, id: 's2', text: 'again' });
    expect(state.rooms.music.unread).to.equal(0);
  });

  it('a pending line becomes sent on ack, and is not added twice', () => {
    const pending = { t: 'pending' as const, room: 'lobby', cid: 'c1', text: 'hello', kind: 'text' as const, at: 5 };
    let state = run([pending, pending], inLobby());
    expect(state.rooms.lobby.lines).to.have.length(1);
    expect(state.rooms.lobby.lines[0]).to.include({ own: true, pending: true, name: 'alice' });
    state = reduce(state, { t: 'ack', cid: 'c1', id: 's9', ts: 42 });
    expect(state.rooms.lobby.lines[0]).to.include({ pending: false, ts: 42 });
  });

  it('an own message replayed after its ack is not shown again: the line keeps the server id', () => {
    let state = run([{ t: 'pending', room: 'lobby', cid: 'c1', text: 'mine', kind: 'text', at: 5 }, { t: 'ack', cid: 'c1', id: 's9', ts: 42 }], inLobby());
    expect(state.rooms.lobby.lines[0]).to.include({ key: 'c1', serverId: 's9' });
    state = reduce(state, { t: 'message', room: 'lobby', id: 's9', from: 'old-peer', name: 'alice', ts: 42, text: 'mine', kind: 'text' });
    expect(texts(state)).to.deep.equal(['mine']);
  });

  it('an own message replayed before its ack (a resend after a reconnect) ends as one own line', () => {
    let state = run(
      [
        { t: 'pending', room: 'lobby', cid: 'c1', text: 'mine', kind: 'text', at: 5 },
        { t: 'message', room: 'lobby', id: 's9', from: 'old-peer', name: 'alice', ts: 42, text: 'mine', kind: 'text' },
      ],
      inLobby(),
    );
    expect(texts(state)).to.deep.equal(['mine', 'mine']);
    state = reduce(state, { t: 'ack', cid: 'c1', id: 's9', ts: 42 });
    expect(state.rooms.lobby.lines).to.have.length(1);
    expect(state.rooms.lobby.lines[0]).to.include({ key: 'c1', own: true, pending: false, serverId: 's9' });
  });

  it("what arrives while own lines wait for the server goes above them: the room reads in the server's order", () => {
    let state = run(
      [
        { t: 'pending', room: 'lobby', cid: 'c1', text: 'typed offline', kind: 'text', at: 5 },
        { t: 'system', room: 'lobby', text: 'Some messages from while you were away are no longer available.', ts: 6, id: 'n1' },
        { t: 'message', room: 'lobby', id: 's1', from: bob.id, name: bob.name, ts: 7, text: 'said meanwhile', kind: 'text' },
      ],
      inLobby(),
    );
    expect(texts(state)).to.deep.equal(['Some messages from while you were away are no longer available.', 'said meanwhile', 'typed offline']);
    state = run(
      [
        { t: 'ack', cid: 'c1', id: 's2', ts: 8 },
        { t: 'message', room: 'lobby', id: 's3', from: bob.id, name: bob.name, ts: 9, text: 'after', kind: 'text' },
      ],
      state,
    );
    expect(texts(state).slice(1)).to.deep.equal(['said meanwhile', 'typed offline', 'after']);
  });

  it('a replayed message from someone who left keeps the key its seal was bound to', () => {
    const state = reduce(inLobby(), { t: 'message', room: 'lobby', id: 's1', from: 'gone', name: 'carol', ts: 1, text: 'earlier', kind: 'text', fromKey: 'kC' });
    expect(state.rooms.lobby.lines[0]).to.include({ name: 'carol', fromKey: 'kC' });
  });

  it("the room's history setting comes with the snapshot, and a change adds one line", () => {
    let state = reduce(inLobby(), { t: 'joined', room: 'lobby', members: [alice], newMembers: 50 });
    expect(state.rooms.lobby.newMembers).to.equal(50);
    state = run(
      [
        { t: 'room-history', room: 'lobby', newMembers: 3, by: 'bob', ts: 7, id: 'h1' },
        { t: 'room-history', room: 'lobby', newMembers: 0, by: 'bob', ts: 8, id: 'h2' },
      ],
      state,
    );
    expect(state.rooms.lobby.newMembers).to.equal(0);
    expect(texts(state)).to.deep.equal(['bob set: new members see the last 3 messages', 'bob set: this room keeps no history']);
  });

  it('losing the connection unsyncs rooms but keeps their lines', () => {
    let state = run([{ t: 'pending', room: 'lobby', cid: 'c1', text: 'kept', kind: 'text', at: 1 }], inLobby());
    state = reduce(state, { t: 'connection', status: 'offline', sentence: 'down', retryAt: 10 });
    expect(state.rooms.lobby.synced).to.equal(false);
    expect(texts(state)).to.deep.equal(['kept']);
    expect(state.connection).to.deep.equal({ status: 'offline', sentence: 'down', retryAt: 10 });
  });

  it('leaving the active room activates a neighbour', () => {
    const state = run(
      [
        { t: 'open-room', room: 'music', activate: false },
        { t: 'open-room', room: 'games', activate: false },
        { t: 'activate', room: 'music' },
        { t: 'left', room: 'music' },
      ],
      inLobby(),
    );
    expect(state.order).to.deep.equal(['lobby', 'games']);
    expect(state.active).to.equal('games');
  });

  it('keeps at most MAX_LINES_PER_ROOM lines', () => {
    const actions: Action[] = [];
    for (let i = 0; i < MAX_LINES_PER_ROOM + 20; i++) {
      actions.push({ t: 'message', room: 'lobby', id: `s${i}`, from: bob.id, name: 'bob', ts: i, text: `m${i}`, kind: 'text' });
    }
    const state = run(actions, inLobby());
    expect(state.rooms.lobby.lines).to.have.length(MAX_LINES_PER_ROOM);
    expect(state.rooms.lobby.lines.at(-1)!.text).to.equal(`m${MAX_LINES_PER_ROOM + 19}`);
  });

  it('is pure: lines take their time and key from the action, and the same actions give the same state', () => {
    const actions: Action[] = [
      { t: 'presence', room: 'lobby', events: [{ k: 'join', member: bob }, { k: 'rename', id: bob.id, name: 'robert' }], ts: 100, id: 'sys-a' },
      { t: 'system', text: 'help text', ts: 200, id: 'sys-b' },
      { t: 'room-locked', room: 'lobby', sentence: 'bob changed the passphrase of #lobby.', ts: 300, id: 'sys-c' },
    ];
    const first = run(actions, inLobby());
    const second = run(actions, inLobby());
    expect(first).to.deep.equal(second);
    expect(first.rooms.lobby.lines.map((l) => [l.key, l.ts])).to.deep.equal([
      ['sys-a-0', 100],
      ['sys-a-1', 100],
      ['sys-b', 200],
      ['sys-c', 300],
    ]);
    // With no room to show it in, a system line is a notice.
    expect(reduce(initialState(), { t: 'system', text: 'nowhere', ts: 7, id: 'sys-d' }).notice).to.deep.equal({ id: 7, text: 'nowhere' });
  });

  it('a new transfer adds one file line at the time the action carries', () => {
    const transfer = { id: 'f1', key: 'kB', fid: 1, direction: 'in' as const, name: 'a.png', size: 3, declaredType: 'image/png', status: 'offered' as const, bytes: 0, rate: 0, remaining: 0 };
    let state = run([{ t: 'whisper-open', key: 'kB', name: 'bob', activate: false }], inLobby());
    state = run([{ t: 'transfer', transfer, ts: 55 }, { t: 'transfer', transfer: { ...transfer, status: 'receiving' }, ts: 66 }], state);
    expect(state.whispers.kB.lines.map((l) => [l.kind, l.key, l.ts])).to.deep.equal([['file', 'f1', 55]]);
    expect(state.whispers.kB.unread).to.equal(1);
    expect(state.transfers.f1.status).to.equal('receiving');
  });

  it('an own whisper is one line per id: waiting, expired, sending again, delivered', () => {
    const whisper = { t: 'whisper-out' as const, key: 'kB', id: 'w1', text: 'see you', kind: 'text' as const, ts: 5 };
    let state = run([{ t: 'whisper-open', key: 'kB', name: 'bob', activate: false }, { ...whisper, status: 'waiting' }], inLobby());
    const status = () => state.whispers.kB.lines.map((l) => [l.key, l.pending, l.undelivered, l.delivered]);
    expect(status()).to.deep.equal([['w1', false, 'waiting', undefined]]);
    // The same id again (restored from the device, or still waiting) updates the line: no second one.
    state = run([{ ...whisper, status: 'expired' }], state);
    expect(status()).to.deep.equal([['w1', false, 'expired', undefined]]);
    state = run([{ t: 'whisper-status', key: 'kB', id: 'w1', status: 'sending' }], state);
    expect(status()).to.deep.equal([['w1', true, undefined, undefined]]);
    state = run([{ t: 'whisper-delivered', key: 'kB', id: 'w1' }], state);
    expect(status()).to.deep.equal([['w1', false, undefined, true]]);
    // Delivered stays delivered, whatever a late status or a restored copy says.
    const delivered = state;
    expect(run([{ t: 'whisper-status', key: 'kB', id: 'w1', status: 'waiting' }, { ...whisper, status: 'waiting' }], delivered)).to.equal(delivered);
  });

  it('an action about nothing in the state returns the same state object', () => {
    const before = inLobby();
    expect(reduce(before, { t: 'activate', room: 'nowhere' })).to.equal(before);
    expect(reduce(before, { t: 'left', room: 'nowhere' })).to.equal(before);
    expect(reduce(before, { t: 'whisper-link', key: 'nobody', link: 'ready' })).to.equal(before);
  });

  it('Store notifies subscribers only on change', () => {
    const store = new Store();
    let calls = 0;
    const unsubscribe = store.subscribe(() => calls++);
    store.dispatch({ t: 'dismiss-notice' });
    expect(calls).to.equal(0);
    store.dispatch({ t: 'notice', text: 'hello' });
    expect(calls).to.equal(1);
    expect(store.state.notice?.text).to.equal('hello');
    unsubscribe();
    store.dispatch({ t: 'dismiss-notice' });
    expect(calls).to.equal(1);
  });
});
