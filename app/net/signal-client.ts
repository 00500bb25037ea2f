// One WebSocket to the signal server: connects, validates every incoming frame with the
// protocol schemas, keeps the link alive, and reconnects with backoff when it drops.
import { CloseCode, SUBPROTOCOL, WS_PATH, parseServerFrame, type ClientFrame, type ServerFrame } from '../../signal-server/protocol/protocol.ts';
import { Backoff } from './backoff.ts';

/** Close codes after which trying again would not help. */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.replaced, CloseCode.unsupportedVersion, CloseCode.banned]);
const PING_EVERY_MS = 20_000;
/** A server that said it is shutting down is restarting, most likely: keep trying often. */
const RESTART_RETRY_CAP_MS = 4000;
const SILENCE_LIMIT_MS = 45_000;

export interface CloseInfo {
  code: number;
  reason: string;
  /** When the next attempt starts, or undefined if the client stopped for good. */
  retryInMs?: number;
}

export interface SignalClientOptions {
  url: string;
  onOpen(): void;
  onFrame(frame: ServerFrame): void;
  onClose(info: CloseInfo): void;
  /** A frame that failed validation: a server or network bug, never shown as content. */
  onInvalidFrame?(problem: string): void;
  backoff?: Backoff;
}

export function defaultSignalUrl(location: Location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${WS_PATH}`;
}

export class SignalClient {
  private socket?: WebSocket;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private pingTimer?: ReturnType<typeof setInterval>;
  private lastHeard = 0;
  private stopped = true;
  /** Set by a shutting-down close, cleared once the server is back. */
  private restarting = false;
  private readonly backoff: Backoff;

  constructor(private readonly options: SignalClientOptions) {
    this.backoff = options.backoff ?? new Backoff();
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  connect(): void {
    this.stopped = false;
    clearTimeout(this.retryTimer);
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) return;
    const socket = new WebSocket(this.options.url, SUBPROTOCOL);
    this.socket = socket;
    socket.onopen = () => {
      this.lastHeard = Date.now();
      this.startPinging();
      this.options.onOpen();
    };
    socket.onmessage = (event) => {
      this.lastHeard = Date.now();
      if (typeof event.data !== 'string') return this.options.onInvalidFrame?.('binary frame');
      const parsed = parseServerFrame(event.data);
      if (!parsed.ok) return this.options.onInvalidFrame?.(parsed.message);
      this.options.onFrame(parsed.frame);
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.handleClose(event.code, event.reason);
    };
  }

  /** Sends a frame if connected; returns false when it could not be sent. */
  send(frame: ClientFrame): boolean {
    if (!this.connected) return false;
    this.socket!.send(JSON.stringify(frame));
    return true;
  }

  /** The server accepted us: the next drop starts the backoff from the beginning. */
  markHealthy(): void {
    this.backoff.reset();
    this.restarting = false;
  }

  /** Skips the wait, e.g. when the browser reports the network is back. */
  retryNow(): void {
    if (this.stopped || this.connected) return;
    if (this.socket && this.socket.readyState === WebSocket.CONNECTING) return;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(CloseCode.normal);
  }

  private startPinging(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
        // The link went quiet without a close (sleeping laptop, lost Wi-Fi): start over.
        const socket = this.socket;
        this.socket = undefined;
        socket?.close();
        this.handleClose(1006, 'connection went silent');
        return;
      }
      this.send({ type: 'ping' });
    }, PING_EVERY_MS);
  }

  private handleClose(code: number, reason: string): void {
    clearInterval(this.pingTimer);
    this.socket = undefined;
    if (this.stopped || FINAL_CLOSE_CODES.has(code)) {
      this.stopped = true;
      this.options.onClose({ code, reason });
      return;
    }
    const retryInMs = this.backoff.next(code === CloseCode.shuttingDown || this.restarting ? RESTART_RETRY_CAP_MS : undefined);
    if (code === CloseCode.shuttingDown) this.restarting = true;
    this.retryTimer = setTimeout(() => this.connect(), retryInMs);
    this.options.onClose({ code, reason, retryInMs });
  }
}
