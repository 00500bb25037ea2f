// What two apps say to each other inside the secure channel. Validated like server
// frames: the other app may be modified or buggy.
import * as v from 'valibot';
import { LIMITS } from '../../signal-server/protocol.ts';
import { fromUtf8, utf8, type Bytes } from '../crypto/bytes.ts';

const Id = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/));

export const PeerFrameSchema = v.variant('t', [
  v.object({
    t: v.literal('whisper'),
    id: Id,
    text: v.pipe(v.string(), v.minLength(1), v.maxLength(LIMITS.messageMaxLength)),
    kind: v.picklist(['text', 'action']),
    ts: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  }),
  v.object({ t: v.literal('receipt'), id: Id }),
]);
export type PeerFrame = v.InferOutput<typeof PeerFrameSchema>;

export function encodePeerFrame(frame: PeerFrame): Bytes {
  return utf8(JSON.stringify(frame));
}

export function decodePeerFrame(bytes: Uint8Array): PeerFrame | undefined {
  try {
    const result = v.safeParse(PeerFrameSchema, JSON.parse(fromUtf8(bytes)));
    return result.success ? result.output : undefined;
  } catch {
    return undefined;
  }
}
