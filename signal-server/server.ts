// Wires the hub to an HTTP(S) server and listens. Used by main.ts, tests and benches.
import type { AddressInfo, Socket } from 'node:net';
import type { Config } from './config.ts';
import { LIMITS } from './protocol/protocol.ts';
import { Hub } from './hub.ts';
import { createHttpServer } from './http.ts';
import { Store } from './store.ts';
import { hashToken, newAdminToken } from './hashed-secrets.ts';
import { forgetEveryAdmin } from './remembered-admins.ts';

export interface ServerOptions {
  /** A new admin token to show the operator (first start, or hourly rotation); `set`: from --admin-token. */
  onAdminToken?(token: string | undefined, why: 'first-start' | 'rotated' | 'set'): void;
  /** The admin sent /shutdown; by default the server just closes. */
  onShutdownRequest?(): void;
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
    await saveAdminToken(store, token, 'a new admin token was made');
    options.onAdminToken?.(token, config.rotateAdminToken ? 'rotated' : 'first-start');
  }
}

export interface RunningServer {
  readonly hub: Hub;
  readonly port: number;
  /** Base URL on loopback, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Sends every client the shutting-down close code, then stops listening. */
  close(): Promise<void>;
}

export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const store = await Store.open(config.dataDir);
  await prepareAdminToken(store, config, options);
  let running: RunningServer | undefined;
  const hub = new Hub(config, store, () => (options.onShutdownRequest ? options.onShutdownRequest() : void running?.close()));
  const rotation = config.rotateAdminToken
    ? setInterval(() => {
        const token = newAdminToken();
        saveAdminToken(store, token, 'the admin token was rotated').then(
          () => options.onAdminToken?.(token, 'rotated'),
          (error: unknown) => console.error(`wisp: could not rotate the admin token: ${(error as Error).message}`),
        );
      }, LIMITS.adminTokenRotateMs)
    : undefined;
  const server = createHttpServer(config, hub);
  // Upgraded WebSocket sockets are not HTTP connections, so closeAllConnections() misses
  // them; a client that never answers the close frame would hold close() for 30 s.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await listen(server, config.host, config.port);
  const port = (server.address() as AddressInfo).port;
  const scheme = config.tlsCert ? 'https' : 'http';
  const loopback = config.host.includes(':') && config.host !== '::' ? `[${config.host}]` : config.host === '::' || config.host === '0.0.0.0' ? 'localhost' : config.host;

  let closing: Promise<void> | undefined;
  running = {
    hub,
    port,
    url: `${scheme}://${loopback}:${port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        clearInterval(rotation);
        hub.shutdown();
        server.close(() => resolve());
        // Give close frames a moment to flush, then cut what is left.
        setTimeout(() => {
          server.closeAllConnections();
          for (const socket of sockets) socket.destroy();
        }, LIMITS.shutdownFlushMs).unref();
      }).then(() => store.flush())),
  };
  return running;
}

function listen(server: ReturnType<typeof createHttpServer>, host: string, port: number): Promise<void> {
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
