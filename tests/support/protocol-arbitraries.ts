// fast-check arbitraries derived from the valibot schemas in signal-server/protocol/protocol.ts:
// valid frames generated from each schema's shape (so a new frame type or field is
// covered without touching this file), the per-field rules (length limits, charsets,
// number ranges) that the mutation properties break on purpose, and garbage input.
// Used by the schema property tests, the in-process hub property and the live fuzzer.
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { ClientFrameSchema, ServerFrameSchema, isCanonicalIdentityKey } from '../../signal-server/protocol/protocol.ts';

/** The parts of a valibot schema or action this file reads (valibot 1.x object shapes). */
interface Node {
  kind: 'schema' | 'validation' | 'transformation' | 'metadata';
  type: string;
  pipe?: Node[];
  entries?: Record<string, Node>;
  wrapped?: Node;
  item?: Node;
  options?: unknown[];
  literal?: unknown;
  requirement?: unknown;
}

export type Frame = Record<string, unknown>;

export interface StringRules {
  min: number;
  /** Infinity when the schema sets no maximum. */
  max: number;
  /** The only characters allowed, when a charset regex restricts them. */
  charset?: string[];
}

export interface NumberRules {
  min: number;
  max: number;
  integer: boolean;
}

export interface FieldInfo {
  /** The frame type this field belongs to. */
  type: string;
  key: string;
  optional: boolean;
  kind: 'string' | 'number' | 'boolean' | 'literal' | 'picklist' | 'object' | 'other';
  string?: StringRules;
  number?: NumberRules;
  schema: Node;
}

const PRINTABLE_ASCII = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));

/** `^[class]+$`, `^[class]*$` and `^[class]{a,b}$`: the only regex shapes the field schemas use. */
function charsetRegex(regex: RegExp): { charset: string[]; min: number; max: number } {
  const match = /^\^\[([^\]]+)\](\+|\*|\{(\d+),(\d+)\})\$$/.exec(regex.source);
  if (!match) throw new Error(`protocol-arbitraries: cannot generate strings for ${regex}; teach charsetRegex this shape`);
  const one = new RegExp(`^[${match[1]}]$`, regex.flags);
  const charset = PRINTABLE_ASCII.filter((c) => one.test(c));
  if (charset.length === 0) throw new Error(`protocol-arbitraries: ${regex} allows no printable ASCII character`);
  const quantifier = match[2];
  if (quantifier === '+') return { charset, min: 1, max: Infinity };
  if (quantifier === '*') return { charset, min: 0, max: Infinity };
  return { charset, min: Number(match[3]), max: Number(match[4]) };
}

/**
 * Identity keys are not a charset: a fixed P-256 SPKI header, the point, and a last
 * character whose unused bits are zero. The one regex of that shape the schemas use
 * (IdentityKey in protocol.ts) gets real keys and strings of the same shape.
 */
const IDENTITY_KEY_SOURCE = '^MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE[A-Za-z0-9_-]{85}[AQgw]$';
const REAL_KEYS = Array.from({ length: 4 }, () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'));
const BASE64URL = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];
const identityKeyArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...REAL_KEYS),
  fc
    .tuple(fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: 85, maxLength: 85 }), fc.constantFrom('A', 'Q', 'g', 'w'))
    .map(([point, last]) => `${REAL_KEYS[0].slice(0, 36)}${point}${last}`),
);
for (const key of REAL_KEYS) if (!isCanonicalIdentityKey(key)) throw new Error('protocol-arbitraries: a generated P-256 key is not canonical');

function isIdentityKey(node: Node): boolean {
  return actions(node).some((a) => a.type === 'regex' && (a.requirement as RegExp).source === IDENTITY_KEY_SOURCE);
}

/** The actions of a pipe, with those of a piped schema inside it (`v.pipe(Base64Url(n), v.minLength(1))`). */
function actions(node: Node): Node[] {
  return (node.pipe ?? []).flatMap((a) => (a.kind !== 'schema' ? [a] : a !== node && a.pipe ? actions(a) : []));
}

export function stringRules(node: Node): StringRules {
  const rules: StringRules = { min: 0, max: Infinity };
  for (const action of actions(node)) {
    const req = action.requirement;
    if (action.type === 'min_length') rules.min = Math.max(rules.min, req as number);
    else if (action.type === 'max_length') rules.max = Math.min(rules.max, req as number);
    else if (action.type === 'length') {
      rules.min = Math.max(rules.min, req as number);
      rules.max = Math.min(rules.max, req as number);
    } else if (action.type === 'regex') {
      const cs = charsetRegex(req as RegExp);
      rules.charset = rules.charset ? rules.charset.filter((c) => cs.charset.includes(c)) : cs.charset;
      rules.min = Math.max(rules.min, cs.min);
      rules.max = Math.min(rules.max, cs.max);
    } else throw new Error(`protocol-arbitraries: unknown string action "${action.type}"`);
  }
  return rules;
}

export function numberRules(node: Node): NumberRules {
  const rules: NumberRules = { min: -Number.MAX_VALUE, max: Number.MAX_VALUE, integer: false };
  for (const action of actions(node)) {
    if (action.type === 'safe_integer' || action.type === 'integer') rules.integer = true;
    else if (action.type === 'min_value') rules.min = Math.max(rules.min, action.requirement as number);
    else if (action.type === 'max_value') rules.max = Math.min(rules.max, action.requirement as number);
    else throw new Error(`protocol-arbitraries: unknown number action "${action.type}"`);
  }
  if (rules.integer) {
    rules.min = Math.max(rules.min, Number.MIN_SAFE_INTEGER);
    rules.max = Math.min(rules.max, Number.MAX_SAFE_INTEGER);
  }
  return rules;
}

/** Characters that are each one UTF-16 unit but not plain ASCII: accents, CJK, controls, bidi overrides, NUL. */
const ODD_BMP = ['é', 'ß', 'Ω', '中', 'й', '\u0301', '\u200b', '\u202e', '\u2066', '\u0000', '\u0007', '\n', '\t', '"', '\\', '\ufeff', '\ufffd'];
const bmpUnit = fc.oneof({ arbitrary: fc.constantFrom(...PRINTABLE_ASCII), weight: 4 }, { arbitrary: fc.constantFrom(...ODD_BMP), weight: 1 });
/** Any code point, lone surrogates included (JSON.stringify escapes them). */
const freeUnit = fc.oneof(
  { arbitrary: bmpUnit, weight: 5 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 2 },
  { arbitrary: fc.constantFrom('\ud800', '\udfff', '😀', '👩‍👩‍👧'), weight: 1 },
);

/** A string obeying `rules`: mostly short ones, some right at the maximum length. */
export function stringArb(rules: StringRules): fc.Arbitrary<string> {
  const unit = rules.charset ? fc.constantFrom(...rules.charset) : freeUnit;
  const cap = Math.max(rules.min, Math.min(rules.max, 48));
  const short = fc.string({ unit, minLength: rules.min, maxLength: cap }).filter((s) => s.length >= rules.min && s.length <= rules.max);
  if (!Number.isFinite(rules.max) || rules.max <= rules.min) return short;
  const exactUnit = rules.charset ? fc.constantFrom(...rules.charset) : bmpUnit;
  const nearMax = fc
    .tuple(fc.string({ unit: exactUnit, minLength: 1, maxLength: 8 }), fc.integer({ min: Math.max(rules.min, rules.max - 4), max: rules.max }))
    .map(([chunk, n]) => chunk.repeat(Math.ceil(n / chunk.length)).slice(0, n));
  return fc.oneof({ arbitrary: short, weight: 5 }, { arbitrary: nearMax, weight: 1 });
}

/** A string of exactly `length` UTF-16 units, from `rules`' charset (or ASCII): only its length can be wrong. */
export function stringOfLength(rules: StringRules, length: number): fc.Arbitrary<string> {
  const unit = rules.charset ? fc.constantFrom(...rules.charset) : fc.constantFrom(...PRINTABLE_ASCII);
  return fc.string({ unit, minLength: 1, maxLength: 8 }).map((chunk) => chunk.repeat(Math.ceil(length / chunk.length)).slice(0, length));
}

export function numberArb(rules: NumberRules): fc.Arbitrary<number> {
  if (rules.integer) {
    return fc.oneof(
      fc.constantFrom(rules.min, rules.max),
      fc.bigInt({ min: BigInt(rules.min), max: BigInt(rules.max) }).map(Number),
      fc.integer({ min: Math.max(rules.min, -1000), max: Math.min(rules.max, 1000) }),
    );
  }
  return fc.double({ min: rules.min, max: rules.max, noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x));
}

/** An arbitrary producing values the schema accepts, built from the schema itself. */
export function arbitraryOf(node: Node): fc.Arbitrary<unknown> {
  let arb: fc.Arbitrary<unknown>;
  switch (node.type) {
    case 'string':
      arb = isIdentityKey(node) ? identityKeyArb : stringArb(stringRules(node));
      break;
    case 'number':
      arb = numberArb(numberRules(node));
      break;
    case 'boolean':
      arb = fc.boolean();
      break;
    case 'literal':
      arb = fc.constant(node.literal);
      break;
    case 'picklist':
      arb = fc.constantFrom(...(node.options as unknown[]));
      break;
    case 'object': {
      const entries = node.entries!;
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      const requiredKeys: string[] = [];
      for (const [key, entry] of Object.entries(entries)) {
        if (entry.type === 'optional') model[key] = arbitraryOf(entry.wrapped!);
        else {
          model[key] = arbitraryOf(entry);
          requiredKeys.push(key);
        }
      }
      arb = fc.record(model, { requiredKeys });
      break;
    }
    case 'array':
      arb = fc.array(arbitraryOf(node.item!), { maxLength: 4 });
      break;
    case 'union':
    case 'variant':
      arb = fc.oneof(...(node.options as Node[]).map(arbitraryOf));
      break;
    default:
      throw new Error(`protocol-arbitraries: no arbitrary for schema type "${node.type}"`);
  }
  // Custom checks in a pipe (e.g. "say needs either text or sealed") filter the candidates.
  for (const action of actions(node)) {
    if (action.type === 'check') {
      const requirement = action.requirement as (value: unknown) => boolean;
      arb = arb.filter((value) => requirement(value));
    }
  }
  return arb;
}

const clientVariant = (ClientFrameSchema as unknown as Node).pipe![0];
const serverVariant = (ServerFrameSchema as unknown as Node).pipe![0];

function typeOf(option: Node): string {
  return option.entries!.type.literal as string;
}

export const CLIENT_OPTIONS: ReadonlyMap<string, Node> = new Map((clientVariant.options as Node[]).map((o) => [typeOf(o), o]));
export const SERVER_TYPE_NAMES: readonly string[] = (serverVariant.options as Node[]).map(typeOf);

/** Every field of every client frame type (primitives, and join's `since` cursor, an object). */
export const CLIENT_FIELDS: readonly FieldInfo[] = [...CLIENT_OPTIONS].flatMap(([type, option]) =>
  Object.entries(option.entries!)
    .filter(([key]) => key !== 'type')
    .map(([key, entry]): FieldInfo => {
      const optional = entry.type === 'optional';
      const inner = optional ? entry.wrapped! : entry;
      const kind = (['string', 'number', 'boolean', 'literal', 'picklist', 'object'] as const).find((k) => k === inner.type) ?? 'other';
      return {
        type,
        key,
        optional,
        kind,
        string: kind === 'string' ? stringRules(inner) : undefined,
        number: kind === 'number' ? numberRules(inner) : undefined,
        schema: inner,
      };
    }),
);

/** Valid client frames of every type, generated from ClientFrameSchema (its checks included). */
export const validClientFrame = arbitraryOf(ClientFrameSchema as unknown as Node) as fc.Arbitrary<Frame>;
export const validServerFrame = arbitraryOf(ServerFrameSchema as unknown as Node) as fc.Arbitrary<Frame>;

/** Valid client frames of one type (the frame-level checks applied too). */
export function validClientFrameOf(type: string): fc.Arbitrary<Frame> {
  const option = CLIENT_OPTIONS.get(type);
  if (!option) throw new Error(`unknown client frame type ${type}`);
  const checks = actions(ClientFrameSchema as unknown as Node).filter((a) => a.type === 'check');
  let arb = arbitraryOf(option) as fc.Arbitrary<Frame>;
  for (const check of checks) arb = arb.filter((f) => (check.requirement as (v: unknown) => boolean)(f));
  return arb;
}

// ---------------------------------------------------------------------------
// Wrong values

export type JsonKind = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object';

export function jsonKind(value: unknown): JsonKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as JsonKind;
}

/** Deeply nested arrays around a core value. */
export function nested(depth: number, core: unknown = 'core'): unknown {
  let value = core;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const KIND_ARBS: Record<JsonKind, fc.Arbitrary<unknown>> = {
  string: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', '1', 'true', 'null', '[]', '{}', '__proto__')),
  number: fc.oneof(
    fc.constantFrom(0, -1, 1.5, 1e308, -1e308, 2 ** 53, 2 ** 60, Number.MAX_SAFE_INTEGER + 2, 5e-324),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
  ),
  boolean: fc.boolean(),
  null: fc.constant(null),
  array: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }), fc.integer({ min: 1, max: 300 }).map((d) => nested(d))),
  object: fc.oneof(
    fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
    fc.constant({ toString: 'x', valueOf: 1 }),
    fc.constant(JSON.parse('{"__proto__":{"polluted":true}}') as unknown),
  ),
};

/** A JSON value of any kind other than `kind`. */
export function otherKind(kind: JsonKind): fc.Arbitrary<unknown> {
  return fc.oneof(...(Object.keys(KIND_ARBS) as JsonKind[]).filter((k) => k !== kind).map((k) => KIND_ARBS[k]));
}

/** Numbers a number field must refuse: non-integers where integers belong, out of range, huge. */
export function badNumber(rules: NumberRules): fc.Arbitrary<number> {
  const candidates: fc.Arbitrary<number>[] = [];
  if (rules.integer) {
    candidates.push(fc.integer({ min: -1e6, max: 1e6 }).map((n) => n + 0.5));
    candidates.push(fc.constantFrom(2 ** 53, 2 ** 60, 1e21, 1e308, -(2 ** 53), -1e308));
  }
  if (rules.min > -Number.MAX_VALUE) candidates.push(fc.integer({ min: 1, max: 1e6 }).map((d) => rules.min - d));
  if (rules.max < Number.MAX_VALUE) candidates.push(fc.integer({ min: 1, max: 1e6 }).map((d) => rules.max + d));
  return fc.oneof(...candidates);
}

// ---------------------------------------------------------------------------
// Garbage and mutations

/** Unknown frame types, server-only types and near misses. */
export const oddType = fc.oneof(
  fc.constantFrom(...SERVER_TYPE_NAMES, 'Ping', 'PING', ' ping', 'ping ', 'say\u0000', 'constructor', '__proto__', 'toString', 'hasOwnProperty', ''),
  fc.string({ maxLength: 40 }),
);

/** One mutation of a valid frame: the result may or may not still be valid. */
export const mutation: fc.Arbitrary<(frame: Frame) => Frame> = fc.oneof(
  // Any field (type included) replaced by any JSON value.
  fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 3 })).map(([i, value]) => (frame: Frame) => {
    const keys = Object.keys(frame);
    return { ...frame, [keys[i % keys.length]]: value };
  }),
  // A field removed.
  fc.nat().map((i) => (frame: Frame) => {
    const keys = Object.keys(frame);
    const copy = { ...frame };
    delete copy[keys[i % keys.length]];
    return copy;
  }),
  // An unknown field added (prototype-ish names included).
  fc.tuple(fc.constantFrom('extra', '__proto__', 'constructor', 'prototype', 'from', 'id', 'admin'), fc.jsonValue({ maxDepth: 2 })).map(
    ([key, value]) => (frame: Frame) => {
      const copy = { ...frame };
      Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
      return copy;
    },
  ),
  // A field of another frame type, with a valid value for that type.
  fc.oneof(...CLIENT_FIELDS.map((field) => arbitraryOf(field.schema).map((value) => (frame: Frame) => ({ ...frame, [field.key]: value })))),
  // The type swapped for another client type, or for an odd one.
  fc.oneof(fc.constantFrom(...CLIENT_OPTIONS.keys()), oddType).map((type) => (frame: Frame) => ({ ...frame, type })),
  // A string field stretched past any limit, or a number made huge.
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 3 })).map(([i, factor]) => (frame: Frame) => {
    const keys = Object.keys(frame).filter((k) => k !== 'type');
    if (keys.length === 0) return frame;
    const key = keys[i % keys.length];
    const value = frame[key];
    if (typeof value === 'string') return { ...frame, [key]: (value || 'x').repeat(Math.ceil((factor * 20_000) / Math.max(1, value.length))) };
    if (typeof value === 'number') return { ...frame, [key]: value * 1e300 };
    return { ...frame, [key]: nested(100 * factor) };
  }),
);

/** A valid frame with 1 to 4 mutations applied. */
export const mutatedClientFrame: fc.Arbitrary<Frame> = fc
  .tuple(validClientFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([frame, mutations]) => mutations.reduce((f, m) => m(f), frame));

/** Nesting depths: mostly moderate, sometimes as deep as a 64 KiB frame allows (and deeper). */
const depth = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 2000 }), weight: 6 }, { arbitrary: fc.constantFrom(13_000, 30_000), weight: 1 });

/** Text that is mostly not a valid frame: garbage, cut or spliced JSON, deep nesting, odd numbers. */
export const garbageText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\', 'u', '0', 'e', '-', '.', ' ', 'type', 'null', 'true'), maxLength: 60 }),
  // Valid frames cut short or with bytes spliced in.
  fc.tuple(validClientFrame, fc.nat(), fc.string({ maxLength: 3 })).map(([frame, i, splice]) => {
    const text = JSON.stringify(frame);
    const at = i % (text.length + 1);
    return splice === '' ? text.slice(0, at) : text.slice(0, at) + splice + text.slice(at);
  }),
  // Random bytes as the server reads them (Buffer.toString(): invalid UTF-8 becomes U+FFFD).
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString()),
  fc.tuple(depth, fc.constantFrom(...CLIENT_OPTIONS.keys())).map(([d, type]) => `{"type":"${type}","room":${'['.repeat(d)}${']'.repeat(d)}}`),
  depth.map((d) => `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`),
  depth.map((d) => '['.repeat(d)),
  fc.constantFrom(
    '{"type":"hello","v":1e999,"key":"k","sig":"s"}',
    '{"type":"hello","v":-0,"key":"k","sig":"s"}',
    '{"type":"hello","v":100000000000000000000001,"key":"k","sig":"s"}',
    '{"type":"audit","limit":1e-400}',
    '{"type":"ping","type":"say"}',
    '{"type":"say","type":"ping"}',
    '{"__proto__":{"type":"ping"}}',
    '{"constructor":{"prototype":{"type":"ping"}},"type":"ping"}',
    '{"type":"ping"}\u0000',
    '\ufeff{"type":"ping"}',
    '{"type":"p\\u0069ng"}',
    '{"type":"\\ud800"}',
    '',
    ' ',
    'null',
    'true',
    '0',
    '"ping"',
    '[]',
    '{}',
  ),
);

/** Any JSON value at all, and objects with a plausible or odd `type` and random fields. */
export const anyJsonFrame: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc
    .tuple(fc.oneof(fc.constantFrom(...CLIENT_OPTIONS.keys()), oddType), fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }))
    .map(([type, rest]) => ({ ...rest, type })),
);

// ---------------------------------------------------------------------------
// Frames aimed at live state: real rooms, real peer ids, repeated client message ids

/** What a fuzzer knows about the server it talks to. */
export interface FuzzContext {
  /** Peer ids seen so far (its own included once welcomed). */
  peers: readonly string[];
  /** Room names worth aiming at (spelled in odd ways too). */
  rooms: readonly string[];
}

export const FUZZ_ROOMS: readonly string[] = ['lobby', 'Lobby', '#lobby', 'fuzz-a', 'fuzz-b', '#Fuzz-B', 'fuzz-private'];
/** Two fixed private-room verifiers (43 base64url characters), so joins both create and match. */
export const FUZZ_VERIFIERS: readonly string[] = ['A'.repeat(43), 'b-_'.repeat(14) + 'Z'];

/**
 * A valid frame (from the schema) with its room, target, verifier and client message id
 * often replaced by ones that exist on the server, so handlers get past the first checks.
 */
export const contextualClientFrame: fc.Arbitrary<(ctx: FuzzContext) => Frame> = fc
  .tuple(validClientFrame, fc.nat(), fc.nat(), fc.nat(), fc.nat())
  .map(([frame, room, peer, verifier, cid]) => (ctx: FuzzContext) => {
    const f: Frame = { ...frame };
    if (typeof f.room === 'string' && room % 5 !== 0 && ctx.rooms.length > 0) f.room = ctx.rooms[room % ctx.rooms.length];
    for (const key of ['to', 'target']) {
      if (typeof f[key] === 'string' && peer % 5 !== 0 && ctx.peers.length > 0) f[key] = ctx.peers[peer % ctx.peers.length];
    }
    if (typeof f.verifier === 'string' && verifier % 3 !== 0) f.verifier = FUZZ_VERIFIERS[verifier % FUZZ_VERIFIERS.length];
    if (typeof f.cid === 'string' && cid % 2 === 0) f.cid = `c${cid % 16}`;
    return f;
  });
