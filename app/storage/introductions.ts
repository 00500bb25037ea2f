// Introductions: opening an invite link pins the inviter's key by its fingerprint, under
// the name the link gave, beside the pins (trustOf in ./pins.ts reads them). The link came
// from the inviter, not from the server, so the key it names is verified, whatever name
// the server shows it under; once a member with that key is seen, the introduction becomes
// an ordinary verified pin for that member's name.
import { nameKey } from '../../signal-server/protocol/protocol.ts';
import { keyFingerprint } from '../crypto/key-fingerprint.ts';
import type { Pins } from './pins.ts';

/** Pins an invite link's inviter by fingerprint (replacing what was pinned under that name). */
export function withIntroduction(pins: Pins, name: string, fingerprint: string): Pins {
  return { ...pins, [nameKey(name)]: { key: '', verified: true, since: Date.now(), fingerprint } };
}

/**
 * Introductions whose key is among `members`: each becomes a verified pin of that key under
 * the member's name. Undefined when none was met.
 */
export function meetIntroductions(pins: Pins, members: readonly { name: string; key: string }[]): Pins | undefined {
  let met: Pins | undefined;
  for (const [name, pin] of Object.entries(pins)) {
    if (!pin.fingerprint) continue;
    const member = members.find((m) => keyFingerprint(m.key) === pin.fingerprint);
    if (!member) continue;
    met ??= { ...pins };
    delete met[name];
    met[nameKey(member.name)] = { key: member.key, verified: true, since: Date.now() };
  }
  return met;
}
