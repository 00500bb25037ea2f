// The admin token and the server-wide password: only their SHA-256 is kept, and a
// candidate is compared with it in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newAdminToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Constant-time comparison of a candidate token with the stored hash. */
export function tokenMatches(candidate: string, storedHash: string | undefined): boolean {
  if (!storedHash) return false;
  const a = Buffer.from(hashToken(candidate), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
