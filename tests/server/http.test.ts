// The HTTP side: /healthz, the built app as static files (caching and security headers),
// and the WebSocket upgrade checks (path, subprotocol, Origin).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { precompress } from '../../scripts/precompress.mjs';
import { SUBPROTOCOL } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { TestClient } from '../support/test-client.ts';
import { Scope, roundTrip, upgradeStatus } from './helpers.ts';

/** A raw GET whose path is sent exactly as given (fetch would normalise "..").*/
function rawGet(server: RunningServer, rawPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function assertSecurityHeaders(res: Response, what: string): void {
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'self'/, `${what}: CSP`);
  assert.match(csp, /script-src 'self'/, `${what}: CSP script-src`);
  assert.match(csp, /object-src 'none'/, `${what}: CSP object-src`);
  assert.match(csp, /frame-ancestors 'none'/, `${what}: CSP frame-ancestors`);
  assert.doesNotMatch(csp, /unsafe-eval/, `${what}: no unsafe-eval`);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer', `${what}: referrer policy`);
}

/** The Permissions-Policy header as a map of feature to its allowlist. */
function permissionsPolicy(res: Response): Map<string, string> {
  const header = res.headers.get('permissions-policy') ?? '';
  return new Map(header.split(',').map((entry) => entry.trim().split('=') as [string, string]));
}

/** An asset big enough to be precompressed by the build. */
const BIG_ASSET = Array.from({ length: 800 }, (_, i) => `export const line${i} = "wisp asset line ${i}";`).join('\n');

/** A GET that keeps the body as sent (fetch would decompress it), with the Accept-Encoding given. */
function encodedGet(url: string, acceptEncoding?: string): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: acceptEncoding ? { 'accept-encoding': acceptEncoding } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

describe('HTTP', () => {
  const scope = new Scope();
  let server: RunningServer;
  let outside: string;
  before(async () => {
    // <base>/app is served; <base>/secret.txt must never be.
    const base = scope.tempDir('wisp-http-');
    const staticDir = path.join(base, 'app');
    mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
    writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Wisp</title><p>wisp-index</p>');
    writeFileSync(path.join(staticDir, 'assets', 'app-abc123.js'), 'console.log("wisp-asset");');
    writeFileSync(path.join(staticDir, 'sw.js'), 'self.addEventListener("install", () => {});');
    writeFileSync(path.join(staticDir, 'assets', 'big-xyz789.js'), BIG_ASSET);
    precompress(staticDir);
    outside = 'top-secret-outside-the-app';
    writeFileSync(path.join(base, 'secret.txt'), outside);
    server = await scope.server({ staticDir });
  });
  after(() => scope.dispose());

  test('/healthz answers JSON with ok, the version and the connection count', async () => {
    const [a, b] = await Promise.all([scope.client(server), scope.client(server)]);
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as { ok: boolean; version: string; connections: number };
    assert.equal(body.ok, true);
    assert.equal(typeof body.version, 'string');
    assert.equal(body.connections, 2);
    a.close();
    b.close();
  });

  test('index.html is served at / and at /index.html, never cached', async () => {
    for (const url of ['/', '/index.html']) {
      const res = await fetch(server.url + url);
      assert.equal(res.status, 200, url);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/, url);
      assert.equal(res.headers.get('cache-control'), 'no-cache', url);
      assert.match(await res.text(), /wisp-index/, url);
      assertSecurityHeaders(res, url);
    }
  });

  test("the app's HTML may use the camera for its own origin only, and no microphone or location", async () => {
    for (const url of ['/', '/index.html']) {
      const res = await fetch(server.url + url);
      assert.equal(res.status, 200, url);
      const policy = permissionsPolicy(res);
      assert.equal(policy.get('camera'), '(self)', `${url}: camera for the app's own origin (scanning a safety number)`);
      assert.equal(policy.get('microphone'), '()', `${url}: no microphone`);
      assert.equal(policy.get('geolocation'), '()', `${url}: no location`);
    }
  });

  test('sw.js is never cached', async () => {
    const res = await fetch(`${server.url}/sw.js`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    assertSecurityHeaders(res, '/sw.js');
  });

  test('hashed assets are cached for a year as immutable', async () => {
    const res = await fetch(`${server.url}/assets/app-abc123.js`);
    assert.equal(res.status, 200);
    const cacheControl = res.headers.get('cache-control') ?? '';
    assert.match(cacheControl, /immutable/);
    assert.match(cacheControl, /max-age=31536000/);
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    assert.equal(await res.text(), 'console.log("wisp-asset");');
    assertSecurityHeaders(res, '/assets/app-abc123.js');
  });

  test('assets go out precompressed: brotli or gzip as the browser accepts, the same bytes once decoded, and identity otherwise', async () => {
    const url = `${server.url}/assets/big-xyz789.js`;
    const br = await encodedGet(url, 'gzip, deflate, br');
    assert.equal(br.headers['content-encoding'], 'br');
    assert.match(String(br.headers.vary), /Accept-Encoding/i);
    assert.equal(brotliDecompressSync(br.body).toString(), BIG_ASSET);
    assert.ok(br.body.length * 5 < Buffer.byteLength(BIG_ASSET), `${br.body.length} bytes sent for ${Buffer.byteLength(BIG_ASSET)}`);
    const gz = await encodedGet(url, 'gzip');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.body).toString(), BIG_ASSET);
    const plain = await encodedGet(url);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), BIG_ASSET);
    assert.match(String(plain.headers['content-type']), /javascript/);
  });

  test('an unchanged file answers 304 to a conditional request', async () => {
    const first = await fetch(`${server.url}/assets/app-abc123.js`);
    const etag = first.headers.get('etag');
    assert.ok(etag, 'an ETag is sent');
    await first.arrayBuffer();
    const second = await fetch(`${server.url}/assets/app-abc123.js`, { headers: { 'If-None-Match': etag } });
    assert.equal(second.status, 304);
  });

  test('HEAD works like GET without a body', async () => {
    const res = await fetch(`${server.url}/index.html`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
  });

  test('an unknown path is 404, with the security headers', async () => {
    for (const url of ['/nope', '/assets/app-missing.js', '/healthz/extra']) {
      const res = await fetch(server.url + url);
      assert.equal(res.status, 404, url);
      await res.arrayBuffer();
      assertSecurityHeaders(res, url);
    }
  });

  test('POST (and other methods) get 405 with an Allow header', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await fetch(`${server.url}/healthz`, { method, body: method === 'DELETE' ? undefined : 'x' });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
      assertSecurityHeaders(res, method);
    }
  });

  test('paths that climb out of the app directory serve nothing from outside it', async () => {
    for (const rawPath of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets/..%2f..%2fsecret.txt', '/%2e%2e%2fsecret.txt']) {
      const res = await rawGet(server, rawPath);
      assert.ok(!res.body.includes(outside), `${rawPath} served a file outside the app`);
      assert.notEqual(res.status, 200, rawPath);
    }
  });

  describe('WebSocket upgrade', () => {
    test('the subprotocol is wisp.v1 and permessage-deflate is off', async () => {
      const client = await scope.client(server);
      assert.equal(client.ws.protocol, SUBPROTOCOL);
      // The ws client offers permessage-deflate by default; the server must decline it.
      assert.equal(client.ws.extensions, '');
    });

    test('a foreign Origin is refused with 403', async () => {
      await assert.rejects(TestClient.connect(server.url, { origin: 'https://evil.example' }), /HTTP 403/);
      assert.equal(await upgradeStatus(scope.raw(server, { ws: { origin: `http://127.0.0.1:${server.port + 1}` } })), 403);
      assert.equal(await upgradeStatus(scope.raw(server, { ws: { origin: 'null' } })), 403);
    });

    test('the same origin is accepted', async () => {
      const client = await scope.client(server, { origin: server.url });
      await roundTrip(client);
    });

    test('no Origin at all (a non-browser client) is accepted', async () => {
      assert.equal(await upgradeStatus(scope.raw(server)), 101);
    });

    test('a missing subprotocol is refused with 400', async () => {
      assert.equal(await upgradeStatus(scope.raw(server, { protocols: [] })), 400);
    });

    test('a wrong subprotocol is refused with 400', async () => {
      assert.equal(await upgradeStatus(scope.raw(server, { protocols: 'wisp.v0' })), 400);
    });

    test('the subprotocol among others is accepted', async () => {
      const ws = scope.raw(server, { protocols: ['chat', SUBPROTOCOL] });
      assert.equal(await upgradeStatus(ws), 101);
      assert.equal(ws.protocol, SUBPROTOCOL);
    });

    test('a wrong path is refused with 404', async () => {
      assert.equal(await upgradeStatus(scope.raw(server, { path: '/socket' })), 404);
      assert.equal(await upgradeStatus(scope.raw(server, { path: '/ws/extra' })), 404);
    });

    test('a query string on /ws is fine', async () => {
      assert.equal(await upgradeStatus(scope.raw(server, { path: '/ws?client=test' })), 101);
    });
  });
});

describe('configured origins', () => {
  const scope = new Scope();
  let server: RunningServer;
  before(async () => {
    server = await scope.server({ origins: ['https://chat.example.org'] });
  });
  after(() => scope.dispose());

  test('an origin in the allow list is accepted', async () => {
    const client = await scope.client(server, { origin: 'https://chat.example.org' });
    await roundTrip(client);
  });

  test('the own origin is still accepted', async () => {
    const client = await scope.client(server, { origin: server.url });
    await roundTrip(client);
  });

  test('look-alikes of an allowed origin are refused', async () => {
    for (const origin of ['https://chat.example.org.evil.example', 'http://chat.example.org', 'https://evil-chat.example.org', 'https://chat.example.org:8443']) {
      await assert.rejects(TestClient.connect(server.url, { origin }), /HTTP 403/, origin);
    }
  });
});
