// Wisp's local CA and the server certificate it issues: what they contain, where they are
// kept, reuse across restarts, renewal (fake clock, fake addresses) with a hot swap for new
// connections, and a corrupt CA file stopping the start without being touched.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LIMITS } from '../../signal-server/protocol/protocol.ts';
import { StoreError } from '../../signal-server/store.ts';
import { LocalTls } from '../../signal-server/local-tls.ts';
import { TLS_FILES } from '../../signal-server/local-ca.ts';
import { canonicalIp } from '../../signal-server/lan-names.ts';
import { Scope } from './helpers.ts';
import { DAY_MS, FakeClock, lanInterfaces, localCaServer, peerCertificate, statusLineOver, tlsConnect } from './tls-helpers.ts';

function sans(cert: X509Certificate): { ips: string[]; dns: string[] } {
  const entries = (cert.subjectAltName ?? '').split(', ');
  return {
    ips: entries.filter((e) => e.startsWith('IP Address:')).map((e) => canonicalIp(e.slice('IP Address:'.length))),
    dns: entries.filter((e) => e.startsWith('DNS:')).map((e) => e.slice('DNS:'.length)),
  };
}

function days(from: string, to: string): number {
  return (Date.parse(to) - Date.parse(from)) / DAY_MS;
}

function tlsFile(dataDir: string, name: string): string {
  return path.join(dataDir, 'tls', name);
}

describe('local CA certificates', () => {
  const scope = new Scope();
  after(() => scope.dispose());

  test('the server certificate covers every LAN address and name, and only those phones can reach', async () => {
    const dataDir = scope.tempDir('wisp-ca-');
    const interfaces = lanInterfaces();
    interfaces.addresses.push({ address: '2001:db8::5', family: 'IPv6' });
    const tls = await LocalTls.open({ dataDir, extraNames: ['chat.lan', '10.9.9.9'], hostname: 'wisp-pi', interfaces: interfaces.source, clock: new FakeClock() });
    const cert = new X509Certificate(tls.current.certPem);
    const { ips, dns } = sans(cert);
    for (const ip of ['192.168.1.20', '10.0.0.7', 'fd00::20', '127.0.0.1', '::1', '10.9.9.9']) assert.ok(ips.includes(ip), `SAN ${ip} in ${ips.join(' ')}`);
    assert.ok(!ips.includes('2001:db8::1'), 'a public address is outside what the CA may vouch for');
    for (const name of ['wisp-pi', 'wisp-pi.local', 'localhost', 'chat.lan']) assert.ok(dns.includes(name), `SAN ${name}`);
    assert.ok(!ips.some((ip) => ip.startsWith('fe80')), 'link-local addresses are left out');
    assert.equal(ips.length, 7, `addresses: ${ips.join(' ')}`);
  });

  test('validity: the server certificate at most 397 days and inside the CA; the CA ten years and a CA', async () => {
    const dataDir = scope.tempDir('wisp-ca-');
    const clock = new FakeClock(Date.UTC(2026, 0, 15, 12));
    const tls = await LocalTls.open({ dataDir, extraNames: [], hostname: 'wisp-pi', interfaces: lanInterfaces().source, clock });
    const cert = new X509Certificate(tls.current.certPem);
    const ca = new X509Certificate(tls.ca.pem);
    assert.ok(days(cert.validFrom, cert.validTo) <= LIMITS.serverCertValidityMaxDays, `${cert.validFrom} .. ${cert.validTo}`);
    assert.ok(days(cert.validFrom, cert.validTo) > LIMITS.serverCertRenewBeforeDays);
    assert.ok(Date.parse(cert.validTo) <= Date.parse(ca.validTo));
    assert.ok(days(ca.validFrom, ca.validTo) >= 3650, `CA: ${ca.validFrom} .. ${ca.validTo}`);
    assert.equal(ca.ca, true);
    assert.equal(cert.ca, false);
    assert.match(ca.subject, /CN=Wisp local CA \(wisp-pi\) 2026-01-15/);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extendedKeyUsage serverAuth only');
    assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  test('the server certificate verifies against the CA, and a second CA is another name and key', async () => {
    const first = await LocalTls.open({ dataDir: scope.tempDir('wisp-ca-'), extraNames: [], hostname: 'wisp-pi', interfaces: lanInterfaces().source });
    const second = await LocalTls.open({ dataDir: scope.tempDir('wisp-ca-'), extraNames: [], hostname: 'wisp-pi', interfaces: lanInterfaces().source });
    const ca = new X509Certificate(first.ca.pem);
    const cert = new X509Certificate(first.current.certPem);
    assert.ok(cert.checkIssued(ca));
    assert.ok(cert.verify(ca.publicKey));
    const otherCa = new X509Certificate(second.ca.pem);
    assert.notEqual(otherCa.subject, ca.subject, 'two servers with one host name never share a CA name');
    assert.ok(!cert.verify(otherCa.publicKey));
    assert.equal(first.ca.fingerprint, ca.fingerprint256, 'the fingerprint is spelled as openssl and browsers show it');
    assert.match(first.ca.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  test('the CA is limited to private addresses and local names', async () => {
    const tls = await LocalTls.open({ dataDir: scope.tempDir('wisp-ca-'), extraNames: ['chat.lan'], hostname: 'wisp-pi', interfaces: lanInterfaces().source });
    for (const name of ['192.168.7.7', '10.1.2.3', '172.31.0.1', '127.0.0.1', '::1', 'fd12::1', 'localhost', 'wisp-pi', 'printer.local', 'chat.lan']) {
      assert.ok(tls.ca.permits(name), `permits ${name}`);
    }
    for (const name of ['8.8.8.8', '172.32.0.1', '2001:db8::1', 'example.com', 'bank.example', 'notlocal']) assert.ok(!tls.ca.permits(name), `refuses ${name}`);
  });

  test('the tls directory is 0700 and both private keys 0600', async () => {
    const dataDir = scope.tempDir('wisp-ca-');
    await LocalTls.open({ dataDir, extraNames: [], hostname: 'wisp-pi', interfaces: lanInterfaces().source });
    assert.equal(statSync(path.join(dataDir, 'tls')).mode & 0o777, 0o700);
    for (const file of [TLS_FILES.caKey, TLS_FILES.serverKey, TLS_FILES.caCert, TLS_FILES.serverCert]) {
      assert.equal(statSync(tlsFile(dataDir, file)).mode & 0o777, 0o600, file);
    }
  });

  test('a restart keeps the CA and the server certificate; a new name gets a new certificate from the same CA', async () => {
    const dataDir = scope.tempDir('wisp-ca-');
    const options = { dataDir, extraNames: [] as string[], hostname: 'wisp-pi', interfaces: lanInterfaces().source };
    const first = await LocalTls.open(options);
    const again = await LocalTls.open(options);
    assert.equal(again.ca.fingerprint, first.ca.fingerprint);
    assert.equal(again.current.serialNumber, first.current.serialNumber);
    const named = await LocalTls.open({ ...options, extraNames: ['192.168.9.9', 'box.local'] });
    assert.equal(named.ca.fingerprint, first.ca.fingerprint);
    assert.notEqual(named.current.serialNumber, first.current.serialNumber);
    const { ips, dns } = sans(new X509Certificate(named.current.certPem));
    assert.ok(ips.includes('192.168.9.9') && dns.includes('box.local'));
  });

  test("a --tls-name added after the CA was made stays out of the certificate when the CA's constraints do not allow it", async () => {
    const dataDir = scope.tempDir('wisp-ca-');
    const options = { dataDir, extraNames: [] as string[], hostname: 'wisp-pi', interfaces: lanInterfaces().source };
    const first = await LocalTls.open(options);
    const later = await LocalTls.open({ ...options, extraNames: ['chat.lan'] });
    assert.equal(later.current.serialNumber, first.current.serialNumber, 'browsers would refuse a certificate naming it');
    assert.ok(!later.ca.permits('chat.lan'));
  });

  test('a server restarted on the same data directory serves the same CA', async () => {
    const dataDir = scope.tempDir('wisp-ca-');
    const first = await localCaServer(scope, { dataDir });
    const fingerprint = first.caFingerprint;
    await first.close();
    const second = await localCaServer(scope, { dataDir });
    assert.equal(second.caFingerprint, fingerprint);
  });
});

describe('local CA renewal', () => {
  const scope = new Scope();
  after(() => scope.dispose());

  test('the certificate is renewed inside the renewal window, not before, and new connections get it while old ones stay up', async () => {
    // Started in the past so that after the jump the fake time is now: TLS clients check validity with the real clock.
    const jump = (LIMITS.serverCertValidityDays - LIMITS.serverCertRenewBeforeDays + 1) * DAY_MS;
    const clock = new FakeClock(Date.now() - jump);
    const dataDir = scope.tempDir('wisp-ca-');
    const server = await localCaServer(scope, { dataDir }, { clock });
    const before = await tlsConnect(server.httpsPort!, server.caPem!);
    const firstSerial = peerCertificate(before).serialNumber;

    // Just outside the window: a check finds nothing to do.
    clock.advance(jump - 2 * DAY_MS);
    await server.tls!.settled();
    const still = await tlsConnect(server.httpsPort!, server.caPem!);
    assert.equal(peerCertificate(still).serialNumber, firstSerial);
    still.destroy();

    clock.advance(2 * DAY_MS);
    await server.tls!.settled();
    const after = await tlsConnect(server.httpsPort!, server.caPem!);
    const renewed = peerCertificate(after);
    assert.notEqual(renewed.serialNumber, firstSerial, 'a new connection sees the renewed certificate');
    assert.ok(Date.parse(renewed.validTo) - clock.now() > LIMITS.serverCertRenewBeforeDays * DAY_MS);
    assert.equal(new X509Certificate(readFileSync(tlsFile(dataDir, TLS_FILES.serverCert))).serialNumber, renewed.serialNumber, 'written to server.pem');
    // The connection made before the renewal still works.
    assert.equal(before.destroyed, false);
    assert.match(await statusLineOver(before, '/healthz'), /^HTTP\/1.1 200/);
    before.destroy();
    after.destroy();
  });

  test('a new address on the machine gets a certificate that covers it within one poll', async () => {
    const clock = new FakeClock();
    const interfaces = lanInterfaces();
    const server = await localCaServer(scope, {}, { clock, interfaces });
    const firstSerial = server.tls!.current.serialNumber;
    clock.advance(LIMITS.addressPollMs);
    await server.tls!.settled();
    assert.equal(server.tls!.current.serialNumber, firstSerial, 'no change, no new certificate');

    interfaces.addresses.push({ address: '192.168.50.9', family: 'IPv4' });
    clock.advance(LIMITS.addressPollMs);
    await server.tls!.settled();
    const socket = await tlsConnect(server.httpsPort!, server.caPem!, '192.168.50.9');
    const cert = peerCertificate(socket);
    socket.destroy();
    assert.notEqual(cert.serialNumber, firstSerial);
    assert.ok(sans(cert).ips.includes('192.168.50.9'));
    assert.equal(cert.checkIP('192.168.50.9'), '192.168.50.9');
  });

  test('closing the server stops the renewal timers', async () => {
    const clock = new FakeClock();
    const server = await localCaServer(scope, {}, { clock });
    assert.equal(clock.pendingTimers, 2);
    await server.close();
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('a damaged local CA stops the start', () => {
  const scope = new Scope();
  after(() => scope.dispose());

  async function refusedStart(dataDir: string, file: string): Promise<void> {
    const before = readFileSync(file);
    await assert.rejects(localCaServer(scope, { dataDir }), (error: unknown) => {
      assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
      assert.equal(error.file, file);
      assert.ok(error.message.includes(file));
      return true;
    });
    assert.deepEqual(readFileSync(file), before, `${path.basename(file)} is left as it was`);
  }

  async function madeCa(): Promise<string> {
    const dataDir = scope.tempDir('wisp-ca-');
    const server = await localCaServer(scope, { dataDir });
    await server.close();
    return dataDir;
  }

  test('a corrupt ca.pem', async () => {
    const dataDir = await madeCa();
    writeFileSync(tlsFile(dataDir, TLS_FILES.caCert), '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    await refusedStart(dataDir, tlsFile(dataDir, TLS_FILES.caCert));
  });

  test('a corrupt ca-key.pem', async () => {
    const dataDir = await madeCa();
    writeFileSync(tlsFile(dataDir, TLS_FILES.caKey), 'garbage');
    await refusedStart(dataDir, tlsFile(dataDir, TLS_FILES.caKey));
  });

  test("another CA's key", async () => {
    const dataDir = await madeCa();
    const other = await madeCa();
    writeFileSync(tlsFile(dataDir, TLS_FILES.caKey), readFileSync(tlsFile(other, TLS_FILES.caKey)));
    await refusedStart(dataDir, tlsFile(dataDir, TLS_FILES.caKey));
  });

  test('a missing ca-key.pem beside a ca.pem', async () => {
    const dataDir = await madeCa();
    rmSync(tlsFile(dataDir, TLS_FILES.caKey));
    const caPem = readFileSync(tlsFile(dataDir, TLS_FILES.caCert));
    await assert.rejects(localCaServer(scope, { dataDir }), (error: unknown) => error instanceof StoreError && error.file === tlsFile(dataDir, TLS_FILES.caKey));
    assert.deepEqual(readFileSync(tlsFile(dataDir, TLS_FILES.caCert)), caPem);
    assert.ok(!existsSync(tlsFile(dataDir, TLS_FILES.caKey)), 'no new key is made beside the old certificate');
  });
});
