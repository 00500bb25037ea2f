import { LitElement, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { emit, on } from './events.ts';
import type { MenuItem } from './member-menu.ts';

/**
 * The whisper header's "⋯" menu: the safety number, connecting again and clearing the
 * conversation. Loaded with the dialogs (not needed for the first paint).
 */
@customElement('wisp-whisper-menu')
export class WhisperMenu extends LitElement {
  /** The contact's identity key. */
  @property() key = '';
  @property() name = '';
  @property({ type: Boolean }) verified = false;
  /** The link is down and nothing blocks it: "Try again" makes a new one. */
  @property({ type: Boolean }) reconnect = false;
  @property({ type: Number }) x = 0;
  @property({ type: Number }) y = 0;

  private items(): MenuItem[] {
    const items: MenuItem[] = [{ action: 'verify', label: this.verified ? 'Safety number…' : 'Verify…' }];
    if (this.reconnect) items.push({ action: 'reconnect', label: 'Try again' });
    items.push({ action: 'clear-conversation', label: 'Clear this conversation' });
    return items;
  }

  private choose(action: string): void {
    // Closed first, so focus is back on the menu button before a dialog takes it.
    emit(this, 'menu-close');
    if (action === 'clear-conversation') emit(this, 'clear-conversation', { tab: `@${this.key}` });
    else if (action === 'verify' || action === 'reconnect') emit(this, action, { key: this.key });
  }

  override render() {
    return html`<wisp-member-menu
      .items=${this.items()}
      label=${`Whisper with ${this.name}`}
      .x=${this.x}
      .y=${this.y}
      ${on('menu-choose', (e) => {
        e.stopPropagation();
        this.choose(e.detail.action);
      })}
      ${on('menu-close', (e) => {
        e.stopPropagation();
        emit(this, 'menu-close');
      })}
    ></wisp-member-menu>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-whisper-menu': WhisperMenu;
  }
}
