import { LitElement, css, html, type PropertyValues } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import type { Member } from '../../signal-server/protocol/protocol.ts';
import type { Trust } from '../storage/pins.ts';
import { trustBadge } from './trust-badge.ts';
import { formatBytes } from '../files/format-bytes.ts';
import { dialogStyles, shared } from '../styles/tokens.ts';
import { emit } from './events.ts';

/** "Send to…": shown when another app shared files or text to Wisp. Emits `share-to` or `share-cancel`. */
@customElement('wisp-share-dialog')
export class ShareDialog extends LitElement {
  @property({ attribute: false }) share?: { files: File[]; text?: string };
  @property({ attribute: false }) people: Member[] = [];
  @property({ type: Boolean }) online = false;
  /** Trust per identity key: who is verified, who is not yet. */
  @property({ attribute: false }) trust: Record<string, Trust> = {};
  @query('dialog') private dialog!: HTMLDialogElement;

  static override styles = [
    shared,
    dialogStyles,
    css`
      ul {
        list-style: none;
        padding: 0;
        margin: 0.5rem 0;
        max-height: 50vh;
        overflow-y: auto;
      }
      li button {
        width: 100%;
        text-align: left;
        margin-bottom: 0.25rem;
      }
    `,
  ];

  protected override updated(changed: PropertyValues<this>): void {
    if (!changed.has('share')) return;
    if (this.share && !this.dialog.open) this.dialog.showModal();
    if (!this.share && this.dialog.open) this.dialog.close();
  }

  override render() {
    const files = this.share?.files ?? [];
    const what = files.length
      ? `${files.length === 1 ? files[0].name : `${files.length} files`} (${formatBytes(files.reduce((n, f) => n + f.size, 0))})`
      : 'a message';
    return html`<dialog aria-labelledby="title" @cancel=${() => emit(this, 'share-cancel')}>
      <h2 id="title">Send ${what} to…</h2>
      ${this.people.length
        ? html`<ul aria-label="People">
            ${this.people.map((p) => html`<li><button @click=${() => emit(this, 'share-to', { key: p.key })}><span class="name">${p.name}</span> ${trustBadge(this.trust[p.key])}</button></li>`)}
          </ul>`
        : html`<p>${this.online ? 'Nobody else is in your rooms right now.' : 'Connecting to the server…'}</p>`}
      <p>It goes encrypted, straight to the person you choose. Only with someone marked ✓ (verified) are you sure that nobody else, not even the server, can read it.</p>
      <button @click=${() => emit(this, 'share-cancel')}>Cancel</button>
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-share-dialog': ShareDialog;
  }
}
