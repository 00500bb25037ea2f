// The handshake: challenge, hello, welcome, versions, signatures and name assignment.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { CloseCode, ErrorCode, LIMITS, PROTOCOL_VERSION, checkName, helloSigningInput, isCanonicalIdentityKey } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { makeIdentity, signChallenge } from '../support/test-client.ts';
import { Scope, nextError, roundTrip } from './helpers.ts';

/** A key pair on another EC curve, signing as the hub verifies (SHA-256, IEEE P1363). */
function ecKey(namedCurve: string): { key: string; sign: (data: Uint8Array) => Buffer } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve });
  return { key: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'), sign: (data) => sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' }) };
}

describe('hello and welcome', () => {
  const scope = new Scope();
  let server: RunningServer;
  before(async () => {
    server = await scope.server({ sayPerMinute: 45, sayBurst: 5 });
  });
  after(() => scope.dispose());

  test('welcome carries the protocol version, a peer id, the wanted name and the live limits', async () => {
    const client = await scope.client(server, { name: 'Welcomed' });
    const welcome = client.welcome!;
    assert.equal(welcome.v, PROTOCOL_VERSION);
    assert.match(welcome.id, /^[A-Za-z0-9_-]{1,32}$/);
    assert.equal(welcome.name, 'Welcomed');
    assert.deepEqual(welcome.iceServers, []);
    assert.equal(typeof welcome.server.version, 'string');
    assert.equal(welcome.server.id, server.hub.store.serverId);
    assert.match(welcome.server.id, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(welcome.limits.maxFrameBytes, 64 * 1024);
    assert.equal(welcome.limits.messageMaxLength, LIMITS.messageMaxLength);
    // The rate limits are the configured ones, not the compiled-in defaults.
    assert.equal(welcome.limits.sayPerMinute, 45);
    assert.equal(welcome.limits.sayBurst, 5);
    assert.deepEqual(client.invalid, []);
  });

  test('every connection gets its own peer id', async () => {
    const [a, b] = await scope.clientsOf(server, 2);
    assert.notEqual(a.id, b.id);
  });

  test('without a name the server picks a valid, unique one', async () => {
    const clients = await scope.clientsOf(server, 8);
    const names = clients.map((c) => c.name);
    for (const name of names) assert.equal(checkName(name).ok, true, `generated name ${name} breaks the name rules`);
    assert.equal(new Set(names.map((n) => n.toLowerCase())).size, names.length, `duplicate generated names: ${names.join(', ')}`);
    // No error accompanies a name nobody asked for.
    for (const client of clients) {
      await roundTrip(client);
      assert.deepEqual(client.all('error'), []);
    }
  });

  test('a taken name (any case) gets a generated one and an error that explains', async () => {
    await scope.client(server, { name: 'Marigold' });
    const second = await scope.client(server, { name: 'mariGOLD' });
    assert.notEqual(second.name.toLowerCase(), 'marigold');
    assert.equal(checkName(second.name).ok, true);
    const error = await nextError(second, ErrorCode.nameTaken, 'hello');
    assert.match(error.message, /mariGOLD/);
    assert.ok(error.message.includes(second.name), 'the error says which name was given instead');
  });

  test('an invalid wanted name gets a generated one and a name-invalid error', async () => {
    const client = await scope.client(server, { name: 'no spaces allowed' });
    assert.equal(checkName(client.name).ok, true);
    const error = await nextError(client, ErrorCode.nameInvalid, 'hello');
    assert.ok(error.message.includes(client.name));
  });

  test('the wanted name is stored NFC-normalised', async () => {
    const client = await scope.client(server, { name: 'Zoe\u0308' });
    assert.equal(client.name, 'Zo\u00eb');
  });

  test('a wrong protocol version gets unsupported-version, then close 4006', async () => {
    const client = await scope.client(server, { noHello: true });
    const identity = client.identity;
    client.send({ type: 'hello', v: PROTOCOL_VERSION + 1, key: identity.key, sig: signChallenge(identity, client.nonce) });
    const error = await nextError(client, ErrorCode.unsupportedVersion);
    assert.equal(error.ref, String(PROTOCOL_VERSION + 1));
    assert.match(error.message, /version/);
    assert.equal((await client.waitClose()).code, CloseCode.unsupportedVersion);
    assert.equal(client.all('welcome').length, 0);
  });

  test('a signature over the wrong nonce gets bad-signature, then close 4000', async () => {
    const client = await scope.client(server, { noHello: true });
    client.send({ type: 'hello', v: PROTOCOL_VERSION, key: client.identity.key, sig: signChallenge(client.identity, 'someOtherNonce'), name: 'Forger' });
    await nextError(client, ErrorCode.badSignature, 'hello');
    assert.equal((await client.waitClose()).code, CloseCode.protocolError);
    assert.equal(client.all('welcome').length, 0);
  });

  test("a signature by another key (claiming someone else's identity) is refused", async () => {
    const victim = makeIdentity();
    const client = await scope.client(server, { noHello: true });
    client.send({ type: 'hello', v: PROTOCOL_VERSION, key: victim.key, sig: signChallenge(client.identity, client.nonce) });
    await nextError(client, ErrorCode.badSignature);
    assert.equal((await client.waitClose()).code, CloseCode.protocolError);
  });

  test('a key that is not an SPKI public key is refused as key-invalid', async () => {
    const client = await scope.client(server, { noHello: true });
    client.send({ type: 'hello', v: PROTOCOL_VERSION, key: 'bm90LWEta2V5', sig: signChallenge(client.identity, client.nonce) });
    await nextError(client, ErrorCode.keyInvalid, 'hello');
    assert.equal((await client.waitClose()).code, CloseCode.protocolError);
  });

  test('a P-256 SPKI header around a point not on the curve is refused as key-invalid', async () => {
    const client = await scope.client(server, { noHello: true });
    const key = `${client.identity.key.slice(0, 36)}${'A'.repeat(85)}A`;
    assert.ok(isCanonicalIdentityKey(key), 'the shape alone passes');
    client.send({ type: 'hello', v: PROTOCOL_VERSION, key, sig: signChallenge(client.identity, client.nonce) });
    await nextError(client, ErrorCode.keyInvalid, 'hello');
    assert.equal((await client.waitClose()).code, CloseCode.protocolError);
  });

  // Each is a real key that signs the challenge correctly: only its kind is wrong.
  const OTHER_KEYS: { label: string; make: () => { key: string; sign: (data: Uint8Array) => Buffer } }[] = [
    { label: 'P-384', make: () => ecKey('secp384r1') },
    { label: 'secp256k1', make: () => ecKey('secp256k1') },
    {
      label: 'Ed25519',
      make: () => {
        const { publicKey, privateKey } = generateKeyPairSync('ed25519');
        return { key: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'), sign: (data) => sign(null, data, privateKey) };
      },
    },
  ];
  for (const { label, make } of OTHER_KEYS) {
    test(`an identity key on ${label} is refused at hello with key-invalid, then close 4000`, async () => {
      const { key, sign: signWith } = make();
      const client = await scope.client(server, { noHello: true });
      client.send({ type: 'hello', v: PROTOCOL_VERSION, key, sig: signWith(helloSigningInput(client.nonce)).toString('base64url'), name: 'Curvy' });
      const error = await nextError(client, ErrorCode.keyInvalid, 'hello');
      assert.match(error.message, /must be a P-256 public key in its one canonical form/);
      assert.equal((await client.waitClose()).code, CloseCode.protocolError);
      assert.equal(client.all('welcome').length, 0);
    });
  }

  test('frames before hello get hello-first and are ignored; hello still works afterwards', async () => {
    const client = await scope.client(server, { noHello: true });
    client.send({ type: 'join', room: 'early' });
    client.send({ type: 'ping' });
    assert.equal((await nextError(client, ErrorCode.helloFirst)).ref, 'join');
    assert.equal((await nextError(client, ErrorCode.helloFirst)).ref, 'ping');
    assert.equal(client.all('joined').length, 0);
    assert.equal(client.all('pong').length, 0);
    client.send({ type: 'hello', v: PROTOCOL_VERSION, key: client.identity.key, sig: signChallenge(client.identity, client.nonce) });
    await client.next('welcome');
    await roundTrip(client);
  });

  test('a second hello gets already-hello and changes nothing', async () => {
    const client = await scope.client(server, { name: 'Once' });
    client.send({ type: 'hello', v: PROTOCOL_VERSION, key: client.identity.key, sig: signChallenge(client.identity, client.nonce), name: 'Twice' });
    await nextError(client, ErrorCode.alreadyHello, 'hello');
    await roundTrip(client);
    assert.equal(client.all('welcome').length, 0);
    assert.equal(client.closed, undefined);
    // Still "Once": the name "Twice" was not taken by the second hello.
    const other = await scope.client(server, { name: 'Twice' });
    assert.equal(other.name, 'Twice');
  });

  test('the challenge nonce differs per connection', async () => {
    const [a, b] = await Promise.all([scope.client(server, { noHello: true }), scope.client(server, { noHello: true })]);
    assert.notEqual(a.nonce, b.nonce);
    assert.ok(a.nonce.length >= 16);
  });
});
