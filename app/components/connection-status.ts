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
      .sentence {
        color: var(--muted);
        overflow: hidden;
        text-overflow: ellipsis;
      }
      @media (max-width: 420px) {
        :host([status='online']) .label,
        .sentence {
          position: absolute;
          width: 1px;
          height: 1px;
          overflow: hidden;
          clip: rect(0 0 0 0);
        }
      }
      button {
        min-height: 2rem;
        padding: 0.2rem 0.6rem;
        font-size: 0.8rem;
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
    return html`
      <span class="dot" aria-hidden="true"></span>
      <span role="status" class="label">${LABELS[status]}</span>
      ${offline && sentence ? html`<span class="sentence" title=${sentence}>${sentence}${status === 'offline' && seconds ? ` (${seconds}s)` : ''}</span>` : nothing}
      ${offline && !this.connection.banned
        ? html`<button @click=${() => emit(this, 'reconnect', null)}>
            ${status === 'stopped' ? 'Connect here' : 'Retry now'}
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
