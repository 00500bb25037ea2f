// Trust states and what they allow (app/storage/pins.ts, app/state/whispers.ts), on the
// real IndexedDB and a real Whispers with its real peer mesh in the test browser: a
// safety number found not to match is kept and blocks the key until verified again, and
// "Whisper only with verified people" holds whispers to anyone not verified.
import { expect } from '@esm-bundle/chai';
import { Whispers } from '../../app/state/whispers.ts';
import { Store, initialState, type AppState } from '../../app/state/store.ts';
import { KEYS, remove } from '../../app/storage/db.ts';
import { DEFAULT_SETTINGS } from '../../app/storage/settings.ts';
import { loadPins, savePins, trustLevel, trustOf, withPin, type Trust } from '../../app/storage/pins.ts';
import type { Identity } from '../../app/crypto/identity.ts';
import type { ClientFrame } from '../../signal-server/protocol/protocol.ts';
import { makeIdentity } from './support/identity.ts';

describe('trust states', () => {
  beforeEach(() => remove(KEYS.pins));

  it('a mismatch is its own state, kept on the device, and verifying again clears it', async () => {
    const pins = withPin({}, 'Dana', 'kDana', false, true);
    expect(trustOf(pins, 'dana', 'kDana')).to.equal('mismatch');
    // Another key under the name is a change, as for any pin that is not verified.
    expect(trustOf(pins, 'Dana', 'kOther')).to.equal('changed');
    await savePins(pins);
    const loaded = await loadPins();
    expect(loaded.dana).to.include({ key: 'kDana', verified: false, mismatch: true });
    expect(trustOf(loaded, 'Dana', 'kDana')).to.equal('mismatch');
    const verified = withPin(loaded, 'Dana', 'kDana', true);
    expect(trustOf(verified, 'Dana', 'kDana')).to.equal('verified');
    expect(verified.dana.mismatch).to.equal(undefined);
  });

  it('shows three honest states and the mismatch: only a compared safety number is verified', () => {
    const levels = (['new', 'pinned', 'verified', 'changed', 'changed-verified', 'mismatch', undefined] as (Trust | undefined)[]).map(trustLevel);
    expect(levels).to.deep.equal(['unverified', 'unverified', 'verified', 'changed', 'changed', 'mismatch', 'unverified']);
  });
});

describe('whispers and trust', () => {
  let me: Identity;
  let dana: Identity;
  let store: Store;
  let whispers: Whispers;
  let sent: ClientFrame[];
  let notified: string[];

  /** Dana shares #lobby with me; we are online; her conversation is open. */
  function start(settings = DEFAULT_SETTINGS): void {
    const state: AppState = {
      ...initialState(),
      connection: { status: 'online' },
      me: { id: 'pMe', name: 'alice' },
      settings,
      rooms: {
        lobby: {
          name: 'lobby',
          lines: [],
          unread: 0,
          synced: true,
          members: {
            pMe: { id: 'pMe', name: 'alice', key: me.spki, role: 'member' },
            pDana: { id: 'pDana', name: 'Dana', key: dana.spki, role: 'member' },
          },
        },
      },
    };
    store = new Store(state);
    sent = [];
    notified = [];
    whispers = new Whispers({ store, identity: me, send: (frame) => (sent.push(frame), true), notify: (title) => notified.push(title) });
    store.dispatch({ t: 'whisper-open', key: dana.spki, name: 'Dana', activate: true });
  }

  /** Signalling frames addressed to Dana: a link being set up. */
  const toDana = () => sent.filter((f) => (f.type === 'signal' || f.type === 'relay') && f.to === 'pDana');

  before(async () => {
    [me, dana] = await Promise.all([makeIdentity(), makeIdentity()]);
  });
  beforeEach(async () => {
    await Promise.all([remove(KEYS.pins), remove(KEYS.whisperOutbox)]);
  });
  afterEach(() => whispers?.close());

  it('"Whisper only with verified people": a whisper to someone not verified waits, says why, and goes once verified', async () => {
    start({ ...DEFAULT_SETTINGS, verifiedOnly: true });
    whispers.open(dana.spki);
    whispers.whisper(dana.spki, 'hello');
    expect(whispers.mesh.get(dana.spki), 'no link is set up').to.equal(undefined);
    expect(toDana()).to.deep.equal([]);
    expect(store.state.whispers[dana.spki].failure).to.equal('You whisper only with verified people: your whispers to Dana wait until you verify Dana.');
    expect(store.state.whispers[dana.spki].lines.map((l) => l.text)).to.deep.equal(['hello']);

    await whispers.markVerified(dana.spki);
    expect(whispers.mesh.get(dana.spki), 'verified: the link is set up').to.not.equal(undefined);
    expect(store.state.whispers[dana.spki].failure).to.equal(undefined);
  });

  it('"Whisper only with verified people" turned off: what waited goes', async () => {
    start({ ...DEFAULT_SETTINGS, verifiedOnly: true });
    whispers.whisper(dana.spki, 'hello');
    expect(whispers.mesh.get(dana.spki)).to.equal(undefined);
    store.dispatch({ t: 'settings', settings: { ...DEFAULT_SETTINGS, verifiedOnly: false } });
    whispers.onPolicyChanged();
    expect(whispers.mesh.get(dana.spki), 'the setting off: the link is set up').to.not.equal(undefined);
    expect(store.state.whispers[dana.spki].failure).to.equal(undefined);
  });

  it('off (the default): a first contact talks at once, not verified', () => {
    start();
    whispers.whisper(dana.spki, 'hello');
    expect(whispers.mesh.get(dana.spki)).to.not.equal(undefined);
    expect(whispers.trust(dana.spki)).to.equal('new');
  });

  it('"They don\'t match": kept on the device, nothing more is sent, and verifying again lifts it', async () => {
    start();
    whispers.open(dana.spki);
    expect(whispers.mesh.get(dana.spki)).to.not.equal(undefined);
    whispers.mesh.close(dana.spki, { code: 'closed', sentence: 'Reconnecting.' });
    await whispers.reportMismatch(dana.spki);
    expect(whispers.trust(dana.spki)).to.equal('mismatch');
    expect((await loadPins()).dana).to.include({ key: dana.spki, mismatch: true, verified: false });
    const before = toDana().length;
    whispers.whisper(dana.spki, 'after the mismatch');
    expect(whispers.mesh.get(dana.spki)?.isClosed ?? true, 'no new link').to.equal(true);
    expect(toDana().length, 'nothing sent').to.equal(before);
    expect(store.state.whispers[dana.spki].failure).to.equal("Dana's safety number does not match. Whispers are blocked until you verify Dana again.");
    // "Continue" does not lift it: only a matching safety number does.
    await whispers.acceptChange(dana.spki);
    expect(whispers.trust(dana.spki)).to.equal('mismatch');
    await whispers.markVerified(dana.spki);
    expect(whispers.trust(dana.spki)).to.equal('verified');
    expect((await loadPins()).dana.mismatch).to.equal(undefined);
    expect(whispers.mesh.get(dana.spki)?.isClosed, 'verified again: a new link').to.equal(false);
  });
});
