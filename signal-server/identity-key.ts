// Identity keys at hello: one key, one spelling. Bans, sessions, roles and members are
// all keyed by the string, so a second spelling of a key would be a second identity.
import { createPublicKey } from 'node:crypto';
import { isCanonicalIdentityKey } from './protocol.ts';

/**
 * Why `key` is not a P-256 public key in its one canonical spelling; undefined when it is.
 * The shape check is what refuses a compressed point or nonzero unused bits (Node re-exports
 * a compressed point compressed); decoding refuses a point off the curve; the curve and
 * re-export checks hold even if the shape check were ever loosened.
 */
export function canonicalKeyProblem(key: string): string | undefined {
  if (!isCanonicalIdentityKey(key)) return 'it is not an uncompressed P-256 SPKI in unpadded base64url with its unused bits zero';
  try {
    const publicKey = createPublicKey({ key: Buffer.from(key, 'base64url'), format: 'der', type: 'spki' });
    if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return 'it is not a P-256 key';
    if (publicKey.export({ format: 'der', type: 'spki' }).toString('base64url') !== key) return 'it is spelled differently from its canonical form';
    return undefined;
  } catch {
    return 'it is not a valid public key';
  }
}
