import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { PropertyValues } from 'lit';
import type { TransferState } from '../state/store.ts';
import { formatBytes } from '../files/format-bytes.ts';
import { shared } from '../styles/tokens.ts';
import { emit } from './events.ts';

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '';
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s left`;
  return `${Math.round(seconds / 60)} min left`;
}

/**
 * One file in a whisper conversation. Received files are never rendered except the four
 * image formats detected by their bytes; everything else is a card with a download link.
 * A picture I send shows as a thumbnail on my own card, by the same test.
 */
@customElement('wisp-file-card')
export class FileCard extends LitElement {
  @property({ attribute: false }) transfer!: TransferState;
  @property() peer = '';
  /** The contact is verified: only then does the card say "end-to-end encrypted" on its own. */
  @property({ type: Boolean }) verified = false;
  @state() private confirmSave = false;
  /** The sender's thumbnail: an object URL of the picked file, for as long as the card is on screen. */
  private thumb?: { of: Blob; url: string };

  static override styles = [
    shared,
    css`
      :host {
        display: block;
        min-width: min(18rem, 70vw);
      }
      .name {
        font-weight: 600;
        overflow-wrap: anywhere;
      }
      .meta,
      .status {
        font-size: 0.85rem;
        color: var(--muted);
      }
      progress {
        width: 100%;
        height: 0.5rem;
        accent-color: var(--accent);
      }
      .actions {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        margin-top: 0.4rem;
      }
      button,
      a.save {
        min-height: 2.25rem;
        padding: 0.3rem 0.75rem;
        font-size: 0.9rem;
      }
      a.save {
        display: inline-flex;
        align-items: center;
        border-radius: 8px;
        background: var(--accent);
        color: var(--accent-ink);
        font-weight: 600;
        text-decoration: none;
      }
      img {
        display: block;
        max-width: 100%;
        max-height: 16rem;
        border-radius: 8px;
        margin-top: 0.4rem;
      }
      img.thumb {
        max-height: 10rem;
      }
      .warning {
        color: var(--warn);
        font-size: 0.85rem;
      }
      .failed {
        color: var(--danger);
      }
      .done {
        color: var(--ok);
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    // Back on screen (the conversation opened again): the thumbnail gets a URL again.
    if (this.transfer?.thumbnail && !this.thumb) this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.dropThumb();
  }

  protected override willUpdate(_changed: PropertyValues<this>): void {
    // Only my own card: a received file is shown by its checked bytes, never by this.
    const picture = this.transfer?.direction === 'out' ? this.transfer.thumbnail : undefined;
    if (picture === this.thumb?.of) return;
    this.dropThumb();
    if (picture) this.thumb = { of: picture, url: URL.createObjectURL(picture) };
  }

  private dropThumb(): void {
    if (this.thumb) URL.revokeObjectURL(this.thumb.url);
    this.thumb = undefined;
  }

  private emit(type: 'file-accept' | 'file-decline' | 'file-cancel'): void {
    emit(this, type, { id: this.transfer.id });
  }

  private renderSave() {
    const t = this.transfer;
    const link = html`<a class="save" href=${t.url!} download=${t.name} rel="noopener">Save</a>`;
    if (!t.executable || this.confirmSave) {
      return html`${t.executable ? html`<span class="warning" role="alert">This file can run programs. Only open it if you trust ${this.peer} and expected it.</span>` : nothing}${link}`;
    }
    return html`<button @click=${() => (this.confirmSave = true)}>Save…</button>`;
  }

  override render() {
    const t = this.transfer;
    const incoming = t.direction === 'in';
    const active = t.status === 'sending' || t.status === 'receiving';
    return html`
      <div class="name">${t.name}</div>
      <div class="meta">${formatBytes(t.size)}${t.declaredType ? ` · ${t.declaredType}` : ''}</div>
      ${active
        ? html`<progress max=${t.size} .value=${t.bytes} aria-label=${`${t.name}: ${Math.floor((100 * t.bytes) / Math.max(t.size, 1))}%`}></progress>
            <div class="status" data-progress>
              ${formatBytes(t.bytes)} of ${formatBytes(t.size)}${t.rate > 0 ? ` · ${formatBytes(t.rate)}/s · ${formatSeconds(t.remaining)}` : ''}
            </div>`
        : nothing}
      <div class="status" data-status=${t.status}>${this.statusText()}</div>
      ${t.status === 'done' && incoming && t.preview ? html`<img src=${t.url!} alt=${`Picture from ${this.peer}: ${t.name}`} />` : nothing}
      ${!incoming && this.thumb ? html`<img class="thumb" src=${this.thumb.url} alt=${`Your picture: ${t.name}`} />` : nothing}
      <div class="actions">
        ${t.status === 'offered' && incoming
          ? html`<button class="primary" @click=${() => this.emit('file-accept')}>Accept</button><button @click=${() => this.emit('file-decline')}>Decline</button>`
          : nothing}
        ${t.status === 'waiting' || active || (t.status === 'offered' && !incoming) ? html`<button @click=${() => this.emit('file-cancel')}>Cancel</button>` : nothing}
        ${t.status === 'done' && incoming && t.url ? this.renderSave() : nothing}
      </div>
    `;
  }

  private statusText() {
    const t = this.transfer;
    switch (t.status) {
      case 'offered':
        return t.direction === 'in' ? `${this.peer} wants to send you this file.` : '';
      case 'waiting':
        return `Waiting for ${this.peer} to accept…`;
      case 'sending':
        return this.verified ? 'Sending, end-to-end encrypted…' : 'Sending, encrypted (not verified yet)…';
      case 'receiving':
        return this.verified ? 'Receiving, end-to-end encrypted…' : 'Receiving, encrypted (not verified yet)…';
      case 'checking':
        return 'Checking the file…';
      case 'done':
        return html`<span class="done">${t.direction === 'in' ? 'Received and checked ✓' : `Delivered to ${this.peer} ✓`}</span>`;
      default:
        return html`<span class="failed" role="alert">${t.sentence ?? 'The transfer stopped.'}</span>`;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-file-card': FileCard;
  }
}
