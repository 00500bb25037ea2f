// The HTTP(S) side: the built app as static files with security headers, /healthz,
// and the WebSocket upgrade (path, subprotocol and Origin checked before accepting).
// With the local CA, the app is on the HTTPS listener; plain HTTP keeps it for loopback
// and otherwise offers the setup page (the CA to install) and redirects to HTTPS.
import http from 'node:http';
import { hostname as systemHostname } from 'node:os';
import type { TLSSocket } from 'node:tls';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import sirv from 'sirv';
import { WebSocketServer } from 'ws';
import { LIMITS, SUBPROTOCOL, WS_PATH } from './protocol/protocol.ts';
import { serveMode, type Config } from './config.ts';
import type { Hub } from './hub.ts';
import { SERVER_VERSION } from './hub.ts';
import { clientAddress, trustedProxies } from './client-address.ts';
import { hostnameOf, isLoopbackHostHeader } from './loopback.ts';
import { serveSetup, type SetupSite } from './setup-page.ts';
import { AllowedHosts, configuredNames } from './allowed-hosts.ts';
import { systemInterfaces, type InterfaceSource } from './lan-names.ts';

export interface LocalCaSite extends SetupSite {
  /** The server certificate the HTTPS listener starts with (renewals use setSecureContext). */
  readonly certificate: { readonly certPem: string; readonly keyPem: string };
}

export interface WispHttpServers {
  /** On --port: the app (plain or with the operator's certificate), or with the local CA the setup page and redirects. */
  readonly plain: http.Server;
  /** With the local CA: the app over HTTPS on --https-port. */
  readonly secure?: https.Server;
}

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
  // The camera for the app itself only (scanning a safety number's QR code); nothing else.
  'Permissions-Policy': 'camera=(self), microphone=(), geolocation=(), payment=(), usb=()',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** Hashed build assets never change; everything else must be revalidated. */
function cacheControl(pathname: string): string {
  return pathname.startsWith('/assets/') ? `public, max-age=${LIMITS.assetMaxAgeSeconds}, immutable` : 'no-cache';
}

/** The machine the Host check looks at: its addresses and host name (injectable for tests). */
export interface Machine {
  readonly interfaces?: InterfaceSource;
  readonly hostname?: string;
}

/**
 * Only with --tls-cert (a real name the operator owns). With the local CA the plain port
 * serves /setup on the same names and addresses as HTTPS, and HSTS is per host, not per
 * port: a browser that saw it would rewrite http://wisp-pi.local:8080/setup to https on the
 * plain port and fail, and http://localhost:8080 likewise. (Browsers ignore it for IP
 * addresses anyway.) No includeSubDomains: other names under the domain are not Wisp's.
 */
const HSTS = `max-age=${LIMITS.hstsMaxAgeSeconds}`;

export function createHttpServers(config: Config, hub: Hub, site?: LocalCaSite, machine: Machine = {}): WispHttpServers {
  const mode = serveMode(config);
  const ownCertificate = mode === 'own-certificate' ? { cert: readFileSync(config.tlsCert!), key: readFileSync(config.tlsKey!) } : undefined;
  const hosts = new AllowedHosts({
    interfaces: machine.interfaces ?? systemInterfaces,
    hostname: machine.hostname ?? systemHostname(),
    extraNames: configuredNames(config, ownCertificate?.cert),
  });
  // Before anything else: a foreign Host (DNS rebinding) gets neither the app nor the WebSocket.
  const onlyOurHosts = (listener: http.RequestListener): http.RequestListener => (req, res) => {
    if (!hosts.allows(req.headers.host)) return misdirected(res);
    listener(req, res);
  };
  const onlyOurHostsUpgrade = (listener: UpgradeListener): UpgradeListener => (req, socket, head) => {
    if (!hosts.allows(req.headers.host)) return misdirectedUpgrade(socket);
    listener(req, socket, head);
  };

  const serveStatic = sirv(config.staticDir, {
    etag: true,
    dev: false,
    // The build writes .br and .gz beside each file (scripts/precompress.mjs).
    brotli: true,
    gzip: true,
    setHeaders: (res, pathname) => res.setHeader('Cache-Control', cacheControl(pathname)),
  });

  const handleApp: http.RequestListener = (req, res) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (site && serveSetup(req, res, site)) return;
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
      // Degraded (Redis out of reach) still answers 200: the node serves its own people, and
      // a proxy that took every node out while Redis restarts would cut everyone off.
      res.end(JSON.stringify({ ok: true, status: hub.engine.health, engine: hub.engine.kind, version: SERVER_VERSION, connections: hub.size }));
      return;
    }
    serveStatic(req, res, () => {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' }).end('Not found');
    });
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: LIMITS.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  const proxies = trustedProxies(config.trustProxy);
  const upgradeApp = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const refusal = refuseUpgrade(req, config);
    if (refusal) return reject(socket, refusal.status, refusal.reason);
    const ip = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], proxies);
    wss.handleUpgrade(req, socket, head, (ws) => hub.accept(ws, ip));
  };

  // Slow clients (slowloris): a request head or body that never finishes gets 408 and the
  // socket is closed, checked every timeoutCheckMs (Node's default is every 30 s).
  const timeouts: http.ServerOptions = {
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionsCheckingInterval: config.timeoutCheckMs,
    // A request without Host gets the Host check's 421 rather than Node's bare 400.
    requireHostHeader: false,
  };
  if (ownCertificate) {
    const withHsts: http.RequestListener = (req, res) => {
      res.setHeader('Strict-Transport-Security', HSTS);
      handleApp(req, res);
    };
    const server = https.createServer({ ...timeouts, ...ownCertificate }, onlyOurHosts(withHsts));
    server.on('upgrade', onlyOurHostsUpgrade(upgradeApp));
    return { plain: server };
  }
  if (mode === 'plain' || !site) {
    const server = http.createServer(timeouts, onlyOurHosts(handleApp));
    server.on('upgrade', onlyOurHostsUpgrade(upgradeApp));
    return { plain: server };
  }

  // No HSTS here: see HSTS above.
  const secure = https.createServer({ ...timeouts, cert: site.certificate.certPem, key: site.certificate.keyPem }, onlyOurHosts(handleApp));
  secure.on('upgrade', onlyOurHostsUpgrade(upgradeApp));
  // Plain HTTP: loopback is a secure context already and keeps the whole app.
  const plain = http.createServer(timeouts, onlyOurHosts((req, res) => {
    if (isLoopbackHostHeader(req.headers.host)) return handleApp(req, res);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (serveSetup(req, res, site)) return;
    redirectToHttps(req, res, site.httpsPort());
  }));
  plain.on('upgrade', onlyOurHostsUpgrade((req, socket, head) => {
    if (isLoopbackHostHeader(req.headers.host)) return upgradeApp(req, socket, head);
    // A LAN page on plain HTTP cannot run the app; its WebSocket would carry chat unencrypted.
    reject(socket, 403, 'Forbidden');
  }));
  return { plain, secure };
}

/**
 * The same host, path and query on the HTTPS port. GET and HEAD get 302, not 301: a 301 is
 * cached for good, and a phone would keep going to the HTTPS port after the operator turns
 * the local CA off. Other methods get 308, which keeps the method and body.
 */
function redirectToHttps(req: http.IncomingMessage, res: http.ServerResponse, httpsPort: number): void {
  const hostname = hostnameOf(req.headers.host);
  if (!hostname) {
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Bad Host header');
    return;
  }
  const target = new URL(req.url ?? '/', 'http://wisp');
  const port = httpsPort === 443 ? '' : `:${httpsPort}`;
  const status = req.method === 'GET' || req.method === 'HEAD' ? 302 : 308;
  res.writeHead(status, { Location: `https://${hostname}${port}${target.pathname}${target.search}`, 'Cache-Control': 'no-store' }).end();
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

/** An --origin, or this listener's own origin: the same scheme, host and port as the request. */
function originAllowed(origin: string, req: http.IncomingMessage, config: Config): boolean {
  if (config.origins.includes(origin)) return true;
  // An http:// page must not reach an https:// server's socket (or the reverse) unless listed.
  const scheme = (req.socket as TLSSocket).encrypted ? 'https:' : 'http:';
  try {
    const url = new URL(origin);
    return url.protocol === scheme && url.host === req.headers.host;
  } catch {
    return false;
  }
}

type UpgradeListener = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

const MISDIRECTED = 'This server does not answer to that host name.\n';

function misdirected(res: http.ServerResponse): void {
  res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'close' }).end(MISDIRECTED);
}

/** The 421 as a raw response, then the socket is destroyed once it is written: no upgrade. */
function misdirectedUpgrade(socket: Duplex): void {
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(MISDIRECTED)}\r\n\r\n${MISDIRECTED}`,
  );
}

function reject(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
