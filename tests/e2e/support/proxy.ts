// A recording (and, when told to, hostile) man in the middle between the browsers and the
// real signal server: what a server operator, or anyone who controls the server, could do.
// It listens on its own free 127.0.0.1 port, forwards plain HTTP requests (the app's
// files) and WebSocket frames both ways, records every frame in both directions, and lets
// a test rewrite or drop frames with hooks.
//
// The server checks that a browser's Origin belongs to the server. People open the app at
// the proxy's URL, so their Origin is the proxy's: start the server with
// `--origin <proxy.url>` (see WsProxy.start's `target` callback), and the Origin header is
// forwarded unchanged.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

export const SUBPROTOCOL = 'wisp.v1';

export type Direction = 'up' | 'down';

/** One frame as it passed the proxy. `up`: browser to server; `down`: server to browser. */
export interface RecordedFrame {
  conn: number;
  direction: Direction;
  /** The frame as the sender sent it. */
  text: string;
  /** When a hook changed the frame: what was forwarded instead (null: dropped). */
  forwarded?: string | null;
  /** The identity key of the browser on this connection, once its hello was seen. */
  key?: string;
  at: number;
}

/** One browser's WebSocket through the proxy. */
export interface ProxyConnection {
  readonly id: number;
  /** The identity key the browser announced in its hello (undefined before it). */
  key?: string;
  /** A place for hooks to keep per-connection state. */
  readonly data: Record<string, unknown>;
}

/**
 * A hook sees each frame (parsed JSON when it is JSON) and returns: undefined to forward
 * it unchanged, a string to forward instead, or null to drop it.
 */
export type FrameHook = (frame: { text: string; json: unknown; conn: ProxyConnection; direction: Direction }) => string | null | undefined;

export class WsProxy {
  readonly frames: RecordedFrame[] = [];
  /** Hooks run in order; the first that returns something other than undefined decides. */
  readonly hooks: FrameHook[] = [];
  /** Forwarding errors, for failure messages. */
  readonly problems: string[] = [];
  private target = '';
  private nextId = 1;
  private readonly sockets = new Set<WebSocket>();
  /** Each connection's browser-side socket, for disconnect(). */
  private readonly browsers = new Map<ProxyConnection, WebSocket>();
  private readonly rawSockets = new Set<Duplex>();
  private readonly wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false) });

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on a free port; set the server to forward to with setTarget() before anyone connects. */
  static async listen(): Promise<WsProxy> {
    let proxy: WsProxy | undefined;
    const server = http.createServer((req, res) => proxy!.forwardHttp(req, res));
    server.on('upgrade', (req, socket, head) => proxy!.upgrade(req, socket, head));
    server.on('connection', (socket) => {
      proxy?.rawSockets.add(socket);
      socket.once('close', () => proxy?.rawSockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
    });
    proxy = new WsProxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  /** Where to forward: the real server's http://127.0.0.1:port. */
  setTarget(url: string): void {
    this.target = url.replace(/\/$/, '');
  }

  /** Recorded frames of one type (by the JSON `type` field), optionally in one direction. */
  framesOfType(type: string, direction?: Direction): RecordedFrame[] {
    return this.frames.filter((f) => (direction === undefined || f.direction === direction) && frameType(f.text) === type);
  }

  /** Every text that passed the proxy: the frames as sent and, where a hook changed them, as forwarded. */
  allTexts(): string[] {
    const texts: string[] = [];
    for (const frame of this.frames) {
      texts.push(frame.text);
      if (typeof frame.forwarded === 'string') texts.push(frame.forwarded);
    }
    return texts;
  }

  clearHooks(): void {
    this.hooks.length = 0;
  }

  /** Sends `text` to the browsers whose hello announced `key`, as if the server sent it (recorded); how many got it. */
  inject(key: string, text: string): number {
    let sent = 0;
    for (const [conn, browser] of this.browsers) {
      if (conn.key !== key || browser.readyState !== WebSocket.OPEN) continue;
      this.frames.push({ conn: conn.id, direction: 'down', text, key, at: Date.now() });
      browser.send(text);
      sent++;
    }
    return sent;
  }

  /** Cuts the browser's connections whose hello announced `key`, as a dropped network would; the app reconnects. */
  disconnect(key: string): number {
    let cut = 0;
    for (const [conn, browser] of this.browsers) {
      if (conn.key !== key) continue;
      browser.terminate();
      cut++;
    }
    return cut;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    for (const socket of this.rawSockets) socket.destroy();
    this.wss.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forwardHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!this.target) {
      res.writeHead(503).end('no target');
      return;
    }
    const target = new URL(this.target);
    const headers: http.OutgoingHttpHeaders = { ...req.headers, host: target.host };
    for (const hop of HOP_BY_HOP) delete headers[hop];
    // A fresh connection per request (agent: false): no reused socket the server already closed.
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: false }, (answer) => {
      const back: http.OutgoingHttpHeaders = { ...answer.headers };
      for (const hop of HOP_BY_HOP) delete back[hop];
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, back);
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      this.problems.push(`HTTP ${req.method} ${req.url}: ${error.message}`);
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.target) {
      socket.destroy();
      return;
    }
    const wsTarget = `${this.target.replace(/^http/, 'ws')}${req.url ?? '/ws'}`;
    // Open the upstream first: if the server refuses (e.g. Origin), the browser is refused too.
    const upstream = new WebSocket(wsTarget, SUBPROTOCOL, { origin: req.headers.origin, perMessageDeflate: false });
    let settled = false;
    upstream.once('unexpected-response', (_request, response) => {
      settled = true;
      socket.end(`HTTP/1.1 ${response.statusCode ?? 502} ${response.statusMessage ?? 'Bad Gateway'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      upstream.terminate();
    });
    upstream.once('error', () => {
      if (!settled) {
        settled = true;
        socket.destroy();
      }
    });
    upstream.once('open', () => {
      settled = true;
      // Hold the server's first frames until the browser side is wired up.
      upstream.pause();
      this.wss.handleUpgrade(req, socket, head, (browser) => this.pair(browser, upstream));
    });
  }

  private pair(browser: WebSocket, upstream: WebSocket): void {
    const conn: ProxyConnection = { id: this.nextId++, data: {} };
    this.browsers.set(conn, browser);
    browser.once('close', () => this.browsers.delete(conn));
    this.sockets.add(browser);
    this.sockets.add(upstream);
    const pass = (from: WebSocket, to: WebSocket, direction: Direction) => {
      from.on('message', (raw: RawData, isBinary: boolean) => {
        if (isBinary) {
          // The protocol has no binary frames; pass them on so the server can refuse them.
          if (to.readyState === WebSocket.OPEN) to.send(raw, { binary: true });
          return;
        }
        const text = rawText(raw);
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        if (direction === 'up' && isHello(json)) conn.key = json.key;
        const record: RecordedFrame = { conn: conn.id, direction, text, key: conn.key, at: Date.now() };
        this.frames.push(record);
        let out: string | null | undefined;
        for (const hook of this.hooks) {
          out = hook({ text, json, conn, direction });
          if (out !== undefined) break;
        }
        if (out !== undefined && out !== text) record.forwarded = out;
        if (out === null) return;
        if (to.readyState === WebSocket.OPEN) to.send(out ?? text);
      });
      from.on('close', (code: number, reason: Buffer) => {
        this.sockets.delete(from);
        closeWith(to, code, reason);
      });
      from.on('error', () => to.terminate());
    };
    pass(browser, upstream, 'up');
    pass(upstream, browser, 'down');
    upstream.resume();
  }
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

function rawText(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}

function isHello(json: unknown): json is { type: 'hello'; key: string } {
  return typeof json === 'object' && json !== null && (json as { type?: unknown }).type === 'hello' && typeof (json as { key?: unknown }).key === 'string';
}

/** The `type` of a JSON frame, or undefined. */
export function frameType(text: string): string | undefined {
  try {
    const value = JSON.parse(text) as { type?: unknown };
    return typeof value?.type === 'string' ? value.type : undefined;
  } catch {
    return undefined;
  }
}

/** Passes a close on; codes that may not be sent in a close frame become a plain close. */
function closeWith(socket: WebSocket, code: number, reason: Buffer): void {
  if (socket.readyState !== WebSocket.OPEN && socket.readyState !== WebSocket.CONNECTING) return;
  const sendable = code === 1000 || (code >= 3000 && code <= 4999) || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006);
  try {
    if (sendable) socket.close(code, reason.subarray(0, 123));
    else socket.close();
  } catch {
    socket.terminate();
  }
}
