// Wires the hub to an HTTP(S) server and listens. Used by main.ts, tests and benches.
import type { AddressInfo, Socket } from 'node:net';
import type { Config } from './config.ts';
import { Hub } from './hub.ts';
import { createHttpServer } from './http.ts';

export interface RunningServer {
  readonly hub: Hub;
  readonly port: number;
  /** Base URL on loopback, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Sends every client the shutting-down close code, then stops listening. */
  close(): Promise<void>;
}

export async function startServer(config: Config): Promise<RunningServer> {
  const hub = new Hub(config);
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
  return {
    hub,
    port,
    url: `${scheme}://${loopback}:${port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        hub.shutdown();
        server.close(() => resolve());
        // Give close frames a moment to flush, then cut what is left.
        setTimeout(() => {
          server.closeAllConnections();
          for (const socket of sockets) socket.destroy();
        }, 250).unref();
      })),
  };
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
