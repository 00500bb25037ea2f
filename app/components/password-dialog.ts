import { LitElement, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import { dialogStyles, shared } from '../styles/tokens.ts';
import { emit } from './events.ts';

/** The server's password, asked once; the server then remembers this device's identity. */
@customElement('wisp-password-dialog')
export class PasswordDialog extends LitElement {
  @property({ type: Boolean }) open = false;
  @property() error = '';
  @query('dialog') private dialog!: HTMLDialogElement;
  @query('input') private input!: HTMLInputElement;

  static override styles = [
    shared,
    dialogStyles,
  ];

  protected override updated(changed: PropertyValues<this>): void {
    if (!changed.has('open') && !changed.has('error')) return;
    if (this.open && !this.dialog.open) this.dialog.showModal();
    if (!this.open && this.dialog.open) this.dialog.close();
    if (this.open) this.input.select();
  }

  private submit(event: Event): void {
    event.preventDefault();
    const password = this.input.value;
    if (password) emit(this, 'password', { password });
  }

  override render() {
    return html`<dialog aria-labelledby="title" @cancel=${(e: Event) => e.preventDefault()}>
      <h2 id="title">This Wisp server has a password</h2>
      <p>Ask the person who runs it. You only need it once on this device.</p>
      <form @submit=${this.submit}>
        <label class="visually-hidden" for="password">Server password</label>
        <input id="password" type="password" autocomplete="current-password" required />
        <button class="primary" type="submit">Enter</button>
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-password-dialog': PasswordDialog;
  }
}
