import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
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

/**
 * One tab per joined room, with unread counts, a × on each and "+" pinned outside the strip.
 * Arrow keys move between tabs; Tab reaches the active tab's × (the others' are for pointers,
 * one stop each would be too many); Delete closes the focused tab. The strip scrolls sideways
 * with a fade on the side that has more, and keeps the active tab in view.
 */
@customElement('wisp-room-tabs')
export class RoomTabs extends LitElement {
  @property({ attribute: false }) tabs: RoomTab[] = [];
  @property() active?: string;
  /** Which sides of the strip have tabs scrolled out of view. */
  @state() private more = { left: false, right: false };
  private resize?: ResizeObserver;

  // The strip fades out at an edge with more tabs beyond it (data-more). The active tab has an inset
  // outline, not a border, so it is no taller than the others.
  static override styles = [
    shared,
    css`
      :host {
        display: flex;
        align-items: center;
        gap: 0.25rem;
        padding: 0.15rem max(0.5rem, env(safe-area-inset-right)) 0.15rem max(0.5rem, env(safe-area-inset-left));
        border-bottom: 1px solid var(--border);
        background: var(--surface);
        min-width: 0;
      }
      .strip {
        flex: 1 1 auto;
        min-width: 0;
        display: flex;
        gap: 0.15rem;
        overflow-x: auto;
        scrollbar-width: none;
      }
      .strip::-webkit-scrollbar {
        display: none;
      }
      .strip[data-more='left'] {
        mask-image: linear-gradient(to right, transparent, #000 2rem);
      }
      .strip[data-more='right'] {
        mask-image: linear-gradient(to left, transparent, #000 2rem);
      }
      .strip[data-more='left right'] {
        mask-image: linear-gradient(to right, transparent, #000 2rem, #000 calc(100% - 2rem), transparent);
      }
      .tab {
        display: flex;
        align-items: center;
        flex: none;
        max-width: 12rem;
        border-radius: 8px;
      }
      .tab.active {
        background: var(--surface-2);
        box-shadow: inset 0 0 0 1px var(--border);
      }
      button {
        min-height: 2rem;
        padding: 0.2rem 0.5rem;
        background: transparent;
        border-color: transparent;
      }
      [role='tab'] {
        display: flex;
        align-items: center;
        gap: 0.3rem;
        min-width: 0;
        padding-right: 0.2rem;
        white-space: nowrap;
      }
      .label {
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .whisper [role='tab'] {
        font-style: italic;
      }
      .active [role='tab'] {
        font-weight: 600;
      }
      .close {
        flex: none;
        min-width: 1.75rem;
        padding: 0 0.3rem;
        color: var(--muted);
      }
      .add {
        flex: none;
        border-color: var(--border);
      }
      .badge {
        flex: none;
        min-width: 1.4rem;
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

  /** The tab ids last brought into view, to tell a tab opened or closed from a new unread count. */
  private shownTabs = '';

  override connectedCallback(): void {
    super.connectedCallback();
    this.resize ??= new ResizeObserver(() => this.measure());
    const strip = this.strip();
    if (strip) this.resize.observe(strip);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resize?.disconnect();
  }

  protected override firstUpdated(): void {
    const strip = this.strip();
    if (strip) this.resize?.observe(strip);
  }

  protected override updated(changed: PropertyValues<this>): void {
    // A tab just chosen, opened or closed (a whisper opened elsewhere, say) is brought into view; a new
    // unread count is not, or it would undo the person's own scrolling of the strip.
    const ids = this.tabs.map((tab) => tab.id).join('\n');
    if (changed.has('active') || ids !== this.shownTabs) {
      this.shownTabs = ids;
      this.activeTab()?.parentElement?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    }
    if (changed.has('tabs')) this.measure();
  }

  private strip(): HTMLElement | null {
    return this.renderRoot.querySelector<HTMLElement>('.strip');
  }

  private activeTab(): HTMLElement | null {
    return this.renderRoot.querySelector<HTMLElement>('[role=tab][aria-selected=true]');
  }

  private measure = (): void => {
    const strip = this.strip();
    if (!strip) return;
    const left = strip.scrollLeft > 1;
    const right = strip.scrollLeft + strip.clientWidth < strip.scrollWidth - 1;
    if (left !== this.more.left || right !== this.more.right) this.more = { left, right };
  };

  private select(name: string): void {
    emit(this, 'room-select', { room: name });
  }

  private close(tab: RoomTab): void {
    emit(this, 'tab-close', { tab: tab.id });
  }

  private onKeyDown(event: KeyboardEvent): void {
    const buttons = [...this.renderRoot.querySelectorAll<HTMLButtonElement>('[role=tab]')];
    const index = buttons.indexOf(event.target as HTMLButtonElement);
    if (index < 0) return;
    if (event.key === 'Delete') {
      const tab = this.tabs.find((t) => t.id === buttons[index].dataset.tab);
      if (tab) this.close(tab);
      return;
    }
    if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
    const next = buttons[(index + (event.key === 'ArrowRight' ? 1 : -1) + buttons.length) % buttons.length];
    next.focus();
    this.select(next.dataset.tab!);
  }

  override render() {
    // The tablist owns the tabs by id: each tab's × sits beside it in the strip, not inside the tablist
    // (a tablist may hold only tabs, and a tab may not hold a button).
    return html`
      <div role="tablist" aria-label="Rooms" aria-owns=${this.tabs.map((_, i) => `tab-${i}`).join(' ')}></div>
      <div class="strip" data-more=${[this.more.left && 'left', this.more.right && 'right'].filter(Boolean).join(' ')} @keydown=${this.onKeyDown} @scroll=${this.measure}>
        ${this.tabs.map((tab, i) => {
          const selected = tab.id === this.active;
          const name = tab.whisper ? tab.label : `#${tab.label}`;
          return html`<span class=${`tab${tab.whisper ? ' whisper' : ''}${selected ? ' active' : ''}`}>
            <button
              id=${`tab-${i}`}
              role="tab"
              data-tab=${tab.id}
              data-room=${tab.whisper ? nothing : tab.id}
              class=${tab.whisper ? 'whisper' : ''}
              aria-selected=${selected ? 'true' : 'false'}
              tabindex=${selected ? 0 : -1}
              title=${tab.whisper ? `Whisper with ${tab.label}` : name}
              @click=${() => this.select(tab.id)}
            >
              ${tab.whisper ? lockIcon : nothing}<span class="label">${name}</span>${tab.unread
                ? html`<span class="badge" aria-label=${`${tab.unread} unread`}>${tab.unread > 99 ? '99+' : tab.unread}</span>`
                : nothing}
            </button>
            <button
              class="close"
              data-close=${tab.id}
              tabindex=${selected ? 0 : -1}
              aria-label=${tab.whisper ? `Close whisper with ${tab.label}` : `Leave #${tab.label}`}
              title=${tab.whisper ? `Close whisper with ${tab.label}` : `Leave #${tab.label}`}
              @click=${() => this.close(tab)}
            >
              ×
            </button>
          </span>`;
        })}
      </div>
      <button class="add" aria-label="Join or create a room" title="Join or create a room" @click=${() => emit(this, 'room-add')}>+</button>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-room-tabs': RoomTabs;
  }
}
