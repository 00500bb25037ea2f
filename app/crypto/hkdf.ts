// HKDF-SHA-256 (RFC 5869) through WebCrypto, and AES-256-GCM keys made from it.
import type { Bytes } from './bytes.ts';

export async function hkdf(ikm: Bytes, salt: Bytes, info: Bytes, length: number): Promise<Bytes> {
  const base = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, base, length * 8));
}

/** A non-extractable AES-256-GCM key for one usage, from HKDF output. */
export async function hkdfAesKey(ikm: Bytes, salt: Bytes, info: Bytes, usage: 'encrypt' | 'decrypt'): Promise<CryptoKey> {
  const bits = await hkdf(ikm, salt, info, 32);
  return crypto.subtle.importKey('raw', bits, { name: 'AES-GCM' }, false, [usage]);
}
