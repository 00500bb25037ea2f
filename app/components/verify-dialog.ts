import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import { formatSafetyNumber } from '../crypto/safety-number.ts';
import { dialogStyles, shared } from '../styles/tokens.ts';
import { emit } from './events.ts';

/** Shows the safety number of a whisper contact, as digits and as a QR code, and lets the person mark it verified, or say it does not match. */
@customElement('wisp-verify-dialog')
export class VerifyDialog extends LitElement {
  @property() name = '';
  /** 60 digits, or empty while it is computed. */
  @property() number = '';
  @property({ type: Boolean }) verified = false;
  @query('dialog') private dialog!: HTMLDialogElement;
  @query('canvas') private canvas?: HTMLCanvasElement;

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
    `,
  ];

  show(): void {
    this.dialog.showModal();
  }

  protected override async updated(changed: PropertyValues<this>): Promise<void> {
    if (!changed.has('number') || !this.number || !this.canvas) return;
    const { default: QRCode } = await import('qrcode');
    await QRCode.toCanvas(this.canvas, `wisp-safety-number:${this.number}`, { width: 200, margin: 2 });
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
    return html`<dialog aria-labelledby="title">
      <h2 id="title">Safety number with ${this.name}</h2>
      <p>Compare these digits with the ones on ${this.name}'s screen, in person or on a call. If they match, nobody is listening in.</p>
      ${this.number
        ? html`<div class="digits" data-safety-number=${this.number} aria-label=${`Safety number: ${groups.join(' ')}`}>
              ${groups.map((g) => html`<span>${g}</span>`)}
            </div>
            <canvas aria-label="The safety number as a QR code"></canvas>`
        : html`<p>Computing…</p>`}
      ${this.verified ? html`<p class="ok">✓ You verified ${this.name}.</p>` : nothing}
      <div class="actions">
        <button @click=${() => this.dialog.close()}>Close</button>
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
