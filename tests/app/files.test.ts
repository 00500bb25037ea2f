// Receiving files safely: names, true types by magic bytes, and the receiver's limits.
import { expect } from '@esm-bundle/chai';
import { sanitizeFilename } from '../../app/files/sanitize.ts';
import { looksExecutable, previewType } from '../../app/files/magic.ts';
import { IncomingFile } from '../../app/files/transfer.ts';
import { formatBytes } from '../../app/files/format-bytes.ts';
import { contentHash } from '../../app/files/content-hash.ts';
import { decodePeer, encodeChunk, encodePeerFrame } from '../../app/net/peer-frames.ts';
import { messageBytesFor } from '../../app/net/peer-link.ts';
import { sdpMaxMessageSize } from '../../app/net/direct-channel.ts';

describe('sanitizeFilename', () => {
  const table: [string, string, string][] = [
    ['holiday.jpg', 'holiday.jpg', 'a plain name stays'],
    ['../../etc/passwd', 'passwd', 'no directory climbing: the last segment only'],
    ['..\\..\\windows\\system32\\evil.dll', 'evil.dll', 'backslashes too'],
    ['/absolute/path.txt', 'path.txt', 'no absolute paths'],
    ['dir/..', 'file', 'a path ending in ".." leaves nothing'],
    ['invoice\u202Efdp.exe', 'invoicefdp.exe', 'U+202E right-to-left override removed'],
    ['a\u200Bb\u2066c\u2069.txt', 'abc.txt', 'zero-width and isolate controls removed'],
    ['bell\u0007\u0000name\n.txt', 'bellname.txt', 'control characters removed'],
    ['CON', '_CON', 'Windows device name'],
    ['nul.txt', '_nul.txt', 'device name with an extension'],
    ['com1.tar.gz', '_com1.tar.gz', 'device name before several extensions'],
    ['.bashrc', 'bashrc', 'no hidden files'],
    ['..', 'file', 'nothing left becomes "file"'],
    ['report.pdf.   ', 'report.pdf', 'no trailing dots or spaces'],
    ['what?<are>:these*|"chars".txt', 'what__are__these___chars_.txt', 'reserved characters replaced'],
    ['  many   spaces .txt', 'many spaces .txt', 'runs of white space folded'],
    ['', 'file', 'empty becomes "file"'],
    ['Cafe\u0301.png', 'Café.png', 'NFC normalised'],
  ];
  for (const [input, expected, why] of table) {
    it(`${why}: ${JSON.stringify(input)}`, () => {
      expect(sanitizeFilename(input)).to.equal(expected);
    });
  }

  it('long names are cut to 120 characters, keeping the extension', () => {
    const name = sanitizeFilename(`${'x'.repeat(300)}.jpeg`);
    expect([...name].length).to.equal(120);
    expect(name.endsWith('.jpeg')).to.equal(true);
  });
});

describe('magic bytes', () => {
  const bytes = (...b: number[]) => new Uint8Array([...b, ...new Array(16).fill(0)]);
  const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
  const table: [string, Uint8Array, string | undefined][] = [
    ['PNG', bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), 'image/png'],
    ['JPEG', bytes(0xff, 0xd8, 0xff, 0xe0), 'image/jpeg'],
    ['GIF87a', bytes(...ascii('GIF87a')), 'image/gif'],
    ['GIF89a', bytes(...ascii('GIF89a')), 'image/gif'],
    ['WebP', bytes(...ascii('RIFF'), 1, 2, 3, 4, ...ascii('WEBP')), 'image/webp'],
    ['RIFF but WAVE', bytes(...ascii('RIFF'), 1, 2, 3, 4, ...ascii('WAVE')), undefined],
    ['SVG', new Uint8Array(ascii('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')), undefined],
    ['HTML', new Uint8Array(ascii('<!doctype html><script>alert(1)</script>')), undefined],
    ['PDF', bytes(...ascii('%PDF-1.7')), undefined],
    ['truncated PNG', new Uint8Array([0x89, 0x50, 0x4e]), undefined],
    ['empty', new Uint8Array(0), undefined],
  ];
  for (const [what, head, expected] of table) {
    it(`${what} -> ${expected ?? 'no preview'}`, () => {
      expect(previewType(head)).to.equal(expected);
    });
  }

  it('flags programs by extension or by their first bytes', () => {
    expect(looksExecutable('setup.exe', new Uint8Array(0))).to.equal(true);
    expect(looksExecutable('innocent.jpg', new Uint8Array([0x4d, 0x5a, 0x90, 0]))).to.equal(true, 'MZ header');
    expect(looksExecutable('tool', new Uint8Array([0x7f, 0x45, 0x4c, 0x46]))).to.equal(true, 'ELF');
    expect(looksExecutable('run', new Uint8Array(ascii('#!/bin/sh')))).to.equal(true, 'shebang');
    expect(looksExecutable('page.html', new Uint8Array(0))).to.equal(true, 'HTML can run scripts');
    expect(looksExecutable('drawing.svg', new Uint8Array(0))).to.equal(true, 'SVG can run scripts');
    expect(looksExecutable('photo.png', bytes(0x89, 0x50, 0x4e, 0x47))).to.equal(false);
    expect(looksExecutable('notes.txt', new Uint8Array(ascii('hello')))).to.equal(false);
  });
});

// Expected values computed independently with Node's crypto:
//   blocks = 4 MiB slices; hash = sha256(concat(sha256(block) for each block)); empty: sha256('')
describe('content hash', () => {
  const MIB = 1024 * 1024;
  const pattern = (length: number) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = (i * 31 + 7) & 255;
    return out;
  };
  const vectors: [string, Uint8Array, string][] = [
    ['three blocks, the last one short (9 MiB + 5 bytes)', pattern(9 * MIB + 5), 'c04e7ea1affc0f429802303012e9a05430de163dff429cdd86b4a49cfa99c544'],
    ['exactly one block', pattern(4 * MIB), 'bca3e93b94c12aa6c47bcc903e7083767d74b2e587671c3363a44c2b81264132'],
    ['a small file', new TextEncoder().encode('0123456789abcdef0123456789'), 'bfd1637edab4e5203f4f731ec2af66e21a276543b7d279293f80acc623832ce0'],
    ['an empty file', new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ];
  for (const [what, bytes, expected] of vectors) {
    it(`known answer: ${what}`, async () => {
      expect(await contentHash(bytes)).to.equal(expected);
    });
  }

  it('a file received in odd chunks across block boundaries arrives whole and checks', async () => {
    const data = pattern(9 * MIB + 5);
    const file = new IncomingFile(1, data.length, vectors[0][2], data.length, () => {});
    const sizes = [262114, 1, 4 * MIB - 262115, 3, 5 * MIB];
    let offset = 0;
    for (let i = 0; offset < data.length; i++) {
      const next = Math.min(offset + sizes[i % sizes.length], data.length);
      expect(file.add(data.subarray(offset, next))).to.equal(undefined);
      offset = next;
    }
    const result = await file.finish();
    expect(result.ok).to.equal(true);
    if (!result.ok) return;
    const got = new Uint8Array(await result.blob.arrayBuffer());
    expect(got.length).to.equal(data.length);
    expect(got.every((byte, i) => byte === data[i])).to.equal(true, 'every byte in place');
    expect([...result.head]).to.deep.equal([...data.subarray(0, 16)]);
  });

  it('one byte changed in a middle block is a mismatch', async () => {
    const data = pattern(9 * MIB + 5);
    data[5 * MIB + 17] ^= 1;
    const file = new IncomingFile(1, data.length, vectors[0][2], data.length, () => {});
    file.add(data);
    expect(await file.finish()).to.deep.equal({ ok: false, failure: 'hash-mismatch' });
  });
});

describe('receiving a file', () => {
  const data = new TextEncoder().encode('0123456789abcdef0123456789');

  it('accepts exactly the announced bytes and checks the hash', async () => {
    const file = new IncomingFile(1, data.length, await contentHash(data), 1000, () => {});
    expect(file.add(data.subarray(0, 10))).to.equal(undefined);
    expect(file.add(data.subarray(10))).to.equal(undefined);
    const result = await file.finish();
    expect(result.ok).to.equal(true);
    if (result.ok) expect(new TextDecoder().decode(await result.blob.arrayBuffer())).to.equal('0123456789abcdef0123456789');
  });

  it('cuts a sender off at the first byte past what it announced', async () => {
    const file = new IncomingFile(1, 10, await contentHash(data), 1000, () => {});
    expect(file.add(data.subarray(0, 8))).to.equal(undefined);
    expect(file.add(data.subarray(8, 12))).to.equal('too-large');
  });

  it('cuts a sender off at the receiver limit even if it announced less than it sends', async () => {
    const file = new IncomingFile(1, 26, await contentHash(data), 12, () => {});
    expect(file.add(data.subarray(0, 12))).to.equal(undefined);
    expect(file.add(data.subarray(12, 13))).to.equal('too-large');
  });

  it('an incomplete file or a wrong hash is a failure, not a file', async () => {
    const short = new IncomingFile(1, 26, await contentHash(data), 100, () => {});
    short.add(data.subarray(0, 20));
    expect(await short.finish()).to.deep.equal({ ok: false, failure: 'short' });
    const tampered = new IncomingFile(2, 26, await contentHash(data), 100, () => {});
    tampered.add(new TextEncoder().encode('0123456789abcdef012345678X'));
    expect(await tampered.finish()).to.deep.equal({ ok: false, failure: 'hash-mismatch' });
  });

  it('reports progress with a rate and the time left', async () => {
    const reports: number[] = [];
    const file = new IncomingFile(1, data.length, await contentHash(data), 100, (p) => reports.push(p.bytes));
    file.add(data);
    expect(reports.at(-1)).to.equal(data.length);
  });

  it('sizes read like people write them', () => {
    expect(formatBytes(999)).to.equal('999 B');
    expect(formatBytes(10 * 1024 * 1024)).to.equal('10.5 MB');
    expect(formatBytes(52_428_800)).to.equal('52.4 MB');
  });
});

describe('peer frames', () => {
  it('chunks carry their transfer id and bytes', () => {
    const decoded = decodePeer(encodeChunk(0xfedcba98, new Uint8Array([1, 2, 3])));
    expect(decoded?.kind).to.equal('chunk');
    if (decoded?.kind === 'chunk') {
      expect(decoded.fid).to.equal(0xfedcba98);
      expect([...decoded.bytes]).to.deep.equal([1, 2, 3]);
    }
  });

  it('control frames are validated: a bad offer is dropped', () => {
    const good = decodePeer(encodePeerFrame({ t: 'file-offer', fid: 7, name: 'a.txt', size: 3, type: 'text/plain', hash: 'a'.repeat(64) }));
    expect(good?.kind).to.equal('frame');
    const bad = new TextEncoder().encode('\u0000{"t":"file-offer","fid":-1,"name":"","size":"big","type":1,"hash":"zz"}');
    expect(decodePeer(bad)).to.equal(undefined);
    expect(decodePeer(new Uint8Array([9, 1, 2]))).to.equal(undefined);
  });
});

describe('data channel message size', () => {
  const table: [string, number | undefined, number][] = [
    ['no a=max-message-size: the 16 KiB every browser takes', undefined, 16 * 1024],
    ['Chromium and Safari announce 256 KiB', sdpMaxMessageSize('v=0\r\na=max-message-size:262144\r\n'), 256 * 1024],
    ['Firefox announces about 1 GiB: capped at 256 KiB', sdpMaxMessageSize('a=max-message-size:1073741823\r\n'), 256 * 1024],
    ['0 means no limit: capped at 256 KiB', 0, 256 * 1024],
    ['a smaller announcement is obeyed', 65536, 65536],
    ['never above what was announced, however small', 1200, 1200],
  ];
  for (const [why, remote, expected] of table) {
    it(why, () => {
      expect(messageBytesFor(remote)).to.equal(expected);
    });
  }
  it('reads the announcement from an SDP', () => {
    expect(sdpMaxMessageSize('v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=max-message-size:262144\r\n')).to.equal(262144);
    expect(sdpMaxMessageSize('v=0\r\n')).to.equal(undefined);
  });
});
