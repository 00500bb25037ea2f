// Who gets in: `hello` (protocol version, one canonical identity key, its signature of the
// challenge, bans) and, when the operator set one, the server-wide password. What happens
// to an admitted connection (peer id, name, welcome) is the hub's.
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { CloseCode, ErrorCode, PROTOCOL_VERSION, helloSigningInput, type ClientFrameOf } from './protocol/protocol.ts';
import type { Connection } from './connection.ts';
import type { GuessThrottles, SharedCounts } from './guess-throttles.ts';
import { hashToken, tokenMatches } from './hashed-secrets.ts';
import { canonicalKeyProblem } from './identity-key.ts';
import type { Moderator } from './moderator.ts';
import type { Store } from './store.ts';

export interface AdmissionContext {
  readonly store: Store;
  readonly moderator: Moderator;
  /** Shared by every node in a cluster (then each wait is a promise). */
  readonly guesses: GuessThrottles<SharedCounts | undefined>;
  /** The server-wide password, if the operator set one. */
  readonly password?: string;
  /** The identity is verified (and has given the password, if one is set): give it its session. */
  admit(conn: Connection): void;
}

export class Admission {
  private readonly passwordHash?: string;

  constructor(private readonly ctx: AdmissionContext) {
    this.passwordHash = ctx.password === undefined ? undefined : hashToken(ctx.password);
  }

  hello(conn: Connection, frame: ClientFrameOf<'hello'>): void {
    if (conn.welcomed || conn.key) return conn.abuse(ErrorCode.alreadyHello, 'You already said hello.', 'hello');
    if (frame.v !== PROTOCOL_VERSION) {
      conn.error(ErrorCode.unsupportedVersion, `This server speaks protocol version ${PROTOCOL_VERSION}; reload the app to update it.`, { ref: String(frame.v) });
      conn.close(CloseCode.unsupportedVersion, 'unsupported protocol version');
      return;
    }
    // Before the signature and the ban: a ban by key, or the one-session-per-identity rule,
    // holds only if each key has one spelling.
    const keyProblem = canonicalKeyProblem(frame.key);
    if (keyProblem) {
      conn.error(ErrorCode.keyInvalid, `The identity key must be a P-256 public key in its one canonical form (SPKI, unpadded base64url); ${keyProblem}.`, { ref: 'hello' });
      conn.close(CloseCode.protocolError, 'identity key not canonical P-256');
      return;
    }
    if (!helloSigned(conn.nonce, frame.key, frame.sig)) {
      conn.error(ErrorCode.badSignature, 'The identity key did not sign the challenge.', { ref: 'hello' });
      conn.close(CloseCode.protocolError, 'bad hello signature');
      return;
    }

    const ban = this.ctx.moderator.banFor({ key: frame.key, ip: conn.ip });
    if (ban) {
      this.ctx.moderator.refuseBanned(conn, ban, 'hello');
      conn.close(CloseCode.banned, 'banned');
      return;
    }
    conn.key = frame.key;
    conn.wantedName = frame.name;
    if (this.passwordHash && !this.ctx.store.members.has(frame.key)) {
      conn.locked = true;
      conn.send({ type: 'password-required' });
      return;
    }
    this.ctx.admit(conn);
  }

  password(conn: Connection, frame: ClientFrameOf<'password'>): void | Promise<void> {
    if (!conn.locked) return conn.error(ErrorCode.badFrame, 'No password is needed now.', { ref: 'password' });
    // Only this identity's and this connection's own wrong passwords stop it, never a
    // neighbour's on the same address (guess-throttles.ts explains the address bound).
    const wait = this.ctx.guesses.secretWait('password', conn);
    // A cluster reads the counts every node shares first; one node decides at once.
    if (typeof wait !== 'number') return wait.then((ms) => void (conn.locked && this.checkPassword(conn, frame, ms)));
    this.checkPassword(conn, frame, wait);
  }

  private checkPassword(conn: Connection, frame: ClientFrameOf<'password'>, wait: number): void {
    if (wait > 0) return conn.error(ErrorCode.throttled, 'Too many wrong passwords; wait a few minutes.', { ref: 'password', retryAfterMs: wait });
    if (!tokenMatches(frame.password, this.passwordHash)) {
      this.ctx.guesses.secretFailed('password', conn);
      return conn.error(ErrorCode.passwordWrong, 'That is not the password of this server.', { ref: 'password' });
    }
    conn.locked = false;
    // The server remembers this identity: no password next time.
    this.ctx.store.members.add(conn.key);
    this.ctx.store.saveMembers().catch((error: unknown) => console.error(`wisp: could not save members.json: ${(error as Error).message}`));
    if (conn.ws.readyState === conn.ws.OPEN) this.ctx.admit(conn);
  }
}

/** Whether `sig` is the identity key's signature of the challenge nonce. */
function helloSigned(nonce: string, key: string, sig: string): boolean {
  try {
    // The key is a canonical P-256 key (checked first): ECDSA with SHA-256, as WebCrypto signs.
    const publicKey = createPublicKey({ key: Buffer.from(key, 'base64url'), format: 'der', type: 'spki' });
    return verifySignature('sha256', helloSigningInput(nonce), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
  } catch {
    return false;
  }
}
