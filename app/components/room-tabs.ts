import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { shared } from '../styles/tokens.ts';
import { lockIcon } from './icons.ts';
import { emit } from './events.ts';

export interface RoomTab {
  /** A room name, or "@" + key for a whisper conversation. */
  id: string;
  label: string;
  unread: number;
  whisper?: boolean;
}

/** One tab per joined room, with unread counts. Arrow keys move between tabs. */
@customElement('wisp-room-tabs')
export class RoomTabs extends LitElement {
  @property({ attribute: false }) tabs: RoomTab[] = [];
  @property() active?: string;

  static override styles = [
    shared,
    css`
      :host {
        display: flex;
        gap: 0.25rem;
        padding: 0.35rem 0.5rem;
        overflow-x: auto;
        border-bottom: 1px solid var(--border);
        background: var(--surface);
        scrollbar-width: thin;
      }
      [role='tablist'] {
        display: flex;
        gap: 0.25rem;
      }
      button {
        white-space: nowrap;
        background: transparent;
        border-color: transparent;
      }
      button.whisper {
        font-style: italic;
      }
      button[aria-selected='true'] {
        background: var(--surface-2);
        border-color: var(--border);
        font-weight: 600;
      }
      .badge {
        display: inline-block;
        min-width: 1.4rem;
        margin-left: 0.35rem;
        padding: 0 0.35rem;
        border-radius: 999px;
        background: var(--accent);
        color: var(--accent-ink);
        font-size: 0.75rem;
        font-weight: 700;
        text-align: center;
      }
    `,
  ];

  private select(name: string): void {
    emit(this, 'room-select', { room: name });
  }

  private onKeyDown(event: KeyboardEvent): void {
    if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
    const buttons = [...this.renderRoot.querySelectorAll<HTMLButtonElement>('[role=tab]')];
    const index = buttons.indexOf(event.target as HTMLButtonElement);
    if (index < 0) return;
    const next = buttons[(index + (event.key === 'ArrowRight' ? 1 : -1) + buttons.length) % buttons.length];
    next.focus();
    this.select(next.dataset.tab!);
  }

  override render() {
    return html`
      <div role="tablist" aria-label="Rooms" @keydown=${this.onKeyDown}>
        ${this.tabs.map(
          (tab) => html`<button
            role="tab"
            data-tab=${tab.id}
            data-room=${tab.whisper ? nothing : tab.id}
            class=${tab.whisper ? 'whisper' : ''}
            aria-selected=${tab.id === this.active ? 'true' : 'false'}
            tabindex=${tab.id === this.active ? 0 : -1}
            title=${tab.whisper ? `Whisper with ${tab.label}` : `#${tab.label}`}
            @click=${() => this.select(tab.id)}
          >
            ${tab.whisper ? html`${lockIcon} ${tab.label}` : `#${tab.label}`}${tab.unread
              ? html`<span class="badge" aria-label=${`${tab.unread} unread`}>${tab.unread > 99 ? '99+' : tab.unread}</span>`
              : nothing}
          </button>`,
        )}
      </div>
      <button aria-label="Join or create a room" title="Join or create a room" @click=${() => emit(this, 'room-add')}>
        +
      </button>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-room-tabs': RoomTabs;
  }
}
