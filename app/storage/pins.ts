// Trust on first use: the identity key first seen behind each name is pinned, like SSH's
// known_hosts. A different key later is a change the person must see, never silent.
import { nameKey } from '../../signal-server/protocol/protocol.ts';
import { KEY_FINGERPRINT, keyFingerprint } from '../crypto/key-fingerprint.ts';
import { KEYS, read, write } from './db.ts';

export interface Pin {
  /** '' for an introduction: its key is known by fingerprint only, until it is seen. */
  key: string;
  verified: boolean;
  since: number;
  /**
   * An introduction (see ./introductions.ts): an invite link's fingerprint of the inviter's
   * key, pinned under the name the link gave, until a member with that key is seen.
   */
  fingerprint?: string;
  /** The person compared safety numbers and they did not match: blocked until they verify again. */
  mismatch?: boolean;
}

/** Pins by case-insensitive name. */
export type Pins = Record<string, Pin>;

/**
 * new: never pinned; pinned: same key as first seen; verified: safety number compared, or
 * the key an invite link introduced; changed: another key than pinned; changed-verified:
 * another key than a verified one; mismatch: the person compared safety numbers for this
 * key and they did not match, or another key than an invite link introduced under this
 * name (both blocked like changed-verified).
 */
export type Trust = 'new' | 'pinned' | 'verified' | 'changed' | 'changed-verified' | 'mismatch';

/**
 * What the screen says about a key, in three honest states and the mismatch: only a
 * compared safety number makes a contact verified; first use (new, pinned) is encrypted
 * but not verified yet, since the server could have handed over another key.
 */
export type TrustLevel = 'verified' | 'unverified' | 'changed' | 'mismatch';

export function trustLevel(trust: Trust | undefined): TrustLevel {
  if (trust === 'verified') return 'verified';
  if (trust === 'changed' || trust === 'changed-verified') return 'changed';
  if (trust === 'mismatch') return 'mismatch';
  return 'unverified';
}

export function trustOf(pins: Pins, name: string, key: string): Trust {
  const pin = pins[nameKey(name)];
  if (pin?.key === key && pin.mismatch) return 'mismatch';
  // An invite link came from the inviter, not from the server: its key is verified under
  // any name, and any other key under the name it gave is someone else.
  const introductions = Object.values(pins).filter((p) => p.fingerprint);
  if (introductions.length) {
    const fingerprint = keyFingerprint(key);
    if (introductions.some((p) => p.fingerprint === fingerprint)) return 'verified';
    if (pin?.fingerprint) return 'mismatch';
  }
  if (!pin) return Object.values(pins).some((p) => p.key === key && p.verified) ? 'verified' : 'new';
  if (pin.key !== key) return pin.verified ? 'changed-verified' : 'changed';
  return pin.verified ? 'verified' : 'pinned';
}

export async function loadPins(): Promise<Pins> {
  const saved = await read<Pins>(KEYS.pins);
  if (!saved || typeof saved !== 'object') return {};
  const pins: Pins = {};
  for (const [name, pin] of Object.entries(saved)) {
    if (!pin || typeof pin.key !== 'string' || typeof pin.verified !== 'boolean') continue;
    const fingerprint = typeof pin.fingerprint === 'string' && KEY_FINGERPRINT.test(pin.fingerprint) ? pin.fingerprint : undefined;
    if (!pin.key && !fingerprint) continue;
    pins[name] = { key: pin.key, verified: pin.verified, since: Number(pin.since) || 0, ...(fingerprint ? { fingerprint } : {}), ...(pin.mismatch === true ? { mismatch: true } : {}) };
  }
  return pins;
}

export function savePins(pins: Pins): Promise<void> {
  return write(KEYS.pins, pins);
}

/** Pins (or re-pins, after the person accepted a change, verified or found a mismatch) a key for a name. */
export function withPin(pins: Pins, name: string, key: string, verified: boolean, mismatch = false): Pins {
  return { ...pins, [nameKey(name)]: { key, verified, since: Date.now(), ...(mismatch ? { mismatch: true } : {}) } };
}
