// What two apps say to each other inside the secure channel: control frames (JSON) and
// file chunks (binary). Validated like server frames: the other app may be modified.
import * as v from 'valibot';
import { LIMITS } from '../../signal-server/protocol/protocol.ts';
import { concat, fromUtf8, utf8, type Bytes } from '../crypto/bytes.ts';

const Id = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/));
const FileId = v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(0xffffffff));
const Size = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

export const PeerFrameSchema = v.variant('t', [
  v.object({
    t: v.literal('whisper'),
    id: Id,
    text: v.pipe(v.string(), v.minLength(1), v.maxLength(LIMITS.messageMaxLength)),
    kind: v.picklist(['text', 'action']),
    ts: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  }),
  v.object({ t: v.literal('receipt'), id: Id }),
  v.object({
    t: v.literal('file-offer'),
    fid: FileId,
    name: v.pipe(v.string(), v.minLength(1), v.maxLength(1024)),
    size: Size,
    type: v.pipe(v.string(), v.maxLength(255)),
    /** The content hash (files/content-hash.ts): SHA-256 over the SHA-256s of 4 MiB blocks. */
    hash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  }),
  v.object({ t: v.literal('file-accept'), fid: FileId }),
  v.object({ t: v.literal('file-decline'), fid: FileId, reason: v.picklist(['declined', 'too-large', 'relay-limit']), limit: v.optional(Size) }),
  v.object({ t: v.literal('file-cancel'), fid: FileId, reason: v.picklist(['cancelled', 'too-large', 'failed']) }),
  v.object({ t: v.literal('file-end'), fid: FileId }),
  v.object({ t: v.literal('file-result'), fid: FileId, ok: v.boolean() }),
]);
export type PeerFrame = v.InferOutput<typeof PeerFrameSchema>;

const CONTROL = 0;
/** The kind byte of a file chunk (peer-link.ts lets only these travel outside the seal). */
export const CHUNK = 1;

export function encodePeerFrame(frame: PeerFrame): Bytes {
  return concat(new Uint8Array([CONTROL]), utf8(JSON.stringify(frame)));
}

/** A file chunk in two parts, sealed as one: kind byte and 32-bit transfer id, then the bytes. */
export function chunkParts(fid: number, bytes: Uint8Array): Uint8Array[] {
  const header = new Uint8Array(5);
  header[0] = CHUNK;
  new DataView(header.buffer).setUint32(1, fid);
  return [header, bytes];
}

/** A file chunk as one buffer: kind byte, the 32-bit transfer id, the bytes. */
export function encodeChunk(fid: number, bytes: Uint8Array): Bytes {
  return concat(...chunkParts(fid, bytes));
}

export type Decoded = { kind: 'frame'; frame: PeerFrame } | { kind: 'chunk'; fid: number; bytes: Uint8Array };

export function decodePeer(bytes: Uint8Array): Decoded | undefined {
  if (bytes[0] === CHUNK && bytes.length >= 5) {
    return { kind: 'chunk', fid: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1), bytes: bytes.subarray(5) };
  }
  if (bytes[0] !== CONTROL) return undefined;
  try {
    const result = v.safeParse(PeerFrameSchema, JSON.parse(fromUtf8(bytes.subarray(1))));
    return result.success ? { kind: 'frame', frame: result.output } : undefined;
  } catch {
    return undefined;
  }
}
