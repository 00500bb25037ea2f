import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { compareScannedSafetyNumber, formatSafetyNumber, safetyNumberQrText } from '../crypto/safety-number.ts';
import { dialogStyles, shared } from '../styles/tokens.ts';
import { emit, on } from './events.ts';
import type { QrDecoderKind } from './qr-decoder.ts';
import './qr-scanner.ts';

/**
 * Shows the safety number of a whisper contact, as digits and as a QR code, and lets the
 * person mark it verified, say it does not match, or scan the code on the other person's
 * screen with the camera.
 */
@customElement('wisp-verify-dialog')
export class VerifyDialog extends LitElement {
  @property() name = '';
  /** 60 digits, or empty while it is computed. */
  @property() number = '';
  @property({ type: Boolean }) verified = false;
  @query('dialog') private dialog!: HTMLDialogElement;
  @query('canvas') private canvas?: HTMLCanvasElement;
  /** The camera is on (the scanner is shown) only while this is true. */
  @state() private scanning = false;
  /** What the last scan said, for the live region. */
  @state() private scanStatus: { text: string; problem: boolean } | undefined;
  /** Which decoder read the last code (shown as data-decoder). */
  @state() private decoder?: QrDecoderKind;

  static override styles = [
    shared,
    dialogStyles,
    css`
      .digits {
        font-family: var(--mono);
        font-size: 1.15rem;
        letter-spacing: 0.05em;
        display: grid;
        grid-template-columns: repeat(4, auto);
        gap: 0.35rem 1rem;
        justify-content: center;
        margin: 0.75rem 0;
      }
      canvas {
        display: block;
        margin: 0.5rem auto;
        background: white;
        border-radius: 6px;
      }
      .ok {
        color: var(--ok);
      }
      .problem {
        color: var(--danger);
      }
    `,
  ];

  show(): void {
    this.dialog.showModal();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    // Another contact's number: what a scan said was about someone else.
    if (changed.has('number')) this.resetScan();
  }

  protected override async updated(changed: PropertyValues<this>): Promise<void> {
    if (!changed.has('number') || !this.number || !this.canvas) return;
    const { default: QRCode } = await import('qrcode');
    await QRCode.toCanvas(this.canvas, safetyNumberQrText(this.number), { width: 200, margin: 2 });
  }

  private resetScan(): void {
    this.scanning = false;
    this.scanStatus = undefined;
    this.decoder = undefined;
  }

  private startScan(): void {
    this.scanning = true;
    this.scanStatus = { text: `Point the camera at the QR code on ${this.name}'s screen.`, problem: false };
  }

  private scanned(text: string, decoder: QrDecoderKind): void {
    if (!this.scanning || !this.number) return;
    this.decoder = decoder;
    const result = compareScannedSafetyNumber(text, this.number);
    if (result === 'not-wisp') {
      // Keep scanning: the right code may come into view next.
      this.scanStatus = { text: 'That is not a Wisp safety number.', problem: true };
      return;
    }
    this.scanning = false;
    if (result === 'match') {
      this.scanStatus = { text: 'The codes match.', problem: false };
      emit(this, 'mark-verified');
    } else {
      this.scanStatus = {
        text: `This code does not match ${this.name}'s safety number on your screen. Someone may be interfering, or it is another person's code.`,
        problem: true,
      };
      emit(this, 'verify-mismatch');
    }
  }

  private scanFailed(reason: string): void {
    this.scanning = false;
    this.scanStatus = { text: `Wisp could not use the camera: ${reason}. You can compare the digits instead.`, problem: true };
  }

  private markVerified(): void {
    emit(this, 'mark-verified');
    this.dialog.close();
  }

  /** The numbers differ: the app blocks this key and warns that someone may be interfering. */
  private mismatch(): void {
    emit(this, 'verify-mismatch');
    this.dialog.close();
  }

  override render() {
    const groups = this.number ? formatSafetyNumber(this.number).split(' ') : [];
    return html`<dialog aria-labelledby="title" @close=${this.resetScan}>
      <h2 id="title">Safety number with ${this.name}</h2>
      <p>Compare these digits with the ones on ${this.name}'s screen, in person or on a call. If they match, nobody is listening in.</p>
      ${this.number
        ? html`<div class="digits" data-safety-number=${this.number} aria-label=${`Safety number: ${groups.join(' ')}`}>
              ${groups.map((g) => html`<span>${g}</span>`)}
            </div>
            <canvas aria-label="The safety number as a QR code"></canvas>`
        : html`<p>Computing…</p>`}
      ${this.scanning
        ? html`<wisp-qr-scanner
            ${on('code-scanned', (e) => this.scanned(e.detail.text, e.detail.decoder))}
            ${on('scan-failed', (e) => this.scanFailed(e.detail.reason))}
          ></wisp-qr-scanner>`
        : nothing}
      <p role="status" aria-live="polite" aria-atomic="true" class=${this.scanStatus?.problem ? 'scan-status problem' : 'scan-status'} data-decoder=${this.decoder ?? nothing}>${this.scanStatus?.text ?? ''}</p>
      ${this.verified ? html`<p class="ok">✓ You verified ${this.name}.</p>` : nothing}
      <div class="actions">
        <button @click=${() => this.dialog.close()}>Close</button>
        ${this.scanning
          ? html`<button @click=${() => (this.scanning = false)} aria-label="Cancel scanning">Cancel</button>`
          : this.number
            ? html`<button @click=${this.startScan}>Scan their code</button>`
            : nothing}
        ${this.number ? html`<button data-action="mismatch" @click=${this.mismatch}>They don't match</button>` : nothing}
        ${!this.verified && this.number ? html`<button class="primary" @click=${this.markVerified}>Mark as verified</button>` : nothing}
      </div>
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-verify-dialog': VerifyDialog;
  }
}
