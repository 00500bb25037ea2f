// Wisp's own certificate authority, kept in <data-dir>/tls/: made once on the first start,
// then only ever read. Phones that install it trust this server's HTTPS on the LAN. Its
// name constraints limit it to private addresses and local names, so a leaked CA key
// cannot vouch for anyone's bank. It is never replaced silently: a bad file stops the start.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints, id_ce_nameConstraints } from '@peculiar/asn1-x509';
import { BlockList, isIP } from 'node:net';
import { createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { LIMITS } from './protocol/protocol.ts';
import { StoreError } from './store.ts';

// The last overload is set(key, crypto): its second parameter is the Crypto type in every tsconfig (DOM or not).
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[1]);

export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600_000;

/** The files in <data-dir>/tls/. */
export const TLS_FILES = { caCert: 'ca.pem', caKey: 'ca-key.pem', serverCert: 'server.pem', serverKey: 'server-key.pem' } as const;

/** Addresses the CA may vouch for: RFC 1918, loopback, link-local, unique-local IPv6. */
export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', '169.254.0.0/16', 'fc00::/7', 'fe80::/10', '::1/128'];

export interface LocalCa {
  readonly cert: x509.X509Certificate;
  readonly pem: string;
  /** The certificate in DER, for phones that want a .crt file. */
  readonly der: Buffer;
  /** SHA-256 of the DER, upper-case hex pairs joined by ':' (as browsers and openssl show it). */
  readonly fingerprint: string;
  readonly privateKey: webcrypto.CryptoKey;
  /** Whether the CA's name constraints let it vouch for this address or DNS name. */
  permits(name: string): boolean;
}

export interface LocalCaOptions {
  readonly hostname: string;
  /**
   * --tls-name values and the machine's current addresses: permitted by the constraints of a
   * CA made now (an address outside the private ranges only exactly, e.g. a LAN on public IPs).
   */
  readonly extraNames: readonly string[];
  readonly now: number;
}

export function fingerprintOf(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/** The tls/ directory, private to the server's user. */
export async function openTlsDir(dataDir: string): Promise<string> {
  const dir = path.join(dataDir, 'tls');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  } catch (error) {
    throw new StoreError(dir, `cannot be created (${(error as Error).message})`);
  }
  return dir;
}

/** A file's text, or undefined when it does not exist; any other problem names the file. */
export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StoreError(file, `cannot be read (${(error as Error).message})`);
  }
}

export async function writePrivate(file: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(file, text, { mode: 0o600 });
  } catch (error) {
    throw new StoreError(file, `cannot be written (${(error as Error).message})`);
  }
}

export async function exportPrivateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** Reads the CA from `dir`, or makes one when neither of its files exists. */
export async function openLocalCa(dir: string, options: LocalCaOptions): Promise<LocalCa> {
  const certFile = path.join(dir, TLS_FILES.caCert);
  const keyFile = path.join(dir, TLS_FILES.caKey);
  const [certPem, keyPem] = await Promise.all([readOptional(certFile), readOptional(keyFile)]);
  if (certPem === undefined && keyPem === undefined) return createLocalCa(certFile, keyFile, options);
  if (certPem === undefined) throw new StoreError(certFile, `is missing while ${TLS_FILES.caKey} is there`);
  if (keyPem === undefined) throw new StoreError(keyFile, `is missing while ${TLS_FILES.caCert} is there`);
  return readLocalCa(certFile, certPem, keyFile, keyPem, options.now);
}

async function readLocalCa(certFile: string, certPem: string, keyFile: string, keyPem: string, now: number): Promise<LocalCa> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (error) {
    throw new StoreError(certFile, `is not a PEM certificate (${(error as Error).message})`);
  }
  if (!cert.getExtension(x509.BasicConstraintsExtension)?.ca) throw new StoreError(certFile, 'is not a certificate authority');
  if (cert.notAfter.getTime() <= now) {
    throw new StoreError(certFile, `expired on ${cert.notAfter.toISOString()}; move the tls directory away to make a new CA (phones must then install the new one)`);
  }
  let pkcs8: Buffer;
  try {
    const key = createPrivateKey(keyPem);
    const publicDer = createPublicKey(key).export({ type: 'spki', format: 'der' });
    if (!publicDer.equals(Buffer.from(cert.publicKey.rawData))) throw new Error(`it does not belong to ${TLS_FILES.caCert}`);
    pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  } catch (error) {
    throw new StoreError(keyFile, `is not the CA's private key (${(error as Error).message})`);
  }
  let privateKey: webcrypto.CryptoKey;
  try {
    privateKey = (await webcrypto.subtle.importKey('pkcs8', pkcs8, EC_P256, false, ['sign']));
  } catch (error) {
    throw new StoreError(keyFile, `is not an ECDSA P-256 key (${(error as Error).message})`);
  }
  return describe(cert, privateKey);
}

async function createLocalCa(certFile: string, keyFile: string, options: LocalCaOptions): Promise<LocalCa> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']));
  const day = new Date(options.now).toISOString().slice(0, 10);
  // The random part keeps two Wisp servers with the same host name from sharing a CA name.
  const unique = randomBytes(8).toString('hex');
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [`Wisp local CA (${options.hostname}) ${day}`] }, { O: ['Wisp'] }, { '2.5.4.5': [unique] }],
    notBefore: new Date(options.now - DAY_MS),
    notAfter: new Date(options.now + LIMITS.localCaValidityDays * DAY_MS),
    signingAlgorithm: EC_P256,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      nameConstraints(options.hostname, options.extraNames),
    ],
  });
  // The key first: a cert without its key on disk would stop every later start.
  await writePrivate(keyFile, await exportPrivateKeyPem(keys.privateKey));
  await writePrivate(certFile, cert.toString('pem') + '\n');
  return describe(cert, keys.privateKey);
}

/** Private addresses, localhost, .local names, the bare host name and the --tls-name values. */
function nameConstraints(hostname: string, extraNames: readonly string[]): x509.Extension {
  const dnsNames = new Set(['localhost', 'local', hostname.toLowerCase().replace(/\.local$/, '')]);
  const privateRanges = blockListOf(PRIVATE_RANGES);
  const extraRanges = new Set<string>();
  for (const name of extraNames) {
    const family = isIP(name);
    if (!family) dnsNames.add(name.toLowerCase());
    else if (!privateRanges.check(name, family === 6 ? 'ipv6' : 'ipv4')) extraRanges.add(`${name}/${family === 6 ? 128 : 32}`);
  }
  const subtrees = [
    ...[...PRIVATE_RANGES, ...extraRanges].map((range) => new GeneralSubtree({ base: new GeneralName({ iPAddress: range }) })),
    ...[...dnsNames].map((name) => new GeneralSubtree({ base: new GeneralName({ dNSName: name }) })),
  ];
  const value = AsnConvert.serialize(new NameConstraints({ permittedSubtrees: new GeneralSubtrees(subtrees) }));
  return new x509.Extension(id_ce_nameConstraints, true, value);
}

/** What the CA's name constraints permit; a CA without constraints permits every name. */
function permittedNames(cert: x509.X509Certificate): (name: string) => boolean {
  const extension = cert.extensions.find((e) => e.type === id_ce_nameConstraints);
  if (!extension) return () => true;
  const constraints = AsnConvert.parse(extension.value, NameConstraints);
  const permitted = constraints.permittedSubtrees ?? [];
  const ranges = blockListOf(permitted.flatMap((subtree) => subtree.base.iPAddress ?? []));
  const domains = permitted.flatMap((subtree) => subtree.base.dNSName ?? []).map((name) => name.toLowerCase().replace(/^\./, ''));
  return (name) => {
    const family = isIP(name);
    if (family) return ranges.check(name, family === 6 ? 'ipv6' : 'ipv4');
    const lower = name.toLowerCase();
    return domains.some((domain) => lower === domain || lower.endsWith(`.${domain}`));
  };
}

/** CIDR ranges ("10.0.0.0/8", "fd00::/8"; a bare address is one address) as a BlockList to check addresses against. */
function blockListOf(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [address, bits] = range.split('/');
    const family = isIP(address!) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(address!, Number(bits ?? (family === 'ipv6' ? 128 : 32)), family);
  }
  return list;
}

function describe(cert: x509.X509Certificate, privateKey: webcrypto.CryptoKey): LocalCa {
  const der = Buffer.from(cert.rawData);
  return {
    cert,
    pem: cert.toString('pem') + '\n',
    der,
    fingerprint: fingerprintOf(der),
    privateKey,
    permits: permittedNames(cert),
  };
}

/** A positive 128-bit serial number in hex (the top bit clear, so DER needs no sign byte). */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}
