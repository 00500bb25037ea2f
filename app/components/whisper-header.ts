import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { WhisperState } from '../state/store.ts';
import { trustLevel, type Trust } from '../storage/pins.ts';
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
  /** A mismatch with the key an invite link introduced (not with a compared safety number). */
  @property({ type: Boolean }) byInvite = false;
  /** "Whisper only with verified people" is on: an unverified contact is blocked too. */
  @property({ type: Boolean }) verifiedOnly = false;
  /** The plain-words explanation of "not verified yet" is open. */
  @state() private explaining = false;

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
      .chip.trust {
        min-height: 0;
        font: inherit;
        font-size: 0.8rem;
        background: none;
      }
      .chip.warn {
        color: var(--warn);
        border-color: var(--warn);
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
      .failure,
      .explain {
        margin: 0.5rem 0 0;
        padding: 0.5rem 0.65rem;
        border-radius: 8px;
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: center;
      }
      .explain {
        border: 1px solid var(--border);
      }
      .warning {
        background: var(--warn-bg);
        border: 1px solid var(--warn);
      }
      .failure {
        background: var(--danger-bg);
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

  protected override willUpdate(changed: PropertyValues<this>): void {
    // The element is reused across conversations: an explanation opened for one closes for the next.
    if (changed.has('whisper') && changed.get('whisper')?.key !== this.whisper.key) this.explaining = false;
  }

  /** How sure the person can be that this is the contact's key: never "end-to-end encrypted" alone unless verified. */
  private renderTrust() {
    switch (trustLevel(this.trust)) {
      case 'verified':
        return html`<span class="chip trust secure" data-trust="verified">Verified</span>`;
      case 'changed':
        return html`<span class="chip trust warn" data-trust="changed">Safety number changed</span>`;
      case 'mismatch':
        return html`<span class="chip trust warn" data-trust="mismatch">Safety number does not match</span>`;
      default:
        return html`<button class="chip trust warn" data-trust="unverified" aria-expanded=${String(this.explaining)} @click=${() => (this.explaining = !this.explaining)}>
          Not verified yet
        </button>`;
    }
  }

  override render() {
    const w = this.whisper;
    const level = trustLevel(this.trust);
    const changed = level === 'changed';
    // Nothing goes out and nothing is shown until the person verifies (or, for a change, continues).
    const blocked = this.trust === 'changed-verified' || level === 'mismatch' || (this.verifiedOnly && level === 'unverified');
    const status =
      w.link === 'ready'
        ? html`<span class="chip secure" data-secure="true">${lockIcon} ${level === 'verified' ? 'End-to-end encrypted' : 'Encrypted'}</span><span class="chip path" data-path=${w.path ?? ''}>${w.path ? PATHS[w.path] : ''}</span>`
        : w.link === 'connecting'
          ? html`<span class="chip">Setting up a secure channel…</span>`
          : html`<span class="chip">Not connected</span>`;
    return html`
      <div class="row">
        <span class="name">${w.name}</span>${trustBadge(this.trust, { quiet: true })}
        ${status}${this.renderTrust()}
        <span class="spacer"></span>
        <button @click=${() => this.emit('verify')}>${this.trust === 'verified' ? 'Safety number' : 'Verify'}</button>
      </div>
      <div class="tools">
        <button data-action="clear-conversation" @click=${() => emit(this, 'clear-conversation', { tab: `@${w.key}` })}>Clear this conversation</button>
      </div>
      ${this.explaining && level === 'unverified'
        ? html`<p class="explain" data-explain>
            <span
              >Your whispers with ${w.name} are encrypted, but you have not checked that this is really ${w.name}'s key.
              Until you compare safety numbers, whoever runs the server could pose as ${w.name}.</span
            >
            <button @click=${() => this.emit('verify')}>Verify</button>
          </p>`
        : nothing}
      ${level === 'mismatch'
        ? html`<p class="warning" role="alert" data-warning="mismatch" data-mismatch>
            <span
              >${this.byInvite
                ? mismatchSentence(w.name)
                : `${w.name}'s safety number does not match: someone may be interfering. Nothing is sent until you verify again.`}</span
            >
            <button @click=${() => this.emit('verify')}>Verify</button>
          </p>`
        : nothing}
      ${this.verifiedOnly && level === 'unverified'
        ? html`<p class="warning" role="alert" data-warning="unverified">
            <span
              >You whisper only with verified people: nothing is sent to ${w.name}, and nothing from ${w.name} is shown,
              until you verify ${w.name}.</span
            >
            <button @click=${() => this.emit('verify')}>Verify</button>
          </p>`
        : nothing}
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
      ${w.failure
        ? html`<p class="failure" role="alert" data-failure>
            <span>${w.failure}</span>
            ${w.link === 'closed' && !blocked ? html`<button @click=${() => this.emit('reconnect')}>Try again</button>` : nothing}
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
