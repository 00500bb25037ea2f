// Identity keys have one spelling. A P-256 SPKI in base64url leaves 4 unused bits in its
// last character, and SPKI can carry the point compressed: without the canonical check at
// hello, one key would have many spellings, each a separate identity to the bans and to
// the one-session-per-identity rule.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ECDH, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { canonicalSpelling } from '../../signal-server/identity-key.ts';
import { Store } from '../../signal-server/store.ts';
import { CloseCode, ErrorCode, LOBBY, PROTOCOL_VERSION, isCanonicalIdentityKey, type ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { signChallenge, type Identity } from '../support/test-client.ts';
import { join, nextError, roundTrip, type TestClient } from './helpers.ts';
import { ModScope, becomeAdmin, nextFrame } from './moderation-helpers.ts';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The 15 other last characters: the same 2 data bits, the 4 unused bits not zero. Each decodes to the same bytes. */
function unusedBitSpellings(key: string): string[] {
  const last = BASE64URL.indexOf(key.at(-1)!);
  assert.equal(last & 0b1111, 0, 'a canonical key has its unused bits zero');
  return Array.from({ length: 15 }, (_, i) => key.slice(0, -1) + BASE64URL[last | (i + 1)]);
}

/** The same key as an SPKI with the point compressed (Node itself always exports it uncompressed). */
function compressedSpelling(key: string): string {
  const der = Buffer.from(key, 'base64url');
  const point = ECDH.convertKey(der.subarray(-65), 'prime256v1', undefined, undefined, 'compressed') as Buffer;
  // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) { 33-byte point } }
  const header = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
  return Buffer.concat([header, point]).toString('base64url');
}

/** Every other spelling of `key`, each checked to be the same public key. */
function otherSpellings(key: string): { label: string; key: string }[] {
  // Compared as JWK: Node re-exports a compressed point compressed.
  const jwk = (k: string) => createPublicKey({ key: Buffer.from(k, 'base64url'), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  const canonical = jwk(key);
  const spellings = [
    ...unusedBitSpellings(key).map((k) => ({ label: `last character ${k.at(-1)}`, key: k })),
    { label: 'compressed point', key: compressedSpelling(key) },
  ];
  for (const s of spellings) {
    assert.notEqual(s.key, key);
    assert.deepEqual(jwk(s.key), canonical, `${s.label} is the same public key`);
  }
  return spellings;
}

/** Connects with the identity's private key but `key` as the spelling of its public key, properly signed. */
async function helloWith(scope: ModScope, server: RunningServer, identity: Identity, key: string): Promise<{ client: TestClient; answer: ServerFrameOf<'welcome'> | ServerFrameOf<'error'> }> {
  const client = await scope.connect(server, { identity, noHello: true });
  client.send({ type: 'hello', v: PROTOCOL_VERSION, key, sig: signChallenge(identity, client.nonce) });
  const answer = await nextFrame(client, (f) => f.type === 'welcome' || (f.type === 'error' && f.ref === 'hello'), 'the answer to hello');
  return { client, answer: answer as ServerFrameOf<'welcome'> | ServerFrameOf<'error'> };
}

/** Refused at hello as key-invalid, closed with 4000, never welcomed. */
async function assertKeyInvalid(label: string, attempt: { client: TestClient; answer: ServerFrameOf<'welcome'> | ServerFrameOf<'error'> }): Promise<void> {
  assert.equal(attempt.answer.type, 'error', `${label}: welcomed instead of refused`);
  const error = attempt.answer as ServerFrameOf<'error'>;
  assert.equal(error.code, ErrorCode.keyInvalid, `${label}: ${error.code} ${error.message}`);
  assert.match(error.message, /P-256 public key in its one canonical form/);
  assert.equal((await attempt.client.waitClose()).code, CloseCode.protocolError, label);
  assert.equal(attempt.client.all('welcome').length, 0, label);
}

describe('identity keys in their one canonical form', () => {
  let scope: ModScope;
  let server: RunningServer;
  beforeEach(async () => {
    scope = new ModScope();
    server = await scope.start();
  });
  afterEach(() => scope.dispose());

  test('the key of every client in these tests is canonical, and the other spellings are the same key', async () => {
    const client = await scope.connect(server);
    assert.ok(isCanonicalIdentityKey(client.identity.key));
    for (const s of otherSpellings(client.identity.key)) assert.equal(isCanonicalIdentityKey(s.key), false, s.label);
  });

  test('every other spelling of a banned key is refused at hello; the ban by key still holds for the canonical one', async () => {
    const admin = await scope.connect(server, { name: 'Root' });
    await becomeAdmin(admin);
    const troll = await scope.connect(server, { name: 'Troll' });
    admin.send({ type: 'ban', target: troll.id, reason: 'flooding' });
    assert.equal((await troll.waitClose()).code, CloseCode.banned);

    for (const spelling of otherSpellings(troll.identity.key)) {
      await assertKeyInvalid(spelling.label, await helloWith(scope, server, troll.identity, spelling.key));
    }

    // Padding: the hello schema allows no "=", so the frame is refused before the key is read.
    const padded = await scope.connect(server, { identity: troll.identity, noHello: true });
    padded.send({ type: 'hello', v: PROTOCOL_VERSION, key: `${troll.identity.key}==`, sig: signChallenge(troll.identity, padded.nonce) });
    await nextError(padded, ErrorCode.badFrame, 'hello');
    padded.send({ type: 'join', room: LOBBY });
    await nextError(padded, ErrorCode.helloFirst, 'join');
    assert.equal(padded.all('welcome').length, 0);

    const canonical = await helloWith(scope, server, troll.identity, troll.identity.key);
    assert.equal(canonical.answer.type, 'error');
    assert.equal((canonical.answer as ServerFrameOf<'error'>).code, ErrorCode.banned);
    assert.equal((await canonical.client.waitClose()).code, CloseCode.banned);
  });

  test('another spelling of a connected key does not get a second session; the canonical one replaces the first', async () => {
    const first = await scope.connect(server, { name: 'Original' });
    await join(first, LOBBY);
    const identity = first.identity;

    for (const spelling of otherSpellings(identity.key)) {
      await assertKeyInvalid(spelling.label, await helloWith(scope, server, identity, spelling.key));
    }
    // The first session is untouched: still open, still the one member with this key.
    await roundTrip(first);
    assert.equal(first.closed, undefined);
    const watcher = await scope.connect(server, { name: 'Watcher' });
    const snapshot = await join(watcher, LOBBY);
    assert.deepEqual(snapshot.members.filter((m) => m.key === identity.key).map((m) => m.id), [first.id]);
    assert.equal(snapshot.members.length, 2);

    // The canonical spelling is the same identity: the newer session replaces the older.
    const second = await helloWith(scope, server, identity, identity.key);
    assert.equal(second.answer.type, 'welcome');
    assert.equal((await first.waitClose()).code, CloseCode.replaced);
  });
});

describe('keys saved by an older server in another spelling', () => {
  test('canonicalSpelling maps every spelling of a key to the one hello admits, and leaves what is not a P-256 key alone', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64url');
    for (const s of otherSpellings(key)) assert.equal(canonicalSpelling(s.key), key, s.label);
    assert.equal(canonicalSpelling(key), key);
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64url');
    assert.equal(canonicalSpelling(ed), ed);
    assert.equal(canonicalSpelling('not-a-key'), 'not-a-key');
  });

  test('bans, moderators and members read from the data directory are kept in the canonical spelling', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wisp-keys-'));
    try {
      const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64url');
      const [odd, compressed] = [unusedBitSpellings(key)[0]!, compressedSpelling(key)];
      await writeFile(path.join(dir, 'bans.json'), JSON.stringify({ version: 1, bans: [{ id: 'b1', key: odd, byKey: compressed, name: 'x', by: 'y', at: 1 }] }));
      await writeFile(path.join(dir, 'rooms.json'), JSON.stringify({ version: 1, rooms: [{ name: 'club', moderators: [compressed], createdAt: 1 }] }));
      await writeFile(path.join(dir, 'members.json'), JSON.stringify({ version: 1, keys: [odd] }));
      const store = await Store.open(dir);
      assert.equal(store.bans[0]!.key, key);
      assert.equal(store.bans[0]!.byKey, key);
      assert.deepEqual(store.rooms[0]!.moderators, [key]);
      assert.deepEqual([...store.members], [key]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
