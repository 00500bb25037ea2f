// Property tests of the wire protocol, shared by tests/server/protocol-fuzz.test.ts (a
// short run) and tests/bench/fuzz.bench.ts (a long one). Each property throws on the
// first counterexample; fast-check shrinks it and reports the seed and path to replay.
//
//   WISP_FUZZ_SEED=1234 node --import tsx --test tests/server/protocol-fuzz.test.ts
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type WebSocket from 'ws';
import {
  CLIENT_TYPES,
  CloseCode,
  ErrorCode,
  PROTOCOL_VERSION,
  parseClientFrame,
  parseServerFrame,
  type ClientFrame,
  type ParseResult,
} from '../../signal-server/protocol/protocol.ts';
import { testConfig } from '../../signal-server/config.ts';
import { Hub } from '../../signal-server/hub.ts';
import { Store } from '../../signal-server/store.ts';
import { makeIdentity, signChallenge, type Identity } from './test-client.ts';
import {
  CLIENT_FIELDS,
  CLIENT_OPTIONS,
  FUZZ_ROOMS,
  anyJsonFrame,
  badNumber,
  contextualClientFrame,
  garbageText,
  mutatedClientFrame,
  otherKind,
  stringOfLength,
  validClientFrame,
  validClientFrameOf,
  validServerFrame,
  type FieldInfo,
  type Frame,
  type JsonKind,
} from './protocol-arbitraries.ts';

const DEFAULT_SEED = 20_250_611;

/** The seed every property run uses: fixed, so a failure reproduces; WISP_FUZZ_SEED overrides it. */
export function fuzzSeed(): number {
  const raw = process.env.WISP_FUZZ_SEED;
  if (raw === undefined || raw === '') return DEFAULT_SEED;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`WISP_FUZZ_SEED must be an integer, got "${raw}"`);
  return seed;
}

/** A property of any arguments: the list below holds properties of different ones. */
export type AnyProperty = fc.IProperty<unknown>;

function erase<Ts>(property: fc.IProperty<Ts>): AnyProperty {
  return property as unknown as AnyProperty;
}

/** fast-check parameters for a run: the seed, and the failing assertion's message in the report. */
export function runParameters(seed: number, numRuns: number): fc.Parameters<unknown> {
  return { seed, numRuns, includeErrorInReport: true };
}

export const KNOWN_ERROR_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** Close codes a socket may end with: Wisp's table, which has the codes ws sends by itself too. */
export const KNOWN_CLOSE_CODES: ReadonlySet<number> = new Set(Object.values(CloseCode));

/** A parse result is typed: a known error code with a message, or a frame the schema accepts again. */
export function assertTyped(result: ParseResult<ClientFrame>, input: string): void {
  if (result.ok) {
    assert.ok(CLIENT_TYPES.has(result.frame.type), `accepted an unknown type ${String(result.frame.type)}`);
    const again = parseClientFrame(JSON.stringify(result.frame));
    assert.ok(again.ok, `an accepted frame does not parse again: ${input.slice(0, 200)}`);
    // Compared as JSON: -0 is a valid Count, and JSON writes it as 0.
    assert.equal(JSON.stringify(again.frame), JSON.stringify(result.frame));
    // Unknown fields are never passed on.
    const allowed = Object.keys(CLIENT_OPTIONS.get(result.frame.type)!.entries!);
    for (const key of Object.keys(result.frame)) assert.ok(allowed.includes(key), `"${key}" passed through on a ${result.frame.type} frame`);
  } else {
    assert.ok(KNOWN_ERROR_CODES.has(result.code), `unknown error code ${result.code}`);
    assert.equal(typeof result.message, 'string');
    assert.ok(result.message.length > 0, 'the error says what is wrong');
    assert.ok(result.ref === undefined || (typeof result.ref === 'string' && result.ref.length <= 32), `ref ${String(result.ref)}`);
  }
}

function parseNeverThrows(text: string): ParseResult<ClientFrame> {
  let result: ParseResult<ClientFrame>;
  try {
    result = parseClientFrame(text);
  } catch (error) {
    assert.fail(`parseClientFrame threw ${(error as Error).stack}\non input ${JSON.stringify(text.slice(0, 300))}`);
  }
  assertTyped(result, text);
  return result;
}

/** Parses a frame that must be refused as bad-frame, about this frame type and (when given) field. */
function assertRefused(frame: Frame, type: string, key?: string): void {
  const text = JSON.stringify(frame);
  const result = parseNeverThrows(text);
  assert.ok(!result.ok, `accepted ${text.slice(0, 300)}`);
  assert.equal(result.code, ErrorCode.badFrame);
  assert.equal(result.ref, type);
  if (key !== undefined) assert.ok(result.message.includes(`at ${key}`), `"${result.message}" does not name the field ${key}`);
}

const requiredFields = CLIENT_FIELDS.filter((f) => !f.optional);
const boundedStrings = CLIENT_FIELDS.filter((f) => f.string && Number.isFinite(f.string.max));
const minimumStrings = CLIENT_FIELDS.filter((f) => f.string && f.string.min > 0);
const numberFields = CLIENT_FIELDS.filter((f) => f.number);

/** The JSON kind a field takes (client frames hold strings, picklists of strings, numbers, booleans and objects). */
function fieldKind(field: FieldInfo): JsonKind {
  if (field.kind === 'string' || field.kind === 'picklist') return 'string';
  if (field.kind === 'number' || field.kind === 'boolean' || field.kind === 'object') return field.kind;
  throw new Error(`no JSON kind for the ${field.kind} field ${field.type}.${field.key}`);
}

/** A valid frame of the field's type, and the field. */
function frameWith(fields: readonly FieldInfo[]): fc.Arbitrary<[FieldInfo, Frame]> {
  return fc.constantFrom(...fields).chain((field) => fc.tuple(fc.constant(field), validClientFrameOf(field.type)));
}

export interface SchemaProperty {
  name: string;
  /** Relative share of the cases in a long run (the bench). */
  weight: number;
  make(): AnyProperty;
}

/** Properties of protocol.ts alone (no server). */
export const SCHEMA_PROPERTIES: readonly SchemaProperty[] = [
  {
    name: 'every valid client frame (generated from its schema) parses and round-trips through JSON',
    weight: 2,
    make: () =>
      erase(fc.property(validClientFrame, (frame) => {
        const text = JSON.stringify(frame);
        const result = parseNeverThrows(text);
        assert.ok(result.ok, `refused a valid frame: ${result.ok ? '' : result.message}`);
        assert.deepEqual(result.frame, JSON.parse(text));
      })),
  },
  {
    name: 'every valid server frame parses and round-trips through JSON (what the app reads)',
    weight: 1,
    make: () =>
      erase(fc.property(validServerFrame, (frame) => {
        const text = JSON.stringify(frame);
        const result = parseServerFrame(text);
        assert.ok(result.ok, `refused a valid server frame: ${result.ok ? '' : result.message}`);
        assert.deepEqual(result.frame, JSON.parse(text));
      })),
  },
  {
    name: 'arbitrary JSON values never throw: non-objects are bad-frame, unknown types unknown-type',
    weight: 1,
    make: () =>
      erase(fc.property(anyJsonFrame, (value) => {
        const result = parseNeverThrows(JSON.stringify(value));
        const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
        if (!isObject) {
          assert.ok(!result.ok && result.code === ErrorCode.badFrame, `non-object ${JSON.stringify(value)} not refused as bad-frame`);
          return;
        }
        const type = (value as { type?: unknown }).type;
        if (typeof type !== 'string' || !CLIENT_TYPES.has(type)) {
          assert.ok(!result.ok && result.code === ErrorCode.unknownType, `type ${JSON.stringify(type)} not refused as unknown-type`);
          assert.equal(result.ref, typeof type === 'string' ? type.slice(0, 32) : undefined);
        }
      })),
  },
  {
    name: 'garbage text (cut, spliced, deeply nested, odd numbers, random bytes) never throws; non-JSON is bad-json',
    weight: 1,
    make: () =>
      erase(fc.property(garbageText, (text) => {
        const result = parseNeverThrows(text);
        let json = true;
        try {
          JSON.parse(text);
        } catch {
          json = false;
        }
        if (!json) assert.ok(!result.ok && result.code === ErrorCode.badJson, 'text that is not JSON was not refused as bad-json');
      })),
  },
  {
    name: 'mutated valid frames never throw, and what is accepted carries no unknown field',
    weight: 2,
    make: () => erase(fc.property(mutatedClientFrame, (frame) => void parseNeverThrows(JSON.stringify(frame)))),
  },
  {
    name: 'a value of the wrong JSON kind in any field is refused as bad-frame naming the field',
    weight: 1,
    make: () =>
      erase(fc.property(
        frameWith(CLIENT_FIELDS).chain(([field, frame]) =>
          fc.tuple(fc.constant(field), fc.constant(frame), otherKind(fieldKind(field))),
        ),
        ([field, frame, value]) => assertRefused({ ...frame, [field.key]: value }, field.type, field.key),
      )),
  },
  {
    name: 'a missing required field is refused as bad-frame naming the field',
    weight: 1,
    make: () =>
      erase(fc.property(frameWith(requiredFields), ([field, frame]) => {
        const copy = { ...frame };
        delete copy[field.key];
        assertRefused(copy, field.type, field.key);
      })),
  },
  {
    name: 'strings over the LIMITS are refused (only the length is wrong)',
    weight: 1,
    make: () =>
      erase(fc.property(
        frameWith(boundedStrings).chain(([field, frame]) =>
          fc.tuple(fc.constant(field), fc.constant(frame), fc.integer({ min: 1, max: 64 }).chain((extra) => stringOfLength(field.string!, field.string!.max + extra))),
        ),
        ([field, frame, long]) => assertRefused({ ...frame, [field.key]: long }, field.type, field.key),
      )),
  },
  {
    name: 'strings under their minimum length are refused',
    weight: 1,
    make: () =>
      erase(fc.property(
        frameWith(minimumStrings).chain(([field, frame]) =>
          fc.tuple(fc.constant(field), fc.constant(frame), fc.integer({ min: 0, max: field.string!.min - 1 }).chain((n) => (n === 0 ? fc.constant('') : stringOfLength(field.string!, n)))),
        ),
        ([field, frame, short]) => assertRefused({ ...frame, [field.key]: short }, field.type, field.key),
      )),
  },
  {
    name: 'numbers out of range, fractional where integers belong, or beyond 2^53 are refused',
    weight: 1,
    make: () =>
      erase(fc.property(
        frameWith(numberFields).chain(([field, frame]) => fc.tuple(fc.constant(field), fc.constant(frame), badNumber(field.number!))),
        ([field, frame, bad]) => assertRefused({ ...frame, [field.key]: bad }, field.type, field.key),
      )),
  },
];

// ---------------------------------------------------------------------------
// The hub's frame handling, in process: a real Hub, fake sockets

/** Just what Hub and Connection use of a ws WebSocket. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  closed?: { code: number; reason: string };
  terminated = false;

  send(text: string): void {
    // Like ws: a send after close goes nowhere.
    if (this.readyState === this.OPEN) this.sent.push(text);
  }

  close(code: number, reason: string): void {
    this.closed ??= { code, reason };
    this.readyState = 2;
  }

  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }

  ping(): void {}
}

/** One fake connection to the hub. */
export interface FakeConnection {
  ws: FakeSocket;
  id?: string;
  end(): void;
}

/** A real Hub with a real Store in a temporary directory, fed through fake sockets. */
export class HubHarness {
  private readonly identities: Identity[] = Array.from({ length: 8 }, () => makeIdentity());
  private next = 0;

  private constructor(
    readonly hub: Hub,
    private readonly dir: string,
  ) {}

  static async open(): Promise<HubHarness> {
    const dir = mkdtempSync(path.join(tmpdir(), 'wisp-fuzz-hub-'));
    const config = testConfig({ dataDir: dir });
    const store = await Store.open(dir);
    // A shutdown asked for by a (fuzzed) admin would end the hub for every later case.
    return new HubHarness(new Hub(config, store, () => {}), dir);
  }

  /** Connects; with `hello`, answers the challenge properly and waits for the welcome. */
  connect(hello: boolean): FakeConnection {
    const ws = new FakeSocket();
    // A few addresses: guess throttles per address keep audit writes few.
    this.hub.accept(ws as unknown as WebSocket, `10.0.0.${this.next % 4}`);
    const identity = this.identities[this.next++ % this.identities.length];
    const conn: FakeConnection = {
      ws,
      end: () => {
        ws.readyState = 3;
        ws.emit('close', 1000, Buffer.alloc(0));
      },
    };
    const challenge = JSON.parse(ws.sent[0]) as { type: string; nonce: string };
    assert.equal(challenge.type, 'challenge');
    if (hello) {
      const frame = { type: 'hello', v: PROTOCOL_VERSION, key: identity.key, sig: signChallenge(identity, challenge.nonce) };
      ws.emit('message', Buffer.from(JSON.stringify(frame)), false);
      const welcome = JSON.parse(ws.sent[1]) as { type: string; id: string };
      assert.equal(welcome.type, 'welcome', `no welcome: ${ws.sent[1]}`);
      conn.id = welcome.id;
    }
    return conn;
  }

  async dispose(): Promise<void> {
    this.hub.shutdown();
    await this.hub.store.flush();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface HubInput {
  data: (ctx: { self?: string }) => Buffer;
  binary: boolean;
  label: string;
}

const text = (label: string, make: (ctx: { self?: string }) => string): HubInput => ({ data: (ctx) => Buffer.from(make(ctx)), binary: false, label });

const hubInput: fc.Arbitrary<HubInput> = fc.oneof(
  { weight: 4, arbitrary: contextualClientFrame.map((f) => text('aimed valid frame', (ctx) => JSON.stringify(f({ peers: ctx.self ? [ctx.self, 'p0nobody'] : ['p0nobody'], rooms: FUZZ_ROOMS })))) },
  { weight: 2, arbitrary: validClientFrame.map((f) => text('valid frame', () => JSON.stringify(f))) },
  { weight: 3, arbitrary: mutatedClientFrame.map((f) => text('mutated frame', () => JSON.stringify(f))) },
  { weight: 2, arbitrary: garbageText.map((t) => text('garbage', () => t)) },
  { weight: 1, arbitrary: anyJsonFrame.map((v) => text('any JSON', () => JSON.stringify(v))) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.boolean()).map(([bytes, binary]): HubInput => ({ data: () => Buffer.from(bytes), binary, label: binary ? 'binary frame' : 'raw bytes as text' })),
  },
  { weight: 1, arbitrary: validClientFrame.map((f): HubInput => ({ data: () => Buffer.from(JSON.stringify(f)), binary: true, label: 'valid frame sent as binary' })) },
);

/**
 * The hub never throws on any input, answers every frame at once (with frames that are
 * themselves valid server frames, errors with known codes) or closes with a known code.
 * Presence is flushed after each frame, so even a topic change is seen by its setter.
 */
export function hubProperty(harness: HubHarness): AnyProperty {
  return erase(fc.property(fc.boolean(), fc.array(hubInput, { minLength: 1, maxLength: 30 }), (hello, inputs) => {
    const conn = harness.connect(hello);
    try {
      for (const input of inputs) {
        if (conn.ws.readyState !== conn.ws.OPEN) break;
        const before = conn.ws.sent.length;
        const data = input.data({ self: conn.id });
        try {
          conn.ws.emit('message', data, input.binary);
          harness.hub.rooms.flush();
        } catch (error) {
          assert.fail(`the hub threw on a ${input.label} ${JSON.stringify(data.toString().slice(0, 300))}: ${(error as Error).stack}`);
        }
        const answers = conn.ws.sent.slice(before);
        assert.ok(answers.length > 0 || conn.ws.closed, `no answer to a ${input.label}: ${JSON.stringify(data.toString().slice(0, 300))}`);
        const errors: string[] = [];
        for (const answer of answers) {
          const parsed = parseServerFrame(answer);
          assert.ok(parsed.ok, `the hub sent an invalid server frame ${answer.slice(0, 300)}: ${parsed.ok ? '' : parsed.message}`);
          if (parsed.frame.type !== 'error') continue;
          assert.ok(KNOWN_ERROR_CODES.has(parsed.frame.code), `unknown error code ${parsed.frame.code}`);
          errors.push(parsed.frame.code);
        }
        if (input.binary) assert.deepEqual(errors, [ErrorCode.binaryFrame], 'a binary frame is refused, and only that');
        if (conn.ws.closed) assert.ok(KNOWN_CLOSE_CODES.has(conn.ws.closed.code), `closed with unknown code ${conn.ws.closed.code}`);
      }
    } finally {
      conn.end();
    }
  }));
}

export interface PropertyRun {
  name: string;
  cases: number;
  /** fast-check's report (seed, path, shrunk counterexample) when the property failed. */
  failure?: string;
}

/** Runs every property, hub included, with at least `runs` cases in all (split by weight). */
export async function runAllProperties(runs: number, seed: number, log: (line: string) => void = () => {}): Promise<PropertyRun[]> {
  const harness = await HubHarness.open();
  try {
    const all = [...SCHEMA_PROPERTIES, { name: 'the hub never throws and answers every frame (in process)', weight: 3, make: () => hubProperty(harness) }];
    const totalWeight = all.reduce((sum, p) => sum + p.weight, 0);
    const results: PropertyRun[] = [];
    for (const property of all) {
      const numRuns = Math.ceil((runs * property.weight) / totalWeight);
      const started = performance.now();
      const details = fc.check(property.make(), runParameters(seed, numRuns));
      const failure = details.failed ? fc.defaultReportMessage(details) : undefined;
      log(`${property.name}: ${details.numRuns} cases in ${((performance.now() - started) / 1000).toFixed(1)} s${failure ? `, FAILED:\n${failure}` : ''}`);
      results.push({ name: property.name, cases: details.numRuns, failure });
    }
    return results;
  } finally {
    await harness.dispose();
  }
}
