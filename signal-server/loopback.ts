// Which hosts are this machine only. Loopback use stays plain HTTP: browsers treat
// http://localhost as a secure context, so it needs no certificate and no prompts.
import { isIP } from 'node:net';

/** An address or name given to --host (no port): localhost, 127.x.x.x or ::1. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** A request's Host header (name or address, maybe with a port) names this machine only. */
export function isLoopbackHostHeader(hostHeader: string | undefined): boolean {
  const hostname = hostnameOf(hostHeader);
  return hostname !== undefined && isLoopbackHost(hostname);
}

/** The host name of a Host header without its port ("[::1]" keeps its brackets); undefined if it is not one. */
export function hostnameOf(hostHeader: string | undefined): string | undefined {
  // Anything beyond host[:port] (a path, user info, spaces) means it is not a plain Host header.
  if (!hostHeader || /[^A-Za-z0-9.:[\]_-]/.test(hostHeader)) return undefined;
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return undefined;
  }
}
