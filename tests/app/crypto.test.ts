// The whisper crypto: HKDF against RFC 5869, the handshake's transcript binding, strict
// counters (replay and reorder rejected), and safety numbers against known answers
// computed independently with Node's crypto.
import { expect } from '@esm-bundle/chai';
import { hkdf } from '../../app/crypto/hkdf.ts';
import { toHex, fromBase64Url, toBase64Url, utf8, type Bytes } from '../../app/crypto/bytes.ts';
import { Handshake, HandshakeError, ChannelError, type HandshakeParams, type SecureChannel } from '../../app/crypto/secure-channel.ts';
import { safetyNumber, formatSafetyNumber } from '../../app/crypto/safety-number.ts';
import type { Identity } from '../../app/crypto/identity.ts';
import { makeIdentity } from './support/identity.ts';

const hex = (s: string): Bytes => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

describe('HKDF-SHA-256 (RFC 5869 appendix A)', () => {
  it('test case 1', async () => {
    const okm = await hkdf(hex('0b'.repeat(22)), hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42);
    expect(toHex(okm)).to.equal('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });

  it('test case 2 (long inputs)', async () => {
    const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
    const okm = await hkdf(range(0x00, 0x4f), range(0x60, 0xaf), range(0xb0, 0xff), 82);
    expect(toHex(okm)).to.equal(
      'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87',
    );
  });

  it('test case 3 (empty salt and info)', async () => {
    const okm = await hkdf(hex('0b'.repeat(22)), new Uint8Array(0), new Uint8Array(0), 42);
    expect(toHex(okm)).to.equal('8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
  });
});

const FP_A = 'AA:BB:CC:DD';
const FP_B = '11:22:33:44';

interface Side {
  identity: Identity;
  params: Partial<HandshakeParams>;
}

/** Runs both handshakes against each other in memory, as two apps would over a data channel. */
async function handshake(a: Side, b: Side): Promise<[SecureChannel, SecureChannel]> {
  const initiator = await Handshake.start({
    identity: a.identity,
    role: 'initiator',
    transport: 'datachannel',
    room: 'lobby',
    localFingerprint: FP_A,
    remoteFingerprint: FP_B,
    expectedPeerKey: b.identity.spki,
    ...a.params,
  });
  const responder = await Handshake.start({
    identity: b.identity,
    role: 'responder',
    transport: 'datachannel',
    acceptRoom: (room) => room === 'lobby',
    localFingerprint: FP_B,
    remoteFingerprint: FP_A,
    expectedPeerKey: a.identity.spki,
    ...b.params,
  });
  const confirmA = await initiator.handshake.receiveHello(responder.hello);
  const confirmB = await responder.handshake.receiveHello(initiator.hello);
  return Promise.all([initiator.handshake.receiveConfirm(confirmB), responder.handshake.receiveConfirm(confirmA)]);
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HandshakeError || error instanceof ChannelError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('secure channel', () => {
  let alice: Identity;
  let bob: Identity;
  let mallory: Identity;
  before(async () => {
    [alice, bob, mallory] = await Promise.all([makeIdentity(), makeIdentity(), makeIdentity()]);
  });

  it('two honest sides agree and exchange messages both ways', async () => {
    const [a, b] = await handshake({ identity: alice, params: {} }, { identity: bob, params: {} });
    expect(a.peerKey).to.equal(bob.spki);
    expect(b.peerKey).to.equal(alice.spki);
    expect(b.room).to.equal('lobby');
    const frame = await a.seal(utf8('hello bob'));
    expect(new TextDecoder().decode(frame)).to.not.contain('hello bob');
    expect(new TextDecoder().decode(await b.open(frame))).to.equal('hello bob');
    expect(new TextDecoder().decode(await a.open(await b.seal(utf8('hi alice'))))).to.equal('hi alice');
  });

  it('rejects a replayed frame', async () => {
    const [a, b] = await handshake({ identity: alice, params: {} }, { identity: bob, params: {} });
    const first = await a.seal(utf8('one'));
    await b.open(first);
    expect(await failure(b.open(first))).to.equal('replayed-or-reordered');
  });

  it('rejects reordered frames', async () => {
    const [a, b] = await handshake({ identity: alice, params: {} }, { identity: bob, params: {} });
    const first = await a.seal(utf8('one'));
    const second = await a.seal(utf8('two'));
    expect(await failure(b.open(second))).to.equal('replayed-or-reordered');
    expect(new TextDecoder().decode(await b.open(first))).to.equal('one');
  });

  it('seals a header and a body as one message, and reuses big frame buffers only once they are handed back', async () => {
    const [a, b] = await handshake({ identity: alice, params: {} }, { identity: bob, params: {} });
    const body = (i: number) => new Uint8Array(64 * 1024).fill(i);
    // Many big frames in flight at once: none may share a buffer with another.
    const frames = await Promise.all(Array.from({ length: 20 }, (_, i) => a.seal([new Uint8Array([i, 255]), body(i)])));
    expect(new Set(frames.map((f) => f.buffer)).size).to.equal(20);
    for (const [i, frame] of frames.entries()) {
      const opened = await b.open(frame);
      expect(opened.length).to.equal(2 + 64 * 1024);
      expect([opened[0], opened[1], opened[2], opened[opened.length - 1]]).to.deep.equal([i, 255, i, i]);
      a.recycle(frame);
    }
    // Handed back, a buffer carries the next frame, whose bytes are all its own.
    const next = await a.seal([new Uint8Array([7]), body(9)]);
    expect(frames.some((f) => f.buffer === next.buffer)).to.equal(true);
    const opened = await b.open(next);
    expect(opened[0]).to.equal(7);
    expect(opened.subarray(1).every((x) => x === 9)).to.equal(true);
  });

  it('rejects a tampered frame and closes the channel', async () => {
    const [a, b] = await handshake({ identity: alice, params: {} }, { identity: bob, params: {} });
    const frame = await a.seal(utf8('pay 10'));
    frame[frame.length - 3] ^= 1;
    expect(await failure(b.open(frame))).to.equal('auth-failed');
    expect(await failure(b.open(await a.seal(utf8('next'))))).to.equal('auth-failed');
  });

  it('a frame sealed for one direction does not open in the other', async () => {
    const [a] = await handshake({ identity: alice, params: {} }, { identity: bob, params: {} });
    expect(await failure(a.open(await a.seal(utf8('echo'))))).to.equal('auth-failed');
  });

  it('fails when a DTLS fingerprint was rewritten in the SDP (transcripts differ)', async () => {
    const code = await failure(
      handshake({ identity: alice, params: { transport: 'datachannel', remoteFingerprint: 'EE:EE:EE:EE' } }, { identity: bob, params: { transport: 'datachannel' } }),
    );
    expect(code).to.equal('bad-signature');
  });

  it('the relay fallback works when it began before the initiator saw the answer (one remote fingerprint empty)', async () => {
    // The initiator's fallback timer fired before the SDP answer came: it knows only its own
    // fingerprint. The responder had both when the relayed hello reached it.
    const [a, b] = await handshake(
      { identity: alice, params: { transport: 'relay', localFingerprint: FP_A, remoteFingerprint: '' } },
      { identity: bob, params: { transport: 'relay', localFingerprint: FP_B, remoteFingerprint: FP_A } },
    );
    expect(new TextDecoder().decode(await b.open(await a.seal(utf8('over the relay'))))).to.equal('over the relay');
    expect(new TextDecoder().decode(await a.open(await b.seal(utf8('and back'))))).to.equal('and back');
  });

  it('refuses when one side runs over the data channel and the other over the relay', async () => {
    const mismatch = (a: Partial<HandshakeParams>, b: Partial<HandshakeParams>) => failure(handshake({ identity: alice, params: a }, { identity: bob, params: b }));
    // Same fingerprints on both sides: only the transport differs.
    expect(await mismatch({ transport: 'datachannel' }, { transport: 'relay' })).to.equal('bad-signature');
    expect(await mismatch({ transport: 'relay' }, { transport: 'datachannel' })).to.equal('bad-signature');
    // No fingerprints at all (as the relay path sees it): the transport label alone tells them apart.
    const none = { localFingerprint: '', remoteFingerprint: '' };
    expect(await mismatch({ ...none, transport: 'datachannel' }, { ...none, transport: 'relay' })).to.equal('bad-signature');
  });

  it('fails when the server announced another identity key than the peer holds', async () => {
    const code = await failure(handshake({ identity: alice, params: { expectedPeerKey: mallory.spki } }, { identity: bob, params: {} }));
    expect(code).to.equal('key-mismatch');
  });

  it('fails when a different key signs (impersonation with the announced key)', async () => {
    // Mallory claims Bob's key in hs1 but can only sign with her own.
    const impostor: Identity = { ...mallory, spki: bob.spki };
    const code = await failure(handshake({ identity: alice, params: {} }, { identity: impostor, params: {} }));
    expect(code).to.equal('bad-signature');
  });

  it('the responder refuses a room it does not share', async () => {
    const code = await failure(handshake({ identity: alice, params: { room: 'secret' } }, { identity: bob, params: {} }));
    expect(code).to.equal('room-refused');
  });

  it("an older app's hello (version 1, before the transport was bound) is a bad message, not tampering", async () => {
    const initiator = await Handshake.start({ identity: alice, role: 'initiator', transport: 'datachannel', room: 'lobby', localFingerprint: FP_A, remoteFingerprint: FP_B, expectedPeerKey: bob.spki });
    const responder = await Handshake.start({ identity: bob, role: 'responder', transport: 'datachannel', acceptRoom: () => true, localFingerprint: FP_B, remoteFingerprint: FP_A, expectedPeerKey: alice.spki });
    const text = new TextDecoder().decode(responder.hello.subarray(1));
    expect(text).to.contain('"v":2');
    const old = new Uint8Array([responder.hello[0], ...utf8(text.replace('"v":2', '"v":1'))]);
    expect(await failure(initiator.handshake.receiveHello(old))).to.equal('bad-message');
  });

  it('malformed handshake bytes are a typed error', async () => {
    const { handshake: side } = await Handshake.start({ identity: alice, role: 'initiator', transport: 'datachannel', room: 'lobby', localFingerprint: '', remoteFingerprint: '', expectedPeerKey: bob.spki });
    expect(await failure(side.receiveHello(utf8('\u0000{not json')))).to.equal('bad-message');
    expect(await failure(side.receiveHello(utf8('\u0000{"t":"hs1","v":2}')))).to.equal('bad-message');
  });
});

describe('safety numbers', () => {
  const a = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEaWo8qM3OPpyvpF9h6VXkqok2WJDIeqkYXg2bRdBIUTN5Jkc08fe3iJvbwc7BG_iTTcUVeTyw1efsyu6bNX7nzQ';
  const b = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPK9E-c-MOpcgeMGxdLr9lYa3vIFNj0gQpTEzqs_In9FIClsifWm0cE22Ri4MjvjVpBcv7XBFXVsnqAPzK96MWA';

  it('matches the known answer and is the same from both sides', async () => {
    const expected = '465524943401369330104076628550921970170243348709591137907168';
    expect(await safetyNumber(a, b)).to.equal(expected);
    expect(await safetyNumber(b, a)).to.equal(expected);
  });

  it('changes completely when one key changes', async () => {
    const other = toBase64Url(fromBase64Url(b).map((x, i) => (i === 40 ? x ^ 1 : x)));
    const changed = await safetyNumber(a, other);
    expect(changed).to.have.length(60);
    expect(changed).to.not.equal(await safetyNumber(a, b));
  });

  it('is shown as twelve groups of five digits', () => {
    expect(formatSafetyNumber('123456789012345678901234567890123456789012345678901234567890').split(' ')).to.have.length(12);
  });
});
