// A private room's secrets, derived from its passphrase: PBKDF2-SHA-256 (600,000
// iterations, salted with the server's id and the room's name) gives a master secret, and
// HKDF-SHA-256 splits it into a verifier (sent to the server, which keeps only a hash)
// and the room key (AES-256-GCM, non-extractable, never leaves the device). Both ends
// of a room must derive alike, so every constant here is part of the protocol.
import { toBase64Url, utf8 } from './bytes.ts';

export const ROOM_KDF_ITERATIONS = 600_000;
/**
 * v2 names the server (its random id from `welcome`), so one dictionary precomputed for a
 * common room name does not serve against every Wisp server's stored verifier hashes.
 * Neither the id nor a room name can contain "|".
 */
const SALT_LABEL = 'wisp-private-room-v2';
const VERIFIER_INFO = 'wisp-room-verifier-v1';
const KEY_INFO = 'wisp-room-key-v1';

export interface RoomSecrets {
  /** 32 bytes, base64url: what proves the passphrase to the server. */
  verifier: string;
  /** AES-256-GCM, non-extractable. */
  key: CryptoKey;
  /** The id of the server whose salt they were derived with. */
  server: string;
}

export function roomSalt(serverId: string, room: string): string {
  return `${SALT_LABEL}|${serverId}|${room}`;
}

/** Passphrases are compared as people type them: NFC, so the same words on two keyboards match. */
export function normalizePassphrase(passphrase: string): string {
  return passphrase.normalize('NFC');
}

/** Runs the derivation in the current thread (the worker calls this; so do the unit tests). */
export async function deriveRoomSecretsHere(passphrase: string, room: string, server: string, iterations = ROOM_KDF_ITERATIONS): Promise<RoomSecrets> {
  const material = await crypto.subtle.importKey('raw', utf8(normalizePassphrase(passphrase)), 'PBKDF2', false, ['deriveBits']);
  const master = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: utf8(roomSalt(server, room)), iterations }, material, 256);
  const hkdf = await crypto.subtle.importKey('raw', master, 'HKDF', false, ['deriveBits', 'deriveKey']);
  const salt = new Uint8Array(0);
  const verifier = await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: utf8(VERIFIER_INFO) }, hkdf, 256);
  const key = await crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt, info: utf8(KEY_INFO) }, hkdf, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  return { verifier: toBase64Url(verifier), key, server };
}
