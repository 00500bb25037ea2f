// The client address behind a reverse proxy: X-Forwarded-For is believed only from a
// trusted proxy, and then only its right-most untrusted hop; a client cannot choose its
// address by sending the header itself. Unit table for clientAddress(), then the real
// server (the admin's /userinfo shows the address it settled on).
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { clientAddress, trustedProxies } from '../../signal-server/client-address.ts';
import { ConfigError, parseConfig } from '../../signal-server/config.ts';
import type { Config } from '../../signal-server/config.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { closeCode, nextError, type TestClient } from './helpers.ts';
import { CloseCode, ErrorCode } from '../../signal-server/protocol/protocol.ts';
import { ModScope, becomeAdmin, sendHello } from './moderation-helpers.ts';

describe('clientAddress()', () => {
  const cases: { what: string; socket: string | undefined; header: string | string[] | undefined; trust: string[]; expect: string }[] = [
    { what: 'no trusted proxies: the header is ignored', socket: '127.0.0.1', header: '203.0.113.7', trust: [], expect: '127.0.0.1' },
    { what: 'no header: the socket address', socket: '127.0.0.1', header: undefined, trust: ['127.0.0.1'], expect: '127.0.0.1' },
    { what: 'a trusted proxy: the hop it saw', socket: '127.0.0.1', header: '203.0.113.7', trust: ['127.0.0.1'], expect: '203.0.113.7' },
    { what: 'a spoofed left-most entry cannot choose the address', socket: '127.0.0.1', header: '6.6.6.6, 203.0.113.7', trust: ['127.0.0.1'], expect: '203.0.113.7' },
    { what: 'a chain of trusted proxies is skipped from the right', socket: '10.0.0.1', header: '6.6.6.6, 198.51.100.4, 10.0.0.3, 10.0.0.2', trust: ['10.0.0.0/8'], expect: '198.51.100.4' },
    { what: 'a socket that is not a trusted proxy: the header is ignored', socket: '192.0.2.50', header: '203.0.113.7', trust: ['127.0.0.1'], expect: '192.0.2.50' },
    { what: 'IPv4-mapped socket addresses count as IPv4', socket: '::ffff:127.0.0.1', header: '203.0.113.7', trust: ['127.0.0.1'], expect: '203.0.113.7' },
    { what: '"loopback" trusts ::1', socket: '::1', header: '2001:db8::5', trust: ['loopback'], expect: '2001:db8::5' },
    { what: '"loopback" trusts all of 127/8', socket: '127.0.0.2', header: '203.0.113.7', trust: ['loopback'], expect: '203.0.113.7' },
    { what: 'IPv6 CIDR ranges', socket: 'fd00::1', header: '2001:db8::9, fd00::2', trust: ['fd00::/8'], expect: '2001:db8::9' },
    { what: 'a garbage right-most entry: back to the socket address', socket: '127.0.0.1', header: '203.0.113.7, not-an-ip', trust: ['127.0.0.1'], expect: '127.0.0.1' },
    { what: 'garbage further left ends the chain at the last good hop', socket: '127.0.0.1', header: 'junk, 10.0.0.2', trust: ['127.0.0.1', '10.0.0.0/8'], expect: '10.0.0.2' },
    { what: 'every hop trusted: the left-most', socket: '127.0.0.1', header: '10.0.0.9, 10.0.0.8', trust: ['127.0.0.1', '10.0.0.0/8'], expect: '10.0.0.9' },
    { what: 'repeated headers are one list', socket: '127.0.0.1', header: ['6.6.6.6', '203.0.113.7'], trust: ['127.0.0.1'], expect: '203.0.113.7' },
    { what: 'spaces around entries', socket: '127.0.0.1', header: '  203.0.113.7  ', trust: ['127.0.0.1'], expect: '203.0.113.7' },
    { what: 'an empty header: the socket address', socket: '127.0.0.1', header: '', trust: ['127.0.0.1'], expect: '127.0.0.1' },
    { what: 'no socket address at all', socket: undefined, header: '203.0.113.7', trust: ['127.0.0.1'], expect: 'unknown' },
  ];
  for (const c of cases) {
    test(c.what, () => {
      assert.equal(clientAddress(c.socket, c.header, trustedProxies(c.trust)), c.expect);
    });
  }

  test('the --trust-proxy flag takes addresses, CIDR ranges and "loopback", and refuses anything else', () => {
    const parsed = parseConfig(['--trust-proxy', 'loopback', '--trust-proxy', '10.0.0.0/8', '--trust-proxy', 'fd00::/8'], {}, '/app');
    assert.ok(!parsed.help);
    if (!parsed.help) assert.deepEqual(parsed.config.trustProxy, ['loopback', '10.0.0.0/8', 'fd00::/8']);
    const fromEnv = parseConfig([], { WISP_TRUST_PROXY: '127.0.0.1, 192.0.2.0/24' }, '/app');
    if (!fromEnv.help) assert.deepEqual(fromEnv.config.trustProxy, ['127.0.0.1', '192.0.2.0/24']);
    for (const bad of ['proxy.example.org', '10.0.0.0/33', '10.0.0.0/8/1', '*']) {
      assert.throws(() => parseConfig(['--trust-proxy', bad], {}, '/app'), ConfigError, bad);
    }
    const none = parseConfig([], {}, '/app');
    if (!none.help) assert.deepEqual(none.config.trustProxy, [], 'off unless asked for');
  });
});

describe('the address the server sees', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  async function addressOf(server: RunningServer, admin: TestClient, headers: Record<string, string>): Promise<string> {
    const person = await scope.connect(server, { headers });
    admin.send({ type: 'userinfo', target: person.id });
    const info = await admin.next('userinfo', (i) => i.id === person.id);
    return info.ip;
  }

  async function serverWith(overrides: Partial<Config>) {
    const server = await scope.start(overrides);
    const admin = await scope.connect(server);
    await becomeAdmin(admin);
    return { server, admin };
  }

  for (const trust of [['127.0.0.1'], ['loopback']]) {
    test(`with trust-proxy ${trust.join(',')}: the right-most untrusted X-Forwarded-For hop`, async () => {
      const { server, admin } = await serverWith({ trustProxy: trust });
      assert.equal(await addressOf(server, admin, { 'X-Forwarded-For': '203.0.113.7' }), '203.0.113.7');
      assert.equal(await addressOf(server, admin, { 'X-Forwarded-For': '6.6.6.6, 203.0.113.8' }), '203.0.113.8', 'a spoofed left-most entry is ignored');
      assert.equal(await addressOf(server, admin, {}), '127.0.0.1', 'no header: the proxy itself');
      assert.equal(await addressOf(server, admin, { 'X-Forwarded-For': 'rubbish' }), '127.0.0.1');
    });
  }

  test('with a chain of proxies: every trusted hop is skipped', async () => {
    const { server, admin } = await serverWith({ trustProxy: ['loopback', '10.0.0.0/8'] });
    assert.equal(await addressOf(server, admin, { 'X-Forwarded-For': '6.6.6.6, 198.51.100.4, 10.1.2.3' }), '198.51.100.4');
  });

  test('without trust-proxy the header is ignored', async () => {
    const { server, admin } = await serverWith({ trustProxy: [] });
    assert.equal(await addressOf(server, admin, { 'X-Forwarded-For': '203.0.113.7' }), '127.0.0.1');
    assert.equal(await addressOf(server, admin, { 'X-Forwarded-For': '6.6.6.6, 203.0.113.7' }), '127.0.0.1');
  });

  test('when the proxy is not the trusted one, the header is ignored', async () => {
    const { server, admin } = await serverWith({ trustProxy: ['192.0.2.1'] });
    assert.equal(await addressOf(server, admin, { 'X-Forwarded-For': '203.0.113.7' }), '127.0.0.1');
  });

  test('a spoofed left-most entry cannot get past a ban by address', async () => {
    const { server, admin } = await serverWith({ trustProxy: ['loopback'] });
    const troll = await scope.connect(server, { from: '198.51.100.7' });
    admin.send({ type: 'ban', target: troll.id, byIp: true });
    await troll.waitClose();
    const spoofer = await scope.connect(server, { headers: { 'X-Forwarded-For': '203.0.113.99, 198.51.100.7' }, noHello: true });
    sendHello(spoofer);
    await nextError(spoofer, ErrorCode.banned, 'hello');
    assert.equal((await spoofer.waitClose()).code, CloseCode.banned);
  });

  test('the per-address connection limit counts the forwarded address, not the proxy', async () => {
    const { server } = await serverWith({ trustProxy: ['loopback'], maxConnectionsPerIp: 2 });
    await scope.connect(server, { from: '198.51.100.1' });
    await scope.connect(server, { from: '198.51.100.1' });
    const third = scope.raw(server, { ws: { headers: { 'X-Forwarded-For': '198.51.100.1' } } });
    assert.equal(await closeCode(third), CloseCode.tooManyConnections, 'a third from the same address is refused');
    const other = await scope.connect(server, { from: '198.51.100.2' });
    assert.ok(other.welcome);
  });
});
