// One WebSocket connection and what the server knows about the person behind it.
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { LIMITS, type CloseCode, type ServerFrame } from './protocol.ts';
import type { Config } from './config.ts';
import type { RoomMember } from './rooms.ts';
import { TokenBucket } from './token-bucket.ts';

/** A client whose unsent backlog grows past this is too slow to keep; it is dropped. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export class Connection implements RoomMember {
  id = '';
  key = '';
  name = '';
  admin = false;
  alive = true;
  /** Waiting for the server-wide password: nothing else is allowed yet. */
  locked = false;
  /** The name asked for in hello, kept while the password prompt is up. */
  wantedName?: string;
  readonly connectedAt = Date.now();
  readonly nonce = randomBytes(18).toString('base64url');
  readonly frames: TokenBucket;
  readonly says: TokenBucket;
  readonly relays = new TokenBucket(LIMITS.relayFramesPerMinute, LIMITS.relayFramesBurst);
  private strikes: number[] = [];

  constructor(
    readonly ws: WebSocket,
    readonly ip: string,
    config: Config,
  ) {
    this.frames = new TokenBucket(LIMITS.framesPerMinute, LIMITS.framesBurst);
    this.says = new TokenBucket(config.sayPerMinute, config.sayBurst);
  }

  get welcomed(): boolean {
    return this.id !== '';
  }

  send(frame: ServerFrame): void {
    this.sendRaw(JSON.stringify(frame));
  }

  sendRaw(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.ws.terminate();
      return;
    }
    this.ws.send(text);
  }

  error(code: string, message: string, extra: { ref?: string; retryAfterMs?: number } = {}): void {
    this.send({ type: 'error', code, message, ...extra });
  }

  close(code: CloseCode, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(code, reason);
  }

  /** Records one piece of abuse; returns true when there were too many in the last minute. */
  strike(now = Date.now()): boolean {
    this.strikes = this.strikes.filter((t) => now - t < 60_000);
    this.strikes.push(now);
    return this.strikes.length >= LIMITS.rateStrikesBeforeClose;
  }
}
