import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { ConnectionState } from '../state/store.ts';
import { shared } from '../styles/tokens.ts';
import { emit } from './events.ts';

const LABELS: Record<ConnectionState['status'], string> = {
  starting: 'Starting…',
  connecting: 'Connecting…',
  online: 'Connected',
  offline: 'Offline',
  stopped: 'Disconnected',
};

/** A dot and a word for the connection; when offline, why, and a way to retry now. */
@customElement('wisp-connection-status')
export class ConnectionStatus extends LitElement {
  @property({ attribute: false }) connection: ConnectionState = { status: 'starting' };
  @state() private now = Date.now();
  private ticker?: ReturnType<typeof setInterval>;

  // On a phone (the People drawer's breakpoint): the dot, one word and an arrow for Retry; the sentence
  // stays for screen readers and in the word's title.
  static override styles = [
    shared,
    css`
      :host {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        font-size: 0.875rem;
        min-width: 0;
      }
      .dot {
        width: 0.6rem;
        height: 0.6rem;
        border-radius: 50%;
        background: var(--warn);
        flex: none;
      }
      :host([status='online']) .dot {
        background: var(--ok);
      }
      :host([status='stopped']) .dot {
        background: var(--danger);
      }
      .label {
        white-space: nowrap;
      }
      .sentence {
        color: var(--muted);
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
        flex: 1 1 0;
        width: 0;
      }
      .icon {
        display: none;
      }
      @media (max-width: 720px) {
        :host([status='online']) .label,
        .sentence {
          position: absolute;
          width: 1px;
          height: 1px;
          overflow: hidden;
          clip: rect(0 0 0 0);
        }
        .icon {
          display: inline;
        }
        .word {
          display: none;
        }
      }
      button {
        flex: none;
        min-height: 2rem;
        padding: 0.1rem 0.5rem;
        font-size: 0.8rem;
        white-space: nowrap;
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    this.ticker = setInterval(() => {
      if (this.connection.retryAt) this.now = Date.now();
    }, 1000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.ticker);
  }

  protected override updated(): void {
    this.setAttribute('status', this.connection.status);
  }

  override render() {
    const { status, sentence, retryAt } = this.connection;
    const seconds = retryAt ? Math.max(0, Math.ceil((retryAt - this.now) / 1000)) : 0;
    const offline = status === 'offline' || status === 'stopped';
    const full = offline && sentence ? `${sentence}${status === 'offline' && seconds ? ` (${seconds}s)` : ''}` : '';
    // On a phone "Retry now" is an arrow; its name stays the whole phrase.
    return html`
      <span class="dot" aria-hidden="true"></span>
      <span role="status" class="label" title=${full || nothing}>${LABELS[status]}</span>
      ${full ? html`<span class="sentence" title=${full}>${full}</span>` : nothing}
      ${offline && !this.connection.banned
        ? status === 'stopped'
          ? html`<button @click=${() => emit(this, 'reconnect', null)}>Connect here</button>`
          : html`<button aria-label="Retry now" title="Retry now" @click=${() => emit(this, 'reconnect', null)}>
              <span class="icon" aria-hidden="true">↻</span><span class="word">Retry now</span>
            </button>`
        : nothing}
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-connection-status': ConnectionStatus;
  }
}
