import { LitElement, css, html } from 'lit';
import { customElement, query } from 'lit/decorators.js';
import { QR_SCAN } from '../storage/settings.ts';
import { emit } from './events.ts';
import { qrDecoder, type QrDecoder } from './qr-decoder.ts';

/**
 * A live camera preview that reads QR codes: the camera starts when the element is added
 * and stops (every track) when it is removed. Sends `code-scanned` with each new text it
 * reads, and `scan-failed` with the reason when the camera cannot be used.
 */
@customElement('wisp-qr-scanner')
export class QrScanner extends LitElement {
  @query('video') private video!: HTMLVideoElement;
  private stream?: MediaStream;
  private timer?: ReturnType<typeof setTimeout>;
  /** Bumped on every start and stop, so the work of a scan that ended stops where it is. */
  private run = 0;
  private lastText?: string;
  private readonly frame = document.createElement('canvas');

  static override styles = css`
    video {
      display: block;
      width: 100%;
      max-height: 50vh;
      background: black;
      border-radius: 6px;
    }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.start(++this.run);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stop();
  }

  private async start(run: number): Promise<void> {
    this.lastText = undefined;
    // Events go out after the first render, never during the parent's update.
    await this.updateComplete;
    if (!navigator.mediaDevices?.getUserMedia) return this.fail(run, 'this browser does not offer it to this page');
    const decoder = qrDecoder();
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    } catch (error) {
      return this.fail(run, cameraProblem(error));
    }
    // Ended while the browser asked for the camera: give it back at once.
    if (run !== this.run) return stopTracks(stream);
    this.stream = stream;
    this.video.srcObject = stream;
    this.video.play().catch(() => undefined);
    const ready = await decoder;
    if (run !== this.run) return;
    this.dataset.decoder = ready.kind;
    this.next(ready, run);
  }

  private stop(): void {
    this.run++;
    clearTimeout(this.timer);
    if (this.stream) stopTracks(this.stream);
    this.stream = undefined;
    if (this.video) this.video.srcObject = null;
  }

  private fail(run: number, reason: string): void {
    if (run === this.run) emit(this, 'scan-failed', { reason });
  }

  private next(decoder: QrDecoder, run: number): void {
    this.timer = setTimeout(async () => {
      const image = this.grab();
      const text = image ? await decoder.decode(image).catch(() => undefined) : undefined;
      if (run !== this.run) return;
      // The same code stays in view for many frames: say each one once.
      if (text !== undefined && text !== this.lastText) {
        this.lastText = text;
        emit(this, 'code-scanned', { text, decoder: decoder.kind });
      }
      if (run === this.run) this.next(decoder, run);
    }, QR_SCAN.frameIntervalMs);
  }

  /** The current camera frame, scaled down to at most QR_SCAN.maxFrameWidth. */
  private grab(): ImageData | undefined {
    const video = this.video;
    if (!video || video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || !video.videoWidth) return undefined;
    const scale = Math.min(1, QR_SCAN.maxFrameWidth / video.videoWidth);
    const width = Math.round(video.videoWidth * scale);
    const height = Math.round(video.videoHeight * scale);
    this.frame.width = width;
    this.frame.height = height;
    const context = this.frame.getContext('2d', { willReadFrequently: true });
    if (!context) return undefined;
    context.drawImage(video, 0, 0, width, height);
    return context.getImageData(0, 0, width, height);
  }

  override render() {
    return html`<video muted playsinline aria-label="Camera preview"></video>`;
  }
}

function stopTracks(stream: MediaStream): void {
  for (const track of stream.getTracks()) track.stop();
}

/** Why getUserMedia failed, as the end of "Wisp could not use the camera: …". */
function cameraProblem(error: unknown): string {
  switch ((error as { name?: string } | null)?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'access to it was refused';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'no camera was found';
    case 'NotReadableError':
    case 'AbortError':
      return 'it is in use by another app, or it did not start';
    default:
      return 'it did not start';
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-qr-scanner': QrScanner;
  }
}
