import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { WhisperState } from '../state/store.ts';
import type { Trust } from '../storage/pins.ts';
import { mismatchSentence } from '../state/invite.ts';
import { shared } from '../styles/tokens.ts';
import { trustBadge } from './trust-badge.ts';
import { lockIcon } from './icons.ts';
import { emit } from './events.ts';

const PATHS = { direct: 'Direct', turn: 'Via TURN', relay: 'Relayed by the server' } as const;

/** Above a whisper conversation: who, how it travels, how safe it is, and what went wrong. */
@customElement('wisp-whisper-header')
export class WhisperHeader extends LitElement {
  @property({ attribute: false }) whisper!: WhisperState;
  @property() trust: Trust = 'new';

  static override styles = [
    shared,
    css`
      :host {
        display: block;
        padding: 0.5rem 0.75rem;
        border-bottom: 1px solid var(--border);
        background: var(--surface);
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 0.75rem;
      }
      .name {
        font-weight: 700;
      }
      .chip {
        font-size: 0.8rem;
        padding: 0.1rem 0.5rem;
        border-radius: 999px;
        border: 1px solid var(--border);
        color: var(--muted);
      }
      .chip.secure {
        color: var(--ok);
        border-color: var(--ok);
      }
      .spacer {
        flex: 1;
      }
      .tools {
        display: flex;
        justify-content: flex-end;
        margin-top: 0.35rem;
      }
      .tools button {
        font-size: 0.8rem;
      }
      .warning,
      .failure {
        margin: 0.5rem 0 0;
        padding: 0.5rem 0.65rem;
        border-radius: 8px;
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: center;
      }
      .warning {
        background: #4a3b0f;
        border: 1px solid var(--warn);
      }
      .failure {
        background: #3d1d22;
        border: 1px solid var(--danger);
      }
      button {
        min-height: 2rem;
        padding: 0.2rem 0.7rem;
      }
    `,
  ];

  private emit(type: 'verify' | 'accept-change' | 'reconnect'): void {
    emit(this, type, { key: this.whisper.key });
  }

  override render() {
    const w = this.whisper;
    const changed = this.trust === 'changed' || this.trust === 'changed-verified';
    const mismatch = this.trust === 'mismatch';
    const status =
      w.link === 'ready'
        ? html`<span class="chip secure" data-secure="true">${lockIcon} End-to-end encrypted</span><span class="chip path" data-path=${w.path ?? ''}>${w.path ? PATHS[w.path] : ''}</span>`
        : w.link === 'connecting'
          ? html`<span class="chip">Setting up a secure channel…</span>`
          : html`<span class="chip">Not connected</span>`;
    return html`
      <div class="row">
        <span class="name">${w.name}</span>${trustBadge(this.trust)}
        ${status}
        <span class="spacer"></span>
        <button @click=${() => this.emit('verify')}>${this.trust === 'verified' ? 'Safety number' : 'Verify'}</button>
      </div>
      <div class="tools">
        <button data-action="clear-conversation" @click=${() => emit(this, 'clear-conversation', { tab: `@${w.key}` })}>Clear this conversation</button>
      </div>
      ${changed
        ? html`<p class="warning" role="alert">
            <span
              >${w.name}'s safety number has changed: a new device, a reset app, or someone pretending to be
              ${w.name}.</span
            >
            ${this.trust === 'changed' && !w.acceptedChange ? html`<button @click=${() => this.emit('accept-change')}>Continue anyway</button>` : nothing}
            <button @click=${() => this.emit('verify')}>Verify</button>
          </p>`
        : nothing}
      ${mismatch && !w.failure ? html`<p class="warning" role="alert" data-mismatch><span>${mismatchSentence(w.name)}</span></p>` : nothing}
      ${w.failure
        ? html`<p class="failure" role="alert" data-failure>
            <span>${w.failure}</span>
            ${w.link === 'closed' && this.trust !== 'changed-verified' && !mismatch ? html`<button @click=${() => this.emit('reconnect')}>Try again</button>` : nothing}
          </p>`
        : nothing}
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-whisper-header': WhisperHeader;
  }
}
