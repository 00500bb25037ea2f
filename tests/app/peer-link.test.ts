// The whisper link below the UI: DirectChannel (simple-peer through public doors only)
// with two real RTCPeerConnections in this page, and PeerLink's state machine over a
// relay wired in memory.
import { expect } from '@esm-bundle/chai';
import type { SignalData } from 'simple-peer/simplepeer.min.js';
import { DirectChannel, type DirectChannelOptions } from '../../app/net/direct-channel.ts';
import { PeerLink, type LinkFailure, type LinkPath, type PeerLinkOptions } from '../../app/net/peer-link.ts';
import { toBase64Url, fromBase64Url, utf8 } from '../../app/crypto/bytes.ts';
import { FrameKind } from '../../app/crypto/secure-channel.ts';
import type { Identity } from '../../app/crypto/identity.ts';
import { makeIdentity, sleep, until } from './support/identity.ts';

describe('DirectChannel: simple-peer without its private fields', () => {
  interface Side {
    channel: DirectChannel;
    got: number[][];
    connected: boolean;
    lost: string[];
  }
  let a: Side;
  let b: Side;

  function side(initiator: boolean, other: () => Side): Side {
    const s: Side = { channel: undefined as unknown as DirectChannel, got: [], connected: false, lost: [] };
    const options: DirectChannelOptions = {
      initiator,
      iceServers: [],
      relayOnly: false,
      label: initiator ? 'a' : 'b',
      onSignal: (data: SignalData) => other().channel.signal(data),
      onConnect: () => (s.connected = true),
      onLost: (error) => s.lost.push(error?.message ?? 'closed'),
      onMessage: (bytes) => s.got.push([...bytes]),
    };
    s.channel = new DirectChannel(options);
    return s;
  }

  before(async function () {
    this.timeout(20_000);
    a = side(true, () => b);
    b = side(false, () => a);
    await Promise.all([a.channel.start(), b.channel.start()]);
    await until('both sides connected', () => a.connected && b.connected, 15_000);
  });

  after(() => {
    a?.channel.destroy();
    b?.channel.destroy();
  });

  it('hands Wisp the RTCDataChannel simple-peer made, on both sides (backpressure reads it)', () => {
    for (const s of [a, b]) {
      expect(s.channel.dataChannel, 'the data channel reached Wisp through the wrtc option').to.be.instanceOf(RTCDataChannel);
      expect(s.channel.dataChannel!.readyState).to.equal('open');
      expect(s.channel.dataChannel!.binaryType).to.equal('arraybuffer');
    }
  });

  it('delivers every message to Wisp first and only once; simple-peer never sees one', async () => {
    for (let i = 0; i < 20; i++) {
      a.channel.send(new Uint8Array([1, i]));
      b.channel.send(new Uint8Array([2, i]));
    }
    await until('all messages', () => {
      // A broken interception shows here, with the adapter's sentence saying what changed.
      if (a.lost.length || b.lost.length) throw new Error(`the peer was lost: ${[...a.lost, ...b.lost].join('; ')}`);
      return a.got.length === 20 && b.got.length === 20;
    });
    await sleep(100);
    expect(b.got).to.deep.equal(Array.from({ length: 20 }, (_, i) => [1, i]));
    expect(a.got).to.deep.equal(Array.from({ length: 20 }, (_, i) => [2, i]));
    // simple-peer handling a message itself destroys the peer with an error saying so.
    expect(a.lost).to.deep.equal([]);
    expect(b.lost).to.deep.equal([]);
  });

  it('reads the path from the RTCPeerConnection simple-peer made: direct on loopback', async () => {
    expect(await a.channel.path()).to.equal('direct');
    expect(await b.channel.path()).to.equal('direct');
  });

  it('roomToWrite resolves at once while little is buffered', async () => {
    await a.channel.roomToWrite();
  });

  it('captured the local and remote DTLS fingerprints and the announced message size', () => {
    expect(a.channel.localFingerprint).to.match(/^sha-256 [0-9A-F:]+$/);
    expect(a.channel.remoteFingerprint).to.equal(b.channel.localFingerprint);
    expect(b.channel.remoteFingerprint).to.equal(a.channel.localFingerprint);
    expect(a.channel.remoteMaxMessageSize).to.be.a('number');
  });
});

describe('PeerLink over the relay: the state machine', () => {
  let alice: Identity;
  let bob: Identity;

  before(async () => {
    [alice, bob] = await Promise.all([makeIdentity(), makeIdentity()]);
  });

  interface End {
    link: PeerLink;
    got: string[];
    ready?: LinkPath;
    closed?: LinkFailure;
    /** Frames this side sent over the relay, as bytes. */
    relayed: Uint8Array[];
  }

  /** Two links that can reach each other only through a relay in memory (no ICE servers, relay-only ICE: no data channel). */
  function pair(overrides: { a?: Partial<PeerLinkOptions>; b?: Partial<PeerLinkOptions>; tamper?: (frame: Uint8Array, from: 'a' | 'b') => Uint8Array | undefined } = {}): { a: End; b: End } {
    const ends = {} as { a: End; b: End };
    const make = (name: 'a' | 'b', initiator: boolean, identity: Identity, peer: Identity): End => {
      const end: End = { link: undefined as unknown as PeerLink, got: [], relayed: [] };
      const other = name === 'a' ? 'b' : 'a';
      end.link = new PeerLink({
        identity,
        peerKey: peer.spki,
        peerName: () => other,
        initiator,
        iceServers: [],
        relayOnly: true,
        room: initiator ? 'lobby' : undefined,
        acceptRoom: (room) => room === 'lobby',
        fallbackMs: 50,
        handshakeTimeoutMs: 5000,
        sendSignal: () => undefined,
        sendRelay: (data) => {
          const bytes = fromBase64Url(data);
          end.relayed.push(bytes);
          const passed = overrides.tamper ? overrides.tamper(bytes, name) : bytes;
          if (passed) setTimeout(() => ends[other].link.relay(toBase64Url(passed)), 0);
        },
        onReady: (path) => (end.ready = path),
        onMessage: (plaintext) => end.got.push(new TextDecoder().decode(plaintext)),
        onClosed: (failure) => (end.closed = failure),
        ...overrides[name],
      });
      return end;
    };
    ends.a = make('a', true, alice, bob);
    ends.b = make('b', false, bob, alice);
    return ends;
  }

  it('falls back to the relay, opens, and delivers in order what was sent before and after', async () => {
    const { a, b } = pair();
    const early = ['one', 'two', 'three'].map((t) => a.link.send(utf8(t)));
    expect(a.link.ready).to.equal(false);
    await Promise.all([a.link.start(), b.link.start()]);
    await until('both ready', () => a.ready && b.ready);
    await Promise.all(early);
    expect(a.link.path).to.equal('relay');
    expect(b.link.path).to.equal('relay');
    await b.link.send(utf8('back'));
    await a.link.send(utf8('four'));
    await until('all delivered', () => b.got.length === 4 && a.got.length === 1);
    expect(b.got).to.deep.equal(['one', 'two', 'three', 'four']);
    expect(a.got).to.deep.equal(['back']);
    a.link.close();
    expect(a.link.isClosed).to.equal(true);
    expect(a.closed?.code).to.equal('closed');
    b.link.close();
  });

  it('sends nothing but handshake frames before the handshake succeeded', async () => {
    const { a, b } = pair();
    void a.link.send(utf8('secret')).catch(() => undefined);
    await Promise.all([a.link.start(), b.link.start()]);
    await until('both ready', () => a.ready && b.ready);
    await until('delivered', () => b.got.length === 1);
    // Two handshake frames each (hello, confirm), then the sealed message.
    expect(a.relayed.map((f) => f[0])).to.deep.equal([FrameKind.handshake, FrameKind.handshake, FrameKind.sealed]);
    expect(b.relayed.map((f) => f[0])).to.deep.equal([FrameKind.handshake, FrameKind.handshake]);
    a.link.close();
    b.link.close();
  });

  it('a wrong identity key: the responder aborts, both close, nothing is sent', async () => {
    const stranger = await makeIdentity();
    const { a, b } = pair({ b: { peerKey: stranger.spki } });
    void a.link.send(utf8('secret')).catch(() => undefined);
    await Promise.all([a.link.start(), b.link.start()]);
    await until('both closed', () => a.closed && b.closed);
    expect(b.closed?.code).to.equal('key-mismatch');
    expect(a.closed?.code).to.equal('handshake-failed');
    expect(b.relayed.at(-1)?.[0]).to.equal(FrameKind.abort);
    expect([...a.relayed, ...b.relayed].some((f) => f[0] === FrameKind.sealed)).to.equal(false);
    expect(b.got).to.deep.equal([]);
  });

  it('a tampered sealed frame breaks the channel (closed, no abort frame)', async () => {
    let sealedSeen = 0;
    const { a, b } = pair({
      tamper: (frame, from) => {
        if (from !== 'a' || frame[0] !== FrameKind.sealed || sealedSeen++ !== 1) return frame;
        const copy = frame.slice();
        copy[copy.length - 1] ^= 1;
        return copy;
      },
    });
    await Promise.all([a.link.start(), b.link.start()]);
    await until('both ready', () => a.ready && b.ready);
    await a.link.send(utf8('fine'));
    await a.link.send(utf8('tampered'));
    await until('b closed', () => b.closed);
    expect(b.closed?.code).to.equal('channel-broken');
    expect(b.got).to.deep.equal(['fine']);
    expect(b.relayed.some((f) => f[0] === FrameKind.abort)).to.equal(false);
    a.link.close();
  });

  it('on the relay a file chunk is sealed like everything else: no dtls frame leaves', async () => {
    const { a, b } = pair();
    await Promise.all([a.link.start(), b.link.start()]);
    await until('both ready', () => a.ready && b.ready);
    await a.link.sendChunk([new Uint8Array([1, 0, 0, 0, 7]), utf8('chunk bytes')]);
    await until('delivered', () => b.got.length === 1);
    expect(a.relayed.at(-1)?.[0]).to.equal(FrameKind.sealed);
    expect(a.relayed.some((f) => f[0] === FrameKind.dtls)).to.equal(false);
    a.link.close();
    b.link.close();
  });

  it('a dtls frame on the relay (the server forging an unsealed chunk) breaks the channel; nothing of it is delivered', async () => {
    const { a, b } = pair({
      tamper: (frame, from) => {
        if (from !== 'a' || frame[0] !== FrameKind.sealed) return frame;
        // What a hostile server would send instead: a file chunk with a dtls frame's kind byte.
        return new Uint8Array([FrameKind.dtls, 1, 0, 0, 0, 7, 0xaa, 0xbb]);
      },
    });
    await Promise.all([a.link.start(), b.link.start()]);
    await until('both ready', () => a.ready && b.ready);
    await a.link.sendChunk([new Uint8Array([1, 0, 0, 0, 7]), utf8('chunk bytes')]);
    await until('b closed', () => b.closed);
    expect(b.closed?.code).to.equal('channel-broken');
    expect(b.got).to.deep.equal([]);
    a.link.close();
  });

  it('times out when the other side never answers', async () => {
    const { a } = pair({ a: { handshakeTimeoutMs: 100, sendRelay: () => undefined } });
    await a.link.start();
    await until('a closed', () => a.closed);
    expect(a.closed?.code).to.equal('timeout');
    await a.link.send(utf8('late')).then(
      () => expect.fail('sent on a closed link'),
      (error: Error) => expect(error.message).to.equal('link closed'),
    );
  });
});
