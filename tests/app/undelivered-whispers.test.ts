// The queue of own whispers without a receipt (app/state/undelivered-whispers.ts), on the
// real IndexedDB of the test browser: each written once per link, waiting, expiring by its
// own timer (not only when the app comes back to the foreground), Retry, receipts, and what
// a reload brings back.
import { expect } from '@esm-bundle/chai';
import { UndeliveredWhispers } from '../../app/state/undelivered-whispers.ts';
import { Store, initialState, type AppState } from '../../app/state/store.ts';
import { KEYS, remove } from '../../app/storage/db.ts';
import { DEFAULT_SETTINGS } from '../../app/storage/settings.ts';
import type { PeerLink } from '../../app/net/peer-link.ts';

const KEY = 'kDana';

/** A store with a conversation with Dana, whose whispers expire after `expiryMs`. */
function storeWith(expiryMs: number): Store {
  const state: AppState = { ...initialState(), me: { name: 'alice' }, settings: { ...DEFAULT_SETTINGS, whisperExpiryMs: expiryMs } };
  const store = new Store(state);
  store.dispatch({ t: 'whisper-open', key: KEY, name: 'Dana', activate: true });
  return store;
}

function lines(store: Store) {
  return store.state.whispers[KEY].lines.map((l) => ({ text: l.text, pending: l.pending, undelivered: l.undelivered, delivered: l.delivered }));
}

/** Resolves once the store's state passes `check`. */
function until(store: Store, check: (state: AppState) => boolean): Promise<void> {
  if (check(store.state)) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = store.subscribe((state) => {
      if (!check(state)) return;
      stop();
      resolve();
    });
  });
}

/** A link that records what is written on it (the queue only calls send). */
function recordingLink(): { link: PeerLink; written: string[] } {
  const written: string[] = [];
  const link = {
    send(bytes: Uint8Array) {
      written.push((JSON.parse(new TextDecoder().decode(bytes.subarray(1))) as { text: string }).text);
      return Promise.resolve();
    },
  } as unknown as PeerLink;
  return { link, written };
}

describe('undelivered whispers', () => {
  beforeEach(() => remove(KEYS.whisperOutbox));

  it('writes each whisper once per link, in order; a new link carries what has no receipt; a receipt ends it', async () => {
    const store = storeWith(DEFAULT_SETTINGS.whisperExpiryMs);
    const queue = new UndeliveredWhispers(store);
    await queue.add(KEY, 'Dana', 'one', 'text');
    await queue.add(KEY, 'Dana', 'two', 'text');
    const first = recordingLink();
    queue.writeAll(KEY, first.link);
    queue.writeAll(KEY, first.link);
    expect(first.written).to.deep.equal(['one', 'two']);
    expect(lines(store).map((l) => l.pending)).to.deep.equal([true, true]);

    queue.delivered(KEY, store.state.whispers[KEY].lines[0].key);
    queue.delivered('someone else', store.state.whispers[KEY].lines[1].key);
    const second = recordingLink();
    queue.writeAll(KEY, second.link);
    expect(second.written).to.deep.equal(['two'], 'only the one without its receipt (from Dana) goes again');
    queue.stop();
  });

  it('waiting whispers say so; past the expiry their own timer makes them "Not delivered"; Retry makes them wait again', async () => {
    const store = storeWith(30);
    const queue = new UndeliveredWhispers(store);
    await queue.add(KEY, 'Dana', 'soon stale', 'text');
    queue.showWaiting(KEY);
    expect(lines(store)[0]).to.include({ pending: false, undelivered: 'waiting' });
    await until(store, () => lines(store)[0].undelivered === 'expired');
    expect(queue.hasWaiting(KEY)).to.equal(false);
    const { link, written } = recordingLink();
    queue.writeAll(KEY, link);
    expect(written).to.deep.equal([], 'an expired whisper is not written');

    store.dispatch({ t: 'settings', settings: { ...store.state.settings, whisperExpiryMs: DEFAULT_SETTINGS.whisperExpiryMs } });
    expect(queue.retry(store.state.whispers[KEY].lines[0].key, () => undefined)).to.equal(KEY);
    expect(lines(store)[0]).to.include({ pending: true, undelivered: undefined });
    expect(queue.hasWaiting(KEY)).to.equal(true);
    queue.writeAll(KEY, link);
    expect(written).to.deep.equal(['soon stale']);
    queue.stop();
  });

  it('a reload brings back the conversation with its waiting and expired whispers, as one line each', async () => {
    const before = storeWith(DEFAULT_SETTINGS.whisperExpiryMs);
    const earlier = new UndeliveredWhispers(before);
    await earlier.add(KEY, 'Dana', 'still waiting', 'text');
    before.dispatch({ t: 'settings', settings: { ...before.state.settings, whisperExpiryMs: 0 } });
    await earlier.add(KEY, 'Dana', 'already stale', 'action');
    earlier.stop();

    const store = new Store({ ...initialState(), me: { name: 'alice' } });
    const queue = new UndeliveredWhispers(store);
    expect(await queue.load()).to.deep.equal([KEY], 'Dana is waited for');
    expect(store.state.whispers[KEY].name).to.equal('Dana');
    expect(lines(store)).to.deep.equal([
      { text: 'still waiting', pending: false, undelivered: 'waiting', delivered: undefined },
      { text: 'already stale', pending: false, undelivered: 'expired', delivered: undefined },
    ]);
    // The same whisper shown again (restored from elsewhere) stays one line.
    const restored = store.state.whispers[KEY].lines[0];
    store.dispatch({ t: 'whisper-out', key: KEY, id: restored.key, text: restored.text, kind: 'text', ts: restored.ts, status: 'waiting' });
    expect(lines(store)).to.have.length(2);
    queue.stop();
  });
});
