// Look-alike names (issue 17): names are unique by their UTS #39 skeleton, any case, so
// "Rеnée" (Cyrillic е) or "Ｒｅｎéｅ" cannot join beside "Renée". Each pair below is a
// mapping in Unicode's confusables.txt (fullwidth forms: NFKC, which that file expects).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../signal-server/protocol/protocol.ts';
import { NameIndex } from '../../signal-server/name-index.ts';
import { skeleton } from '../../signal-server/name-skeleton.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { Scope, nextError, rename, roundTrip } from './helpers.ts';

/** [what the data maps, the name someone holds, its look-alike]. */
const LOOK_ALIKES: [string, string, string][] = [
  // Cyrillic
  ['Cyrillic е U+0435 → e', 'Ren\u00e9e', 'R\u0435n\u00e9e'],
  ['Cyrillic А U+0410 → A', 'Alice', '\u0410lice'],
  ['Cyrillic Р U+0420, а U+0430 → P, a', 'Paul', '\u0420\u0430ul'],
  ['Cyrillic О U+041E, с U+0441, а U+0430', 'Oscar', '\u041Es\u0441\u0430r'],
  ['Cyrillic Ј ѕ і U+0408 U+0455 U+0456', 'Jessica', '\u0408e\u0455\u0455\u0456ca'],
  ['Cyrillic Н о р е: a whole name', 'Hope', '\u041D\u043E\u0440\u0435'],
  ['Cyrillic К U+041A → K', 'Kate', '\u041Aate'],
  ['Cyrillic М U+041C → M', 'Mary', '\u041Cary'],
  ['Cyrillic В U+0412 → B', 'Bob', '\u0412ob'],
  ['Cyrillic ԁ U+0501 → d', 'Dora.d', 'Dora.\u0501'],
  ['Cyrillic Е U+0415 in capitals, any case', 'Ren\u00e9e2', 'R\u0415N\u00c9E2'],
  // Greek
  ['Greek Α U+0391, α U+03B1 → A, a', 'Anna', '\u0391nn\u03B1'],
  ['Greek Τ U+03A4, ο U+03BF → T, o', 'Tom', '\u03A4\u03BFm'],
  ['Greek Ν U+039D → N', 'Nick', '\u039Dick'],
  ['Greek Ζ U+0396 → Z', 'Zeta', '\u0396eta'],
  ['Greek Ε U+0395 → E', 'Eva', '\u0395va'],
  ['Greek Κ U+039A → K', 'Kyle', '\u039Ayle'],
  ['Greek Ι U+0399 and Latin I both → l', 'Ivo', '\u0399vo'],
  // Latin look-alikes
  ['Latin capital I → l', 'Ian', 'lan'],
  ['m → rn', 'Emma', 'Ernrna'],
  ['dotless ı U+0131 → i', 'ivy', '\u0131vy'],
  ['script ℓ U+2113 → l', 'Liam.l', 'Liam.\u2113'],
  ['small capital ɪ U+026A → i', 'Iris.i', 'Iris.\u026A'],
  ['script ɡ U+0261 → g', 'Gina.g', 'Gina.\u0261'],
  // Fullwidth (NFKC)
  ['fullwidth Ｒｅｎｅｅ', 'Ren\u00e9e3', '\uFF32\uFF45\uFF4E\u00e9\uFF45\uFF13'],
  ['fullwidth Ｓａｍ', 'Sam', '\uFF33\uFF41\uFF4D'],
  // Mathematical alphanumerics
  ['mathematical bold 𝐑 U+1D411', 'Ren\u00e9e4', '\u{1D411}en\u00e9e4'],
  ['mathematical bold 𝐌𝐚𝐱', 'Max', '\u{1D40C}\u{1D41A}\u{1D431}'],
  ['double-struck 𝕃𝕖𝕠', 'Leo', '\u{1D543}\u{1D556}\u{1D560}'],
  ['sans-serif 𝖹𝖾𝖽', 'Zed', '\u{1D5B9}\u{1D5BE}\u{1D5BD}'],
  ['mathematical digit 𝟎 U+1D7CE → O', 'Olga', '\u{1D7CE}lga'],
  // Digits
  ['digit 0 → O', 'OTTO', '0TT0'],
  ['digit 1 → l', 'Bill', 'Bi11'],
  // Other scripts
  ['Cherokee Ꮪ Ꭺ Ꮐ Ꭼ U+13DA U+13AA U+13C0 U+13AC', 'SAGE', '\u13DA\u13AA\u13C0\u13AC'],
  ['Lisu ꓮ U+A4EE → A', 'Ada', '\uA4EEda'],
  ['Armenian օ U+0585 → o', 'Leon', 'Le\u0585n'],
];

/** [why they differ, a name someone holds, a different name that must still be accepted]. */
const DISTINCT: [string, string, string][] = [
  ['a diacritic is visible: Renée and Renee', 'Ren\u00e9e', 'Renee'],
  ['one letter differs', 'Anna', 'Anne'],
  ['a diaeresis is visible: Zoë and Zoe', 'Zo\u00eb', 'Zoe'],
  ['a longer Chinese name', '\u674E\u96F7', '\u674E\u96F7\u96F7'],
  ['lower-case i and l differ', 'Ian', 'Lan'],
  ['I and L in capitals differ', 'AIAN', 'ALAN'],
  ['Greek Όλγα is no look-alike of Olga', 'Olga', '\u038C\u03BB\u03B3\u03B1'],
  ['Cyrillic Ирина is no look-alike of Irina', 'Irina', '\u0418\u0440\u0438\u043D\u0430'],
  ['Greek Νίκος is no look-alike of Nikos', 'Nikos', '\u039D\u03AF\u03BA\u03BF\u03C2'],
  ['two Cyrillic names, Мария and Марина', '\u041C\u0430\u0440\u0438\u044F', '\u041C\u0430\u0440\u0438\u043D\u0430'],
  ['Björn and Bjorn', 'Bj\u00f6rn', 'Bjorn'],
];

describe('look-alike keys', () => {
  for (const [why, original, lookAlike] of LOOK_ALIKES) {
    test(`clash: ${why}`, () => {
      assert.notEqual(original.normalize('NFC').toLowerCase(), lookAlike.normalize('NFC').toLowerCase(), 'a look-alike, not the same name');
      for (const [held, wanted] of [[original, lookAlike], [lookAlike, original]] as const) {
        const index = new NameIndex<string>();
        index.add(held, 'holder');
        assert.deepEqual(index.clash(wanted), { holder: 'holder', kind: 'look-alike' }, `${wanted} beside ${held}`);
      }
    });
  }

  for (const [why, present, wanted] of DISTINCT) {
    test(`no clash: ${why}`, () => {
      for (const [held, other] of [[present, wanted], [wanted, present]] as const) {
        const index = new NameIndex<string>();
        index.add(held, 'holder');
        assert.equal(index.clash(other), undefined, `${other} beside ${held}`);
      }
    });
  }

  test('the same name in another case is "taken", not a look-alike', () => {
    const index = new NameIndex<string>();
    index.add('Ren\u00e9e', 'holder');
    assert.deepEqual(index.clash('RENE\u0301E'), { holder: 'holder', kind: 'taken' });
  });

  test('a name is forgotten under both its keys, and only by its holder', () => {
    const index = new NameIndex<string>();
    index.add('Ian', 'a');
    index.remove('Ian', 'b');
    assert.deepEqual(index.clash('lan'), { holder: 'a', kind: 'look-alike' });
    assert.deepEqual(index.clash('IAN'), { holder: 'a', kind: 'taken' });
    index.remove('Ian', 'a');
    assert.equal(index.clash('lan'), undefined);
    assert.equal(index.clash('ian'), undefined);
  });

  test('the skeleton is the data, not a guess: a few prototypes', () => {
    assert.equal(skeleton('\u0435'), 'e');
    assert.equal(skeleton('m'), 'rn');
    assert.equal(skeleton('0'), 'O');
    assert.equal(skeleton('\uFF32'), 'R');
    assert.equal(skeleton('\u{1D411}'), 'R');
    assert.equal(skeleton('Ren\u00e9e'), 'Rene\u0301e');
  });
});

describe('look-alike names on a server', () => {
  const scope = new Scope();
  let server: RunningServer;
  before(async () => {
    server = await scope.server({ maxConnectionsPerIp: 1000 });
  });
  after(() => scope.dispose());

  for (const [why, original, lookAlike] of LOOK_ALIKES) {
    test(`refused at hello and on rename: ${why}`, async () => {
      const holder = await scope.client(server, { name: original });
      assert.equal(holder.name, original.normalize('NFC'));

      const copycat = await scope.client(server, { name: lookAlike });
      assert.notEqual(copycat.name, lookAlike.normalize('NFC'), 'the look-alike was given at hello');
      const error = await nextError(copycat, ErrorCode.nameTaken, 'hello');
      assert.match(error.message, /looks too much like someone else's name/);
      assert.ok(error.message.includes(copycat.name), 'the error says which name was given instead');

      const renamed = await rename(copycat, lookAlike);
      assert.ok('error' in renamed, `rename to ${lookAlike} was accepted beside ${original}`);
      assert.equal(renamed.error, ErrorCode.nameTaken);
      assert.match(renamed.message, /looks too much like someone else's name/);
    });
  }

  test('a person keeps their own name on reconnect (same identity)', async () => {
    const first = await scope.client(server, { name: 'Ren\u00e9e9' });
    const again = await scope.client(server, { name: 'Ren\u00e9e9', identity: first.identity });
    assert.equal(again.name, 'Ren\u00e9e9');
    await roundTrip(again);
    assert.deepEqual(again.all('error'), []);
  });

  test('a look-alike is free once its holder has renamed', async () => {
    const holder = await scope.client(server, { name: 'Hanna' });
    const other = await scope.client(server);
    assert.ok('error' in (await rename(other, 'H\u0430nn\u0430')));
    assert.deepEqual(await rename(holder, 'Johanna'), { name: 'Johanna' });
    assert.deepEqual(await rename(other, 'H\u0430nn\u0430'), { name: 'H\u0430nn\u0430' });
  });
});

describe('distinct names on a server', () => {
  // A server of its own: the names above are still held on the other one.
  const scope = new Scope();
  let server: RunningServer;
  before(async () => {
    server = await scope.server({ maxConnectionsPerIp: 1000 });
  });
  after(() => scope.dispose());

  for (const [why, present, wanted] of DISTINCT) {
    test(`accepted at hello and on rename: ${why}`, async () => {
      const holder = await scope.client(server, { name: present });
      assert.equal(holder.name, present.normalize('NFC'));
      const newcomer = await scope.client(server, { name: wanted });
      assert.equal(newcomer.name, wanted.normalize('NFC'));
      await roundTrip(newcomer);
      assert.deepEqual(newcomer.all('error'), []);
      // Free the name again and take it by rename instead.
      assert.ok('name' in (await rename(newcomer, `${newcomer.name.slice(0, 10)}away`)));
      const renamer = await scope.client(server);
      assert.deepEqual(await rename(renamer, wanted), { name: wanted.normalize('NFC') });
    });
  }
});
