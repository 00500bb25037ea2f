// Invite links that carry the inviter's key fingerprint (app/state/invite.ts): the link
// format (round trip, links from before, damaged ones), its size as a QR code, the
// synchronous SHA-256 behind the fingerprint against WebCrypto, and what opening one does
// to trust (app/storage/pins.ts, introductions.ts, and the Whispers that consult it before
// anything is sent).
import { expect } from '@esm-bundle/chai';
import QRCode from 'qrcode';
import { KEY_FINGERPRINT, fingerprintFromHex, keyFingerprint } from '../../app/crypto/key-fingerprint.ts';
import { toBase64Url, toHex } from '../../app/crypto/bytes.ts';
import type { Identity } from '../../app/crypto/identity.ts';
import { DAMAGED_INVITER, inviteLink, mismatchSentence, parseInvite } from '../../app/state/invite.ts';
import { loadPins, savePins, trustOf, withPin, type Pins } from '../../app/storage/pins.ts';
import { meetIntroductions, withIntroduction } from '../../app/storage/introductions.ts';
import { KEYS, remove } from '../../app/storage/db.ts';
import { Store, initialState } from '../../app/state/store.ts';
import { Whispers } from '../../app/state/whispers.ts';
import type { ClientFrame, Member } from '../../signal-server/protocol/protocol.ts';
import type { WhisperState } from '../../app/state/store.ts';
import '../../app/components/invite-dialog.ts';
import '../../app/components/whisper-header.ts';

async function webCryptoSha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

async function newKey(): Promise<{ spki: string; pair: CryptoKeyPair }> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  return { spki: toBase64Url(await crypto.subtle.exportKey('spki', pair.publicKey)), pair };
}

describe('key fingerprints (SHA-256 from @noble/hashes, synchronous)', () => {
  it("a key's fingerprint is SHA-256 of its SPKI bytes, base64url, 43 characters: the Identity fingerprint in another spelling", async () => {
    for (let i = 0; i < 5; i++) {
      const { pair, spki } = await newKey();
      const raw = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
      const digest = await webCryptoSha256(raw);
      expect(keyFingerprint(spki)).to.equal(toBase64Url(digest));
      expect(keyFingerprint(spki)).to.match(KEY_FINGERPRINT);
      expect(fingerprintFromHex(toHex(digest))).to.equal(keyFingerprint(spki));
    }
    expect(keyFingerprint('not base64url!')).to.equal('');
  });
});

describe('invite links', () => {
  const origin = 'https://wisp.example.org:8443';
  const fingerprint = keyFingerprint(toBase64Url(new Uint8Array(91).fill(7)));

  it('round trip: room, passphrase and inviter (a name with non-ASCII letters too)', () => {
    for (const invite of [
      { room: 'lobby', from: { name: 'Olga', fingerprint } },
      { room: 'garden-club', passphrase: 'correct horse & battery=staple #1', from: { name: 'Zoë.K-2', fingerprint } },
      { room: 'lobby' },
      { room: 'private', passphrase: 'p' },
    ]) {
      const link = inviteLink(origin, invite);
      expect(link.startsWith(`${origin}/#`)).to.equal(true);
      expect(new URL(link).search).to.equal('', 'nothing in the query string (it would reach the server)');
      expect(parseInvite(new URL(link).hash)).to.deep.equal(invite);
    }
  });

  it('links from before the inviter part still open their room, without a pin and without a complaint', () => {
    expect(parseInvite('#join=lobby')).to.deep.equal({ room: 'lobby' });
    expect(parseInvite('#join=secret&passphrase=open%20sesame')).to.deep.equal({ room: 'secret', passphrase: 'open sesame' });
    expect(parseInvite('')).to.equal(undefined);
    expect(parseInvite('#passphrase=x&by=Olga&fp=' + fingerprint)).to.equal(undefined, 'no room, no invite');
  });

  it('a damaged inviter part opens the room without pinning anyone, and says so in a sentence', () => {
    const damaged = [
      `#join=lobby&by=Olga`,
      `#join=lobby&fp=${fingerprint}`,
      `#join=lobby&by=Olga&fp=${fingerprint.slice(0, 42)}`,
      `#join=lobby&by=Olga&fp=${fingerprint}A`,
      `#join=lobby&by=Olga&fp=${fingerprint.slice(0, 42)}B`, // a last character that leaves bits over: not 32 bytes
      `#join=lobby&by=Olga&fp=${fingerprint.slice(0, 42)}+`,
      `#join=lobby&by=Olga&fp=${fingerprint}&fp=${fingerprint}`,
      `#join=lobby&by=Olga&by=Pat&fp=${fingerprint}`,
      `#join=lobby&by=Ol%20ga&fp=${fingerprint}`,
      `#join=lobby&by=%20Olga&fp=${fingerprint}`,
      `#join=lobby&by=O&fp=${fingerprint}`,
      `#join=lobby&by=${'x'.repeat(25)}&fp=${fingerprint}`,
      `#join=lobby&by=%E2%80%AEOlga&fp=${fingerprint}`,
      `#join=lobby&by=&fp=${fingerprint}`,
    ];
    for (const hash of damaged) {
      const invite = parseInvite(hash);
      expect(invite, hash).to.deep.equal({ room: 'lobby', problem: DAMAGED_INVITER });
    }
    expect(DAMAGED_INVITER).to.match(/^[A-Z].*\.$/);
  });

  it('stays small enough for a QR code a phone scans, at the level the dialog draws (M)', () => {
    const longest = inviteLink('https://wisp-raspberrypi.tailnet-abcd.ts.net', {
      room: 'r'.repeat(32),
      passphrase: 'a passphrase of thirty-two chars',
      from: { name: 'Ö'.repeat(24), fingerprint },
    });
    const typical = inviteLink('https://wisp.local:8443', { room: 'lobby', from: { name: 'Olga', fingerprint } });
    const before = inviteLink('https://wisp.local:8443', { room: 'lobby' });
    const sizes = [longest, typical, before].map((link) => ({ length: link.length, version: QRCode.create(link, { errorCorrectionLevel: 'M' }).version }));
    console.log(`invite links (characters, QR version): longest ${JSON.stringify(sizes[0])}, typical ${JSON.stringify(sizes[1])}, without the inviter ${JSON.stringify(sizes[2])}`);
    // Every room, passphrase and name at its limit, the name in two-byte letters (each
    // percent-encoded to 6 characters): version 12, 65 modules, about 3 pixels each in the
    // dialog's 220-pixel code, which phone cameras read off a screen.
    expect(sizes[0].version).to.be.at.most(12);
    // A usual link: version 6 (41 modules).
    expect(sizes[1].version).to.be.at.most(6);
  });
});

describe('introductions and trust', () => {
  let olga: string;
  let other: string;
  let third: string;
  before(async () => {
    [olga, other, third] = [(await newKey()).spki, (await newKey()).spki, (await newKey()).spki];
  });
  after(() => remove(KEYS.pins));

  it('the introduced key is verified under any name; another key under the introduced name is a mismatch; anyone else is new', () => {
    const pins = withIntroduction({}, 'Olga', keyFingerprint(olga));
    expect(trustOf(pins, 'Olga', olga)).to.equal('verified');
    expect(trustOf(pins, 'olga', olga)).to.equal('verified');
    expect(trustOf(pins, 'Olga-renamed', olga)).to.equal('verified');
    expect(trustOf(pins, 'Olga', other)).to.equal('mismatch');
    expect(trustOf(pins, 'OLGA', other)).to.equal('mismatch');
    expect(trustOf(pins, 'Pat', other)).to.equal('new');
  });

  it('meeting the introduced key makes it an ordinary verified pin under the name it is shown with; a key change later is changed-verified', () => {
    const introduced = withIntroduction({}, 'Olga', keyFingerprint(olga));
    expect(meetIntroductions(introduced, [{ name: 'Pat', key: other }])).to.equal(undefined, 'nobody with that key: nothing changes');
    const met = meetIntroductions(introduced, [{ name: 'Pat', key: other }, { name: 'Olga', key: olga }]) as Pins;
    expect(met.olga).to.include({ key: olga, verified: true });
    expect(met.olga.fingerprint).to.equal(undefined);
    expect(trustOf(met, 'Olga', olga)).to.equal('verified');
    expect(trustOf(met, 'Olga', third)).to.equal('changed-verified');
    expect(trustOf(met, 'Pat', other)).to.equal('new');
  });

  it('when the introduced key is present under another name, that member is verified and the introduced name no longer blocks', () => {
    const introduced = withIntroduction({}, 'Olga', keyFingerprint(olga));
    const met = meetIntroductions(introduced, [{ name: 'Olga', key: other }, { name: 'Olga2', key: olga }]) as Pins;
    expect(trustOf(met, 'Olga2', olga)).to.equal('verified');
    expect(trustOf(met, 'Olga', other)).to.equal('new');
  });

  it('an introduction replaces an unverified pin of the same name, and beats a verified one the link contradicts', () => {
    const pinned = withPin({}, 'Olga', other, false);
    expect(trustOf(withIntroduction(pinned, 'Olga', keyFingerprint(olga)), 'Olga', other)).to.equal('mismatch');
    const verified = withPin({}, 'Olga', other, true);
    expect(trustOf(withIntroduction(verified, 'Olga', keyFingerprint(olga)), 'Olga', other)).to.equal('mismatch');
    expect(trustOf(withIntroduction(verified, 'Olga', keyFingerprint(olga)), 'Olga', olga)).to.equal('verified');
  });

  it('an introduction is kept on the device and comes back after a reload; a damaged stored one is dropped', async () => {
    const pins = withIntroduction(withPin({}, 'Pat', other, false), 'Olga', keyFingerprint(olga));
    await savePins({ ...pins, broken: { key: '', verified: true, since: 1, fingerprint: 'short' } });
    const loaded = await loadPins();
    expect(Object.keys(loaded).sort()).to.deep.equal(['olga', 'pat']);
    expect(loaded.olga.fingerprint).to.equal(keyFingerprint(olga));
    expect(trustOf(loaded, 'Olga', other)).to.equal('mismatch');
    expect(trustOf(loaded, 'Olga', olga)).to.equal('verified');
  });
});

describe('Whispers with an introduction', () => {
  let identity: Identity;
  before(async () => {
    const { pair, spki } = await newKey();
    identity = { privateKey: pair.privateKey, publicKey: pair.publicKey, spki, fingerprint: 'unused' };
  });
  after(() => Promise.all([remove(KEYS.pins), remove(KEYS.whisperOutbox)]));

  function world(members: { name: string; key: string }[]) {
    const store = new Store({ ...initialState(), me: { name: 'Pat' } });
    store.dispatch({ t: 'connection', status: 'online' });
    const all: Member[] = [{ id: 'p-pat', name: 'Pat', key: identity.spki, role: 'member' }, ...members.map((m, i) => ({ id: `p-${i}`, name: m.name, key: m.key, role: 'member' as const }))];
    store.dispatch({ t: 'open-room', room: 'lobby', activate: true });
    store.dispatch({ t: 'joined', room: 'lobby', members: all });
    expect(Object.keys(store.state.rooms.lobby.members)).to.have.length(all.length);
    const sent: ClientFrame[] = [];
    const notices: string[] = [];
    const whispers = new Whispers({ store, identity, send: (frame) => (sent.push(frame), true), notify: () => undefined, notice: (text) => notices.push(text) });
    return { store, whispers, sent, notices };
  }

  it('the server showing another key under the introduced name: said at once, and a whisper to it sends nothing and says why', async () => {
    const real = await newKey();
    const fake = await newKey();
    const { store, whispers, sent, notices } = world([{ name: 'Olga', key: fake.spki }]);
    whispers.introduce('Olga', keyFingerprint(real.spki));
    expect(notices).to.deep.equal([mismatchSentence('Olga')]);
    expect(whispers.trust(fake.spki)).to.equal('mismatch');
    whispers.open(fake.spki);
    whispers.whisper(fake.spki, 'the secret plan');
    expect(store.state.whispers[fake.spki].failure).to.equal(mismatchSentence('Olga'));
    expect(sent, 'no signalling, no relay: nothing left for the fake key').to.deep.equal([]);
    whispers.onPresenceChanged();
    expect(notices.length, 'said once').to.equal(1);
    whispers.close();
  });

  it('the introduced key shown under any name is pinned as verified, on the device too', async () => {
    const real = await newKey();
    const { store, whispers, notices } = world([{ name: 'Olga-phone', key: real.spki }]);
    whispers.introduce('Olga', keyFingerprint(real.spki));
    expect(notices).to.deep.equal([]);
    expect(store.state.pins['olga-phone']).to.include({ key: real.spki, verified: true });
    expect(store.state.pins.olga).to.equal(undefined);
    expect(whispers.trust(real.spki)).to.equal('verified');
    const loaded = await loadPins();
    expect(loaded['olga-phone']).to.include({ key: real.spki, verified: true });
    whispers.close();
  });
});

describe('<wisp-invite-dialog> and <wisp-whisper-header> with invites', () => {
  afterEach(() => document.body.replaceChildren());

  async function mount<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]>): Promise<ShadowRoot> {
    const element = document.createElement(tag);
    Object.assign(element, props);
    document.body.append(element);
    await (element as unknown as { updateComplete: Promise<unknown> }).updateComplete;
    return element.shadowRoot!;
  }

  it('the invite says in one line that the link lets people be sure it is you, and the link carries name and fingerprint', async () => {
    const fingerprint = keyFingerprint((await newKey()).spki);
    const root = await mount('wisp-invite-dialog', { room: 'lobby', origin: 'https://wisp.local', inviterName: 'Olga', inviterFingerprint: fingerprint });
    expect(root.querySelector('p[data-inviter]')?.textContent?.trim()).to.equal('People who join with this link can be sure they are talking to you.');
    const link = root.querySelector('.link')?.getAttribute('data-invite-link') ?? '';
    expect(parseInvite(new URL(link).hash)).to.deep.equal({ room: 'lobby', from: { name: 'Olga', fingerprint } });
  });

  it('without an identity yet (offline, no name), the link is an ordinary invite and says nothing about it', async () => {
    const root = await mount('wisp-invite-dialog', { room: 'lobby', origin: 'https://wisp.local' });
    expect(root.querySelector('p[data-inviter]')).to.equal(null);
    expect(parseInvite(new URL(root.querySelector('.link')?.getAttribute('data-invite-link') ?? '').hash)).to.deep.equal({ room: 'lobby' });
  });

  it("a mismatch in a whisper's header: the sentence, as text, and Verify, but no Continue", async () => {
    const name = '<b>Olga</b>';
    const whisper = { key: 'k', name, lines: [], unread: 0, link: 'closed' } as unknown as WhisperState;
    const root = await mount('wisp-whisper-header', { whisper, trust: 'mismatch', byInvite: true });
    const warning = root.querySelector('p.warning[role=alert][data-mismatch]');
    expect(warning?.querySelector('span')?.textContent?.trim()).to.equal(mismatchSentence(name));
    expect(warning?.querySelector('b')).to.equal(null);
    const buttons = [...root.querySelectorAll('button')].map((b) => b.textContent?.trim());
    expect(buttons).to.include('Verify');
    expect(buttons.some((b) => b?.startsWith('Continue'))).to.equal(false);
    expect(root.querySelector('.badge.changed')).to.not.equal(null);
  });
});
