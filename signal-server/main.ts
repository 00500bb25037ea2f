// Entry point: parse config, check the build is there, listen, print how to reach
// Wisp (URLs and a QR code for phones), and shut down cleanly on SIGTERM/SIGINT.
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import QRCode from 'qrcode';
import { ConfigError, helpText, parseConfig, type Config } from './config.ts';
import { startServer } from './server.ts';
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

async function main(): Promise<void> {
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
    if (error instanceof StoreError) fail(`the data directory has a problem: ${error.message}`);
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') fail(`port ${config.port} is already in use. Pick another with --port or PORT.`);
    if (e.code === 'EACCES') fail(`no permission to listen on port ${config.port}. Use a port above 1023.`);
    if (e.code === 'ENOENT' || e.code === 'ERR_OSSL_PEM_NO_START_LINE') fail(`cannot read the TLS certificate or key: ${e.message}`);
    throw error;
  }

  if (!config.quiet) {
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
