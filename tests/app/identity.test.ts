// Identity and storage survive a reload: a second, freshly imported copy of each module
// (as after a page reload) finds what the first one stored in IndexedDB.
import { expect } from '@esm-bundle/chai';
import { helloSigningInput } from '../../signal-server/protocol/protocol.ts';

type IdentityModule = typeof import('../../app/crypto/identity.ts');
type ProfileModule = typeof import('../../app/storage/profile.ts');
type OutboxModule = typeof import('../../app/storage/outbox.ts');
type DbModule = typeof import('../../app/storage/db.ts');

let generation = 0;
/** Imports a fresh instance of a module, like a page reload would. */
function fresh<T>(path: string): Promise<T> {
  generation += 1;
  return import(/* @vite-ignore */ `${path}?reload=${generation}`) as Promise<T>;
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

describe('identity and storage across a reload', () => {
  before(async () => {
    const db = await fresh<DbModule>('/app/storage/db.ts');
    for (const key of Object.values(db.KEYS)) await db.remove(key);
  });

  it('makes one non-extractable P-256 key pair and finds the same one after a reload', async () => {
    const first = await (await fresh<IdentityModule>('/app/crypto/identity.ts')).loadOrCreateIdentity();
    expect(first.privateKey.extractable).to.equal(false);
    expect(first.privateKey.algorithm).to.deep.include({ name: 'ECDSA', namedCurve: 'P-256' });
    expect(first.fingerprint).to.match(/^[0-9a-f]{64}$/);

    const second = await (await fresh<IdentityModule>('/app/crypto/identity.ts')).loadOrCreateIdentity();
    expect(second.spki).to.equal(first.spki);
    expect(second.fingerprint).to.equal(first.fingerprint);
    expect(second.privateKey.extractable).to.equal(false);
  });

  it('the stored private key still signs challenges that the public key verifies', async () => {
    const module = await fresh<IdentityModule>('/app/crypto/identity.ts');
    const identity = await module.loadOrCreateIdentity();
    const signature = await module.signChallenge(identity, 'nonce-123');
    const publicKey = await crypto.subtle.importKey('spki', fromBase64Url(identity.spki), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const input = helloSigningInput('nonce-123') as Uint8Array<ArrayBuffer>;
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, publicKey, fromBase64Url(signature), input)).to.equal(true);
    const other = helloSigningInput('nonce-124') as Uint8Array<ArrayBuffer>;
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, publicKey, fromBase64Url(signature), other)).to.equal(false);
  });

  it('the private key cannot be exported', async () => {
    const identity = await (await fresh<IdentityModule>('/app/crypto/identity.ts')).loadOrCreateIdentity();
    let refused = false;
    try {
      await crypto.subtle.exportKey('pkcs8', identity.privateKey);
    } catch {
      refused = true;
    }
    expect(refused).to.equal(true);
  });

  it('name, rooms and whisper tabs persist across a reload', async () => {
    const profiles = await fresh<ProfileModule>('/app/storage/profile.ts');
    const saved = { name: 'Ada', rooms: ['lobby', 'music'], whispers: [{ key: 'kB', name: 'Bo' }], tabs: ['lobby', '@kB', 'music'], active: '@kB' };
    await profiles.saveProfile(saved);
    const again = await (await fresh<ProfileModule>('/app/storage/profile.ts')).loadProfile();
    expect(again).to.deep.equal(saved);
  });

  it('a corrupt profile falls back to an empty one instead of failing', async () => {
    const db = await fresh<DbModule>('/app/storage/db.ts');
    await db.write(db.KEYS.profile, { rooms: 'not-an-array' });
    expect(await (await fresh<ProfileModule>('/app/storage/profile.ts')).loadProfile()).to.deep.equal({ rooms: [], whispers: [] });
  });

  it('the outbox keeps unsent messages across a reload, in order, until removed', async () => {
    const { Outbox } = await fresh<OutboxModule>('/app/storage/outbox.ts');
    const outbox = new Outbox();
    await outbox.load();
    await outbox.add({ cid: 'a', room: 'lobby', text: 'one', kind: 'text', at: 1 });
    await outbox.add({ cid: 'b', room: 'music', text: 'two', kind: 'action', at: 2 });
    await outbox.add({ cid: 'c', room: 'lobby', text: 'three', kind: 'text', at: 3 });
    await outbox.remove('a');

    const reloaded = new (await fresh<OutboxModule>('/app/storage/outbox.ts')).Outbox();
    const pending = await reloaded.load();
    expect(pending.map((m) => m.cid)).to.deep.equal(['b', 'c']);
    expect(reloaded.forRoom('lobby').map((m) => m.text)).to.deep.equal(['three']);
    await reloaded.removeRoom('lobby');
    expect((await new (await fresh<OutboxModule>('/app/storage/outbox.ts')).Outbox().load()).map((m) => m.cid)).to.deep.equal(['b']);
  });
});
