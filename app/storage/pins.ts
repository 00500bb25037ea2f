// Trust on first use: the identity key first seen behind each name is pinned, like SSH's
// known_hosts. A different key later is a change the person must see, never silent.
import { nameKey } from '../../signal-server/protocol/protocol.ts';
import { KEYS, read, write } from './db.ts';

export interface Pin {
  key: string;
  verified: boolean;
  since: number;
}

/** Pins by case-insensitive name. */
export type Pins = Record<string, Pin>;

/**
 * new: never pinned; pinned: same key as first seen; verified: safety number compared;
 * changed: another key than pinned; changed-verified: another key than a verified one.
 */
export type Trust = 'new' | 'pinned' | 'verified' | 'changed' | 'changed-verified';

export function trustOf(pins: Pins, name: string, key: string): Trust {
  const pin = pins[nameKey(name)];
  if (!pin) return Object.values(pins).some((p) => p.key === key && p.verified) ? 'verified' : 'new';
  if (pin.key !== key) return pin.verified ? 'changed-verified' : 'changed';
  return pin.verified ? 'verified' : 'pinned';
}

export async function loadPins(): Promise<Pins> {
  const saved = await read<Pins>(KEYS.pins);
  if (!saved || typeof saved !== 'object') return {};
  const pins: Pins = {};
  for (const [name, pin] of Object.entries(saved)) {
    if (pin && typeof pin.key === 'string' && typeof pin.verified === 'boolean') pins[name] = { key: pin.key, verified: pin.verified, since: Number(pin.since) || 0 };
  }
  return pins;
}

export function savePins(pins: Pins): Promise<void> {
  return write(KEYS.pins, pins);
}

/** Pins (or re-pins, after the person accepted a change) a key for a name. */
export function withPin(pins: Pins, name: string, key: string, verified: boolean): Pins {
  return { ...pins, [nameKey(name)]: { key, verified, since: Date.now() } };
}
