// Identity keys at hello: one key, one spelling. Bans, sessions, roles and members are
// all keyed by the string, so a second spelling of a key would be a second identity.
import { createPublicKey } from 'node:crypto';
import { isCanonicalIdentityKey } from './protocol/protocol.ts';

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

/** The fixed start of every P-256 SPKI with an uncompressed point (0x04 and the two coordinates follow). */
const P256_SPKI_HEADER = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex');

/**
 * The canonical spelling of a stored P-256 key, whatever spelling it was saved in (an older
 * server kept keys as clients sent them); anything else is returned as it was (it can never
 * match a key admitted at hello).
 */
export function canonicalSpelling(key: string): string {
  try {
    const jwk = createPublicKey({ key: Buffer.from(key, 'base64url'), format: 'der', type: 'spki' }).export({ format: 'jwk' });
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) return key;
    return Buffer.concat([P256_SPKI_HEADER, Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]).toString('base64url');
  } catch {
    return key;
  }
}
