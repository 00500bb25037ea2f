// Reads the text of a QR code in an image. The browser's own BarcodeDetector where it has
// one that knows QR codes (Chrome on Android, Safari), else jsQR: pure JavaScript, so a
// scan works in any browser with a camera. jsQR is imported only when a scan starts, so
// it stays out of the first-load bundle.

export type QrDecoderKind = 'barcode-detector' | 'jsqr';

export interface QrDecoder {
  readonly kind: QrDecoderKind;
  /** The text of a QR code in the image, or undefined when it holds none that can be read. */
  decode(image: ImageData): Promise<string | undefined>;
}

// Not in TypeScript's DOM library yet.
interface BarcodeDetectorInstance {
  detect(image: ImageData): Promise<{ rawValue: string }[]>;
}
interface BarcodeDetectorClass {
  new (options: { formats: string[] }): BarcodeDetectorInstance;
  getSupportedFormats(): Promise<string[]>;
}

/** The browser's detector, when it exists and reads QR codes (desktop Chrome on Linux has none). */
export async function barcodeDetectorDecoder(): Promise<QrDecoder | undefined> {
  const Detector = (globalThis as { BarcodeDetector?: BarcodeDetectorClass }).BarcodeDetector;
  if (!Detector) return undefined;
  try {
    if (!(await Detector.getSupportedFormats()).includes('qr_code')) return undefined;
  } catch {
    return undefined;
  }
  const detector = new Detector({ formats: ['qr_code'] });
  return {
    kind: 'barcode-detector',
    async decode(image) {
      const codes = await detector.detect(image);
      return codes[0]?.rawValue;
    },
  };
}

export async function jsQrDecoder(): Promise<QrDecoder> {
  const { default: jsQR } = await import('jsqr');
  return {
    kind: 'jsqr',
    async decode(image) {
      return jsQR(image.data, image.width, image.height)?.data;
    },
  };
}

/** The best decoder this browser offers. */
export async function qrDecoder(): Promise<QrDecoder> {
  return (await barcodeDetectorDecoder()) ?? jsQrDecoder();
}
