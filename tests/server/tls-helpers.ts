// Helpers for the local-CA tests: a fake clock (no real hours pass), fake network
// interfaces, a server with the local CA on, and TLS connections that report the
// certificate they were given.
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { NetworkInterfaceInfo } from 'node:os';
import type { Config } from '../../signal-server/config.ts';
import type { Clock } from '../../signal-server/local-tls.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import type { Scope } from './helpers.ts';

export const DAY_MS = 24 * 3600_000;

/** Time moves only when a test says so; `every` callbacks run in time order as it passes. */
export class FakeClock implements Clock {
  private timers: { ms: number; run: () => void; next: number }[] = [];

  constructor(private time = Date.now()) {}

  now(): number {
    return this.time;
  }

  every(ms: number, run: () => void): () => void {
    const timer = { ms, run, next: this.time + ms };
    this.timers.push(timer);
    return () => (this.timers = this.timers.filter((t) => t !== timer));
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.time = due.next;
      due.next += due.ms;
      due.run();
    }
    this.time = end;
  }

  get pendingTimers(): number {
    return this.timers.length;
  }
}

type Address = { address: string; family: 'IPv4' | 'IPv6'; internal?: boolean };

/** A mutable set of interfaces, as os.networkInterfaces() would report them. */
export class FakeInterfaces {
  constructor(public addresses: Address[]) {}

  readonly source = (): NodeJS.Dict<NetworkInterfaceInfo[]> => ({
    eth0: this.addresses.map(
      (a) => ({ address: a.address, family: a.family, internal: a.internal ?? false, netmask: '', mac: '', cidr: null }) as NetworkInterfaceInfo,
    ),
  });
}

export function lanInterfaces(): FakeInterfaces {
  return new FakeInterfaces([
    { address: '127.0.0.1', family: 'IPv4', internal: true },
    { address: '::1', family: 'IPv6', internal: true },
    { address: '192.168.1.20', family: 'IPv4' },
    { address: '10.0.0.7', family: 'IPv4' },
    { address: 'fd00::20', family: 'IPv6' },
    { address: 'fe80::1234', family: 'IPv6' },
  ]);
}

/** A server with the local CA on (a LAN --host, free ports), the fake clock and interfaces. */
export function localCaServer(
  scope: Scope,
  overrides: Partial<Config> = {},
  fakes: { clock?: FakeClock; interfaces?: FakeInterfaces; hostname?: string } = {},
): Promise<RunningServer> {
  return scope.server(
    { host: '0.0.0.0', httpsPort: 0, localCa: true, staticDir: scope.staticDir(), ...overrides },
    { localCa: { clock: fakes.clock ?? new FakeClock(), interfaces: (fakes.interfaces ?? lanInterfaces()).source, hostname: fakes.hostname ?? 'wisp-pi' } },
  );
}

/** Opens a TLS connection trusting only `caPem`; resolves once the handshake is done. */
export function tlsConnect(port: number, caPem: string, servername = 'localhost'): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: caPem, servername }, () => resolve(socket));
    socket.once('error', reject);
  });
}

export function peerCertificate(socket: tls.TLSSocket): X509Certificate {
  return new X509Certificate(socket.getPeerCertificate().raw);
}

/** One HTTP/1.1 request over an open socket: the status line of the answer. */
export function statusLineOver(socket: tls.TLSSocket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve(text.slice(0, end));
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  });
}
