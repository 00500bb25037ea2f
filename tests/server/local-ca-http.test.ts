// The two listeners with the local CA on: HTTPS serves the app and WSS (trusting only the
// CA); plain HTTP keeps the app for loopback Hosts and otherwise serves the setup page,
// the CA downloads and redirects, and refuses WebSocket upgrades. Modes without it have
// one listener. main.ts prints the same fingerprint the page shows.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import WebSocket from 'ws';
import { SUBPROTOCOL, WS_PATH } from '../../signal-server/protocol/protocol.ts';
import { parseConfig, serveMode } from '../../signal-server/config.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { setupPageHtml } from '../../signal-server/setup-page.ts';
import { Scope, roundTrip, upgradeStatus } from './helpers.ts';
import { localCaServer } from './tls-helpers.ts';

const LAN_HOST = '192.168.1.20:8080';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A plain HTTP request to the server's --port with the Host header a LAN browser would send. */
function plainRequest(server: RunningServer, requestPath: string, host = LAN_HOST, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: requestPath, method, headers: { Host: host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An HTTPS GET to --https-port trusting only the local CA. */
function secureGet(server: RunningServer, requestPath: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', servername: 'localhost', port: server.httpsPort, path: requestPath, ca: server.caPem, headers: { Host: `localhost:${server.httpsPort}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  });
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''), 'base64');
}

describe('local CA: plain HTTP from the LAN', () => {
  const scope = new Scope();
  let server: RunningServer;
  before(async () => {
    server = await localCaServer(scope);
  });
  after(() => scope.dispose());

  test('the server says it has a second listener and where', () => {
    assert.equal(server.localCa, true);
    assert.ok(server.httpsPort && server.httpsPort !== server.port);
    assert.equal(server.httpsUrl, `https://localhost:${server.httpsPort}`);
    assert.match(server.caFingerprint ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  test('/setup is the setup page: fingerprint, both downloads, steps per system, the HTTPS link; no script, CSP kept', async () => {
    const res = await plainRequest(server, '/setup');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/);
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
    const page = res.body.toString('utf8');
    assert.ok(page.includes(server.caFingerprint!), 'the fingerprint is on the page');
    assert.equal(new X509Certificate(server.caPem!).fingerprint256, server.caFingerprint);
    assert.ok(page.includes('href="/setup/wisp-local-ca.crt"') && page.includes('href="/setup/wisp-local-ca.pem"'));
    assert.ok(page.includes(`href="https://192.168.1.20:${server.httpsPort}/"`), 'links to HTTPS on the same host');
    for (const system of ['Android', 'iPhone', 'macOS', 'Windows', 'Linux', 'ChromeOS', 'Certificate Trust Settings', 'Always Trust', 'Trusted Root Certification Authorities']) {
      assert.ok(page.includes(system), system);
    }
    assert.doesNotMatch(page, /<script/i);
  });

  test('what the page takes from the request is escaped', () => {
    const page = setupPageHtml('x', '<b>"&', 8443);
    assert.ok(page.includes('&#60;b&#62;&#34;&#38;'));
    assert.ok(!page.includes('<b>"&'));
  });

  test('the CA downloads: PEM and DER with the types and names phones recognise, the same certificate', async () => {
    const pem = await plainRequest(server, '/setup/wisp-local-ca.pem');
    assert.equal(pem.status, 200);
    assert.equal(pem.headers['content-type'], 'application/x-pem-file');
    assert.equal(pem.headers['content-disposition'], 'attachment; filename="wisp-local-ca.pem"');
    assert.equal(pem.body.toString('utf8'), server.caPem);
    const der = await plainRequest(server, '/setup/wisp-local-ca.crt');
    assert.equal(der.status, 200);
    assert.equal(der.headers['content-type'], 'application/x-x509-ca-cert');
    assert.equal(der.headers['content-disposition'], 'attachment; filename="wisp-local-ca.crt"');
    assert.deepEqual(der.body, pemBody(server.caPem!));
  });

  test('every other path redirects to the same host, path and query on the HTTPS port', async () => {
    const get = await plainRequest(server, '/some/room?x=1&y=2');
    assert.equal(get.status, 302);
    assert.equal(get.headers.location, `https://192.168.1.20:${server.httpsPort}/some/room?x=1&y=2`);
    const root = await plainRequest(server, '/', 'wisp-pi.local:8080');
    assert.equal(root.headers.location, `https://wisp-pi.local:${server.httpsPort}/`);
    const v6 = await plainRequest(server, '/healthz', '[fd00::20]:8080');
    assert.equal(v6.headers.location, `https://[fd00::20]:${server.httpsPort}/healthz`);
    const post = await plainRequest(server, '/share', LAN_HOST, 'POST');
    assert.equal(post.status, 308, 'other methods keep their method');
    assert.equal(post.headers.location, `https://192.168.1.20:${server.httpsPort}/share`);
    // A malformed Host names none of the server's hosts: the Host check refuses it first.
    const bad = await plainRequest(server, '/', 'evil.example/path');
    assert.equal(bad.status, 421);
  });

  test('a loopback Host gets the app and the WebSocket over plain HTTP, as without the CA', async () => {
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, `[::1]:${server.port}`]) {
      const res = await plainRequest(server, '/', host);
      assert.equal(res.status, 200, host);
      assert.match(res.body.toString('utf8'), /wisp-index/, host);
    }
    const client = await scope.client(`http://127.0.0.1:${server.port}`);
    await roundTrip(client);
  });

  test('a WebSocket upgrade on plain HTTP with a LAN Host is refused', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${WS_PATH}`, SUBPROTOCOL, { headers: { Host: LAN_HOST } });
    assert.equal(await upgradeStatus(ws), 403);
  });

  test('HTTPS serves the app, /setup and WSS, trusting only the local CA', async () => {
    const index = await secureGet(server, '/');
    assert.equal(index.status, 200);
    assert.match(index.body.toString('utf8'), /wisp-index/);
    const setup = await secureGet(server, '/setup');
    assert.equal(setup.status, 200);
    assert.ok(setup.body.toString('utf8').includes(server.caFingerprint!));
    const client = await scope.client(server.httpsUrl!, { ws: { ca: server.caPem } });
    await roundTrip(client);
    assert.ok(client.welcome, 'hello and welcome over WSS');
  });

  test('without the CA as trust, the HTTPS listener is not trusted', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${server.httpsPort}${WS_PATH}`, SUBPROTOCOL);
    await assert.rejects(upgradeStatus(ws), /self[- ]signed|unable to verify|certificate/i);
  });
});

describe('modes without the local CA have one listener', () => {
  const scope = new Scope();
  after(() => scope.dispose());

  test('--local-ca off', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const server = await localCaServer(scope, { localCa: false, dataDir });
    assert.equal(server.localCa, false);
    assert.equal(server.httpsPort, undefined);
    assert.equal(server.caFingerprint, undefined);
    assert.ok(!existsSync(path.join(dataDir, 'tls')), 'no CA is made');
    const res = await plainRequest(server, '/', LAN_HOST);
    assert.equal(res.status, 200, 'the app over plain HTTP, as before');
  });

  test('--host 127.0.0.1 (the test default) stays plain HTTP with no prompts', async () => {
    const server = await scope.server({ staticDir: scope.staticDir(), localCa: true, httpsPort: 0 });
    assert.equal(server.localCa, false);
    assert.equal(server.httpsPort, undefined);
  });

  test("--tls-cert: the operator's certificate on --port only", async () => {
    const caServer = await localCaServer(scope);
    const dataDir = scope.tempDir('wisp-data-');
    const certDir = scope.tempDir('wisp-cert-');
    writeFileSync(path.join(certDir, 'cert.pem'), caServer.tls!.current.certPem);
    writeFileSync(path.join(certDir, 'key.pem'), caServer.tls!.current.keyPem);
    const server = await localCaServer(scope, { dataDir, tlsCert: path.join(certDir, 'cert.pem'), tlsKey: path.join(certDir, 'key.pem') });
    assert.equal(server.localCa, false);
    assert.equal(server.httpsPort, undefined);
    assert.match(server.url, /^https:/);
    assert.ok(!existsSync(path.join(dataDir, 'tls')));
  });

  test('the default (no flags) is the local CA', () => {
    const parsed = parseConfig([], {}, '/srv/wisp/app');
    assert.ok(!parsed.help);
    if (parsed.help) return;
    assert.equal(parsed.config.localCa, true);
    assert.equal(serveMode(parsed.config), 'local-ca');
  });
});

describe('main.ts with the defaults', () => {
  const scope = new Scope();
  after(() => scope.dispose());

  test('prints the HTTPS addresses, the fingerprint the setup page shows, and the setup QR line', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const root = path.resolve(import.meta.dirname, '../..');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'signal-server/main.ts'), '--port', '0', '--https-port', '0', '--static-dir', scope.staticDir(), '--data-dir', dataDir], {
      cwd: root,
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
          if (out.includes('Local CA certificate SHA-256 fingerprint') && /\n {2}[0-9A-F:]{95}\n/.test(out) && /http:\/\/localhost:\d+/.test(out)) resolve();
        });
        child.once('exit', (code) => reject(new Error(`main exited with ${code}: ${out}`)));
      });
      const printed = out.match(/\n {2}([0-9A-F:]{95})\n/)![1]!;
      const caPem = readFileSync(path.join(dataDir, 'tls', 'ca.pem'), 'utf8');
      assert.equal(printed, new X509Certificate(caPem).fingerprint256);
      const port = Number(out.match(/http:\/\/localhost:(\d+)/)![1]);
      // This machine's real addresses are unknown here; loopback is always served.
      const page = await plainRequest({ port } as RunningServer, '/setup', `localhost:${port}`);
      assert.ok(page.body.toString('utf8').includes(printed), 'the page shows what the terminal printed');
      assert.match(out, /Open it at:\n {2}https:\/\//);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
