import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { shared } from '../styles/tokens.ts';
import { NOTICE_MS } from '../storage/settings.ts';
import { emit } from './events.ts';

/**
 * The notice (toast): one sentence, a close button, and optionally an action. One that asks
 * for nothing emits `notice-dismiss` after `dismissAfter` ms; one with an action stays until
 * acted on or closed. Loaded with the dialogs, after the first paint.
 */
@customElement('wisp-notice')
export class Notice extends LitElement {
  /** The notice; a new object (a new id) starts the time again. `info`: it only informs. */
  @property({ attribute: false }) notice?: { id: number; text: string; info?: boolean };
  /** The action button's label (e.g. "Reload"); with one, the notice does not go by itself. */
  @property() action = '';
  @property({ type: Number }) dismissAfter = NOTICE_MS;
  private timer?: ReturnType<typeof setTimeout>;

  static override styles = [
    shared,
    css`
      div {
        position: fixed;
        left: 0;
        right: 0;
        bottom: 5.5rem;
        margin: 0 auto;
        width: fit-content;
        max-width: min(40rem, 94vw);
        box-sizing: border-box;
        display: flex;
        gap: 0.75rem;
        align-items: center;
        padding: 0.5rem 0.75rem;
        border-radius: var(--radius);
        background: var(--surface-2);
        border: 1px solid var(--border);
        box-shadow: 0 6px 24px var(--shadow);
        z-index: 5;
      }
      /* One that asks for something (the update offer) sits at the top, out of the way of notices. */
      .banner {
        top: 0.75rem;
        bottom: auto;
        border-color: var(--accent);
      }
      span {
        flex: 1;
      }
      @media (max-width: 600px) {
        div {
          left: 0.5rem;
          right: 0.5rem;
          width: auto;
          max-width: none;
        }
      }
    `,
  ];

  override updated(changed: Map<string, unknown>): void {
    if (!changed.has('notice') && !changed.has('action')) return;
    clearTimeout(this.timer);
    if (this.notice && !this.action) this.timer = setTimeout(() => emit(this, 'notice-dismiss'), this.dismissAfter);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.timer);
  }

  override render() {
    if (!this.notice) return nothing;
    // One that only informs is polite (role=status); one that asks for an action, a refusal or an error is said at once (role=alert).
    return html`<div class=${this.action ? 'banner' : 'notice'} role=${this.notice.info && !this.action ? 'status' : 'alert'}>
      <span>${this.notice.text}</span>
      ${this.action ? html`<button class="primary" @click=${() => emit(this, 'notice-action')}>${this.action}</button>` : nothing}
      <button aria-label="Dismiss" title="Dismiss" @click=${() => emit(this, 'notice-dismiss')}>✕</button>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-notice': Notice;
  }
}
