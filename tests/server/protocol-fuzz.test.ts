// Property tests of the wire protocol with fast-check: frames generated from the schemas
// in protocol.ts round-trip; arbitrary, garbage and mutated input never throws and is
// refused with a typed error; the limits hold; and the hub itself, fed through fake
// sockets, never throws and answers every frame. A short run (fixed seed, printed);
// tests/bench/fuzz.bench.ts runs the same properties with 100,000+ cases.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LIMITS, parseClientFrame, ErrorCode } from '../../signal-server/protocol/protocol.ts';
import { CLIENT_FIELDS, CLIENT_OPTIONS, SERVER_TYPE_NAMES } from '../support/protocol-arbitraries.ts';
import { HubHarness, SCHEMA_PROPERTIES, fuzzSeed, hubProperty, runParameters } from '../support/protocol-properties.ts';

const seed = fuzzSeed();
const RUNS = 600;
const HUB_RUNS = 300;
console.log(`protocol fuzz seed ${seed} (set WISP_FUZZ_SEED to replay another)`);

describe('protocol schemas (fast-check)', () => {
  for (const property of SCHEMA_PROPERTIES) {
    test(property.name, () => {
      fc.assert(property.make(), runParameters(seed, RUNS));
    });
  }

  test('the generators see every frame type and every limit in LIMITS that a client frame carries', () => {
    // Guards the properties above against passing vacuously: if the schema introspection
    // missed a field or a limit, the "over the limits" property would not test it.
    assert.equal(CLIENT_OPTIONS.size, 27);
    assert.ok(CLIENT_OPTIONS.has('room-history') && CLIENT_OPTIONS.has('admin-forget'));
    assert.equal(CLIENT_FIELDS.find((f) => f.type === 'join' && f.key === 'since')?.kind, 'object');
    assert.ok(SERVER_TYPE_NAMES.includes('welcome') && SERVER_TYPE_NAMES.includes('error'));
    const max = (type: string, key: string) => CLIENT_FIELDS.find((f) => f.type === type && f.key === key)?.string?.max;
    const expected: [string, string, number][] = [
      ['say', 'text', LIMITS.messageMaxLength],
      ['say', 'cid', LIMITS.clientMessageIdMaxLength],
      ['say', 'sealed', LIMITS.sealedMaxLength],
      ['leave', 'farewell', LIMITS.farewellMaxLength],
      ['hello', 'key', LIMITS.identityKeyMaxLength],
      ['hello', 'name', LIMITS.nameMaxLength * 4],
      ['rename', 'name', LIMITS.nameMaxLength * 4],
      ['join', 'room', LIMITS.roomNameMaxLength * 4],
      ['join', 'verifier', LIMITS.verifierLength],
      ['signal', 'data', LIMITS.signalMaxLength],
      ['relay', 'data', LIMITS.relayMaxLength],
      ['kick', 'reason', LIMITS.reasonMaxLength],
      ['ban', 'reason', LIMITS.reasonMaxLength],
      ['topic', 'topic', LIMITS.topicMaxLength],
      ['password', 'password', LIMITS.secretMaxLength],
      ['admin', 'token', LIMITS.secretMaxLength],
    ];
    for (const [type, key, limit] of expected) assert.equal(max(type, key), limit, `${type}.${key}`);
  });

  test('spot checks the properties rely on: a limit plus one is refused, the limit itself accepted', () => {
    const say = (text: string) => parseClientFrame(JSON.stringify({ type: 'say', room: 'lobby', cid: 'c1', text }));
    assert.ok(say('x'.repeat(LIMITS.messageMaxLength)).ok);
    const over = say('x'.repeat(LIMITS.messageMaxLength + 1));
    assert.ok(!over.ok && over.code === ErrorCode.badFrame && over.message.includes('at text'));
  });
});

describe('hub frame handling (fast-check, in process)', () => {
  let harness: HubHarness;
  before(async () => {
    harness = await HubHarness.open();
  });
  after(() => harness.dispose());

  test('the hub never throws on arbitrary input and answers every frame with valid server frames or a known close', () => {
    fc.assert(hubProperty(harness), runParameters(seed, HUB_RUNS));
  });
});
