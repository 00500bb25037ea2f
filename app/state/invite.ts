// Invite links: the room, the passphrase if the inviter chooses, and who invites (their
// name and their identity key's fingerprint) travel in the URL fragment, which browsers
// never send to the server. The fingerprint lets the person who opens the link know the
// inviter's key without trusting the server for it.
import { checkName } from '../../signal-server/protocol/protocol.ts';
import { KEY_FINGERPRINT } from '../crypto/key-fingerprint.ts';

export interface Inviter {
  name: string;
  /** SHA-256 of the inviter's identity key (SPKI), base64url: see crypto/key-fingerprint.ts. */
  fingerprint: string;
}

export interface Invite {
  room: string;
  passphrase?: string;
  from?: Inviter;
  /** Set when the link's inviter part is damaged: the room still opens, nobody is pinned. */
  problem?: string;
}

export const DAMAGED_INVITER = 'This invite link is damaged: it cannot show who sent it, so nobody is marked as verified. Compare safety numbers instead.';

/** What the person is told when the server shows a key an invite link contradicts. */
export function mismatchSentence(name: string): string {
  return `The server showed a different key for ${name} than the invite link you opened. Someone may be interfering; nothing is sent to ${name}.`;
}

export function inviteLink(origin: string, invite: Invite): string {
  const params = new URLSearchParams({ join: invite.room });
  if (invite.passphrase) params.set('passphrase', invite.passphrase);
  if (invite.from) {
    params.set('by', invite.from.name);
    params.set('fp', invite.from.fingerprint);
  }
  return `${origin}/#${params}`;
}

/**
 * The invite in a URL fragment ("#join=…&passphrase=…&by=…&fp=…"), if there is one. Links
 * from before the inviter part have neither `by` nor `fp` and open as they always did; a
 * link with only one of them, either twice, or either malformed opens the room without
 * the inviter and says why.
 */
export function parseInvite(hash: string): Invite | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const room = params.get('join');
  if (!room) return undefined;
  const passphrase = params.get('passphrase') || undefined;
  const invite: Invite = passphrase ? { room, passphrase } : { room };
  const names = params.getAll('by');
  const fingerprints = params.getAll('fp');
  if (!names.length && !fingerprints.length) return invite;
  const name = names.length === 1 ? checkName(names[0]) : undefined;
  if (!name?.ok || name.value !== names[0] || fingerprints.length !== 1 || !KEY_FINGERPRINT.test(fingerprints[0])) return { ...invite, problem: DAMAGED_INVITER };
  return { ...invite, from: { name: name.value, fingerprint: fingerprints[0] } };
}
