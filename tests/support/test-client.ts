// A real `ws` client that speaks Wisp: answers the challenge with a real identity key
// and records every frame, so tests can wait for what they expect.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import WebSocket from 'ws';
import {
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  WS_PATH,
  helloSigningInput,
  parseServerFrame,
  type ServerFrame,
  type ServerFrameOf,
} from '../../signal-server/protocol/protocol.ts';

export interface Identity {
  key: string;
  privateKey: KeyObject;
}

export function makeIdentity(): Identity {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { key: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'), privateKey };
}

export function signChallenge(identity: Identity, nonce: string): string {
  return sign('sha256', helloSigningInput(nonce), { key: identity.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}

export interface ConnectOptions {
  name?: string;
  identity?: Identity;
  origin?: string;
  /** Stop after the challenge: the test sends its own hello. */
  noHello?: boolean;
  timeoutMs?: number;
  /** More `ws` client options, e.g. `ca` for a wss:// URL. */
  ws?: WebSocket.ClientOptions;
}

type Waiter = { match: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void };

export class TestClient {
  readonly frames: ServerFrame[] = [];
  /** Raw text of every frame that failed to parse: a server bug if ever non-empty. */
  readonly invalid: string[] = [];
  readonly identity: Identity;
  nonce = '';
  welcome?: ServerFrameOf<'welcome'>;
  closed?: { code: number; reason: string };
  private waiters: Waiter[] = [];
  private closeWaiters: ((c: { code: number; reason: string }) => void)[] = [];

  private constructor(
    readonly ws: WebSocket,
    identity: Identity,
  ) {
    this.identity = identity;
    ws.on('message', (data) => {
      const text = data.toString();
      const parsed = parseServerFrame(text);
      if (!parsed.ok) {
        this.invalid.push(text);
        return;
      }
      this.frames.push(parsed.frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(parsed.frame)) return true;
        w.resolve(parsed.frame);
        return false;
      });
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const resolve of this.closeWaiters) resolve(this.closed);
      this.closeWaiters = [];
    });
    ws.on('error', () => {});
  }

  get id(): string {
    return this.welcome!.id;
  }

  get name(): string {
    return this.welcome!.name;
  }

  static async connect(baseUrl: string, options: ConnectOptions = {}): Promise<TestClient> {
    const wsUrl = baseUrl.replace(/^http/, 'ws') + WS_PATH;
    const ws = new WebSocket(wsUrl, SUBPROTOCOL, { ...options.ws, ...(options.origin ? { origin: options.origin } : {}) });
    const client = new TestClient(ws, options.identity ?? makeIdentity());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    const challenge = await client.next('challenge', () => true, options.timeoutMs);
    client.nonce = challenge.nonce;
    if (options.noHello) return client;
    client.send({ type: 'hello', v: PROTOCOL_VERSION, key: client.identity.key, sig: signChallenge(client.identity, client.nonce), name: options.name });
    client.welcome = await client.next('welcome', () => true, options.timeoutMs);
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** Resolves with the first frame of `type` (already received or future) matching `match`. */
  next<T extends ServerFrame['type']>(type: T, match: (f: ServerFrameOf<T>) => boolean = () => true, timeoutMs = 5000): Promise<ServerFrameOf<T>> {
    const test = (f: ServerFrame) => f.type === type && match(f as ServerFrameOf<T>);
    const seen = this.frames.find(test);
    if (seen) {
      this.frames.splice(this.frames.indexOf(seen), 1);
      return Promise.resolve(seen as ServerFrameOf<T>);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for "${type}"; got: ${this.frames.map((f) => f.type).join(', ') || 'nothing'}`));
      }, timeoutMs);
      const waiter: Waiter = {
        match: test,
        resolve: (f) => {
          clearTimeout(timer);
          const index = this.frames.indexOf(f);
          if (index >= 0) this.frames.splice(index, 1);
          resolve(f as ServerFrameOf<T>);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Every frame of `type` received so far (not consumed). */
  all<T extends ServerFrame['type']>(type: T): ServerFrameOf<T>[] {
    return this.frames.filter((f) => f.type === type) as ServerFrameOf<T>[];
  }

  waitClose(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for close')), timeoutMs);
      this.closeWaiters.push((c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}
