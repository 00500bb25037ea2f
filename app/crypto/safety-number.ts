// Safety numbers: 60 digits two people compare in person (or by QR code) to know that
// the keys their apps use are each other's. Same construction as Signal's numeric
// fingerprints: per key, 5200 rounds of SHA-512, 30 digits; the two halves sorted.
import { concat, fromBase64Url, type Bytes } from './bytes.ts';

const ITERATIONS = 5200;
const VERSION = new Uint8Array([0, 0]);

async function half(spki: Bytes): Promise<string> {
  let hash = new Uint8Array(await crypto.subtle.digest('SHA-512', concat(VERSION, spki, spki)));
  for (let i = 0; i < ITERATIONS; i++) {
    hash = new Uint8Array(await crypto.subtle.digest('SHA-512', concat(hash, spki)));
  }
  let digits = '';
  for (let chunk = 0; chunk < 6; chunk++) {
    let value = 0;
    for (let b = 0; b < 5; b++) value = value * 256 + hash[chunk * 5 + b];
    digits += String(value % 100_000).padStart(5, '0');
  }
  return digits;
}

/** The 60-digit safety number of two identity keys (SPKI, base64url); order does not matter. */
export async function safetyNumber(keyA: string, keyB: string): Promise<string> {
  const halves = await Promise.all([half(fromBase64Url(keyA)), half(fromBase64Url(keyB))]);
  return halves.sort().join('');
}

/** "12345 67890 …": twelve groups of five, for reading aloud. */
export function formatSafetyNumber(digits: string): string {
  return digits.replace(/(\d{5})(?=\d)/g, '$1 ');
}

/** What the verify dialog's QR code holds: a prefix, so a scan can tell a Wisp safety number from any other code. */
const QR_PREFIX = 'wisp-safety-number:';

export function safetyNumberQrText(digits: string): string {
  return `${QR_PREFIX}${digits}`;
}

/** A scanned code against our own safety number: the same, another safety number, or no safety number at all. */
export function compareScannedSafetyNumber(scanned: string, ours: string): 'match' | 'mismatch' | 'not-wisp' {
  if (!/^\d{60}$/.test(ours)) throw new Error('compareScannedSafetyNumber: our safety number must be 60 digits');
  if (!scanned.startsWith(QR_PREFIX) || !/^\d{60}$/.test(scanned.slice(QR_PREFIX.length))) return 'not-wisp';
  return scanned === safetyNumberQrText(ours) ? 'match' : 'mismatch';
}
