// The server certificate the local CA issues for this machine's addresses and names:
// short-lived (browsers refuse more than 397 days), so it is reissued freely, unlike the CA.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import path from 'node:path';
import { LIMITS } from './protocol/protocol.ts';
import { EC_P256, TLS_FILES, exportPrivateKeyPem, randomSerial, readOptional, writePrivate, type LocalCa } from './local-ca.ts';
import { canonicalIp, coversAll, type MachineNames } from './lan-names.ts';

const DAY_MS = 24 * 3600_000;

export interface ServerCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly names: MachineNames;
  readonly notAfter: Date;
  readonly serialNumber: string;
}

/** The names the CA may vouch for: a name outside its constraints would make browsers refuse the whole certificate. */
export function namesTheCaPermits(ca: LocalCa, names: MachineNames): MachineNames {
  return { ips: names.ips.filter((ip) => ca.permits(ip)), dns: names.dns.filter((name) => ca.permits(name)) };
}

export async function issueServerCertificate(ca: LocalCa, names: MachineNames, now: number): Promise<ServerCertificate> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']));
  const days = Math.min(LIMITS.serverCertValidityDays, LIMITS.serverCertValidityMaxDays);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [names.dns.find((n) => n !== 'localhost') ?? 'localhost'] }, { O: ['Wisp'] }],
    issuer: ca.cert.subject,
    // A little slack before now: a phone whose clock is a few minutes behind still accepts it.
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + days * DAY_MS),
    signingAlgorithm: EC_P256,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportPrivateKeyPem(keys.privateKey), names, notAfter: cert.notAfter, serialNumber: cert.serialNumber };
}

/**
 * The stored certificate if it can stay: issued by this CA, its key beside it, valid now
 * with more than the renewal window left, and covering every name in `need`.
 */
export async function reusableServerCertificate(
  ca: LocalCa,
  certPem: string,
  keyPem: string,
  need: MachineNames,
  now: number,
): Promise<ServerCertificate | undefined> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
    const publicDer = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    if (!publicDer.equals(Buffer.from(cert.publicKey.rawData))) return undefined;
  } catch {
    return undefined;
  }
  if (cert.issuer !== ca.cert.subject) return undefined;
  if (!(await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }))) return undefined;
  if (cert.notBefore.getTime() > now) return undefined;
  if (cert.notAfter.getTime() - now <= LIMITS.serverCertRenewBeforeDays * DAY_MS) return undefined;
  const names = namesIn(cert);
  if (!coversAll(names, need)) return undefined;
  return { certPem, keyPem, names, notAfter: cert.notAfter, serialNumber: cert.serialNumber };
}

function namesIn(cert: x509.X509Certificate): MachineNames {
  const items = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return {
    ips: items.filter((n) => n.type === 'ip').map((n) => canonicalIp(n.value)),
    dns: items.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase()),
  };
}

/** The stored server certificate when it can stay, else a new one, written before it is used. */
export async function currentServerCertificate(dir: string, ca: LocalCa, wanted: MachineNames, now: number): Promise<ServerCertificate> {
  const certFile = path.join(dir, TLS_FILES.serverCert);
  const keyFile = path.join(dir, TLS_FILES.serverKey);
  const need = namesTheCaPermits(ca, wanted);
  const [certPem, keyPem] = await Promise.all([readOptional(certFile), readOptional(keyFile)]);
  if (certPem !== undefined && keyPem !== undefined) {
    const stored = await reusableServerCertificate(ca, certPem, keyPem, need, now);
    if (stored) return stored;
  }
  const fresh = await issueServerCertificate(ca, need, now);
  // The key first; a crash between the two leaves a pair that does not match, reissued at the next start.
  await writePrivate(keyFile, fresh.keyPem);
  await writePrivate(certFile, fresh.certPem);
  return fresh;
}
