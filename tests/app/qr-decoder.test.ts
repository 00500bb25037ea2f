// Reading a QR code from an image (what the verify dialog's scanner does with each camera
// frame): a code drawn by the `qrcode` package, as the verify dialog draws it, comes back
// as its exact text through jsQR and, where this Chromium has one, the BarcodeDetector;
// an image without a code gives nothing. And what a scanned text means for a safety number.
import { expect } from '@esm-bundle/chai';
import QRCode from 'qrcode';
import { barcodeDetectorDecoder, jsQrDecoder, qrDecoder } from '../../app/components/qr-decoder.ts';
import { compareScannedSafetyNumber, safetyNumberQrText } from '../../app/crypto/safety-number.ts';

const NUMBER = '058214391700946218573023884516672093418856102937465810293847';
const OTHER = '058214391700946218573023884516672093418856102937465810293848';

/** A QR code of `text` drawn by the qrcode package on a canvas, as the pixels a camera frame gives. */
async function qrImage(text: string): Promise<ImageData> {
  const canvas = document.createElement('canvas');
  await QRCode.toCanvas(canvas, text, { width: 320, margin: 4 });
  return canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
}

function blankImage(): ImageData {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 240;
  const context = canvas.getContext('2d')!;
  context.fillStyle = 'white';
  context.fillRect(0, 0, canvas.width, canvas.height);
  return context.getImageData(0, 0, canvas.width, canvas.height);
}

describe('QR decoder', () => {
  it('is jsQR, unless the browser has a BarcodeDetector that reads QR codes', async () => {
    const detector = (globalThis as { BarcodeDetector?: { getSupportedFormats(): Promise<string[]> } }).BarcodeDetector;
    const native = detector ? (await detector.getSupportedFormats()).includes('qr_code') : false;
    console.log(`QR decoder test: BarcodeDetector ${detector ? (native ? 'reads QR codes' : 'exists without qr_code') : 'is missing'} in this Chromium`);
    const chosen = await qrDecoder();
    expect(chosen.kind).to.equal(native ? 'barcode-detector' : 'jsqr');
  });

  it("jsQR: a safety number's code comes back as its exact text, and any other code as its own", async () => {
    const decoder = await jsQrDecoder();
    expect(decoder.kind).to.equal('jsqr');
    const text = safetyNumberQrText(NUMBER);
    expect(await decoder.decode(await qrImage(text))).to.equal(text);
    expect(await decoder.decode(await qrImage('https://example.org/not-wisp'))).to.equal('https://example.org/not-wisp');
  });

  it('jsQR: an image without a code gives nothing', async () => {
    expect(await (await jsQrDecoder()).decode(blankImage())).to.equal(undefined);
  });

  it('BarcodeDetector: reads the same code where the browser has one, and is not offered where it has none', async () => {
    const decoder = await barcodeDetectorDecoder();
    const detector = (globalThis as { BarcodeDetector?: { getSupportedFormats(): Promise<string[]> } }).BarcodeDetector;
    if (!detector || !(await detector.getSupportedFormats()).includes('qr_code')) {
      expect(decoder).to.equal(undefined);
      return;
    }
    const text = safetyNumberQrText(NUMBER);
    expect(decoder!.kind).to.equal('barcode-detector');
    expect(await decoder!.decode(await qrImage(text))).to.equal(text);
    expect(await decoder!.decode(blankImage())).to.equal(undefined);
  });
});

describe('a scanned safety number', () => {
  it('matches only our own number with the Wisp prefix', () => {
    expect(compareScannedSafetyNumber(safetyNumberQrText(NUMBER), NUMBER)).to.equal('match');
    expect(compareScannedSafetyNumber(safetyNumberQrText(OTHER), NUMBER)).to.equal('mismatch');
  });

  it('is not one when the prefix or the 60 digits are missing', () => {
    for (const text of [NUMBER, `wisp-safety-number:${NUMBER.slice(1)}`, `wisp-safety-number:${NUMBER}0`, `WISP-SAFETY-NUMBER:${NUMBER}`, 'https://example.org', '']) {
      expect(compareScannedSafetyNumber(text, NUMBER), text).to.equal('not-wisp');
    }
  });
});
