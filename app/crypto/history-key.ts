// The key that seals chat history at rest: AES-GCM 256, made once per browser profile,
// non-extractable, kept as a CryptoKey in IndexedDB. It protects a copied profile or a
// disk backup, not a page that runs someone else's code (that page can use the key).
import { KEYS, read, write } from '../storage/db.ts';
import { utf8, type Bytes } from './bytes.ts';

const IV_BYTES = 12;

/** A record that does not open with this key for this place: altered, or moved from elsewhere. */
export class HistorySealError extends Error {
  readonly code = 'history-seal';
}

let pending: Promise<CryptoKey> | undefined;

/** Loads the history key, or makes and stores it on first use (once per page, however many callers). */
export function historyKey(): Promise<CryptoKey> {
  pending ??= (async () => {
    const saved = await read<unknown>(KEYS.historyKey);
    if (saved instanceof CryptoKey && saved.algorithm.name === 'AES-GCM' && !saved.extractable) return saved;
    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    await write(KEYS.historyKey, key);
    return key;
  })();
  pending.catch(() => (pending = undefined));
  return pending;
}

export interface SealedRecord {
  iv: Bytes;
  data: ArrayBuffer;
}

/** Seals `plaintext` with a fresh IV; `place` (the conversation and line) is bound as additional data. */
export async function sealRecord(key: CryptoKey, place: string, plaintext: string): Promise<SealedRecord> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(place) }, key, utf8(plaintext));
  return { iv, data };
}

/** Opens a sealed record for `place`; throws HistorySealError when it was sealed for another place or altered. */
export async function openRecord(key: CryptoKey, place: string, record: SealedRecord): Promise<string> {
  try {
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: record.iv, additionalData: utf8(place) }, key, record.data);
    return new TextDecoder().decode(plain);
  } catch {
    throw new HistorySealError('a kept line did not open: it was altered or moved from another conversation');
  }
}
