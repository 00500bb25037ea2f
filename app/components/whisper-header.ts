import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { WhisperState } from '../state/store.ts';
import { trustLevel, type Trust } from '../storage/pins.ts';
import { mismatchSentence } from '../state/invite.ts';
import { shared } from '../styles/tokens.ts';
import { trustBadge } from './trust-badge.ts';
import { lockIcon } from './icons.ts';
import { emit, on } from './events.ts';
import { menuBelow, refocusOpener } from './menu-button.ts';

const PATHS = { direct: 'Direct', turn: 'Via TURN', relay: 'Relayed by the server' } as const;

const TRUST_WORDS = {
  verified: 'Verified',
  changed: 'Safety number changed',
  mismatch: 'Safety number does not match',
  unverified: 'Not verified yet',
} as const;

/**
 * Above a whisper conversation, in one line like the room header: who, how sure the person can be
 * of their key, how the whispers travel, Verify while not verified, and a "⋯" menu (whisper-menu.ts,
 * loaded with the dialogs). Tapping the state shows it whole below the line, with what "not verified
 * yet" means. A changed or mismatched key, and a failure, get a banner of their own below.
 */
@customElement('wisp-whisper-header')
export class WhisperHeader extends LitElement {
  @property({ attribute: false }) whisper!: WhisperState;
  @property() trust: Trust = 'new';
  /** A mismatch with the key an invite link introduced (not with a compared safety number). */
  @property({ type: Boolean }) byInvite = false;
  /** "Whisper only with verified people" is on: an unverified contact is blocked too. */
  @property({ type: Boolean }) verifiedOnly = false;
  /** The state in full, and the plain-words explanation of "not verified yet", are open. */
  @state() private explaining = false;
  /** Where the "⋯" menu is open. */
  @state() private menu?: { x: number; y: number };

  static override styles = [
    shared,
    css`
      :host {
        display: block;
        padding: 0.1rem max(0.75rem, env(safe-area-inset-right)) 0.1rem max(0.75rem, env(safe-area-inset-left));
        border-bottom: 1px solid var(--border);
        background: var(--surface);
        font-size: 0.9rem;
      }
      .line {
        display: flex;
        align-items: center;
        gap: 0.4rem;
        min-width: 0;
      }
      .name {
        font-weight: 600;
        flex: 0 1 auto;
        max-width: 45%;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .summary {
        flex: 1 1 0;
        min-width: 0;
        min-height: 2rem;
        padding: 0 0.25rem;
        text-align: left;
        background: transparent;
        border-color: transparent;
        color: var(--muted);
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .ok {
        color: var(--ok);
      }
      .warn {
        color: var(--warn);
      }
      .line > button:not(.summary) {
        flex: none;
        min-height: 2rem;
        padding: 0 0.6rem;
      }
      .more {
        min-width: 2.25rem;
      }
      .details {
        margin: 0.15rem 0 0.4rem;
        color: var(--muted);
        overflow-wrap: anywhere;
      }
      .details p {
        margin: 0.15rem 0;
      }
      .warning,
      .failure,
      .explain {
        margin: 0.25rem 0 0.4rem;
        padding: 0.4rem 0.65rem;
        border-radius: 8px;
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: center;
      }
      .explain {
        border: 1px solid var(--border);
        color: var(--text);
      }
      .warning {
        background: var(--warn-bg);
        border: 1px solid var(--warn);
      }
      .failure {
        background: var(--danger-bg);
        border: 1px solid var(--danger);
      }
      p button {
        min-height: 2rem;
        padding: 0.2rem 0.7rem;
      }
    `,
  ];

  private emit(type: 'verify' | 'accept-change' | 'reconnect'): void {
    emit(this, type, { key: this.whisper.key });
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    // The element is reused across conversations: what was opened for one closes for the next.
    if (changed.has('whisper') && changed.get('whisper')?.key !== this.whisper.key) {
      this.explaining = false;
      this.menu = undefined;
    }
  }

  private openMenu(): void {
    this.menu = menuBelow(this.renderRoot.querySelector('.more')!);
  }

  /** Closes the menu and gives focus back to "⋯", unless the person moved it elsewhere. */
  private async closeMenu(): Promise<void> {
    this.menu = undefined;
    await this.updateComplete;
    refocusOpener(this, this.renderRoot.querySelector<HTMLElement>('.more'));
  }

  /** The link in words: never "end-to-end encrypted" unless the contact is verified. */
  private link(verified: boolean): { words: string; view: unknown } {
    const w = this.whisper;
    if (w.link === 'ready') {
      const secure = verified ? 'End-to-end encrypted' : 'Encrypted';
      const path = w.path ? PATHS[w.path] : '';
      return {
        words: path ? `${secure} · ${path}` : secure,
        view: html`<span class="ok" data-secure="true">${lockIcon} ${secure}</span>${path ? html`<span aria-hidden="true"> · </span><span data-path=${w.path ?? ''}>${path}</span>` : nothing}`,
      };
    }
    const words = w.link === 'connecting' ? 'Setting up a secure channel…' : 'Not connected';
    return { words, view: html`<span>${words}</span>` };
  }

  override render() {
    const w = this.whisper;
    const level = trustLevel(this.trust);
    const changed = level === 'changed';
    // Nothing goes out and nothing is shown until the person verifies (or, for a change, continues).
    const blocked = this.trust === 'changed-verified' || level === 'mismatch' || (this.verifiedOnly && level === 'unverified');
    const trustWords = TRUST_WORDS[level];
    const link = this.link(level === 'verified');
    const summary = `${trustWords} · ${link.words}`;
    return html`
      <div class="line">
        <span class="name" title=${w.name}>${w.name}</span>${trustBadge(this.trust, { quiet: true })}
        <button class="summary" aria-expanded=${String(this.explaining)} aria-controls="details" title=${summary} @click=${() => (this.explaining = !this.explaining)}><span class=${level === 'verified' ? 'ok' : 'warn'} data-trust=${level}>${trustWords}</span><span aria-hidden="true"> · </span>${link.view}</button>
        ${level === 'unverified' && !this.verifiedOnly ? html`<button class="verify" @click=${() => this.emit('verify')}>Verify</button>` : nothing}
        <button
          class="more"
          aria-label=${`Actions for the whisper with ${w.name}`}
          title="Whisper actions"
          aria-haspopup="menu"
          aria-expanded=${this.menu ? 'true' : 'false'}
          @click=${() => (this.menu ? void this.closeMenu() : this.openMenu())}
        >
          ⋯
        </button>
      </div>
      <div id="details" class="details" ?hidden=${!this.explaining}>
        ${this.explaining ? html`<p data-status>${summary}</p>` : nothing}
        ${this.explaining && level === 'unverified'
          ? html`<p class="explain" data-explain>
              <span
                >Your whispers with ${w.name} are encrypted, but you have not checked that this is really ${w.name}'s key.
                Until you compare safety numbers, whoever runs the server could pose as ${w.name}.</span
              >
              <button @click=${() => this.emit('verify')}>Verify</button>
            </p>`
          : nothing}
      </div>
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
      ${this.menu
        ? html`<wisp-whisper-menu
            key=${w.key}
            name=${w.name}
            ?verified=${level === 'verified'}
            ?reconnect=${w.link === 'closed' && !blocked}
            .x=${this.menu.x}
            .y=${this.menu.y}
            ${on('menu-close', (e) => {
              e.stopPropagation();
              void this.closeMenu();
            })}
          ></wisp-whisper-menu>`
        : nothing}
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-whisper-header': WhisperHeader;
  }
}
