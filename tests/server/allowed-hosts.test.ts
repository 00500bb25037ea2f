// The server answers only to its own names (DNS rebinding), compares the WebSocket Origin's
// scheme too, and sends HSTS only with the operator's certificate.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { LIMITS } from '../../signal-server/protocol/protocol.ts';
import { ConfigError, parseConfig, type Config } from '../../signal-server/config.ts';
import { AllowedHosts, certificateNames } from '../../signal-server/allowed-hosts.ts';
import { issueServerCertificate } from '../../signal-server/server-certificate.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { Scope, TestClient, roundTrip, upgradeStatus } from './helpers.ts';
import { FakeInterfaces, lanInterfaces, localCaServer } from './tls-helpers.ts';

const FOREIGN = 'rebind.attacker.example';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A GET to the server's --port (or `port`) with this Host header; `undefined` sends none. */
function get(server: RunningServer, host: string | undefined, options: { tls?: boolean; port?: number; path?: string } = {}): Promise<Answer> {
  const port = options.port ?? server.port;
  const request = options.tls ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/healthz',
        setHost: false,
        headers: host === undefined ? {} : { Host: host },
        rejectUnauthorized: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket upgrade with this Host (and maybe Origin): its HTTP status, 101 when accepted. */
function upgrade(scope: Scope, server: RunningServer, host: string, origin?: string): Promise<number> {
  return upgradeStatus(scope.raw(server, { ws: { headers: { Host: host }, ...(origin ? { origin } : {}), rejectUnauthorized: false } }));
}

describe('the Host check', () => {
  const scope = new Scope();
  let server: RunningServer;
  before(async () => {
    server = await scope.server(
      { staticDir: scope.staticDir(), tlsNames: ['chat.lan'], allowHosts: ['proxy.example.org'], origins: ['https://app.example.net'] },
      { localCa: { interfaces: lanInterfaces().source, hostname: 'wisp-pi' } },
    );
  });
  after(() => scope.dispose());

  test('a foreign Host gets 421 with a short sentence on GET, and so does a missing Host', async () => {
    for (const host of [FOREIGN, `${FOREIGN}:${server.port}`, 'example.com', '192.168.1.99', undefined]) {
      const answer = await get(server, host, { path: '/' });
      assert.equal(answer.status, 421, String(host));
      assert.match(answer.body, /does not answer to that host name/);
      assert.equal(answer.headers['content-type'], 'text/plain; charset=utf-8');
    }
  });

  test('a foreign Host gets 421 on a WebSocket upgrade, and nothing is upgraded', async () => {
    assert.equal(await upgrade(scope, server, FOREIGN), 421);
    assert.equal(await upgrade(scope, server, `${FOREIGN}:${server.port}`), 421);
    assert.equal(server.hub.size, 0);
  });

  test('DNS rebinding: a foreign Host with its own matching Origin is refused before hello', async () => {
    await assert.rejects(
      TestClient.connect(server.url, { origin: `http://${FOREIGN}:${server.port}`, ws: { headers: { Host: `${FOREIGN}:${server.port}` } } }),
      /HTTP 421/,
    );
    assert.equal(server.hub.size, 0);
  });

  test('loopback names, the LAN addresses and names, --tls-name, --allow-host and the --origin hosts are served, any port', async () => {
    const allowed = [
      'localhost', `localhost:${server.port}`, 'LOCALHOST:1', '127.0.0.1', '127.5.6.7:80', '[::1]', `[::1]:${server.port}`,
      '192.168.1.20:8080', '10.0.0.7', '[fd00::20]:8080', '[FD00:0::20]', 'wisp-pi', 'wisp-pi.local:8080',
      'chat.lan', 'proxy.example.org:443', 'app.example.net',
    ];
    for (const host of allowed) assert.equal((await get(server, host)).status, 200, host);
    // Link-local addresses are no LAN address a URL can carry.
    assert.equal((await get(server, '[fe80::1234]')).status, 421);
  });

  test('a WebSocket with an allowed Host and its own origin says hello and chats', async () => {
    const host = `wisp-pi.local:${server.port}`;
    const client = await scope.client(server, { origin: `http://${host}`, ws: { headers: { Host: host } } });
    await roundTrip(client);
  });
});

test('--allow-host "*" turns the Host check off', async () => {
  const scope = new Scope();
  try {
    const server = await scope.server({ allowHosts: ['*'], staticDir: scope.staticDir() });
    assert.equal((await get(server, FOREIGN)).status, 200);
    assert.equal(await upgrade(scope, server, FOREIGN), 101);
  } finally {
    await scope.dispose();
  }
});

test('the allowed names follow address changes after the short cache time', () => {
  const interfaces = new FakeInterfaces([{ address: '192.168.1.20', family: 'IPv4' }]);
  let now = 1_000_000;
  const hosts = new AllowedHosts({ interfaces: interfaces.source, hostname: 'wisp-pi', extraNames: [], now: () => now });
  assert.equal(hosts.allows('192.168.1.20:8080'), true);
  assert.equal(hosts.allows('192.168.1.30:8080'), false);
  interfaces.addresses = [{ address: '192.168.1.30', family: 'IPv4' }];
  now += LIMITS.allowedHostsCacheMs;
  assert.equal(hosts.allows('192.168.1.30:8080'), true);
  assert.equal(hosts.allows('192.168.1.20:8080'), false);
});

test('a wildcard certificate name covers one label only', () => {
  const hosts = new AllowedHosts({ interfaces: () => ({}), hostname: 'wisp-pi', extraNames: ['*.example.org'] });
  assert.equal(hosts.allows('chat.example.org'), true);
  assert.equal(hosts.allows('a.chat.example.org'), false);
  assert.equal(hosts.allows('example.org'), false);
});

test('--allow-host and WISP_ALLOWED_HOSTS: names, addresses (IPv6 in brackets too) and "*"; anything else is refused', () => {
  const parse = (argv: string[], env: NodeJS.ProcessEnv = {}): Config => {
    const parsed = parseConfig(argv, env, '/tmp/app');
    assert.ok(!parsed.help);
    return parsed.config;
  };
  assert.deepEqual(parse(['--allow-host', 'Chat.Example.org', '--allow-host', '[fd00::1]']).allowHosts, ['chat.example.org', 'fd00::1']);
  assert.deepEqual(parse([], { WISP_ALLOWED_HOSTS: 'a.example, 10.0.0.2' }).allowHosts, ['a.example', '10.0.0.2']);
  assert.deepEqual(parse(['--allow-host', '*']).allowHosts, ['*']);
  assert.deepEqual(parse([]).allowHosts, []);
  for (const bad of ['https://chat.example.org', 'chat.example.org:443', 'a b', '*.example.org']) {
    assert.throws(() => parse(['--allow-host', bad]), ConfigError, bad);
  }
});

describe('the Origin scheme, HSTS and the names of --tls-cert', () => {
  const scope = new Scope();
  let own: RunningServer;
  let caServer: RunningServer;
  before(async () => {
    caServer = await localCaServer(scope);
    const certificate = await issueServerCertificate(caServer.tls!.ca, { dns: ['chat.example.test', 'localhost'], ips: ['10.9.8.7', '127.0.0.1'] }, Date.now());
    const certDir = scope.tempDir('wisp-cert-');
    writeFileSync(path.join(certDir, 'cert.pem'), certificate.certPem);
    writeFileSync(path.join(certDir, 'key.pem'), certificate.keyPem);
    own = await scope.server({
      staticDir: scope.staticDir(),
      tlsCert: path.join(certDir, 'cert.pem'),
      tlsKey: path.join(certDir, 'key.pem'),
      origins: ['http://legacy.example.test'],
    });
  });
  after(() => scope.dispose());

  test("the certificate's DNS names and addresses are read from its subjectAltName", () => {
    const names = certificateNames(caServer.tls!.current.certPem);
    for (const name of ['wisp-pi.local', 'localhost', '192.168.1.20', '127.0.0.1']) assert.ok(names.includes(name), name);
  });

  test("--tls-cert: the certificate's names are served, others get 421", async () => {
    for (const host of ['chat.example.test', `chat.example.test:${own.port}`, '10.9.8.7']) assert.equal((await get(own, host, { tls: true })).status, 200, host);
    assert.equal((await get(own, FOREIGN, { tls: true })).status, 421);
    assert.equal(await upgrade(scope, own, FOREIGN), 421);
  });

  test('--tls-cert: HSTS on every answer, without includeSubDomains', async () => {
    for (const requestPath of ['/', '/healthz', '/missing']) {
      const answer = await get(own, 'chat.example.test', { tls: true, path: requestPath });
      assert.equal(answer.headers['strict-transport-security'], `max-age=${LIMITS.hstsMaxAgeSeconds}`, requestPath);
    }
  });

  test('an https server refuses an http:// page of its own host and port, but takes its own origin and --origin values', async () => {
    const host = `chat.example.test:${own.port}`;
    assert.equal(await upgrade(scope, own, host, `http://${host}`), 403);
    assert.equal(await upgrade(scope, own, host, `https://${host}`), 101);
    assert.equal(await upgrade(scope, own, host, 'http://legacy.example.test'), 101);
  });

  test('a plain http server refuses an https:// page of its own host and port', async () => {
    const server = await scope.server({ staticDir: scope.staticDir() });
    const host = `127.0.0.1:${server.port}`;
    assert.equal(await upgrade(scope, server, host, `https://${host}`), 403);
    assert.equal(await upgrade(scope, server, host, `http://${host}`), 101);
  });

  test('the local CA: no HSTS on either listener (the setup page stays on plain HTTP for the same names)', async () => {
    const secure = await get(caServer, `wisp-pi.local:${caServer.httpsPort}`, { tls: true, port: caServer.httpsPort, path: '/' });
    assert.equal(secure.status, 200);
    assert.equal(secure.headers['strict-transport-security'], undefined);
    const setup = await get(caServer, `wisp-pi.local:${caServer.port}`, { path: '/setup' });
    assert.equal(setup.status, 200);
    assert.equal(setup.headers['strict-transport-security'], undefined);
  });

  test('the local CA: a foreign Host gets 421 on both listeners, not a redirect', async () => {
    assert.equal((await get(caServer, FOREIGN, { path: '/' })).status, 421);
    assert.equal((await get(caServer, FOREIGN, { tls: true, port: caServer.httpsPort, path: '/' })).status, 421);
  });

  test('plain HTTP: no HSTS', async () => {
    const server = await scope.server({ staticDir: scope.staticDir() });
    const answer = await get(server, 'localhost', { path: '/' });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['strict-transport-security'], undefined);
  });
});
