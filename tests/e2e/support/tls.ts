// Wisp over real TLS, as a phone on the LAN sees it: https://wisp-pi.local:<port> with a
// certificate from a local certificate authority that the browser was told to trust.
//
// Everything that knows where the CA and the HTTPS address come from is startTlsServer():
// by default Wisp's own local CA (--local-ca on: <data-dir>/tls/ca.pem, HTTPS on
// --https-port, plain HTTP with the setup page on --port); or, for an operator's own
// certificate (--tls-cert/--tls-key), a throwaway CA made with openssl. The rest takes
// only a CA PEM file and an https URL: TrustHome puts the CA into an NSS database, as
// `certutil` does on a desktop, and launchTlsBrowser() starts Chromium with that HOME and
// the LAN name mapped to loopback.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser, type LaunchOptions } from './browser.ts';
import { WispServer, freePort, type ServerOptions } from './server.ts';

/** The name a phone would use for the Wisp box on the LAN (mDNS style). */
export const LAN_NAME = 'wisp-pi.local';
/** The nickname of the test CA in the NSS database. */
export const CA_NICKNAME = 'Wisp test CA';

export interface TlsServer {
  server: WispServer;
  /** Where people open Wisp: https://wisp-pi.local:<https port>. */
  url: string;
  /** With the local CA: the setup page on plain HTTP, http://wisp-pi.local:<port>/setup. */
  setupUrl?: string;
  /** The CA certificate (PEM file) that signed the server's certificate. */
  caFile: string;
  caPem: string;
  /** Stops the server (failing on its problems, like WispServer.dispose) and removes the CA files. */
  dispose(): Promise<void>;
}

function run(command: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

/**
 * A throwaway CA in a temporary directory (ca.pem) and a server certificate it signed
 * (server.pem, server.key) for the LAN name, localhost, 127.0.0.1 and ::1: what a local
 * CA hands out. P-256 keys, a few days of validity.
 */
function makeTestCa(): { dir: string; caFile: string; certFile: string; keyFile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'wisp-e2e-ca-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run('openssl', ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3', '-subj', `/CN=${CA_NICKNAME}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  run('openssl', ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${LAN_NAME}`], dir);
  writeFileSync(path.join(dir, 'server.ext'), [
    `subjectAltName=DNS:${LAN_NAME},DNS:localhost,IP:127.0.0.1,IP:::1`,
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    '',
  ].join('\n'));
  run('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '3', '-extfile', 'server.ext'], dir);
  return { dir, caFile: path.join(dir, 'ca.pem'), certFile: path.join(dir, 'server.pem'), keyFile: path.join(dir, 'server.key') };
}

/**
 * The real server over HTTPS and WSS on a free port, with a certificate from a CA only the
 * test trusts. `certificate`: 'local-ca' (default) is Wisp's own CA, made by the server in
 * its data directory, for its LAN names plus --tls-name wisp-pi.local; 'own' is an
 * operator's certificate (--tls-cert/--tls-key) from a throwaway openssl CA.
 */
export async function startTlsServer(options: ServerOptions & { certificate?: 'local-ca' | 'own' } = {}): Promise<TlsServer> {
  const { certificate = 'local-ca', ...serverOptions } = options;
  if (certificate === 'own') return startWithOwnCertificate(serverOptions);
  const httpsPort = await freePort();
  const caFileOf = (dataDir: string) => path.join(dataDir, 'tls', 'ca.pem');
  const server = await WispServer.start({
    ...serverOptions,
    // Loopback --host means plain HTTP (localhost is a secure context already): the local CA
    // serves only on a LAN-facing address. The LAN name resolves to loopback in Chromium.
    args: ['--host', '0.0.0.0', '--local-ca', 'on', '--https-port', String(httpsPort), '--tls-name', LAN_NAME, ...(serverOptions.args ?? [])],
    tls: { caFile: caFileOf, httpsPort },
  });
  const caFile = caFileOf(server.dataDir);
  return {
    server,
    url: `https://${LAN_NAME}:${httpsPort}`,
    setupUrl: `http://${LAN_NAME}:${server.port}/setup`,
    caFile,
    caPem: readFileSync(caFile, 'utf8'),
    dispose: () => server.dispose(),
  };
}

async function startWithOwnCertificate(options: ServerOptions): Promise<TlsServer> {
  const ca = makeTestCa();
  let server: WispServer;
  try {
    server = await WispServer.start({
      ...options,
      args: ['--tls-cert', ca.certFile, '--tls-key', ca.keyFile, ...(options.args ?? [])],
      tls: { caFile: ca.caFile },
    });
  } catch (error) {
    rmSync(ca.dir, { recursive: true, force: true });
    throw error;
  }
  return {
    server,
    url: `https://${LAN_NAME}:${server.port}`,
    caFile: ca.caFile,
    caPem: readFileSync(ca.caFile, 'utf8'),
    dispose: async () => {
      try {
        await server.dispose();
      } finally {
        rmSync(ca.dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A temporary HOME for Chromium: on Linux it reads the certificates a person added from
 * $HOME/.pki/nssdb. With `caFile`, that database trusts the CA for web sites ("C,,"), as
 * `certutil -A` does on a desktop; without, the database is empty (a browser that was
 * never told about the CA).
 */
export class TrustHome {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'wisp-e2e-home-'));

  constructor(readonly caFile?: string) {
    const db = `sql:${path.join(this.dir, '.pki', 'nssdb')}`;
    mkdirSync(path.join(this.dir, '.pki', 'nssdb'), { recursive: true });
    try {
      run('certutil', ['-d', db, '-N', '--empty-password']);
      if (caFile) {
        run('certutil', ['-d', db, '-A', '-t', 'C,,', '-n', CA_NICKNAME, '-i', caFile]);
        // Fails the set-up, not a later test, when the import did not take.
        const listed = run('certutil', ['-d', db, '-L']);
        if (!listed.includes(CA_NICKNAME)) throw new Error(`certutil -L does not list "${CA_NICKNAME}":\n${listed}`);
      }
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  /** The environment for Chromium: ours, with HOME here. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, HOME: this.dir };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

/** Chromium flags that resolve the https URL's host name to this machine, as the LAN's mDNS would. */
export function resolveToLoopback(url: string): string[] {
  const host = new URL(url).hostname;
  if (host === 'localhost' || /^[\d.]+$/.test(host) || host.startsWith('[')) return [];
  return [`--host-resolver-rules=MAP ${host} 127.0.0.1`];
}

/** How to start a Chromium that trusts `home`'s certificates and finds `url`'s host. */
export function tlsLaunchOptions(url: string, home: TrustHome): LaunchOptions {
  return { args: resolveToLoopback(url), env: home.env };
}

/** A Chromium (for browser contexts) with `home` as HOME and `url`'s host mapped to loopback. */
export function launchTlsBrowser(url: string, home: TrustHome): Promise<Browser> {
  const { args, env } = tlsLaunchOptions(url, home);
  return launchBrowser(args, env);
}
