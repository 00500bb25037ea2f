import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import { dialogStyles, shared } from '../styles/tokens.ts';
import { emit } from './events.ts';

/** Change your own name: opened from the name in the top bar; the server's refusal is said here. */
@customElement('wisp-rename-dialog')
export class RenameDialog extends LitElement {
  /** The name the person goes by now. */
  @property() name = '';
  /** Why the last name asked for was refused (a sentence), or ''. */
  @property() error = '';
  /** Waiting for the server's answer. */
  @property({ type: Boolean }) busy = false;
  @query('dialog') private dialog!: HTMLDialogElement;
  @query('input') private input!: HTMLInputElement;

  static override styles = [
    shared,
    dialogStyles,
    css`
      label {
        display: block;
        margin-bottom: 0.35rem;
        color: var(--muted);
      }
      input {
        width: 100%;
      }
    `,
  ];

  show(): void {
    this.input.value = this.name;
    this.dialog.showModal();
    this.input.select();
  }

  close(): void {
    if (this.dialog.open) this.dialog.close();
  }

  protected override updated(changed: PropertyValues<this>): void {
    // A refusal puts the caret back in the field, to fix the name there.
    if (changed.has('error') && this.error && this.dialog.open) this.input.focus();
  }

  private submit(event: Event): void {
    event.preventDefault();
    if (!this.busy) emit(this, 'rename', { name: this.input.value });
  }

  override render() {
    return html`<dialog aria-labelledby="title" @close=${() => emit(this, 'rename-close')}>
      <h2 id="title">Your name</h2>
      <form class="stacked" @submit=${this.submit}>
        <label for="name">Others see you as</label>
        <input id="name" autocomplete="nickname" required aria-describedby="error" aria-invalid=${this.error ? 'true' : 'false'} />
        <p id="error" class="error" role="alert">${this.error || nothing}</p>
        <div class="actions">
          <button type="button" @click=${() => this.close()}>Cancel</button>
          <button class="primary" type="submit" ?disabled=${this.busy}>Change name</button>
        </div>
      </form>
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-rename-dialog': RenameDialog;
  }
}
