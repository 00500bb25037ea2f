// A camera that films a QR code: Chromium's fake capture device plays a YUV4MPEG2 file
// (--use-file-for-fake-video-capture), and this writes one showing a QR code of a given
// text, drawn from the module matrix the `qrcode` package computes, in black on white.
import { renameSync, writeFileSync } from 'node:fs';
import QRCode from 'qrcode';

/** Every frame has this size, so one capture device can be shown any of our codes. */
const SIDE = 480;
const FRAMES = 3;

/** The Chromium flags for a browser whose camera plays `y4mPath` (asked for nothing: the fake UI allows it). */
export function fakeCameraArgs(y4mPath: string): string[] {
  return ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${y4mPath}`];
}

/** A grayscale SIDE x SIDE picture: the code centred, PX pixels a module, white around it (at least a 4-module quiet zone). */
function qrLuma(text: string | undefined): Buffer {
  const luma = Buffer.alloc(SIDE * SIDE, 255);
  if (text === undefined) return luma;
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const px = Math.floor(SIDE / (modules.size + 8));
  if (px < 3) throw new Error(`fake camera: "${text}" needs a QR code too large for ${SIDE} px`);
  const offset = Math.floor((SIDE - modules.size * px) / 2);
  for (let row = 0; row < modules.size; row++) {
    for (let col = 0; col < modules.size; col++) {
      if (!modules.get(row, col)) continue;
      for (let y = 0; y < px; y++) luma.fill(0, (offset + row * px + y) * SIDE + offset + col * px, (offset + row * px + y) * SIDE + offset + (col + 1) * px);
    }
  }
  return luma;
}

/**
 * Writes what the camera shows next: a QR code of `text`, or a white picture when
 * undefined. Chromium opens the file each time a page starts the camera, so writing it
 * before "Scan their code" is enough; written beside and renamed, never read half-done.
 */
export function showOnCamera(y4mPath: string, text: string | undefined): void {
  const chroma = Buffer.alloc((SIDE / 2) * (SIDE / 2) * 2, 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), qrLuma(text), chroma]);
  const header = Buffer.from(`YUV4MPEG2 W${SIDE} H${SIDE} F30:1 Ip A1:1 C420jpeg\n`);
  const temporary = `${y4mPath}.next`;
  writeFileSync(temporary, Buffer.concat([header, ...Array.from({ length: FRAMES }, () => frame)]));
  renameSync(temporary, y4mPath);
}
