// The HTTP(S) side: the built app as static files with security headers, /healthz,
// and the WebSocket upgrade (path, subprotocol and Origin checked before accepting).
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import sirv from 'sirv';
import { WebSocketServer } from 'ws';
import { LIMITS, SUBPROTOCOL, WS_PATH } from './protocol/protocol.ts';
import type { Config } from './config.ts';
import type { Hub } from './hub.ts';
import { SERVER_VERSION } from './hub.ts';
import { clientAddress, trustedProxies } from './client-address.ts';

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    // blob: for received pictures' previews; nothing in the app uses data: URLs.
    "img-src 'self' blob:",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
    // DOM sinks take only Trusted Types: Lit's policy, one for the service worker URL and
    // one for the private-room key derivation worker's URL.
    "require-trusted-types-for 'script'",
    'trusted-types lit-html wisp-sw wisp-worker',
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** Hashed build assets never change; everything else must be revalidated. */
function cacheControl(pathname: string): string {
  return pathname.startsWith('/assets/') ? `public, max-age=${LIMITS.assetMaxAgeSeconds}, immutable` : 'no-cache';
}

export function createHttpServer(config: Config, hub: Hub): http.Server {
  const serveStatic = sirv(config.staticDir, {
    etag: true,
    dev: false,
    setHeaders: (res, pathname) => res.setHeader('Cache-Control', cacheControl(pathname)),
  });

  const handle: http.RequestListener = (req, res) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (req.method === 'POST' && req.url === '/share') {
      // Shares are handled by the app's service worker; without one, just open the app.
      res.writeHead(303, { Location: '/' }).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (req.url === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify({ ok: true, version: SERVER_VERSION, connections: hub.size }));
      return;
    }
    serveStatic(req, res, () => {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' }).end('Not found');
    });
  };

  // Slow clients (slowloris): a request head or body that never finishes gets 408 and the
  // socket is closed, checked every timeoutCheckMs (Node's default is every 30 s).
  const timeouts: http.ServerOptions = {
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionsCheckingInterval: config.timeoutCheckMs,
  };
  const server =
    config.tlsCert && config.tlsKey
      ? https.createServer({ ...timeouts, cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) }, handle)
      : http.createServer(timeouts, handle);

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: LIMITS.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });

  const proxies = trustedProxies(config.trustProxy);
  server.on('upgrade', (req, socket, head) => {
    const refusal = refuseUpgrade(req, config);
    if (refusal) return reject(socket, refusal.status, refusal.reason);
    const ip = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], proxies);
    wss.handleUpgrade(req, socket, head, (ws) => hub.accept(ws, ip));
  });
  return server;
}

function refuseUpgrade(req: http.IncomingMessage, config: Config): { status: number; reason: string } | undefined {
  const url = new URL(req.url ?? '/', 'http://wisp');
  if (url.pathname !== WS_PATH) return { status: 404, reason: 'Not Found' };
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  if (!protocols.includes(SUBPROTOCOL)) return { status: 400, reason: 'Bad Request' };
  const origin = req.headers.origin;
  // Non-browser clients send no Origin; browsers always do, and that is what CSRF needs.
  if (origin !== undefined && !originAllowed(origin, req, config)) return { status: 403, reason: 'Forbidden' };
  return undefined;
}

function originAllowed(origin: string, req: http.IncomingMessage, config: Config): boolean {
  if (config.origins.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function reject(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
