// The private-room crypto: key derivation against known answers computed independently
// with Node's crypto (the real 600,000 PBKDF2 iterations, in this thread and in the
// worker), the room key's use and non-extractability, sealing and opening, tamper and
// replay rejection.
//
// The expected values were computed once with Node 20 (node:crypto pbkdf2Sync, hkdfSync,
// createCipheriv('aes-256-gcm')), independently of the app's code:
//   master   = pbkdf2Sync(NFC(passphrase), 'wisp-private-room-v2|' + serverId + '|' + room, 600000, 32, 'sha256')
//   verifier = hkdfSync('sha256', master, <empty salt>, 'wisp-room-verifier-v1', 32)   (base64url)
//   key      = hkdfSync('sha256', master, <empty salt>, 'wisp-room-key-v1', 32)
//   probe    = AES-256-GCM(key, KAT_IV, aad = KAT_AAD, KAT_PLAINTEXT)  ciphertext || 16-byte tag
import { expect } from '@esm-bundle/chai';
import { ROOM_KDF_ITERATIONS, deriveRoomSecretsHere, normalizePassphrase } from '../../app/crypto/room-kdf.ts';
import { LIMITS, parseClientFrame } from '../../signal-server/protocol/protocol.ts';
import { REPLAY_WINDOW_MS, ReplayGuard, RoomSealError, deriveRoomSecrets, openRoomMessage, sealRoomMessage, type RoomMessage } from '../../app/crypto/room-key.ts';
import { fromBase64Url, toBase64Url, toHex, utf8, type Bytes } from '../../app/crypto/bytes.ts';
import { SenderGaps } from '../../app/state/sender-gaps.ts';

const hex = (s: string): Bytes => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

const KAT_IV = hex('000102030405060708090a0b');
const KAT_AAD = utf8('wisp-kat-aad');
const KAT_PLAINTEXT = utf8('Known answer: the room key works.');

interface Vector {
  name: string;
  passphrase: string;
  room: string;
  /** The server's id from `welcome`: it salts the derivation. */
  server: string;
  verifier: string;
  /** AES-256-GCM of KAT_PLAINTEXT under the vector's room key: ciphertext then tag, hex. */
  probe: string;
}

const VECTORS: Vector[] = [
  {
    name: 'ASCII passphrase, room "family", server one',
    passphrase: 'correct horse battery staple',
    room: 'family',
    server: 'kat-server-one-0001',
    verifier: '73YsoBPFWA02MCto0B_sP2xyzYqUVIxTWtL9xbiiUbo',
    probe: 'ab82d2a6f727a98673a1be3915f33ad29343ddd10c5d8c0ec9a00a5c4d714b38fd46314e7b8cedbc237750c517197e2970',
  },
  {
    // Written in NFD (u + combining diaeresis): the expected values are those of the NFC form.
    name: 'non-ASCII passphrase given in NFD, room "club-42", server one',
    passphrase: 'Gru\u0308\u00dfe, \u4e16\u754c \u{1F510}',
    room: 'club-42',
    server: 'kat-server-one-0001',
    verifier: '3Z_IdQ2x4TAvY5AB4X2pp6PMUu8fjrYX1Ke17XcCi60',
    probe: '654d6caa9f189081796da9284b1c165a2e35ba95c3f76a3099036168cb336069f84eae844de9441ce7964b268c17e63b3d',
  },
  {
    // The first vector's passphrase and room on another server: nothing carries over.
    name: 'ASCII passphrase, room "family", server two',
    passphrase: 'correct horse battery staple',
    room: 'family',
    server: 'kat-server-two-0002',
    verifier: 'lnLHlwrcythRen8b0-znP5jSxxMpQ0qHNO0NRXQJfe8',
    probe: 'a45eb0ec3e298a7a927c97259434e161fe991d0498bf02ace2ae94aae6021a2ea1ca7e164494b82e15ea22894c8f3007f1',
  },
];

/** Sealed by Node with vector 1's key, IV a0..ab, sender 'TEST-SENDER-SPKI', stream 0102030405060708, number 7. */
const NODE_SEALED = 'AqChoqOkpaanqKmqqx6mzB4dnTTLy7MycHiBMql3QSKTPGOguheEb9koWF5semp6bQH6iru9OC4n_hErZr0RCzkRmuVbzEhL';

async function probe(key: CryptoKey): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: KAT_IV, additionalData: KAT_AAD }, key, KAT_PLAINTEXT)));
}

/** The RoomSealError code a promise (or function) fails with, or 'no error'. */
async function sealFailure(attempt: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof attempt === 'function' ? attempt() : attempt);
  } catch (error) {
    if (error instanceof RoomSealError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('private room key derivation (known answers, 600,000 iterations)', () => {
  it('uses the protocol parameters', () => {
    expect(ROOM_KDF_ITERATIONS).to.equal(600_000);
  });

  it('the NFD vector really is not NFC', () => {
    const [, nfd] = VECTORS;
    expect(nfd!.passphrase).to.not.equal(nfd!.passphrase.normalize('NFC'));
    expect(toHex(utf8(normalizePassphrase(nfd!.passphrase)))).to.equal('4772c3bcc39f652c20e4b896e7958c20f09f9490');
  });

  for (const vector of VECTORS) {
    it(`in this thread: ${vector.name}`, async function () {
      this.timeout(60_000);
      const secrets = await deriveRoomSecretsHere(vector.passphrase, vector.room, vector.server);
      expect(secrets.verifier).to.equal(vector.verifier);
      expect(await probe(secrets.key)).to.equal(vector.probe);
      expect(secrets.server).to.equal(vector.server);
      expect(secrets.key.extractable).to.equal(false);
      expect(secrets.key.algorithm).to.deep.include({ name: 'AES-GCM', length: 256 });
      expect([...secrets.key.usages].sort()).to.deep.equal(['decrypt', 'encrypt']);
      let exported: unknown = 'not rejected';
      try {
        exported = await crypto.subtle.exportKey('raw', secrets.key);
      } catch (error) {
        exported = (error as DOMException).name;
      }
      expect(exported).to.equal('InvalidAccessError');
    });
  }

  it('the NFC spelling of the non-ASCII passphrase derives the same verifier', async function () {
    this.timeout(60_000);
    const [, nfd] = VECTORS;
    const secrets = await deriveRoomSecretsHere(nfd!.passphrase.normalize('NFC'), nfd!.room, nfd!.server);
    expect(secrets.verifier).to.equal(nfd!.verifier);
  });

  it('the same passphrase and room give other secrets on another server', () => {
    const [one, , two] = VECTORS;
    expect([one!.passphrase, one!.room]).to.deep.equal([two!.passphrase, two!.room]);
    expect(one!.server).to.not.equal(two!.server);
    expect(one!.verifier).to.not.equal(two!.verifier);
    expect(one!.probe).to.not.equal(two!.probe);
  });

  for (const vector of VECTORS) {
    it(`in the worker (deriveRoomSecrets): ${vector.name}`, async function () {
      this.timeout(60_000);
      const warnings: unknown[][] = [];
      const warn = console.warn;
      // deriveRoomSecrets falls back to this thread when a worker cannot be created; the
      // fallback warns. This test is about the worker, so the fallback must not happen.
      console.warn = (...args: unknown[]) => {
        warnings.push(args);
        warn.apply(console, args);
      };
      try {
        const secrets = await deriveRoomSecrets(vector.passphrase, vector.room, vector.server);
        expect(secrets.verifier).to.equal(vector.verifier);
        expect(secrets.key).to.be.instanceOf(CryptoKey);
        expect(secrets.key.extractable).to.equal(false);
        expect(await probe(secrets.key)).to.equal(vector.probe);
      } finally {
        console.warn = warn;
      }
      expect(warnings.map((w) => String(w[0]))).to.deep.equal([]);
    });
  }

  it('opens a message sealed by an independent implementation (Node)', async function () {
    this.timeout(60_000);
    const [family] = VECTORS;
    const { key } = await deriveRoomSecretsHere(family!.passphrase, family!.room, family!.server);
    const message = await openRoomMessage(key, 'family', 'TEST-SENDER-SPKI', NODE_SEALED);
    expect(message).to.deep.equal({ cid: 'c-1', ts: 1_700_000_000_000, stream: '0102030405060708', seq: 7, kind: 'text', text: 'hello, family \u{1F44B}' });
  });
});

describe('sealing and opening room messages', () => {
  const ROOM = 'club-42';
  const SERVER = 'unit-test-server-id';
  const SENDER = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE-sender-a';
  const OTHER_SENDER = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE-sender-b';
  let key: CryptoKey;
  let otherKey: CryptoKey;

  before(async function () {
    this.timeout(30_000);
    // Not known-answer tests: a cheaper iteration count is enough here.
    key = (await deriveRoomSecretsHere('the room passphrase', ROOM, SERVER, 1000)).key;
    otherKey = (await deriveRoomSecretsHere('another passphrase', ROOM, SERVER, 1000)).key;
  });

  const pattern = Array.from('Wisp 🔐 grüße 世界 👋🏽 — ');
  const longText = Array.from({ length: 2000 }, (_, i) => pattern[i % pattern.length]).join('');

  const message = (): RoomMessage => ({ cid: 'cid-123', ts: 1_760_000_000_123, stream: 'f00dfeedcafe0042', seq: 4_000_000_000, kind: 'action', text: longText });

  it('round-trips cid, ts, stream, sequence number, kind and a 2000-character text with emoji', async () => {
    expect(Array.from(longText)).to.have.length(2000);
    const original = message();
    const sealed = await sealRoomMessage(key, ROOM, SENDER, original);
    expect(sealed).to.match(/^[A-Za-z0-9_-]+$/);
    expect(await openRoomMessage(key, ROOM, SENDER, sealed)).to.deep.equal(original);
  });

  it('round-trips a short text message', async () => {
    const original: RoomMessage = { cid: 'c', ts: 0, stream: '0000000000000000', seq: 0, kind: 'text', text: 'hi' };
    expect(await openRoomMessage(key, ROOM, SENDER, await sealRoomMessage(key, ROOM, SENDER, original))).to.deep.equal(original);
  });

  it('seals the same message differently each time (random IV)', async () => {
    const a = await sealRoomMessage(key, ROOM, SENDER, message());
    const b = await sealRoomMessage(key, ROOM, SENDER, message());
    expect(a).to.not.equal(b);
    expect(fromBase64Url(a)[0]).to.equal(2);
  });

  it('rejects any flipped byte: version as malformed, IV, body and tag as tampered', async () => {
    const sealed = fromBase64Url(await sealRoomMessage(key, ROOM, SENDER, message()));
    const last = sealed.length - 1;
    const positions: Record<string, number> = {
      version: 0,
      'IV, first byte': 1,
      'IV, last byte': 12,
      'body, first byte': 13,
      'body, middle': Math.floor((13 + last - 16) / 2),
      'body, last byte': last - 16,
      'tag, first byte': last - 15,
      'tag, last byte': last,
    };
    const results: Record<string, string> = {};
    for (const [where, index] of Object.entries(positions)) {
      const altered = sealed.slice();
      altered[index] ^= 0x01;
      results[where] = await sealFailure(openRoomMessage(key, ROOM, SENDER, toBase64Url(altered)));
    }
    expect(results).to.deep.equal({
      version: 'malformed',
      'IV, first byte': 'tampered',
      'IV, last byte': 'tampered',
      'body, first byte': 'tampered',
      'body, middle': 'tampered',
      'body, last byte': 'tampered',
      'tag, first byte': 'tampered',
      'tag, last byte': 'tampered',
    });
  });

  it('rejects truncated and non-base64url input as malformed', async () => {
    const sealed = fromBase64Url(await sealRoomMessage(key, ROOM, SENDER, message()));
    expect(await sealFailure(openRoomMessage(key, ROOM, SENDER, toBase64Url(sealed.subarray(0, 1 + 12 + 15))))).to.equal('malformed');
    expect(await sealFailure(openRoomMessage(key, ROOM, SENDER, ''))).to.equal('malformed');
    expect(await sealFailure(openRoomMessage(key, ROOM, SENDER, 'not base64url!'))).to.equal('malformed');
  });

  it('rejects a truncated tag (one byte cut off the end) as tampered', async () => {
    const sealed = fromBase64Url(await sealRoomMessage(key, ROOM, SENDER, message()));
    expect(await sealFailure(openRoomMessage(key, ROOM, SENDER, toBase64Url(sealed.subarray(0, sealed.length - 1))))).to.equal('tampered');
  });

  it('binds the room and the sender (associated data)', async () => {
    const sealed = await sealRoomMessage(key, ROOM, SENDER, message());
    expect(await sealFailure(openRoomMessage(key, 'club-43', SENDER, sealed))).to.equal('tampered');
    expect(await sealFailure(openRoomMessage(key, ROOM, OTHER_SENDER, sealed))).to.equal('tampered');
    // Still fine with the right ones.
    expect((await openRoomMessage(key, ROOM, SENDER, sealed)).cid).to.equal('cid-123');
  });

  it('rejects a key derived from another passphrase', async () => {
    const sealed = await sealRoomMessage(key, ROOM, SENDER, message());
    expect(await sealFailure(openRoomMessage(otherKey, ROOM, SENDER, sealed))).to.equal('tampered');
  });
});

describe('sealed message size', () => {
  it('the longest message a person can type, sealed, fits the protocol (3-byte characters and emoji, with the longest client id)', async () => {
    const { key } = await deriveRoomSecretsHere('size check', 'sizes', 'unit-test-server-id', 1000);
    const cid = 'c'.repeat(LIMITS.clientMessageIdMaxLength);
    for (const text of ['€'.repeat(LIMITS.messageMaxLength), '🔐'.repeat(LIMITS.messageMaxLength / 2)]) {
      expect(text.length).to.equal(LIMITS.messageMaxLength);
      const sealed = await sealRoomMessage(key, 'sizes', 'SENDER-KEY', { cid, ts: Date.now(), stream: 'ffffffffffffffff', seq: 0xffffffff, kind: 'action', text });
      expect(sealed.length).to.be.at.most(LIMITS.sealedMaxLength);
      const parsed = parseClientFrame(JSON.stringify({ type: 'say', room: 'sizes', cid, sealed }));
      expect(parsed.ok, JSON.stringify(parsed)).to.equal(true);
    }
  });
});

describe('ReplayGuard', () => {
  const NOW = 1_760_000_000_000;
  const at = (cid: string, ts = NOW): RoomMessage => ({ cid, ts, stream: '0000000000000001', seq: 0, kind: 'text', text: 'hello' });

  it('accepts a message once and refuses it the second time', async () => {
    const guard = new ReplayGuard(() => NOW);
    expect(await sealFailure(() => guard.check('sender-a', at('m1')))).to.equal('no error');
    expect(await sealFailure(() => guard.check('sender-a', at('m1')))).to.equal('replayed');
    // Even with a different time or text: the (sender, cid) pair decides.
    expect(await sealFailure(() => guard.check('sender-a', { ...at('m1', NOW + 1), text: 'other' }))).to.equal('replayed');
    expect(await sealFailure(() => guard.check('sender-a', at('m2')))).to.equal('no error');
  });

  it('accepts the same client id from another sender', async () => {
    const guard = new ReplayGuard(() => NOW);
    expect(await sealFailure(() => guard.check('sender-a', at('m1')))).to.equal('no error');
    expect(await sealFailure(() => guard.check('sender-b', at('m1')))).to.equal('no error');
    expect(await sealFailure(() => guard.check('sender-b', at('m1')))).to.equal('replayed');
  });

  it(`refuses messages outside the replay window (${REPLAY_WINDOW_MS} ms), in the past or the future`, async () => {
    let now = NOW;
    const guard = new ReplayGuard(() => now);
    expect(await sealFailure(() => guard.check('s', at('old', NOW - REPLAY_WINDOW_MS - 1)))).to.equal('replayed');
    expect(await sealFailure(() => guard.check('s', at('future', NOW + REPLAY_WINDOW_MS + 1)))).to.equal('replayed');
    expect(await sealFailure(() => guard.check('s', at('edge-old', NOW - REPLAY_WINDOW_MS)))).to.equal('no error');
    expect(await sealFailure(() => guard.check('s', at('edge-future', NOW + REPLAY_WINDOW_MS)))).to.equal('no error');
    // The clock moves on: a message that was fresh is now too old.
    const fresh = at('fresh', NOW);
    now = NOW + REPLAY_WINDOW_MS + 1;
    expect(await sealFailure(() => guard.check('s', fresh))).to.equal('replayed');
  });

  it('a message refused as too old can be accepted later by a guard whose clock agrees', async () => {
    // Outside the window it is not remembered, so it is not "seen" either.
    const guard = new ReplayGuard(() => NOW);
    expect(await sealFailure(() => guard.check('s', at('late', NOW - REPLAY_WINDOW_MS - 1)))).to.equal('replayed');
    expect(await sealFailure(() => guard.check('s', at('late', NOW)))).to.equal('no error');
  });

  it('what it remembers survives a reload: a new guard from remembered() still refuses those messages', async () => {
    let now = NOW;
    const guard = new ReplayGuard(() => now);
    guard.check('s', at('early', NOW - REPLAY_WINDOW_MS + 10));
    guard.check('s', at('recent', NOW));
    now = NOW + 20;
    // Ids past the window are dropped (age refuses them anyway); the rest are kept.
    expect(guard.remembered().map(([id]) => id)).to.deep.equal(['s|recent']);
    const afterReload = new ReplayGuard(() => now, guard.remembered());
    expect(await sealFailure(() => afterReload.check('s', at('recent', NOW)))).to.equal('replayed');
    expect(await sealFailure(() => afterReload.check('s', at('new', now)))).to.equal('no error');
  });
});

describe('ReplayGuard and replayed history', () => {
  const NOW = 1_760_000_000_000;
  const at = (cid: string, ts: number): RoomMessage => ({ cid, ts, stream: '0000000000000001', seq: 0, kind: 'text', text: 'hello' });

  it('accepts a recovered message older than the window, once', async () => {
    const guard = new ReplayGuard(() => NOW);
    const old = at('old', NOW - 3 * REPLAY_WINDOW_MS);
    expect(await sealFailure(() => guard.check('s', old))).to.equal('replayed');
    expect(await sealFailure(() => guard.check('s', old, true))).to.equal('no error');
    expect(await sealFailure(() => guard.check('s', old, true))).to.equal('replayed');
  });

  it('refuses a recovered message whose id was seen live', async () => {
    const guard = new ReplayGuard(() => NOW);
    expect(await sealFailure(() => guard.check('s', at('m1', NOW)))).to.equal('no error');
    expect(await sealFailure(() => guard.check('s', at('m1', NOW), true))).to.equal('replayed');
  });
});

describe('ReplayGuard forgets by age, not by count', () => {
  const NOW = 1_760_000_000_000;
  const at = (cid: string, ts: number): RoomMessage => ({ cid, ts, stream: '0000000000000001', seq: 0, kind: 'text', text: 'hello' });

  it('a room busier than any count (20,000 messages inside the window) still refuses a replay of the first', async () => {
    let now = NOW;
    const guard = new ReplayGuard(() => now);
    for (let i = 0; i < 20_000; i++) guard.check('s', at(`m${i}`, NOW + i));
    now = NOW + 20_000;
    expect(await sealFailure(() => guard.check('s', at('m0', NOW)))).to.equal('replayed');
    expect(guard.remembered()).to.have.length(20_000);
  });

  it('ids whose time left the window are dropped, so memory follows the rate, not the history', () => {
    let now = NOW;
    const guard = new ReplayGuard(() => now);
    for (let i = 0; i < 1000; i++) guard.check('s', at(`old${i}`, NOW));
    now = NOW + REPLAY_WINDOW_MS + 1;
    for (let i = 0; i < 1000; i++) guard.check('s', at(`new${i}`, now));
    expect(guard.size).to.be.at.most(1000 + 256);
    expect(guard.remembered().map(([id]) => id).every((id) => id.startsWith('s|new'))).to.equal(true);
  });
});

describe('SenderGaps', () => {
  it('counts the numbers a sender skipped, per room, sender and stream; the first message sets the start', () => {
    const gaps = new SenderGaps();
    expect(gaps.observe('r', 'alice', 'st1', 5)).to.equal(0);
    expect(gaps.observe('r', 'alice', 'st1', 6)).to.equal(0);
    expect(gaps.observe('r', 'alice', 'st1', 9)).to.equal(2);
    // Another sender, room or stream has its own count.
    expect(gaps.observe('r', 'bob', 'st1', 3)).to.equal(0);
    expect(gaps.observe('other', 'alice', 'st1', 40)).to.equal(0);
    expect(gaps.observe('r', 'alice', 'st2', 0)).to.equal(0);
    // A late one (counted missing before) shows without a new gap, and does not move the count back.
    expect(gaps.observe('r', 'alice', 'st1', 8)).to.equal(0);
    expect(gaps.observe('r', 'alice', 'st1', 10)).to.equal(0);
    gaps.forget('r');
    expect(gaps.observe('r', 'alice', 'st1', 20)).to.equal(0);
  });
});
