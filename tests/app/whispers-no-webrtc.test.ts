// Whispers in a browser without WebRTC (app/state/whispers.ts with `webrtc: false`, what
// the Session passes where RTCPeerConnection is missing): opening a conversation, typing a
// whisper or answering someone's signalling says plainly why not, sends nothing and keeps
// nothing waiting. The real thing runs in WebKit in tests/engines/webkit.test.ts.
import { expect } from '@esm-bundle/chai';
import { toBase64Url } from '../../app/crypto/bytes.ts';
import type { Identity } from '../../app/crypto/identity.ts';
import { KEYS, remove } from '../../app/storage/db.ts';
import { Store, initialState } from '../../app/state/store.ts';
import { Whispers } from '../../app/state/whispers.ts';
import { NO_WEBRTC_SENTENCE, hasWebRTC } from '../../app/net/webrtc-support.ts';
import type { ClientFrame, Member } from '../../signal-server/protocol/protocol.ts';

async function newKey(): Promise<{ spki: string; pair: CryptoKeyPair }> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  return { spki: toBase64Url(await crypto.subtle.exportKey('spki', pair.publicKey)), pair };
}

describe('Whispers without WebRTC', () => {
  let identity: Identity;
  before(async () => {
    const { pair, spki } = await newKey();
    identity = { privateKey: pair.privateKey, publicKey: pair.publicKey, spki, fingerprint: 'unused' };
  });
  after(() => remove(KEYS.whisperOutbox));

  async function world(webrtc: boolean) {
    const other = await newKey();
    const store = new Store({ ...initialState(), me: { name: 'Pat' } });
    store.dispatch({ t: 'connection', status: 'online' });
    const members: Member[] = [
      { id: 'p-pat', name: 'Pat', key: identity.spki, role: 'member' },
      { id: 'p-olga', name: 'Olga', key: other.spki, role: 'member' },
    ];
    store.dispatch({ t: 'open-room', room: 'lobby', activate: true });
    store.dispatch({ t: 'joined', room: 'lobby', members });
    const sent: ClientFrame[] = [];
    const notices: string[] = [];
    const whispers = new Whispers({ store, identity, webrtc, send: (frame) => (sent.push(frame), true), notify: () => undefined, notice: (text) => notices.push(text) });
    return { store, whispers, sent, notices, key: other.spki };
  }

  it('this test browser has WebRTC, so the Session passes webrtc: true here', () => {
    expect(hasWebRTC()).to.equal(true);
  });

  it('opening a conversation says why no whisper can go, and asks nobody for a link', async () => {
    const { store, whispers, sent, key } = await world(false);
    expect(whispers.available).to.equal(false);
    whispers.open(key);
    expect(store.state.whispers[key]).to.include({ link: 'closed', failure: NO_WEBRTC_SENTENCE });
    expect(sent, 'no signalling').to.deep.equal([]);
    whispers.close();
  });

  it('a typed whisper is not kept waiting: the notice says why, nothing is sent', async () => {
    const { store, whispers, sent, notices, key } = await world(false);
    whispers.open(key);
    whispers.whisper(key, 'the plan');
    expect(notices).to.deep.equal([NO_WEBRTC_SENTENCE]);
    expect(store.state.whispers[key].lines.filter((l) => l.text === 'the plan'), 'no line waits for delivery').to.deep.equal([]);
    expect(sent).to.deep.equal([]);
    whispers.close();
  });

  it('with WebRTC, opening a conversation starts a link instead (the sentence is only for browsers without it)', async () => {
    const { store, whispers, key } = await world(true);
    expect(whispers.available).to.equal(true);
    whispers.open(key);
    expect(store.state.whispers[key].failure).to.equal(undefined);
    expect(store.state.whispers[key].link).to.equal('connecting');
    whispers.close();
  });
});
