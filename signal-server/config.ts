// Command-line flags and environment -> one frozen Config. Bad input fails at start
// with a clear sentence (ConfigError), which main.ts prints before exiting with 2.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { isIP } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { LIMITS } from './protocol/protocol.ts';
import type { IceConfig } from './ice.ts';
import { isLoopbackHost } from './loopback.ts';
import { ANY_HOST } from './allowed-hosts.ts';

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly staticDir: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** --local-ca: Wisp's own CA serves HTTPS on httpsPort (see serveMode for when it really does). */
  readonly localCa: boolean;
  readonly httpsPort: number;
  /** Extra names (or addresses) for the local CA's server certificate. */
  readonly tlsNames: readonly string[];
  /**
   * Extra Host names the server answers to (its own names and addresses always are); "*"
   * turns the Host check off.
   */
  readonly allowHosts: readonly string[];
  /** Extra origins allowed to open the WebSocket; the server's own origin always is. */
  readonly origins: readonly string[];
  readonly heartbeatMs: number;
  readonly maxConnectionsPerIp: number;
  readonly sayPerMinute: number;
  readonly sayBurst: number;
  readonly presenceWindowMs: number;
  /**
   * Slow-client limits, from LIMITS; no flags, but tests shorten them. HTTP: request head,
   * whole request, idle keep-alive, and how often Node checks the first two.
   */
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly timeoutCheckMs: number;
  /** WebSocket: hello within this; a closed socket's reply within closeGraceMs; unsent backlog at most sendBufferMaxBytes. */
  readonly helloTimeoutMs: number;
  readonly closeGraceMs: number;
  readonly sendBufferMaxBytes: number;
  readonly quiet: boolean;
  readonly ice: IceConfig;
  readonly maxFileBytes: number;
  readonly relayFileMaxBytes: number;
  /** Replaces the admin token with this one at start (only its hash is stored). */
  readonly adminToken?: string;
  /** The original behaviour: a new admin token every hour, printed. */
  readonly rotateAdminToken: boolean;
  /** A server-wide password: nothing but the password prompt until it is given once. */
  readonly password?: string;
  /** Proxies whose X-Forwarded-For is believed (addresses or CIDR ranges); empty: ignore the header. */
  readonly trustProxy: readonly string[];
  /** Room history in memory: newest messages per room, their age, bytes across all rooms (any 0: none). */
  readonly historyMessages: number;
  readonly historyMaxAgeMs: number;
  readonly historyMaxBytes: number;
  /** Cluster mode: the Redis server the nodes share (redis:// or rediss:// URL); absent: one process, nothing shared. */
  readonly redisUrl?: string;
}

export class ConfigError extends Error {
  readonly code = 'config-invalid';
}

const HOUR_MS = 3600_000;
const MIB = 1024 * 1024;

interface FlagSpec {
  env?: string;
  help: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  default?: string;
}

const FLAGS: Record<string, FlagSpec> = {
  host: { env: 'HOST', type: 'string', default: '::', help: 'Address to listen on; "::" listens on every IPv4 and IPv6 address.' },
  port: { env: 'PORT', type: 'string', default: '8080', help: 'TCP port (0 picks a free one).' },
  'data-dir': { env: 'WISP_DATA_DIR', type: 'string', default: './data', help: 'Where bans, persistent rooms and the admin token hash are kept.' },
  'static-dir': { env: 'WISP_STATIC_DIR', type: 'string', help: 'The built app to serve (default: dist/app next to the server).' },
  'tls-cert': { env: 'WISP_TLS_CERT', type: 'string', help: 'PEM certificate: serve HTTPS and WSS on the same port.' },
  'tls-key': { env: 'WISP_TLS_KEY', type: 'string', help: 'PEM private key for --tls-cert.' },
  'local-ca': { env: 'WISP_LOCAL_CA', type: 'string', default: 'on', help: "on|off: HTTPS on --https-port with Wisp's own certificate authority (off with --tls-cert or a loopback --host)." },
  'https-port': { env: 'WISP_HTTPS_PORT', type: 'string', default: String(LIMITS.httpsPort), help: 'TCP port for HTTPS with the local CA (0 picks a free one).' },
  'tls-name': { env: 'WISP_TLS_NAMES', type: 'string', multiple: true, help: "Another host name or address for the local CA's certificate (repeatable; env: comma-separated)." },
  'allow-host': { env: 'WISP_ALLOWED_HOSTS', type: 'string', multiple: true, help: 'Another host name or address this server answers to, e.g. a proxy\'s chat.example.org; "*" turns the Host check off (repeatable; env: comma-separated).' },
  origin: { env: 'WISP_ORIGINS', type: 'string', multiple: true, help: 'Another origin allowed to connect (repeatable; env: comma-separated).' },
  'heartbeat-ms': { env: 'WISP_HEARTBEAT_MS', type: 'string', default: String(LIMITS.heartbeatMs), help: 'Ping interval; silent clients are dropped within two.' },
  'max-conn-per-ip': { env: 'WISP_MAX_CONN_PER_IP', type: 'string', default: String(LIMITS.connectionsPerIp), help: 'Open connections allowed from one address.' },
  'rate-per-minute': { env: 'WISP_RATE_PER_MINUTE', type: 'string', default: String(LIMITS.sayPerMinute), help: 'Chat messages per person per minute.' },
  'rate-burst': { env: 'WISP_RATE_BURST', type: 'string', default: String(LIMITS.sayBurst), help: 'Chat messages that may be sent at once before the rate applies.' },
  'max-file-mb': { env: 'WISP_MAX_FILE_MB', type: 'string', default: String(LIMITS.maxFileBytes / 1024 / 1024), help: 'Largest file people may send each other, in MiB (each person can lower it for themselves).' },
  'relay-file-mb': { env: 'WISP_RELAY_FILE_MB', type: 'string', default: String(LIMITS.relayFileMaxBytes / 1024 / 1024), help: 'Largest file that may go through this server when no direct path opens, in MiB (0: none).' },
  stun: { env: 'WISP_STUN', type: 'string', multiple: true, help: 'A STUN URL for whisper links, e.g. stun:stun.example.org:3478 (repeatable; env: comma-separated).' },
  turn: { env: 'WISP_TURN', type: 'string', multiple: true, help: 'A TURN URL, e.g. turn:turn.example.org:3478 (repeatable; env: comma-separated). Needs --turn-secret.' },
  'turn-secret': { env: 'WISP_TURN_SECRET', type: 'string', help: "coturn's static-auth-secret (use-auth-secret): the server hands out time-limited credentials." },
  'turn-ttl': { env: 'WISP_TURN_TTL', type: 'string', default: String(LIMITS.turnTtlSeconds), help: 'Seconds a TURN credential stays valid.' },
  'admin-token': { env: 'WISP_ADMIN_TOKEN', type: 'string', help: 'Set a new admin token (at least 16 characters); only its hash is stored.' },
  'rotate-admin-token': { env: 'WISP_ROTATE_ADMIN_TOKEN', type: 'boolean', help: 'Make a new admin token every hour and print it.' },
  password: { env: 'WISP_PASSWORD', type: 'string', help: 'A server-wide password people must give once before they can chat.' },
  'trust-proxy': { env: 'WISP_TRUST_PROXY', type: 'string', multiple: true, help: 'A reverse proxy address or CIDR whose X-Forwarded-For is believed (repeatable; env: comma-separated).' },
  'history-messages': { env: 'WISP_HISTORY_MESSAGES', type: 'string', default: String(LIMITS.historyMessages), help: `Newest messages kept in memory per room for people who come back or join (0: none; at most ${LIMITS.historyMessagesMax}).` },
  'history-hours': { env: 'WISP_HISTORY_HOURS', type: 'string', default: String(LIMITS.historyMaxAgeMs / HOUR_MS), help: 'Hours a room message is kept in memory (0: none).' },
  'history-mb': { env: 'WISP_HISTORY_MB', type: 'string', default: String(LIMITS.historyMaxBytes / MIB), help: 'MiB of room messages kept in memory across all rooms, oldest dropped first (0: none).' },
  redis: { env: 'WISP_REDIS_URL', type: 'string', help: 'Cluster mode: a Redis URL (redis://host:6379/0) that several Wisp nodes share for rooms, presence, bans and history.' },
  quiet: { env: 'WISP_QUIET', type: 'boolean', help: 'Print only errors (no URLs or QR code).' },
  help: { type: 'boolean', help: 'Show this help.' },
};

export function helpText(): string {
  const lines = ['Usage: wisp-server [options]', '', 'Options (environment variable in brackets):'];
  for (const [name, spec] of Object.entries(FLAGS)) {
    const flag = spec.type === 'boolean' ? `--${name}` : `--${name} <value>`;
    const env = spec.env ? ` [${spec.env}]` : '';
    const def = spec.default !== undefined ? ` (default ${spec.default})` : '';
    lines.push(`  ${flag.padEnd(28)}${spec.help}${def}${env}`);
  }
  return lines.join('\n');
}

function integer(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`--${name} must be a whole number, got "${raw}".`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`--${name} must be between ${min} and ${max}, got ${value}.`);
  return value;
}

function origin(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
    return url.origin;
  } catch {
    throw new ConfigError(`--origin must be an http(s) origin such as https://chat.example.org, got "${raw}".`);
  }
}

/** "loopback", an address, or a CIDR range such as 10.0.0.0/8 or fd00::/8. */
function proxyRange(raw: string): string {
  if (raw === 'loopback') return raw;
  const [address, bits, extra] = raw.split('/');
  const family = isIP(address);
  const maxBits = family === 6 ? 128 : 32;
  const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
  if (!family || !bitsOk || extra !== undefined) {
    throw new ConfigError(`--trust-proxy must be "loopback", an IP address or a CIDR range, got "${raw}".`);
  }
  return raw;
}

function iceUrl(kind: 'stun' | 'turn', raw: string): string {
  const pattern = kind === 'stun' ? /^stuns?:[^\s]+$/ : /^turns?:[^\s]+$/;
  if (!pattern.test(raw)) throw new ConfigError(`--${kind} must be a ${kind}: URL such as ${kind}:example.org:3478, got "${raw}".`);
  return raw;
}

/** A DNS name (letters, digits, hyphens, dots) or an IP address, lower case. */
function hostName(flag: string, raw: string): string {
  const name = raw.trim().toLowerCase();
  const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
  const dns = new RegExp(`^${label}(?:\\.${label})*$`);
  if (isIP(name) || (name.length <= 253 && dns.test(name))) return name;
  throw new ConfigError(`--${flag} must be a host name such as chat.lan or an IP address, got "${raw}".`);
}

/** --allow-host: a host name, an address (IPv6 maybe in brackets), or "*" for any. */
function allowHost(raw: string): string {
  const name = raw.trim();
  if (name === ANY_HOST) return name;
  return hostName('allow-host', name.replace(/^\[(.*)\]$/, '$1'));
}

/** --redis: a redis:// or rediss:// URL (ioredis reads host, port, password and database from it). */
function redisUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    const url = new URL(raw);
    if ((url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname) return raw;
  } catch {
    // Falls through to the sentence below.
  }
  throw new ConfigError(`--redis must be a URL such as redis://127.0.0.1:6379, got "${raw}".`);
}

function onOff(name: string, raw: string): boolean {
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  throw new ConfigError(`--${name} must be "on" or "off", got "${raw}".`);
}

export type ServeMode =
  /** http:// on --port only: --local-ca off, or a loopback --host (localhost is a secure context already). */
  | 'plain'
  /** The operator's --tls-cert/--tls-key: https:// on --port. */
  | 'own-certificate'
  /** Wisp's CA: https:// on --https-port; --port serves loopback, the setup page and redirects. */
  | 'local-ca';

/** Which way this server speaks HTTP: the one place that decides it. */
export function serveMode(config: Pick<Config, 'tlsCert' | 'localCa' | 'host'>): ServeMode {
  if (config.tlsCert) return 'own-certificate';
  if (!config.localCa || isLoopbackHost(config.host)) return 'plain';
  return 'local-ca';
}

export type ParsedCommand = { help: true } | { help: false; config: Config };

/** Parses flags, then environment, then defaults, in that order of precedence. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv, defaultStaticDir: string): ParsedCommand {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    const options = Object.fromEntries(
      Object.entries(FLAGS).map(([name, spec]) => [name, { type: spec.type, multiple: spec.multiple ?? false }]),
    );
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}. Run with --help to see the options.`);
  }
  if (values.help) return { help: true };

  const pick = (name: string): string | undefined => {
    const flag = values[name];
    if (typeof flag === 'string') return flag;
    const spec = FLAGS[name];
    const fromEnv = spec.env ? env[spec.env] : undefined;
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : spec.default;
  };

  const tlsCert = pick('tls-cert');
  const tlsKey = pick('tls-key');
  if (Boolean(tlsCert) !== Boolean(tlsKey)) throw new ConfigError('--tls-cert and --tls-key must be given together.');

  const host = pick('host')!;
  if (!/^[A-Za-z0-9.:%_-]+$/.test(host)) throw new ConfigError(`--host must be an address or host name, got "${host}".`);

  const list = (name: string): string[] => {
    const flags = values[name] as string[] | undefined;
    if (flags) return flags;
    const spec = FLAGS[name];
    return (spec.env ? (env[spec.env] ?? '') : '').split(',').map((s) => s.trim()).filter(Boolean);
  };
  const originFlags = list('origin');
  const stunUrls = list('stun').map((u) => iceUrl('stun', u));
  const turnUrls = list('turn').map((u) => iceUrl('turn', u));
  const turnSecret = pick('turn-secret');
  if (turnUrls.length && !turnSecret) throw new ConfigError('--turn needs --turn-secret (coturn use-auth-secret), so the server can hand out credentials.');
  const truthy = (value: string | undefined) => value === '1' || value === 'true';
  const quietEnv = truthy(env.WISP_QUIET);
  const adminToken = pick('admin-token');
  if (adminToken !== undefined && (adminToken.length < 16 || adminToken.length > 256)) {
    throw new ConfigError('--admin-token must be 16 to 256 characters long.');
  }
  const password = pick('password');
  if (password !== undefined && (password.length < 4 || password.length > 256)) throw new ConfigError('--password must be 4 to 256 characters long.');
  const trustProxy = list('trust-proxy').map(proxyRange);
  const port = integer('port', pick('port')!, 0, 65535);
  const httpsPort = integer('https-port', pick('https-port')!, 0, 65535);
  const localCa = onOff('local-ca', pick('local-ca')!);
  const tlsNames = [...new Set(list('tls-name').map((n) => hostName('tls-name', n)))];
  if (tlsNames.length > LIMITS.tlsNamesMax) throw new ConfigError(`--tls-name may be given at most ${LIMITS.tlsNamesMax} times.`);

  const allowHosts = [...new Set(list('allow-host').map(allowHost))];
  if (allowHosts.length > LIMITS.allowHostsMax) throw new ConfigError(`--allow-host may be given at most ${LIMITS.allowHostsMax} times.`);

  const config: Config = {
    host,
    port,
    dataDir: path.resolve(pick('data-dir')!),
    staticDir: path.resolve(pick('static-dir') ?? defaultStaticDir),
    tlsCert: tlsCert ? path.resolve(tlsCert) : undefined,
    tlsKey: tlsKey ? path.resolve(tlsKey) : undefined,
    localCa,
    httpsPort,
    tlsNames,
    allowHosts,
    origins: originFlags.map((o) => origin(o.trim())),
    heartbeatMs: integer('heartbeat-ms', pick('heartbeat-ms')!, LIMITS.heartbeatMinMs, LIMITS.heartbeatMaxMs),
    maxConnectionsPerIp: integer('max-conn-per-ip', pick('max-conn-per-ip')!, 1, 1_000_000),
    sayPerMinute: integer('rate-per-minute', pick('rate-per-minute')!, 1, 100_000),
    sayBurst: integer('rate-burst', pick('rate-burst')!, 1, 10_000),
    presenceWindowMs: LIMITS.presenceWindowMs,
    headersTimeoutMs: LIMITS.httpHeadersTimeoutMs,
    requestTimeoutMs: LIMITS.httpRequestTimeoutMs,
    keepAliveTimeoutMs: LIMITS.httpKeepAliveTimeoutMs,
    timeoutCheckMs: LIMITS.httpTimeoutCheckMs,
    helloTimeoutMs: LIMITS.helloTimeoutMs,
    closeGraceMs: LIMITS.closeGraceMs,
    sendBufferMaxBytes: LIMITS.sendBufferMaxBytes,
    quiet: Boolean(values.quiet) || quietEnv,
    ice: { stunUrls, turnUrls, turnSecret, turnTtlSeconds: integer('turn-ttl', pick('turn-ttl')!, LIMITS.turnTtlMinSeconds, LIMITS.turnTtlMaxSeconds) },
    maxFileBytes: integer('max-file-mb', pick('max-file-mb')!, 1, 4096) * 1024 * 1024,
    relayFileMaxBytes: integer('relay-file-mb', pick('relay-file-mb')!, 0, 4096) * 1024 * 1024,
    adminToken,
    rotateAdminToken: Boolean(values['rotate-admin-token']) || truthy(env.WISP_ROTATE_ADMIN_TOKEN),
    password,
    trustProxy,
    historyMessages: integer('history-messages', pick('history-messages')!, 0, LIMITS.historyMessagesMax),
    historyMaxAgeMs: integer('history-hours', pick('history-hours')!, 0, LIMITS.historyMaxAgeMaxMs / HOUR_MS) * HOUR_MS,
    historyMaxBytes: integer('history-mb', pick('history-mb')!, 0, LIMITS.historyMaxBytesMax / MIB) * MIB,
    redisUrl: redisUrl(pick('redis')),
  };
  if (serveMode(config) === 'local-ca' && port !== 0 && port === httpsPort) {
    throw new ConfigError(`--https-port must differ from --port (both are ${port}).`);
  }
  return { help: false, config: Object.freeze(config) };
}

/** A config for tests and benchmarks: defaults with overrides, no flags parsed. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const parsed = parseConfig([], {}, path.resolve('dist/app'));
  if (parsed.help) throw new Error('unreachable');
  const dataDir = overrides.dataDir ?? mkdtempSync(path.join(tmpdir(), 'wisp-test-data-'));
  return Object.freeze({ ...parsed.config, port: 0, host: '127.0.0.1', quiet: true, ...overrides, dataDir });
}
