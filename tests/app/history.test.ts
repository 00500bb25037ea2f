// History on the device, in real Chromium IndexedDB: lines round-trip sealed, the raw
// store holds no plaintext, a record moved to another conversation does not open, and
// deletes by conversation, age and purge, and the per-conversation cap, remove exactly
// what they should. Then the reducer side: a restore never repeats a line by id.
import { expect } from '@esm-bundle/chai';
import { LineStore, type KeptLine } from '../../app/storage/history.ts';
import { historyKey } from '../../app/crypto/history-key.ts';
import { initialState, reduce, type Action, type AppState, type ChatLine } from '../../app/state/store.ts';

let dbCount = 0;
const opened: { store: LineStore; name: string }[] = [];

/** A LineStore on a database of its own, deleted after the test. */
function freshStore(cap = 500): { store: LineStore; name: string } {
  const name = `wisp-history-test-${Date.now()}-${dbCount++}`;
  const entry = { store: new LineStore(cap, name), name };
  opened.push(entry);
  return entry;
}

function line(key: string, time: number, text = `text of ${key}`): KeptLine {
  return { key, kind: 'text', text, ts: time, time, name: 'Ada', from: 'p1', fromKey: 'kA' };
}

function rawRecords(name: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const all = db.transaction('lines').objectStore('lines').getAll();
      all.onsuccess = () => (db.close(), resolve(all.result as Record<string, unknown>[]));
      all.onerror = () => reject(all.error);
    };
  });
}

function putRaw(name: string, record: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const tx = db.transaction('lines', 'readwrite');
      tx.objectStore('lines').put(record);
      tx.oncomplete = () => (db.close(), resolve());
      tx.onerror = () => reject(tx.error);
    };
  });
}

const keys = (lines: { key: string }[]) => lines.map((l) => l.key);

describe('history line store', () => {
  afterEach(async () => {
    for (const { store, name } of opened.splice(0)) {
      store.close();
      await new Promise((resolve) => {
        const request = indexedDB.deleteDatabase(name);
        request.onsuccess = request.onerror = request.onblocked = resolve;
      });
    }
  });

  it('the key is AES-GCM, non-extractable, and the same one every time', async () => {
    const key = await historyKey();
    expect(key.algorithm.name).to.equal('AES-GCM');
    expect(key.extractable).to.equal(false);
    expect(await historyKey()).to.equal(key);
  });

  it('round-trips lines in time order, each conversation on its own, the same id once', async () => {
    const { store } = freshStore();
    await store.append('lobby', line('b', 2000));
    await store.append('lobby', line('a', 1000));
    await store.append('lobby', { key: 'f', kind: 'file', text: 'cat.png', ts: 2500, time: 2500, own: true, size: 1234 });
    await store.append('@kB', line('w', 1500, 'a whisper'));
    await store.append('lobby', line('b', 2000, 'written again'));
    const lobby = await store.load('lobby');
    expect(keys(lobby)).to.deep.equal(['a', 'b', 'f']);
    expect(lobby[0]).to.deep.equal(line('a', 1000));
    expect(lobby[1].text).to.equal('written again');
    expect(lobby[2]).to.deep.equal({ key: 'f', kind: 'file', text: 'cat.png', ts: 2500, time: 2500, own: true, size: 1234 });
    expect(keys(await store.load('@kB'))).to.deep.equal(['w']);
    expect(keys(await store.load('lobby', 2))).to.deep.equal(['b', 'f'], 'a limit loads the newest');
  });

  it('the raw store holds no line content in the clear', async () => {
    const { store, name } = freshStore();
    const secret = 'the treasure is under the old oak';
    await store.append('lobby', { ...line('s', 1000, secret), name: 'Zephyrine' });
    const records = await rawRecords(name);
    expect(records).to.have.length(1);
    const record = records[0];
    expect(Object.keys(record).sort()).to.deep.equal(['conv', 'data', 'iv', 'key', 'time']);
    const bytes = new Uint8Array(record.data as ArrayBuffer);
    const asText = new TextDecoder('latin1').decode(bytes);
    expect(bytes.length).to.be.greaterThan(secret.length);
    expect(asText).not.to.include('treasure');
    expect(asText).not.to.include('Zephyrine');
    expect(JSON.stringify({ ...record, data: undefined, iv: undefined })).not.to.include('treasure');
  });

  it('a record moved to another conversation is refused', async () => {
    const { store, name } = freshStore();
    await store.append('secret-room', line('m', 1000, 'only for the secret room'));
    await store.append('lobby', line('ok', 1000, 'a lobby line'));
    const [moved] = (await rawRecords(name)).filter((r) => r.conv === 'secret-room');
    await putRaw(name, { ...moved, conv: 'lobby' });
    const lobby = await store.load('lobby');
    expect(keys(lobby)).to.deep.equal(['ok'], 'the moved record does not open in #lobby');
    expect(keys(await store.load('secret-room'))).to.deep.equal(['m'], 'the original still opens where it belongs');
  });

  it('deletes by conversation, by age and by purge time, and nothing else', async () => {
    const { store } = freshStore();
    for (const [conv, key, time] of [['lobby', 'l1', 1000], ['lobby', 'l2', 2000], ['lobby', 'l3', 3000], ['music', 'm1', 1000], ['music', 'm2', 3000], ['@kB', 'w1', 1500]] as const) {
      await store.append(conv, line(key, time));
    }
    expect(await store.deletePurged('lobby', 2000)).to.equal(2);
    expect(keys(await store.load('lobby'))).to.deep.equal(['l3']);
    expect(keys(await store.load('music'))).to.deep.equal(['m1', 'm2'], 'a purge is for its room only');

    expect(await store.deleteOlderThan(1500)).to.equal(1);
    expect(keys(await store.load('music'))).to.deep.equal(['m2']);
    expect(keys(await store.load('@kB'))).to.deep.equal(['w1'], 'a line exactly at the cutoff stays');

    expect(await store.deleteConversation('@kB')).to.equal(1);
    expect(await store.load('@kB')).to.deep.equal([]);
    expect(await store.count()).to.equal(2);

    await store.clear();
    expect(await store.count()).to.equal(0);
  });

  it('keeps at most its cap per conversation, dropping the oldest', async () => {
    const { store } = freshStore(3);
    for (let i = 1; i <= 5; i++) await store.append('lobby', line(`l${i}`, i * 1000));
    await store.append('music', line('m1', 500));
    expect(keys(await store.load('lobby'))).to.deep.equal(['l3', 'l4', 'l5']);
    expect(keys(await store.load('music'))).to.deep.equal(['m1']);
    expect(await store.count()).to.equal(4);
  });
});

describe('history in the reducer', () => {
  const chat = (key: string, ts: number, extra: Partial<ChatLine> = {}): ChatLine => ({ key, kind: 'text', text: key, ts, ...extra });

  function start(): AppState {
    return [
      { t: 'open-room', room: 'lobby', activate: true },
      { t: 'open-room', room: 'music', activate: false },
      { t: 'whisper-open', key: 'kB', name: 'Bo', activate: false },
    ].reduce((s, a) => reduce(s, a as Action), initialState());
  }

  it('restores lines before what is there, never repeating an id, with the view', () => {
    let state = start();
    state = reduce(state, { t: 'whisper-in', key: 'kB', id: 'w2', text: 'waiting whisper', kind: 'text', ts: 2000 });
    state = reduce(state, { t: 'history-restore', tab: '@kB', lines: [chat('w1', 1000), chat('w2', 2000)], unseenFrom: 'w2', anchor: 'w1', unseen: 1 });
    expect(state.whispers.kB.lines.map((l) => l.key)).to.deep.equal(['w1', 'w2']);
    expect(state.whispers.kB.unseenFrom).to.equal('w2');
    expect(state.whispers.kB.unread).to.equal(2, 'the waiting whisper, and the restored one not seen (the tab is not open)');
    state = reduce(state, { t: 'history-restore', tab: 'lobby', lines: [chat('a', 1000)], unseen: 1 });
    state = reduce(state, { t: 'history-restore', tab: 'lobby', lines: [chat('a', 1000)], unseen: 0 });
    expect(state.rooms.lobby.unread).to.equal(0, 'the open tab has nothing unread');
    expect(state.rooms.lobby.lines.map((l) => l.key)).to.deep.equal(['a']);
    // Leaving the tab ends the restored view.
    state = reduce(state, { t: 'activate', room: '@kB' });
    state = reduce(state, { t: 'activate', room: 'lobby' });
    expect(state.whispers.kB.unseenFrom).to.equal(undefined);
    expect(state.whispers.kB.anchor).to.equal(undefined);
  });

  it('a purge removes lines up to its server time (a sealed line counts by the server time), and a clear empties the tab', () => {
    let state = start();
    state = reduce(state, { t: 'history-restore', tab: 'lobby', lines: [chat('old', 1000), chat('sealed', 9000, { serverTs: 1500 }), chat('new', 3000)], unseen: 0 });
    state = reduce(state, { t: 'pending', room: 'lobby', cid: 'c1', text: 'unsent', kind: 'text', at: 500 });
    state = reduce(state, { t: 'history-purged', room: 'lobby', at: 2000 });
    expect(state.rooms.lobby.lines.map((l) => l.key)).to.deep.equal(['new', 'c1']);
    state = reduce(state, { t: 'history-cleared', tab: 'lobby' });
    expect(state.rooms.lobby.lines).to.deep.equal([]);
    expect(state.order).to.include('lobby');
  });
});
