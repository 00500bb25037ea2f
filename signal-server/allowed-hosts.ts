// Which Host names this server answers to. A page on a foreign name whose DNS was pointed
// at this machine (DNS rebinding) sends that foreign Host; refusing it keeps such pages from
// reading the app or opening the WebSocket. The machine's names follow address changes.
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { LIMITS } from './protocol/protocol.ts';
import type { Config } from './config.ts';
import { canonicalIp, machineNames, type InterfaceSource } from './lan-names.ts';
import { hostnameOf, isLoopbackHost } from './loopback.ts';

/** The value of --allow-host that turns the check off. */
export const ANY_HOST = '*';

export interface AllowedHostsOptions {
  readonly interfaces: InterfaceSource;
  readonly hostname: string;
  /** --tls-name, --allow-host, the --origin hosts, the --tls-cert names, a named --host. */
  readonly extraNames: readonly string[];
  readonly now?: () => number;
}

export class AllowedHosts {
  private names: ReadonlySet<string> = new Set();
  private computedAt = -Infinity;
  private readonly now: () => number;

  constructor(private readonly options: AllowedHostsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** True when a request's Host header (port ignored) names this server. */
  allows(hostHeader: string | undefined): boolean {
    if (this.options.extraNames.includes(ANY_HOST)) return true;
    const hostname = hostnameOf(hostHeader);
    if (hostname === undefined) return false;
    const name = normalName(hostname);
    if (isLoopbackHost(name)) return true;
    const names = this.current();
    if (names.has(name)) return true;
    // A wildcard certificate name (*.example.org) covers one label, as TLS does.
    const dot = name.indexOf('.');
    return dot > 0 && names.has(`*${name.slice(dot)}`);
  }

  /** The machine's names, recomputed when older than allowedHostsCacheMs (addresses come and go). */
  private current(): ReadonlySet<string> {
    const now = this.now();
    if (now - this.computedAt < LIMITS.allowedHostsCacheMs) return this.names;
    const machine = machineNames(this.options.interfaces, this.options.hostname, []);
    const extra = this.options.extraNames.map(normalName);
    this.names = new Set([...machine.ips, ...machine.dns, ...extra]);
    this.computedAt = now;
    return this.names;
  }
}

/** Lower case, IPv6 without brackets and compressed, no trailing dot, so spellings compare. */
function normalName(hostname: string): string {
  const bare = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  return isIP(bare) === 6 ? canonicalIp(bare) : bare;
}

/** The DNS names and IP addresses in a PEM certificate's subjectAltName. */
export function certificateNames(pem: string | Buffer): string[] {
  const san = new X509Certificate(pem).subjectAltName ?? '';
  const names: string[] = [];
  for (const entry of san.split(',')) {
    const match = /^\s*(DNS|IP Address):(.+?)\s*$/.exec(entry);
    if (match) names.push(match[2]);
  }
  return names;
}

/** The names from the config: --tls-name, --allow-host, the --origin hosts, a --host that is not a wildcard, and the certificate's. */
export function configuredNames(config: Pick<Config, 'tlsNames' | 'allowHosts' | 'origins' | 'host'>, certificatePem?: string | Buffer): string[] {
  const names = [...config.tlsNames, ...config.allowHosts, ...config.origins.map((origin) => new URL(origin).hostname)];
  if (config.host !== '::' && config.host !== '0.0.0.0') names.push(config.host);
  if (certificatePem !== undefined) names.push(...certificateNames(certificatePem));
  return names;
}
