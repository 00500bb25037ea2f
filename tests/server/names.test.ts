// Rename rules: length, characters, NFC, case-insensitive uniqueness, and what the
// room sees.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, LOBBY } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { Scope, TestClient, join, nextError, presenceEvent, rename, roundTrip } from './helpers.ts';

describe('rename rules', () => {
  const scope = new Scope();
  let server: RunningServer;
  let client: TestClient;
  before(async () => {
    server = await scope.server();
    client = await scope.client(server, { name: 'Starter' });
  });
  after(() => scope.dispose());

  const accepted: [string, string, string][] = [
    ['plain ASCII', 'Alice', 'Alice'],
    ['digits, "_", "." and "-" after the first character', 'bob_99.x-y', 'bob_99.x-y'],
    ['exactly the minimum length', 'Al', 'Al'],
    ['exactly the maximum length', 'a'.repeat(24), 'a'.repeat(24)],
    ['letters with diacritics', 'Zo\u00eb', 'Zo\u00eb'],
    ['a decomposed é is stored composed (NFC)', 'Rene\u0301e', 'Ren\u00e9e'],
    ['non-Latin letters', '\u674e\u5c0f\u9f99', '\u674e\u5c0f\u9f99'],
    ['a leading digit', '2pac', '2pac'],
    ['surrounding spaces are trimmed', '  Spacey  ', 'Spacey'],
  ];
  for (const [why, wanted, stored] of accepted) {
    test(`accepted: ${why}`, async () => {
      assert.deepEqual(await rename(client, wanted), { name: stored });
    });
  }

  const refused: [string, string][] = [
    ['too short', 'A'],
    ['empty', ''],
    ['only spaces', '    '],
    ['too long', 'a'.repeat(25)],
    ['a space inside', 'Ann Marie'],
    ['a tab', 'Ann\tMarie'],
    ['a control character', 'Bell\u0007'],
    ['a newline', 'Two\nLines'],
    ['a U+202E right-to-left override', 'evil\u202Eman'],
    ['a U+2066 bidi isolate', 'iso\u2066late'],
    ['a zero-width space', 'zero\u200Bwidth'],
    ['leading "."', '.dotty'],
    ['leading "-"', '-dashy'],
    ['leading "_"', '_under'],
    ['a leading combining mark', '\u0301Anna'],
    ['punctuation inside', 'who?me'],
    ['an emoji', 'cat\u{1F408}'],
    ['a markup character', '<b>bold'],
  ];
  for (const [why, wanted] of refused) {
    test(`name-invalid: ${why}`, async () => {
      const result = await rename(client, wanted);
      assert.ok('error' in result, `"${JSON.stringify(wanted)}" was accepted`);
      assert.equal(result.error, ErrorCode.nameInvalid);
      assert.ok(result.message.length > 10, 'the error explains the rule');
    });
  }

  test('a name far beyond the schema limit is a bad frame', async () => {
    client.send({ type: 'rename', name: 'x'.repeat(500) });
    await nextError(client, ErrorCode.badFrame, 'rename');
  });

  test('a refused rename keeps the old name', async () => {
    assert.deepEqual(await rename(client, 'Keeper'), { name: 'Keeper' });
    await rename(client, 'bad name');
    // "Keeper" is still held by this client: someone else cannot take it.
    const other = await scope.client(server, { name: 'Keeper' });
    assert.notEqual(other.name, 'Keeper');
  });
});

describe('name uniqueness', () => {
  const scope = new Scope();
  let server: RunningServer;
  before(async () => {
    server = await scope.server();
  });
  after(() => scope.dispose());

  test('names are unique regardless of case', async () => {
    await scope.client(server, { name: 'Hazel' });
    const other = await scope.client(server);
    for (const wanted of ['Hazel', 'hazel', 'HAZEL', 'hAzEl']) {
      const result = await rename(other, wanted);
      assert.ok('error' in result && result.error === ErrorCode.nameTaken, `${wanted} was not refused as taken`);
    }
  });

  test('names are unique after NFC normalisation: "e\\u0301" and "é" collide', async () => {
    await scope.client(server, { name: 'Ren\u00e9' });
    const other = await scope.client(server);
    const decomposed = await rename(other, 'Rene\u0301');
    assert.ok('error' in decomposed && decomposed.error === ErrorCode.nameTaken);
    const upper = await rename(other, 'RENE\u0301');
    assert.ok('error' in upper && upper.error === ErrorCode.nameTaken);
  });

  test('one may change the case of one\'s own name', async () => {
    const client = await scope.client(server, { name: 'lowercase' });
    assert.deepEqual(await rename(client, 'LowerCase'), { name: 'LowerCase' });
  });

  test('renaming to one\'s current name is a no-op answered with the name', async () => {
    const client = await scope.client(server, { name: 'Same' });
    await join(client, LOBBY);
    await presenceEvent(client, LOBBY, (e) => e.k === 'join' && e.member.id === client.id);
    assert.deepEqual(await rename(client, 'Same'), { name: 'Same' });
    // No rename event was queued: a later, real rename is the next presence frame.
    assert.deepEqual(await rename(client, 'Different'), { name: 'Different' });
    const presence = await client.next('presence');
    assert.deepEqual(presence.events, [{ k: 'rename', id: client.id, name: 'Different' }]);
  });

  test('an old name is free again after a rename', async () => {
    const first = await scope.client(server, { name: 'Before' });
    assert.deepEqual(await rename(first, 'After'), { name: 'After' });
    const second = await scope.client(server, { name: 'Before' });
    assert.equal(second.name, 'Before');
    await roundTrip(second);
    assert.deepEqual(second.all('error'), []);
  });

  test('a name is free again after its holder disconnects', async () => {
    const first = await scope.client(server, { name: 'Leaver' });
    const watcher = await scope.client(server);
    await join(first, LOBBY);
    await join(watcher, LOBBY);
    first.close();
    await presenceEvent(watcher, LOBBY, (e) => e.k === 'leave' && e.id === first.id);
    assert.deepEqual(await rename(watcher, 'Leaver'), { name: 'Leaver' });
  });

  test('a rename reaches room members as a presence rename event', async () => {
    const [a, b] = await Promise.all([scope.client(server, { name: 'Watcher' }), scope.client(server, { name: 'Changer' })]);
    await join(a, 'names-room');
    await join(b, 'names-room');
    await presenceEvent(a, 'names-room', (e) => e.k === 'join' && e.member.id === b.id);
    assert.deepEqual(await rename(b, 'Changed'), { name: 'Changed' });
    const presence = await presenceEvent(a, 'names-room', (e) => e.k === 'rename');
    assert.deepEqual(presence.events.filter((e) => e.k === 'rename'), [{ k: 'rename', id: b.id, name: 'Changed' }]);
  });
});
