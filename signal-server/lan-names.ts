// The names this machine answers to on the LAN: what the local CA's server certificate
// must cover and what main.ts prints. The address source is injectable for tests.
import { isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

export type InterfaceSource = () => NodeJS.Dict<NetworkInterfaceInfo[]>;
export const systemInterfaces: InterfaceSource = networkInterfaces;

export interface MachineNames {
  /** IP addresses, IPv4 first, sorted. */
  readonly ips: readonly string[];
  /** DNS names, lower case, sorted. */
  readonly dns: readonly string[];
}

/** Non-internal addresses phones can reach: every IPv4 and IPv6 address but link-local fe80::/10. */
export function lanAddresses(interfaces: InterfaceSource): { ipv4: string[]; ipv6: string[] } {
  const ipv4 = new Set<string>();
  const ipv6 = new Set<string>();
  for (const addresses of Object.values(interfaces())) {
    for (const address of addresses ?? []) {
      if (address.internal) continue;
      if (address.family === 'IPv4') ipv4.add(address.address);
      // Link-local addresses need a zone (%eth0) that no URL a phone opens carries.
      else if (!/^fe[89ab]/i.test(address.address)) ipv6.add(canonicalIp(address.address));
    }
  }
  return { ipv4: [...ipv4].sort(), ipv6: [...ipv6].sort() };
}

/** Every LAN address plus loopback; the host name, <host>.local, localhost and the extra names. */
export function machineNames(interfaces: InterfaceSource, hostname: string, extraNames: readonly string[]): MachineNames {
  const { ipv4, ipv6 } = lanAddresses(interfaces);
  const ips = [...new Set([...ipv4, '127.0.0.1'])].sort();
  const ip6s = [...new Set([...ipv6, '::1'])].sort();
  const host = hostname.toLowerCase().replace(/\.local$/, '');
  const dns = new Set(['localhost', host, `${host}.local`]);
  const extraIps: string[] = [];
  for (const name of extraNames) {
    if (isIP(name)) extraIps.push(canonicalIp(name));
    else dns.add(name.toLowerCase());
  }
  return { ips: [...new Set([...ips, ...ip6s, ...extraIps])], dns: [...dns].sort() };
}

/** True when `have` lists every name in `need`. */
export function coversAll(have: MachineNames, need: MachineNames): boolean {
  return need.ips.every((ip) => have.ips.includes(ip)) && need.dns.every((name) => have.dns.includes(name));
}

export function sameNames(a: MachineNames, b: MachineNames): boolean {
  return coversAll(a, b) && coversAll(b, a);
}

/** One spelling per address (IPv6 compressed and lower case, as in URLs), so lists compare. */
export function canonicalIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  return new URL(`http://[${ip}]`).hostname.slice(1, -1);
}
