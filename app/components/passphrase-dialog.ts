import { LitElement, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import type { PassphrasePrompt } from '../state/store.ts';
import { dialogStyles, shared } from '../styles/tokens.ts';
import { emit } from './events.ts';

/** Asks for a private room's passphrase: to enter the room, or (owner) to set a new one. */
@customElement('wisp-passphrase-dialog')
export class PassphraseDialog extends LitElement {
  @property({ attribute: false }) prompt?: PassphrasePrompt;
  @query('dialog') private dialog!: HTMLDialogElement;
  @query('#passphrase') private input!: HTMLInputElement;
  @query('#again') private again?: HTMLInputElement;
  private mismatch = '';

  static override styles = [
    shared,
    dialogStyles,
  ];

  protected override updated(changed: PropertyValues<this>): void {
    if (!changed.has('prompt')) return;
    const previous = changed.get('prompt');
    if (this.prompt && !this.dialog.open) this.dialog.showModal();
    if (!this.prompt && this.dialog.open) this.dialog.close();
    // A new question (another room or mode) starts with empty fields.
    if (this.prompt && (previous?.room !== this.prompt.room || previous?.mode !== this.prompt.mode)) {
      this.input.value = '';
      if (this.again) this.again.value = '';
      this.mismatch = '';
    }
    if (this.prompt && !this.prompt.busy) this.input.focus();
  }

  private submit(event: Event): void {
    event.preventDefault();
    const prompt = this.prompt;
    const passphrase = this.input.value;
    if (!prompt || !passphrase || prompt.busy) return;
    if (prompt.mode === 'change' && this.again?.value !== passphrase) {
      this.mismatch = 'The two passphrases are not the same.';
      this.requestUpdate();
      return;
    }
    this.mismatch = '';
    emit(this, 'passphrase-submit', { room: prompt.room, mode: prompt.mode, passphrase });
  }

  private cancel(): void {
    const prompt = this.prompt;
    if (prompt) emit(this, 'passphrase-cancel', { room: prompt.room, mode: prompt.mode });
  }

  override render() {
    const prompt = this.prompt;
    const change = prompt?.mode === 'change';
    const error = this.mismatch || prompt?.error;
    return html`<dialog aria-labelledby="title" @cancel=${(e: Event) => (e.preventDefault(), this.cancel())}>
      <h2 id="title">${change ? `New passphrase for #${prompt?.room}` : `Passphrase for #${prompt?.room ?? ''}`}</h2>
      <p>
        ${change
          ? 'Everyone else in the room must enter the new passphrase to stay; someone who was kicked or banned cannot come back with the old one.'
          : (prompt?.reason ?? `#${prompt?.room ?? ''} is private.`)}
      </p>
      <form class="stacked" @submit=${this.submit}>
        <label for="passphrase">${change ? 'New passphrase' : 'Passphrase'}</label>
        <input id="passphrase" type="password" autocomplete="off" required ?disabled=${prompt?.busy} />
        ${change
          ? html`<label for="again">The same again</label>
              <input id="again" type="password" autocomplete="off" required ?disabled=${prompt?.busy} />`
          : nothing}
        ${error ? html`<p class="error" role="alert">${error}</p>` : nothing}
        ${prompt?.busy ? html`<p role="status">Deriving the room key…</p>` : nothing}
        <div class="actions">
          <button type="button" @click=${this.cancel}>Cancel</button>
          <button class="primary" type="submit" ?disabled=${prompt?.busy}>${change ? 'Change passphrase' : 'Enter'}</button>
        </div>
      </form>
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-passphrase-dialog': PassphraseDialog;
  }
}
