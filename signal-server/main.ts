// Entry point: parse config, check the build is there, listen, print how to reach
// Wisp (URLs and a QR code for phones), and shut down cleanly on SIGTERM/SIGINT.
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import QRCode from 'qrcode';
import { ConfigError, helpText, parseConfig, type Config } from './config.ts';
import { startServer, type RunningServer } from './server.ts';
import { lanAddresses, systemInterfaces } from './lan-names.ts';
import { SETUP_PATH } from './setup-page.ts';
import { StoreError } from './store.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const defaultStaticDir = path.resolve(here, '../app');

function fail(message: string): never {
  console.error(`wisp: ${message}`);
  process.exit(2);
}

function reachableUrls(config: Config, port: number): string[] {
  const scheme = config.tlsCert ? 'https' : 'http';
  const everywhere = config.host === '::' || config.host === '0.0.0.0';
  if (!everywhere) return [`${scheme}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`];
  const urls = [`${scheme}://localhost:${port}`];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.internal) continue;
      if (address.family === 'IPv6' && address.address.startsWith('fe80')) continue;
      urls.push(address.family === 'IPv6' ? `${scheme}://[${address.address}]:${port}` : `${scheme}://${address.address}:${port}`);
    }
  }
  return urls;
}

/** The local CA's addresses: HTTPS on each name its certificate covers, and the setup page for phones. */
async function printLocalCa(server: RunningServer): Promise<void> {
  const covered = server.tls!.current.names;
  const { ipv4, ipv6 } = lanAddresses(systemInterfaces);
  const lanIps = [...ipv4, ...ipv6].filter((ip) => covered.ips.includes(ip));
  const names = covered.dns.filter((name) => name !== 'localhost' && name.includes('.'));
  const hosts = [...lanIps.map((ip) => (ip.includes(':') ? `[${ip}]` : ip)), ...names];
  console.log(`Wisp is running over HTTPS with its own certificate authority. Open it at:`);
  for (const host of hosts) console.log(`  https://${host}:${server.httpsPort}`);
  console.log(`  http://localhost:${server.port} (on this machine)`);
  const uncovered = [...ipv4, ...ipv6].filter((ip) => !covered.ips.includes(ip));
  if (uncovered.length) console.log(`Not in the certificate (outside the local CA's private ranges): ${uncovered.join(', ')}`);
  console.log(`\nLocal CA certificate SHA-256 fingerprint:\n  ${server.caFingerprint}`);
  const firstIpv4 = ipv4[0];
  if (!firstIpv4) return;
  const setup = `http://${firstIpv4}:${server.port}${SETUP_PATH}`;
  console.log(`\nSet up a phone: ${setup}`);
  console.log(await QRCode.toString(setup, { type: 'terminal', small: true }));
  console.log('Scan with a phone on this network, install the certificate, then open the app.');
}

/** `migrate-to-redis --data-dir D --redis URL [--force]`: the data directory's state into Redis, once. */
async function migrate(args: string[]): Promise<void> {
  const force = args.includes('--force');
  let config: Config;
  try {
    const parsed = parseConfig(args.filter((arg) => arg !== '--force'), process.env, defaultStaticDir);
    if (parsed.help) return console.log('Usage: wisp-server migrate-to-redis --data-dir <dir> --redis <url> [--force]');
    config = parsed.config;
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  if (!config.redisUrl) fail('migrate-to-redis needs --redis redis://host:6379 (or WISP_REDIS_URL).');
  const { MigrationError, describeMigration, migrateToRedis } = await import('./cluster/migrate-to-redis.ts');
  try {
    const counts = await migrateToRedis(config.dataDir, config.redisUrl, force);
    console.log(describeMigration(counts, config.dataDir, config.redisUrl));
  } catch (error) {
    if (error instanceof MigrationError) fail(error.message);
    if (error instanceof StoreError) fail(`the data directory has a problem: ${error.message}`);
    throw error;
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === 'migrate-to-redis') return migrate(process.argv.slice(3));
  let config: Config;
  try {
    const parsed = parseConfig(process.argv.slice(2), process.env, defaultStaticDir);
    if (parsed.help) {
      console.log(helpText());
      return;
    }
    config = parsed.config;
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  if (!existsSync(path.join(config.staticDir, 'index.html'))) {
    fail(`the app is not built in ${config.staticDir}. Run "npm run build" first (npm start does it for you).`);
  }

  let server: Awaited<ReturnType<typeof startServer>>;
  let stop = (_why: string) => {};
  try {
    server = await startServer(config, {
      onAdminToken: (token, why) => {
        if (why === 'set') return console.log('Admin token set from --admin-token (only its hash is stored).');
        // Printed once: only a hash is kept, so this is the one chance to copy it.
        console.log(`\nAdmin token${why === 'rotated' ? ' (new this hour)' : ''}: ${token}\nType "/admin ${token}" in Wisp to become the server admin. It is not shown again.\n`);
      },
      onShutdownRequest: () => stop('/shutdown by the admin'),
    });
  } catch (error) {
    if (error instanceof StoreError) fail(`${config.redisUrl ? 'the shared state in Redis' : 'the data directory'} has a problem: ${error.message}`);
    const e = error as NodeJS.ErrnoException;
    const port = (e as { port?: number }).port ?? config.port;
    const flag = port === config.httpsPort && port !== config.port ? '--https-port or WISP_HTTPS_PORT' : '--port or PORT';
    if (e.code === 'EADDRINUSE') fail(`port ${port} is already in use. Pick another with ${flag}.`);
    if (e.code === 'EACCES') fail(`no permission to listen on port ${port}. Use a port above 1023.`);
    if (e.code === 'ENOENT' || e.code === 'ERR_OSSL_PEM_NO_START_LINE') fail(`cannot read the TLS certificate or key: ${e.message}`);
    throw error;
  }

  if (!config.quiet && server.localCa) await printLocalCa(server);
  else if (!config.quiet) {
    const urls = reachableUrls(config, server.port);
    console.log(`Wisp is running. Open it at:\n${urls.map((u) => `  ${u}`).join('\n')}`);
    const lan = urls.find((u) => /^https?:\/\/\d/.test(u) && !/^https?:\/\/127\./.test(u));
    if (lan) {
      console.log(`\nScan to open ${lan} on a phone on this network:`);
      console.log(await QRCode.toString(lan, { type: 'terminal', small: true }));
      if (!config.tlsCert) console.log('Phones need HTTPS for the full app: see "Serving over HTTPS" in the README.');
    }
  }

  let stopping = false;
  stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    if (!config.quiet) console.log(`\n${why}: telling clients the server is shutting down.`);
    server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
