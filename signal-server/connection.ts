// One WebSocket connection and what the server knows about the person behind it.
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { CloseCode, ErrorCode, LIMITS, type ServerFrame } from './protocol/protocol.ts';
import type { Config } from './config.ts';
import type { RoomMember } from './room.ts';
import { TokenBucket } from './protocol/token-bucket.ts';
import { ForwardBudget } from './forward-budget.ts';

export class Connection implements RoomMember {
  id = '';
  key = '';
  name = '';
  admin = false;
  alive = true;
  /** Waiting for the server-wide password: nothing else is allowed yet. */
  locked = false;
  /** Cluster mode: a frame still waiting for Redis; the next frames run after it, in order. */
  waiting?: Promise<void>;
  /** The name asked for in hello, kept while the password prompt is up. */
  wantedName?: string;
  readonly connectedAt = Date.now();
  readonly nonce = randomBytes(18).toString('base64url');
  readonly frames: TokenBucket;
  readonly says: TokenBucket;
  readonly relays = new TokenBucket(LIMITS.relayFramesPerMinute, LIMITS.relayFramesBurst);
  /** Relay and signal frames from others waiting to be written to this connection. */
  readonly forwarded = new ForwardBudget();
  private strikes: number[] = [];

  constructor(
    readonly ws: WebSocket,
    readonly ip: string,
    private readonly config: Config,
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

  /** Sends a text frame; `written` is called once, when the socket has written it or it was dropped. */
  sendRaw(frame: string | Buffer, written?: () => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return written?.();
    // Too slow to keep: its backlog (beyond what the kernel holds) would grow without bound.
    if (this.ws.bufferedAmount > this.config.sendBufferMaxBytes) {
      this.ws.terminate();
      return written?.();
    }
    // A text frame either way: a Buffer here is a frame's UTF-8, encoded once for many sockets.
    // ws calls back once the socket has written the frame, or with an error if it closed first.
    this.ws.send(frame, { binary: false }, written && (() => written()));
  }

  error(code: ErrorCode, message: string, extra: { ref?: string; retryAfterMs?: number; ban?: { room?: string; until?: number; reason?: string } } = {}): void {
    this.send({ type: 'error', code, message, ...extra });
  }

  /** Answers bad or excess input with a typed error; closes the socket when it keeps coming. */
  abuse(code: ErrorCode, message: string, ref?: string, retryAfterMs?: number): void {
    this.error(code, message, { ref, retryAfterMs });
    if (this.strike()) {
      const closeCode = code === ErrorCode.rateLimited ? CloseCode.rateLimited : CloseCode.protocolError;
      this.close(closeCode, 'too many bad or excess frames');
    }
  }

  close(code: CloseCode, reason: string): void {
    closeWithGrace(this.ws, code, reason, this.config.closeGraceMs);
  }

  /** Records one piece of abuse; returns true when there were too many within the strike window. */
  strike(now = Date.now()): boolean {
    this.strikes = this.strikes.filter((t) => now - t < LIMITS.rateStrikeWindowMs);
    this.strikes.push(now);
    return this.strikes.length >= LIMITS.rateStrikesBeforeClose;
  }
}

/**
 * Closes with a code, and cuts the socket if the client does not answer within graceMs:
 * ws waits 30 s for the close reply, and a client that never reads would keep its socket
 * (and its place under the per-address cap) that long.
 */
export function closeWithGrace(ws: WebSocket, code: CloseCode, reason: string, graceMs: number): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.close(code, reason);
  terminateAfter(ws, graceMs);
}

/** Cuts the socket in graceMs unless it has closed by then. */
export function terminateAfter(ws: WebSocket, graceMs: number): void {
  const cut = setTimeout(() => ws.terminate(), graceMs);
  cut.unref();
  ws.once('close', () => clearTimeout(cut));
}
