import { LitElement, css, html, type PropertyValues } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import { helpGroups } from '../state/commands.ts';
import { dialogStyles, shared } from '../styles/tokens.ts';
import { emit } from './events.ts';

/**
 * What /help opens: the commands this person may use, in groups, each with its usage and
 * what it does. Shown while `open`; emits `help-close` when closed (Close or Escape).
 */
@customElement('wisp-help-panel')
export class HelpPanel extends LitElement {
  @property({ type: Boolean }) open = false;
  /** The person's rank (rankOf) in the active room: the panel lists only what it allows. */
  @property({ type: Number }) rank = 0;
  @query('dialog') private dialog!: HTMLDialogElement;

  static override styles = [
    shared,
    dialogStyles,
    css`
      dialog {
        width: min(36rem, 96vw);
        max-height: min(40rem, 88dvh);
        padding: 0;
      }
      dialog[open] {
        display: flex;
        flex-direction: column;
      }
      .top {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        padding: 0.75rem 1rem;
        border-bottom: 1px solid var(--border);
      }
      h2 {
        margin: 0;
        flex: 1;
      }
      .body {
        overflow-y: auto;
        padding: 0 1rem 1rem;
      }
      h3 {
        font-size: 0.8rem;
        text-transform: uppercase;
        letter-spacing: 0.06em;
        color: var(--muted);
        margin: 1rem 0 0.4rem;
      }
      dl {
        margin: 0;
      }
      dt {
        margin-top: 0.6rem;
      }
      code {
        font-family: var(--mono);
        font-size: 0.9rem;
        color: var(--accent);
        overflow-wrap: anywhere;
      }
      dd {
        margin: 0.15rem 0 0;
        line-height: 1.4;
      }
      .also {
        color: var(--muted);
      }
      @media (max-width: 720px) {
        dialog {
          width: 100vw;
          max-width: 100vw;
          margin: auto 0 0;
          border-radius: var(--radius) var(--radius) 0 0;
          padding-bottom: env(safe-area-inset-bottom);
        }
      }
    `,
  ];

  protected override updated(changed: PropertyValues<this>): void {
    if (!changed.has('open')) return;
    if (this.open && !this.dialog.open) this.dialog.showModal();
    if (!this.open && this.dialog.open) this.dialog.close();
  }

  // The title row is a <div>, not a <header>: in a shadow root that would be a second banner
  // landmark. On a phone the dialog is a sheet from the bottom edge.
  override render() {
    return html`<dialog aria-labelledby="title" @close=${() => emit(this, 'help-close')}>
      <div class="top">
        <h2 id="title">Commands</h2>
        <button @click=${() => this.dialog.close()}>Close</button>
      </div>
      <div class="body" tabindex="0" role="region" aria-labelledby="title">
        ${helpGroups(this.rank).map(
          (g, i) => html`<section aria-labelledby=${`group-${i}`}>
            <h3 id=${`group-${i}`}>${g.group}</h3>
            <dl>
              ${g.commands.map(
                (c) => html`<dt><code>${c.usage}</code></dt>
                  <dd>${c.description}${c.aliases ? html` <span class="also">Also ${c.aliases.map((a) => `/${a}`).join(', ')}.</span>` : ''}</dd>`,
              )}
            </dl>
          </section>`,
        )}
      </div>
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-help-panel': HelpPanel;
  }
}
