// A file's checksum: SHA-256 over the SHA-256 of each 4 MiB block, in order (the scheme
// of Dropbox's content hash). WebCrypto has no streaming digest, so a plain SHA-256 can only
// start once the last byte is in; with blocks the receiver hashes as bytes arrive and the
// check at the end waits for one block, not the whole file.
import { toHex } from '../crypto/bytes.ts';

/** Both ends must agree on it: it is part of what the hash means. */
export const HASH_BLOCK_BYTES = 4 * 1024 * 1024;

/** Takes the file's blocks in order (each a full block but the last). */
export class ContentHasher {
  private readonly digests: Promise<ArrayBuffer>[] = [];

  /** WebCrypto copies the bytes when called, so the caller may reuse `block` at once. */
  add(block: Uint8Array): void {
    this.digests.push(crypto.subtle.digest('SHA-256', block as Uint8Array<ArrayBuffer>));
  }

  async hex(): Promise<string> {
    const digests = await Promise.all(this.digests);
    const joined = new Uint8Array(digests.length * 32);
    digests.forEach((digest, i) => joined.set(new Uint8Array(digest), i * 32));
    return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', joined)));
  }
}

/** The content hash of bytes already in memory. */
export function contentHash(bytes: Uint8Array): Promise<string> {
  const hasher = new ContentHasher();
  for (let offset = 0; offset < bytes.length; offset += HASH_BLOCK_BYTES) hasher.add(bytes.subarray(offset, offset + HASH_BLOCK_BYTES));
  return hasher.hex();
}
