// The person's identity: an ECDSA P-256 signing key pair made once per browser profile.
// The private key is non-extractable and stored as a CryptoKey in IndexedDB.
import { KEYS, read, write } from '../storage/db.ts';
import { helloSigningInput } from '../../signal-server/protocol/protocol.ts';
import { toBase64Url, toHex } from './bytes.ts';

export interface Identity {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** SPKI of the public key, base64url: what the server and peers see. */
  spki: string;
  /** SHA-256 of the SPKI, hex, for display. */
  fingerprint: string;
}

const ALGORITHM: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };

async function fingerprintOf(spki: ArrayBuffer): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', spki)));
}

function isIdentity(value: unknown): value is Identity {
  const v = value as Identity | undefined;
  return Boolean(v && v.privateKey instanceof CryptoKey && v.publicKey instanceof CryptoKey && typeof v.spki === 'string' && typeof v.fingerprint === 'string');
}

/** Loads the identity, or makes and stores a new one on first start. */
export async function loadOrCreateIdentity(): Promise<Identity> {
  const saved = await read<unknown>(KEYS.identity);
  if (isIdentity(saved)) return saved;
  const pair = await crypto.subtle.generateKey(ALGORITHM, false, ['sign', 'verify']);
  const spki = await crypto.subtle.exportKey('spki', pair.publicKey);
  const identity: Identity = {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    spki: toBase64Url(spki),
    fingerprint: await fingerprintOf(spki),
  };
  await write(KEYS.identity, identity);
  return identity;
}

/** Answers the server's challenge: proves this connection holds the identity key. */
export async function signChallenge(identity: Identity, nonce: string): Promise<string> {
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, identity.privateKey, helloSigningInput(nonce) as Uint8Array<ArrayBuffer>);
  return toBase64Url(signature);
}

/** A short, readable form of a fingerprint, e.g. "3f2a 9c01 77be". */
export function shortFingerprint(fingerprint: string): string {
  return fingerprint.slice(0, 12).replace(/(.{4})(?=.)/g, '$1 ');
}
