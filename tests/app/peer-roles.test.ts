// Who starts a whisper link, and what a server that plays with it looks like: the roles
// come from the two identity keys, so a frame only the other role sends (an offer at the
// initiator, an `open` or an answer at a responder, a hello claiming our role) is a role
// conflict; and a responder that hears nothing starts on the relay itself. Real PeerMesh,
// PeerLink and Handshake, real WebCrypto; the server is a router in memory that a test can
// make drop `signal` frames or show each side another key for the other.
import { expect } from '@esm-bundle/chai';
import { PeerMesh, type MeshPeer } from '../../app/net/peer-mesh.ts';
import { PeerLink, type LinkFailure, type LinkPath } from '../../app/net/peer-link.ts';
import { Handshake, HandshakeError } from '../../app/crypto/secure-channel.ts';
import { fromBase64Url, utf8 } from '../../app/crypto/bytes.ts';
import type { Identity } from '../../app/crypto/identity.ts';
import type { ClientFrame } from '../../signal-server/protocol/protocol.ts';
import { makeIdentity, sleep, until } from './support/identity.ts';

/** A fresh valid key that sorts above (`above`) or below `key`: what a hostile server would show instead. */
async function fakeKey(key: string, above: boolean): Promise<string> {
  for (;;) {
    const fake = (await makeIdentity()).spki;
    if (fake > key === above) return fake;
  }
}

const interference = (name: string) => `The connection to ${name} could not be verified: the server may be interfering.`;

interface Side {
  mesh: PeerMesh;
  identity: Identity;
  /** How this side sees the other (the key may be a fake). */
  peer: MeshPeer;
  present: boolean;
  ready: { key: string; path: LinkPath }[];
  got: string[];
  closed: { key: string; failure: LinkFailure }[];
  sent: ClientFrame[];
}

interface Router {
  /** Drops every `signal` frame, as a hostile server may. */
  dropSignals: boolean;
  /** Frames that passed, in order. */
  passed: ClientFrame[];
}

/**
 * Two meshes that reach each other through an in-memory "server". Relay-only ICE with no
 * servers: no data channel ever opens, so links run over the relay unless a test says otherwise.
 */
async function twoSides(options: { views?: (a: Identity, b: Identity) => Promise<{ aSeesB: string; bSeesA: string }>; fallbackMs?: number; handshakeTimeoutMs?: number } = {}) {
  const [alice, bob] = await Promise.all([makeIdentity(), makeIdentity()]);
  const views = options.views ? await options.views(alice, bob) : { aSeesB: bob.spki, bSeesA: alice.spki };
  const router: Router = { dropSignals: false, passed: [] };
  const sides = {} as { a: Side; b: Side };
  const make = (name: 'a' | 'b', identity: Identity, peer: MeshPeer): Side => {
    const side: Side = { mesh: undefined as unknown as PeerMesh, identity, peer, present: true, ready: [], got: [], closed: [], sent: [] };
    const other = name === 'a' ? 'b' : 'a';
    side.mesh = new PeerMesh({
      identity,
      send: (frame) => {
        side.sent.push(frame);
        if (frame.type === 'signal' && router.dropSignals) return true;
        router.passed.push(frame);
        const target = sides[other];
        const fromId = target.peer.id;
        setTimeout(() => {
          if (frame.type === 'signal') target.mesh.onSignal(fromId, frame.data);
          else if (frame.type === 'relay') target.mesh.onRelay(fromId, frame.data);
        }, 0);
        return true;
      },
      iceServers: () => [],
      relayOnly: () => true,
      peerById: (id) => (side.present && id === side.peer.id ? side.peer : undefined),
      peerByKey: (key) => (side.present && key === side.peer.key ? side.peer : undefined),
      sharedRooms: (key) => (side.present && key === side.peer.key ? ['lobby'] : []),
      fallbackMs: options.fallbackMs ?? 50,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5000,
      onReady: (key, path) => side.ready.push({ key, path }),
      onMessage: (_key, plaintext) => side.got.push(new TextDecoder().decode(plaintext)),
      onClosed: (key, failure) => side.closed.push({ key, failure }),
    });
    return side;
  };
  sides.a = make('a', alice, { id: 'id-bob', key: views.aSeesB, name: 'Bob' });
  sides.b = make('b', bob, { id: 'id-alice', key: views.bSeesA, name: 'Alice' });
  return { ...sides, router, alice, bob };
}

/** Sends over the side's link to the other (made if needed); false when there is none. A closed link's rejection is expected. */
function whisper(side: Side, text: string): boolean {
  const link = side.mesh.connect(side.peer.key);
  link?.send(utf8(text)).catch(() => undefined);
  return Boolean(link);
}

function signal(data: unknown): string {
  return JSON.stringify(data);
}

function sealedCount(side: Side): number {
  return side.sent.filter((f) => f.type === 'relay' && fromBase64Url(f.data)[0] === 1).length;
}

describe('Handshake: a hello that claims our role', () => {
  it('an initiator refuses an initiator hello, a responder a responder hello (role-conflict, before the key check)', async () => {
    const [alice, bob, stranger] = await Promise.all([makeIdentity(), makeIdentity(), makeIdentity()]);
    const start = (identity: Identity, role: 'initiator' | 'responder', expectedPeerKey: string) =>
      Handshake.start({ identity, role, transport: 'relay', room: 'lobby', acceptRoom: () => true, localFingerprint: '', remoteFingerprint: '', expectedPeerKey });
    for (const role of ['initiator', 'responder'] as const) {
      const mine = await start(alice, role, bob.spki);
      // Even from a key that is not the announced one: the role says more about who interferes.
      for (const theirs of [await start(bob, role, alice.spki), await start(stranger, role, alice.spki)]) {
        const code = await mine.handshake.receiveHello(theirs.hello).then(
          () => 'accepted',
          (error: unknown) => (error instanceof HandshakeError ? error.code : String(error)),
        );
        expect(code, role).to.equal('role-conflict');
      }
    }
  });
});

describe('PeerMesh: role conflicts', () => {
  it('both initiators (each shown a key above its own): both links close with the interference sentence; nothing sealed is sent', async () => {
    const s = await twoSides({ views: async (a, b) => ({ aSeesB: await fakeKey(a.spki, true), bSeesA: await fakeKey(b.spki, true) }) });
    expect(whisper(s.a, 'secret')).to.equal(true);
    await until('both sides report a role conflict', () => s.a.closed.length > 0 && s.b.closed.some((c) => c.failure.code === 'role-conflict'));
    await sleep(200);
    // B's link also made an offer, which A refuses again: the same report, once more.
    expect(s.a.closed.map((c) => c.failure)).to.deep.include({ code: 'role-conflict', sentence: interference('Bob') });
    expect(s.a.closed.every((c) => c.failure.sentence === interference('Bob'))).to.equal(true);
    expect(s.b.closed.every((c) => c.failure.code === 'role-conflict')).to.equal(true);
    expect([sealedCount(s.a), sealedCount(s.b)]).to.deep.equal([0, 0]);
    expect([s.a.ready, s.b.ready, s.b.got]).to.deep.equal([[], [], []]);
    s.a.mesh.closeAll();
    s.b.mesh.closeAll();
  });

  it('both responders (each shown a key below its own): the `open` is refused, the relay hellos conflict, both close with the interference sentence', async () => {
    const s = await twoSides({ views: async (a, b) => ({ aSeesB: await fakeKey(a.spki, false), bSeesA: await fakeKey(b.spki, false) }) });
    whisper(s.a, 'secret');
    // B has no conversation yet: the refused `open` is reported without a link.
    await until('B refuses the open', () => s.b.closed.length > 0);
    expect(s.b.closed[0].failure.code).to.equal('role-conflict');
    expect(s.b.mesh.get(s.b.peer.key)).to.equal(undefined);
    // A falls back to the relay after twice the fallback time; B's link answers and both see the conflict.
    await until('A reports the conflict', () => s.a.closed.length > 0);
    expect(s.a.closed.map((c) => c.failure)).to.deep.equal([{ code: 'role-conflict', sentence: interference('Bob') }]);
    await sleep(200);
    expect([sealedCount(s.a), sealedCount(s.b), s.b.got.length, s.a.ready.length + s.b.ready.length]).to.deep.equal([0, 0, 0, 0]);
    s.a.mesh.closeAll();
    s.b.mesh.closeAll();
  });

  it('an offer at the initiator, an answer at a responder: the link that is not up closes; an open link stays', async () => {
    const s = await twoSides({ fallbackMs: 60_000 });
    const [initiator, responder] = s.alice.spki < s.bob.spki ? [s.a, s.b] : [s.b, s.a];
    initiator.mesh.connect(initiator.peer.key);
    responder.mesh.connect(responder.peer.key);
    await sleep(50);
    const offer = signal({ k: 'sp', d: { type: 'offer', sdp: 'v=0\r\n' } });
    const answer = signal({ k: 'sp', d: { type: 'answer', sdp: 'v=0\r\n' } });
    initiator.mesh.onSignal(initiator.peer.id, offer);
    responder.mesh.onSignal(responder.peer.id, answer);
    expect(initiator.closed.map((c) => c.failure.code)).to.deep.equal(['role-conflict']);
    expect(responder.closed.map((c) => c.failure.code)).to.deep.equal(['role-conflict']);
    expect(initiator.mesh.get(initiator.peer.key)).to.equal(undefined);
    s.a.mesh.closeAll();
    s.b.mesh.closeAll();

    // Honest keys, a link up over the relay: an injected offer at the initiator leaves it alone.
    const t = await twoSides();
    const [i2, r2] = t.alice.spki < t.bob.spki ? [t.a, t.b] : [t.b, t.a];
    whisper(r2, 'hello');
    await until('the link is up and the whisper arrived', () => i2.got.length === 1 && r2.ready.length === 1);
    i2.mesh.onSignal(i2.peer.id, offer);
    r2.mesh.onSignal(r2.peer.id, answer);
    expect(i2.mesh.get(i2.peer.key)?.ready).to.equal(true);
    expect(r2.mesh.get(r2.peer.key)?.ready).to.equal(true);
    expect([...i2.closed, ...r2.closed]).to.deep.equal([]);
    await r2.mesh.get(r2.peer.key)!.send(utf8('still here'));
    await until('the link still carries', () => i2.got.length === 2);
    t.a.mesh.closeAll();
    t.b.mesh.closeAll();
  });
});

describe('PeerMesh: signalling that never arrives', () => {
  it('every signal frame dropped: the responder starts on the relay, the initiator follows, the whisper arrives sealed', async () => {
    const s = await twoSides();
    s.router.dropSignals = true;
    const [initiator, responder] = s.alice.spki < s.bob.spki ? [s.a, s.b] : [s.b, s.a];
    whisper(responder, 'through the relay');
    await until('delivered', () => initiator.got.length === 1);
    expect(initiator.got).to.deep.equal(['through the relay']);
    expect([initiator.ready.map((r) => r.path), responder.ready.map((r) => r.path)]).to.deep.equal([['relay'], ['relay']]);
    expect([...initiator.closed, ...responder.closed]).to.deep.equal([]);
    // Nothing but relay frames got through, and none holds the text.
    expect(s.router.passed.every((f) => f.type === 'relay')).to.equal(true);
    expect(s.router.passed.some((f) => f.type === 'relay' && new TextDecoder().decode(fromBase64Url(f.data)).includes('through the relay'))).to.equal(false);
    expect(responder.sent.some((f) => f.type === 'signal')).to.equal(true);
    s.a.mesh.closeAll();
    s.b.mesh.closeAll();
  });

  it('nothing at all gets through: "could not be verified" while the server lists the person, the plain timeout once they are gone', async () => {
    const s = await twoSides({ fallbackMs: 20, handshakeTimeoutMs: 100 });
    s.router.dropSignals = true;
    // The relay is withheld too: B's app never hears of A.
    s.b.present = false;
    whisper(s.a, 'never');
    await until('A gives up', () => s.a.closed.length > 0);
    expect(s.a.closed[0].failure).to.deep.equal({ code: 'unanswered', sentence: interference('Bob') });
    s.a.mesh.closeAll();
    s.b.mesh.closeAll();

    const gone = await twoSides({ fallbackMs: 20, handshakeTimeoutMs: 100 });
    gone.router.dropSignals = true;
    gone.b.present = false;
    whisper(gone.a, 'never');
    // They left every room we share before the link gave up.
    gone.a.present = false;
    await until('A gives up', () => gone.a.closed.length > 0);
    expect(gone.a.closed[0].failure.code).to.equal('timeout');
    gone.a.mesh.closeAll();
  });
});

describe('PeerLink: a responder that fell back early follows the initiator', () => {
  it("the responder starts on the relay (its hello is lost); the initiator's hello on the data channel wins, both open direct", async function () {
    this.timeout(20_000);
    const [alice, bob] = await Promise.all([makeIdentity(), makeIdentity()]);
    const ends = {} as Record<'a' | 'b', { link: PeerLink; ready?: LinkPath; closed?: LinkFailure; got: string[]; relayed: number }>;
    const make = (name: 'a' | 'b', initiator: boolean, identity: Identity, peer: Identity) => {
      const other = name === 'a' ? 'b' : 'a';
      const end = { link: undefined as unknown as PeerLink, got: [] as string[], relayed: 0 } as (typeof ends)['a'];
      end.link = new PeerLink({
        identity,
        peerKey: peer.spki,
        peerName: () => other,
        initiator,
        iceServers: [],
        relayOnly: false,
        room: initiator ? 'lobby' : undefined,
        acceptRoom: (room) => room === 'lobby',
        // The initiator waits long for its data channel; the responder gives up at once.
        fallbackMs: initiator ? 10_000 : 20,
        handshakeTimeoutMs: 10_000,
        // Slow signalling: the responder's fallback fires before the offer arrives.
        sendSignal: (payload) => {
          if (payload.k === 'sp') setTimeout(() => ends[other].link.signal(payload.d), 300);
        },
        // The relay loses what the responder sends, so the initiator never follows it there.
        sendRelay: () => void end.relayed++,
        onReady: (path) => (end.ready = path),
        onMessage: (plaintext) => end.got.push(new TextDecoder().decode(plaintext)),
        onClosed: (failure) => (end.closed = failure),
      });
      ends[name] = end;
    };
    make('a', true, alice, bob);
    make('b', false, bob, alice);
    await Promise.all([ends.a.link.start(), ends.b.link.start()]);
    await until('the responder fell back and sent its hello on the relay', () => ends.b.relayed > 0);
    await until('both open', () => (ends.a.ready && ends.b.ready) || ends.a.closed || ends.b.closed, 15_000);
    expect([ends.a.closed, ends.b.closed]).to.deep.equal([undefined, undefined]);
    expect([ends.a.ready, ends.b.ready]).to.deep.equal(['direct', 'direct']);
    await ends.b.link.send(utf8('over the data channel'));
    await until('delivered', () => ends.a.got.length === 1);
    expect(ends.a.got).to.deep.equal(['over the data channel']);
    expect(ends.a.relayed).to.equal(0);
    ends.a.link.close();
    ends.b.link.close();
  });
});
