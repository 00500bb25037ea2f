// Wires the hub to an HTTP(S) server and listens. Used by main.ts, tests and benches.
import type http from 'node:http';
import type https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { serveMode, type Config } from './config.ts';
import { LIMITS } from './protocol/protocol.ts';
import { Hub } from './hub.ts';
import { createHttpServers } from './http.ts';
import { LocalTls, type Clock } from './local-tls.ts';
import type { InterfaceSource } from './lan-names.ts';
import { Store } from './store.ts';
import { hashToken, newAdminToken } from './hashed-secrets.ts';
import { forgetEveryAdmin } from './remembered-admins.ts';
import { memoryEngine, type Engine } from './engine.ts';

export interface ServerOptions {
  /** A new admin token to show the operator (first start, or hourly rotation); `set`: from --admin-token. */
  onAdminToken?(token: string | undefined, why: 'first-start' | 'rotated' | 'set'): void;
  /** The admin sent /shutdown; by default the server just closes. */
  onShutdownRequest?(): void;
  /** Tests: the local CA's clock, the machine's addresses and host name (also for the Host check). */
  localCa?: { clock?: Clock; interfaces?: InterfaceSource; hostname?: string };
}

/** Writes a new admin token's hash; a token that differs from the stored one forgets every remembered admin. */
async function saveAdminToken(store: Store, token: string, why: string): Promise<void> {
  const hash = hashToken(token);
  if (hash !== store.adminTokenHash) await forgetEveryAdmin(store, why);
  await store.saveAdmin(hash);
}

/** Makes sure an admin token exists; only its hash is ever written. */
async function prepareAdminToken(store: Store, config: Config, options: ServerOptions): Promise<void> {
  if (config.adminToken) {
    await saveAdminToken(store, config.adminToken, 'a new admin token was set');
    options.onAdminToken?.(undefined, 'set');
  } else if (config.rotateAdminToken || !store.adminTokenHash) {
    const token = newAdminToken();
    // Cluster nodes starting at once: only the one whose token is kept makes and prints it.
    if (!config.rotateAdminToken && !(await store.claimAdmin(hashToken(token)))) return;
    await saveAdminToken(store, token, 'a new admin token was made');
    options.onAdminToken?.(token, config.rotateAdminToken ? 'rotated' : 'first-start');
  }
}

export interface RunningServer {
  readonly hub: Hub;
  readonly port: number;
  /** Base URL on loopback, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Whether Wisp's local CA serves HTTPS (see serveMode); the fields below are set only then. */
  readonly localCa: boolean;
  readonly httpsPort?: number;
  /** The HTTPS base URL on loopback, e.g. https://localhost:8443 */
  readonly httpsUrl?: string;
  /** The CA certificate (PEM) and its SHA-256 fingerprint (AA:BB:…) as phones show it. */
  readonly caPem?: string;
  readonly caFingerprint?: string;
  /** The certificate keeper (tests look at its current certificate and re-checks). */
  readonly tls?: LocalTls;
  /** Sends every client the shutting-down close code, then stops listening. */
  close(): Promise<void>;
}

export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  // Cluster mode keeps the durable state in Redis, shared by every node (loaded only then).
  const store = config.redisUrl ? await (await import('./cluster/redis-store.ts')).RedisStore.connect(config.redisUrl) : await Store.open(config.dataDir);
  // Before anything else is written: a bad CA file stops the start (StoreError).
  const tls =
    serveMode(config) === 'local-ca'
      ? await LocalTls.open({ dataDir: config.dataDir, extraNames: config.tlsNames, ...options.localCa })
      : undefined;
  await prepareAdminToken(store, config, options);
  let running: RunningServer | undefined;
  // Only with --redis is a Redis client ever loaded.
  const engine: Engine = config.redisUrl
    ? await (await import('./cluster/redis-engine.ts')).RedisEngine.open({ url: config.redisUrl, historyMaxAgeMs: config.historyMaxAgeMs })
    : memoryEngine;
  const hub = new Hub(config, store, () => (options.onShutdownRequest ? options.onShutdownRequest() : void running?.close()), engine);
  await engine.start(hub);
  const rotation = config.rotateAdminToken
    ? setInterval(() => {
        const token = newAdminToken();
        saveAdminToken(store, token, 'the admin token was rotated').then(
          () => options.onAdminToken?.(token, 'rotated'),
          (error: unknown) => console.error(`wisp: could not rotate the admin token: ${(error as Error).message}`),
        );
      }, LIMITS.adminTokenRotateMs)
    : undefined;
  let httpsPort = 0;
  const servers = createHttpServers(
    config,
    hub,
    tls && { ca: tls.ca, certificate: tls.current, httpsPort: () => httpsPort },
    { interfaces: options.localCa?.interfaces, hostname: options.localCa?.hostname },
  );
  const listeners: (http.Server | https.Server)[] = [servers.plain, ...(servers.secure ? [servers.secure] : [])];
  // Upgraded WebSocket sockets are not HTTP connections, so closeAllConnections() misses
  // them; a client that never answers the close frame would hold close() for 30 s.
  const sockets = new Set<Socket>();
  for (const server of listeners) {
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
  }
  try {
    await listen(servers.plain, config.host, config.port);
    if (servers.secure) {
      await listen(servers.secure, config.host, config.httpsPort);
      httpsPort = (servers.secure.address() as AddressInfo).port;
      tls!.watch(servers.secure);
    }
  } catch (error) {
    clearInterval(rotation);
    tls?.stop();
    hub.shutdown();
    for (const server of listeners) server.close();
    await store.close();
    throw error;
  }
  const port = (servers.plain.address() as AddressInfo).port;
  const scheme = serveMode(config) === 'own-certificate' ? 'https' : 'http';
  const loopback = config.host.includes(':') && config.host !== '::' ? `[${config.host}]` : config.host === '::' || config.host === '0.0.0.0' ? 'localhost' : config.host;

  let closing: Promise<void> | undefined;
  running = {
    hub,
    port,
    url: `${scheme}://${loopback}:${port}`,
    localCa: tls !== undefined,
    httpsPort: tls && httpsPort,
    httpsUrl: tls && `https://${loopback}:${httpsPort}`,
    caPem: tls?.ca.pem,
    caFingerprint: tls?.ca.fingerprint,
    tls,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        clearInterval(rotation);
        tls?.stop();
        hub.shutdown();
        let open = listeners.length;
        for (const server of listeners) server.close(() => --open === 0 && resolve());
        // Give close frames a moment to flush, then cut what is left.
        setTimeout(() => {
          for (const server of listeners) server.closeAllConnections();
          for (const socket of sockets) socket.destroy();
        }, LIMITS.shutdownFlushMs).unref();
      }).then(() => store.close())),
  };
  return running;
}

function listen(server: http.Server | https.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      // A machine without IPv6 cannot bind "::"; fall back to every IPv4 address.
      if (host === '::' && (error.code === 'EAFNOSUPPORT' || error.code === 'EADDRNOTAVAIL')) {
        server.off('error', onError);
        listen(server, '0.0.0.0', port).then(resolve, reject);
        return;
      }
      reject(error);
    };
    server.once('error', onError);
    server.listen({ host, port, ipv6Only: false }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
