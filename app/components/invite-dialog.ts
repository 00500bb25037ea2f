import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { inviteLink } from '../state/invite.ts';
import { dialogStyles, shared } from '../styles/tokens.ts';

/**
 * An invite to a room: a link whose fragment (never sent to the server) names the room,
 * the inviter and their key's fingerprint and, if the inviter chooses, carries the
 * passphrase; and the same link as a QR code.
 */
@customElement('wisp-invite-dialog')
export class InviteDialog extends LitElement {
  @property() room = '';
  @property() origin = '';
  @property({ type: Boolean }) private = false;
  /** The passphrase, when this page knows it (prefilled; the person may clear it). */
  @property() passphrase = '';
  /** Who invites: their name and key fingerprint go in the link, so the person who opens it knows their key. */
  @property() inviterName = '';
  @property() inviterFingerprint = '';
  @state() private include = true;
  @state() private typed = '';
  @state() private copied = false;
  @query('dialog') private dialog!: HTMLDialogElement;
  @query('canvas') private canvas?: HTMLCanvasElement;

  static override styles = [
    shared,
    dialogStyles,
    css`
      .link {
        font-family: var(--mono);
        font-size: 0.8rem;
        word-break: break-all;
        background: var(--bg);
        padding: 0.5rem;
        border-radius: 8px;
      }
      canvas {
        display: block;
        margin: 0.5rem auto;
        background: white;
        border-radius: 6px;
      }
      .warn {
        color: var(--warn);
      }
    `,
  ];

  show(): void {
    this.typed = this.passphrase;
    this.include = true;
    this.copied = false;
    this.dialog.showModal();
  }

  get link(): string {
    const passphrase = this.private && this.include ? this.typed : '';
    return inviteLink(this.origin, { room: this.room, passphrase: passphrase || undefined, from: this.inviter });
  }

  private get inviter() {
    return this.inviterName && this.inviterFingerprint ? { name: this.inviterName, fingerprint: this.inviterFingerprint } : undefined;
  }

  protected override async updated(changed: PropertyValues<this>): Promise<void> {
    if (!this.canvas || !this.room || (changed.size === 1 && changed.has('copied' as keyof InviteDialog))) return;
    const { default: QRCode } = await import('qrcode');
    await QRCode.toCanvas(this.canvas, this.link, { width: 220, margin: 2 });
  }

  private async copy(): Promise<void> {
    try {
      await navigator.clipboard.writeText(this.link);
      this.copied = true;
    } catch {
      this.copied = false;
    }
  }

  override render() {
    const link = this.room ? this.link : '';
    const carries = this.private && this.include && Boolean(this.typed);
    return html`<dialog aria-labelledby="title">
      <h2 id="title">Invite to #${this.room}</h2>
      ${this.private
        ? html`<form class="stacked" @submit=${(e: Event) => e.preventDefault()}>
            <label><input type="checkbox" .checked=${this.include} @change=${(e: Event) => (this.include = (e.target as HTMLInputElement).checked)} /> Put the passphrase in the link</label>
            ${this.include
              ? html`<label for="invite-passphrase">Passphrase</label>
                  <input id="invite-passphrase" type="password" autocomplete="off" .value=${this.typed} @input=${(e: Event) => (this.typed = (e.target as HTMLInputElement).value)} />`
              : nothing}
          </form>`
        : nothing}
      <p>
        ${carries
          ? html`<span class="warn">Anyone with this link or code can read the room.</span> Share it in person or privately; the passphrase stays in the part of the link that is never sent to a server.`
          : this.private
            ? 'The link names the room; your friend types the passphrase you tell them.'
            : 'The link opens Wisp in this room.'}
      </p>
      ${this.inviter ? html`<p data-inviter>People who join with this link can be sure they are talking to you.</p>` : nothing}
      <p class="link" data-invite-link=${link}>${link}</p>
      <canvas aria-label="The invite link as a QR code"></canvas>
      <div class="actions">
        ${this.copied ? html`<span role="status">Copied.</span>` : nothing}
        <button @click=${this.copy}>Copy link</button>
        <button class="primary" @click=${() => this.dialog.close()}>Done</button>
      </div>
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-invite-dialog': InviteDialog;
  }
}
