// The address a connection comes from. Behind a reverse proxy every connection comes
// from the proxy, so when (and only when) the operator trusts it, the client is the
// right-most hop of X-Forwarded-For that is not itself a trusted proxy.
import { BlockList, isIP } from 'node:net';

function normalise(address: string): string {
  const trimmed = address.trim();
  return trimmed.startsWith('::ffff:') && isIP(trimmed.slice(7)) === 4 ? trimmed.slice(7) : trimmed;
}

/** Builds the list of trusted proxies from "loopback", addresses and CIDR ranges. */
export function trustedProxies(ranges: readonly string[]): BlockList | undefined {
  if (!ranges.length) return undefined;
  const list = new BlockList();
  for (const range of ranges) {
    if (range === 'loopback') {
      list.addSubnet('127.0.0.0', 8, 'ipv4');
      list.addAddress('::1', 'ipv6');
      continue;
    }
    const [address, bits] = range.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

export function clientAddress(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trusted: BlockList | undefined): string {
  const direct = normalise(socketAddress ?? 'unknown');
  if (!trusted || !isTrusted(trusted, direct) || forwardedFor === undefined) return direct;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map(normalise);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    // A malformed entry ends the chain: what is left of it cannot be believed.
    if (!isIP(hop)) return i === hops.length - 1 ? direct : hops[i + 1];
    if (!isTrusted(trusted, hop)) return hop;
  }
  return hops[0] ?? direct;
}
