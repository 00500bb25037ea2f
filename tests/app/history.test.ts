// History on the device, in real Chromium IndexedDB: lines round-trip sealed, the raw
// store holds no plaintext, a record moved to another conversation does not open, and
// deletes by conversation, age and purge, and the per-conversation cap, remove exactly
// what they should; a tab reads one window of its newest lines, "Load earlier messages" the
// window before. Then the reducer side: a restore or an earlier window never repeats a
// line by id, and the list keeps the line in view when earlier lines go above it.
import { expect } from '@esm-bundle/chai';
import { LineStore, type KeptLine } from '../../app/storage/history.ts';
import { historyKey } from '../../app/crypto/history-key.ts';
import { HISTORY_KEPT_PER_CONVERSATION, MAX_LINES_PER_ROOM, initialState, reduce, type Action, type AppState, type ChatLine } from '../../app/state/store.ts';
import { Store } from '../../app/state/store.ts';
import { History, HISTORY_FULL_SENTENCE } from '../../app/state/history.ts';
import '../../app/components/message-list.ts';

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

function putRaw(name: string, ...records: Record<string, unknown>[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const tx = db.transaction('lines', 'readwrite');
      for (const record of records) tx.objectStore('lines').put(record);
      tx.oncomplete = () => (db.close(), resolve());
      tx.onerror = () => reject(tx.error);
    };
  });
}

const keys = (lines: { key: string }[]) => lines.map((l) => l.key);

/** Closes and deletes the databases freshStore() made. */
async function deleteOpened(): Promise<void> {
  for (const { store, name } of opened.splice(0)) {
    store.close();
    await new Promise((resolve) => {
      const request = indexedDB.deleteDatabase(name);
      request.onsuccess = request.onerror = request.onblocked = resolve;
    });
  }
}

describe('history line store', () => {
  afterEach(deleteOpened);

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

describe('history windows', () => {
  afterEach(deleteOpened);

  /** Counts the cursor steps of what `run` does: how much of the store a read walks. */
  async function steps<T>(run: () => Promise<T>): Promise<{ result: T; steps: number }> {
    const original = IDBCursor.prototype.continue;
    let count = 0;
    IDBCursor.prototype.continue = function (this: IDBCursor, key?: IDBValidKey) {
      count++;
      return original.call(this, key);
    };
    try {
      return { result: await run(), steps: count };
    } finally {
      IDBCursor.prototype.continue = original;
    }
  }

  it('reads a window of the newest lines in one bounded walk, then the window before, oldest first', async () => {
    const { store } = freshStore(1000);
    // l00…l59; l14, l15 and l16 in one millisecond (the index orders those by id).
    const at = (i: number) => 1000 + (i <= 14 ? i : i <= 16 ? 14 : i - 2);
    for (let i = 0; i < 60; i++) await store.append('lobby', line(`l${String(i).padStart(2, '0')}`, at(i)));
    await store.append('music', line('m1', 1005));
    const names = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `l${String(from + i).padStart(2, '0')}`);

    const newest = await steps(() => store.loadBefore('lobby', undefined, 10));
    expect(keys(newest.result.lines)).to.deep.equal(names(50, 60));
    expect(newest.result.earlier).to.equal(true);
    expect(newest.steps).to.be.at.most(10, 'the window and one more, not the whole conversation');

    const window = async (from: KeptLine, limit: number) => (await steps(() => store.loadBefore('lobby', { time: from.time, key: from.key }, limit))).result;
    let earlier = await window(newest.result.lines[0], 35);
    expect(keys(earlier.lines)).to.deep.equal(names(15, 50), 'ends at l15, which shares its millisecond with l14 and l16');
    earlier = await window(earlier.lines[0], 10);
    expect(keys(earlier.lines)).to.deep.equal(names(5, 15), 'l14, not l16 again');
    const before = await steps(() => store.loadBefore('lobby', { time: earlier.lines[0].time, key: earlier.lines[0].key }, 10));
    expect(before.steps).to.be.at.most(10);
    expect(keys(before.result.lines)).to.deep.equal(names(0, 5));
    expect(before.result.earlier).to.equal(false, 'nothing older is left');
  });

  it(`keeps ${HISTORY_KEPT_PER_CONVERSATION} lines per conversation, deleting the oldest past it`, async () => {
    const { store, name } = freshStore(HISTORY_KEPT_PER_CONVERSATION);
    await store.count(); // the database exists
    // Stand-ins for lines kept earlier (they do not open; the cap counts them all the same).
    const filler = Array.from({ length: HISTORY_KEPT_PER_CONVERSATION }, (_, i) => ({ conv: 'lobby', key: `old${i}`, time: i, iv: new Uint8Array(12), data: new ArrayBuffer(16) }));
    await putRaw(name, ...filler);
    for (let i = 0; i < 3; i++) await store.append('lobby', line(`new${i}`, 1_000_000 + i));
    const kept = (await rawRecords(name)).map((r) => r.key as string);
    expect(kept).to.have.length(HISTORY_KEPT_PER_CONVERSATION);
    expect(kept).to.not.include.members(['old0', 'old1', 'old2']);
    expect(kept).to.include.members(['old3', 'new0', 'new1', 'new2']);
    expect(HISTORY_KEPT_PER_CONVERSATION).to.be.greaterThan(MAX_LINES_PER_ROOM);
  });
});

describe('history when the device is full', () => {
  /** A line store on a real database whose writes fail as a browser's do when its quota is reached. */
  class FullLineStore extends LineStore {
    attempts = 0;
    override append(): Promise<void> {
      this.attempts++;
      return Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
    }
  }

  it('says so once in a sentence, and the conversation carries on', async () => {
    const lines = new FullLineStore(500, `wisp-history-full-${Date.now()}`);
    const store = new Store(reduce(initialState(), { t: 'open-room', room: 'lobby', activate: true }));
    const notices: string[] = [];
    const history = new History({ store, notice: (text) => notices.push(text), lines });
    history.watch();
    const say = (id: string) => store.dispatch({ t: 'message', room: 'lobby', id, from: 'p1', name: 'Ada', ts: Date.now(), text: `line ${id}`, kind: 'text' });
    say('m1');
    say('m2');
    say('m3');
    await waitFor(() => lines.attempts === 3);
    history.stop();
    expect(notices).to.deep.equal([HISTORY_FULL_SENTENCE]);
    expect(store.state.rooms.lobby.lines.map((l) => l.key)).to.deep.equal(['m1', 'm2', 'm3']);
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

  it('puts earlier lines above, never repeating an id; what was loaded stays until the person leaves the tab', () => {
    let state = start();
    const window = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => chat(`h${from + i}`, 1000 + from + i));
    state = reduce(state, { t: 'history-restore', tab: 'lobby', lines: window(MAX_LINES_PER_ROOM, MAX_LINES_PER_ROOM + 200), unseen: 0, earlier: true });
    expect(state.rooms.lobby.earlier).to.equal(true);
    // The earlier window overlaps the shown lines by one id: that line shows once.
    state = reduce(state, { t: 'history-earlier', tab: 'lobby', lines: window(0, MAX_LINES_PER_ROOM + 1), earlier: false });
    const keysNow = state.rooms.lobby.lines.map((l) => l.key);
    expect(keysNow).to.deep.equal(window(0, MAX_LINES_PER_ROOM + 200).map((l) => l.key));
    expect(state.rooms.lobby.earlier).to.equal(false);
    // A new line does not throw away what was just loaded: it drops only the oldest one past what is held.
    state = reduce(state, { t: 'message', room: 'lobby', id: 'live', from: 'p1', name: 'Ada', ts: 5000, text: 'hi', kind: 'text' });
    expect(state.rooms.lobby.lines).to.have.length(MAX_LINES_PER_ROOM + 200);
    expect(state.rooms.lobby.lines[0].key).to.equal('h1');
    expect(state.rooms.lobby.earlier).to.equal(true, 'h0 is on the device again only');
    // Leaving the tab trims back to the usual bound; the rest can be loaded again.
    state = reduce(state, { t: 'activate', room: 'music' });
    expect(state.rooms.lobby.lines).to.have.length(MAX_LINES_PER_ROOM);
    expect(state.rooms.lobby.lines.at(-1)!.key).to.equal('live');
    expect(state.rooms.lobby.earlier).to.equal(true);
    expect(state.rooms.lobby.limit).to.equal(undefined);
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

describe('<wisp-message-list> with restored history', () => {
  const many: ChatLine[] = Array.from({ length: 60 }, (_, i) => ({ key: `l${i}`, kind: 'text', text: `line ${i}`, ts: i, from: 'pB', name: 'bob' }));

  async function mountList(props: Record<string, unknown>) {
    const list = document.createElement('wisp-message-list');
    Object.assign(list, props);
    list.style.height = '200px';
    document.body.append(list);
    await list.updateComplete;
    return list;
  }

  afterEach(() => document.body.replaceChildren());

  it('puts one "New messages" divider before the first unseen line', async () => {
    const list = await mountList({ lines: many.slice(0, 5), room: 'lobby', unseenFrom: 'l3' });
    const items = [...list.shadowRoot!.querySelectorAll('ol > li')];
    const divider = items.findIndex((li) => li.matches('[data-divider]'));
    expect(items.filter((li) => li.matches('[data-divider]'))).to.have.length(1);
    // A plain list item of the log's list (a role on it would break the list for screen readers).
    expect(items[divider].hasAttribute('role')).to.equal(false);
    expect(items[divider].textContent).to.equal('New messages');
    expect((items[divider + 1] as HTMLElement).dataset.key).to.equal('l3');
  });

  it('shows a restored file as a record with its size, its name as text, never as a download', async () => {
    const lines: ChatLine[] = [
      { key: 'f1', kind: 'file', text: '<img src=x onerror="window.pwned=1">.png', ts: 1, size: 1234, name: 'bob', fromKey: 'kB' },
      { key: 'f2', kind: 'file', text: 'notes.txt', ts: 2, size: 10, own: true, name: 'alice' },
    ];
    const list = await mountList({ lines, room: '@kB' });
    const records = [...list.shadowRoot!.querySelectorAll('.file-record')].map((r) => [r.getAttribute('data-file-record'), r.textContent]);
    expect(records).to.deep.equal([
      ['received', 'Received <img src=x onerror="window.pwned=1">.png (1.2 kB)'],
      ['sent', 'Sent notes.txt (10 B)'],
    ]);
    expect(list.shadowRoot!.querySelector('img, wisp-file-card, a')).to.equal(null);
  });

  it('shows "Load earlier messages" only when there is more, asks for it, and keeps the top line in place when lines go above', async () => {
    const list = await mountList({ lines: many.slice(30), room: 'lobby' });
    expect(list.shadowRoot!.querySelector('[data-earlier]')).to.equal(null);
    list.earlier = true;
    await list.updateComplete;
    const button = list.shadowRoot!.querySelector<HTMLButtonElement>('[data-earlier]')!;
    expect(button.textContent).to.equal('Load earlier messages');
    list.scrollTop = 0;
    const top = (key: string) => list.shadowRoot!.querySelector<HTMLElement>(`li[data-key="${key}"]`)!.getBoundingClientRect().top;
    const before = top('l30');
    const asked = new Promise<{ room: string }>((resolve) => list.addEventListener('load-earlier', (e) => resolve((e as CustomEvent<{ room: string }>).detail)));
    button.click();
    expect(await asked).to.deep.equal({ room: 'lobby' });
    list.lines = many;
    list.earlier = false;
    await list.updateComplete;
    expect(Math.abs(top('l30') - before)).to.be.lessThan(1, 'the line at the top stays where it was');
    expect(list.shadowRoot!.querySelector('[data-earlier]')).to.equal(null);
  });

  it('opens with the anchor line at the top, then reports where the person is as they scroll', async () => {
    const list = await mountList({ lines: many, room: 'lobby', anchor: 'l20' });
    const top = (key: string) => list.shadowRoot!.querySelector<HTMLElement>(`li[data-key="${key}"]`)!.getBoundingClientRect().top;
    const padding = parseFloat(getComputedStyle(list).paddingTop);
    expect(Math.abs(top('l20') - list.getBoundingClientRect().top - padding)).to.be.lessThan(1);
    expect(list.scrollHeight - list.scrollTop - list.clientHeight).to.be.greaterThan(48, 'not at the bottom');

    // The list also reports where it opened; the report after the scroll is the one that sees the last line.
    const reported = new Promise<{ room: string; anchor?: string; seen?: string }>((resolve) =>
      list.addEventListener('view-change', (e) => {
        const detail = (e as CustomEvent<{ room: string; anchor?: string; seen?: string }>).detail;
        if (detail.seen === 'l59') resolve(detail);
      }),
    );
    list.scrollTop = list.scrollHeight;
    expect(await reported).to.deep.equal({ room: 'lobby', anchor: undefined, seen: 'l59' }, 'at the bottom there is no anchor');
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).to.equal(true);
}
