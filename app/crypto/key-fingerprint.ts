// The fingerprint an invite link carries of the inviter's identity key: SHA-256 of the
// key's SPKI bytes, all 32 bytes, base64url (43 characters). The same digest as
// Identity.fingerprint (which is hex, for display).
import { fromBase64Url, toBase64Url } from './bytes.ts';
import { sha256 } from '@noble/hashes/sha2.js';

export const KEY_FINGERPRINT = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** Fingerprints already computed, by key: trust is asked for every member on every render. */
const cache = new Map<string, string>();
const CACHE_MAX = 2000;

/** The fingerprint of an identity key (SPKI, base64url); '' for something that is not base64url. */
export function keyFingerprint(spki: string): string {
  let fingerprint = cache.get(spki);
  if (fingerprint !== undefined) return fingerprint;
  try {
    fingerprint = toBase64Url(sha256(fromBase64Url(spki)));
  } catch {
    fingerprint = '';
  }
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(spki, fingerprint);
  return fingerprint;
}

/** Identity.fingerprint (SHA-256 of the SPKI, hex) in the link's form. */
export function fingerprintFromHex(hex: string): string {
  return toBase64Url(Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16)));
}
