import { LitElement, css, html, type PropertyValues } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { shared } from '../styles/tokens.ts';
import { emit } from './events.ts';

/** The focused element, looking into shadow roots; undefined when focus is on the page itself. */
function deepActiveElement(): HTMLElement | undefined {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active && active !== document.body ? (active as HTMLElement) : undefined;
}

export interface MenuItem {
  /** What the Session does, or a command prefilled in the composer. */
  action: string;
  label: string;
}

/** A small menu of the actions the viewer may take (on one member, or a room's history setting), and nothing else. */
@customElement('wisp-member-menu')
export class MemberMenu extends LitElement {
  @property({ attribute: false }) items: MenuItem[] = [];
  @property() label = '';
  @property({ type: Number }) x = 0;
  @property({ type: Number }) y = 0;

  static override styles = [
    shared,
    css`
      :host {
        position: fixed;
        z-index: 10;
      }
      [role='menu'] {
        min-width: 12rem;
        background: var(--surface-2);
        border: 1px solid var(--border);
        border-radius: var(--radius);
        box-shadow: 0 8px 24px var(--shadow);
        padding: 0.25rem;
        display: flex;
        flex-direction: column;
      }
      button {
        text-align: left;
        background: transparent;
        border-color: transparent;
      }
      button:focus-visible,
      button:hover {
        background: var(--own);
      }
    `,
  ];

  /** What had focus when the menu opened: focus goes back there when it closes. */
  private opener?: HTMLElement;

  override connectedCallback(): void {
    super.connectedCallback();
    this.opener = deepActiveElement();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    const opener = this.opener;
    this.opener = undefined;
    // Only when focus fell to the page (it was in the menu): not when the person moved it elsewhere.
    queueMicrotask(() => {
      if (opener?.isConnected && !deepActiveElement()) opener.focus();
    });
  }

  protected override updated(changed: PropertyValues<this>): void {
    // Keep the menu on screen and put focus on its first item.
    const width = this.offsetWidth;
    const height = this.offsetHeight;
    this.style.left = `${Math.max(4, Math.min(this.x, innerWidth - width - 4))}px`;
    this.style.top = `${Math.max(4, Math.min(this.y, innerHeight - height - 4))}px`;
    if (changed.has('items')) this.renderRoot.querySelector<HTMLButtonElement>('[role=menuitem]')?.focus();
  }

  private choose(action: string): void {
    emit(this, 'menu-choose', { action });
  }

  private close(): void {
    emit(this, 'menu-close');
  }

  private onKeyDown(event: KeyboardEvent): void {
    const items = [...this.renderRoot.querySelectorAll<HTMLButtonElement>('[role=menuitem]')];
    const index = items.indexOf(this.shadowRoot?.activeElement as HTMLButtonElement);
    if (event.key === 'Escape' || event.key === 'Tab') {
      event.preventDefault();
      // Escape closes this menu only, not the People drawer it may have opened from.
      event.stopPropagation();
      this.close();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      items[(index + (event.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length]?.focus();
    } else if (event.key === 'Home' || event.key === 'End') {
      event.preventDefault();
      items[event.key === 'Home' ? 0 : items.length - 1]?.focus();
    }
  }

  override render() {
    return html`<div role="menu" aria-label=${this.label} @keydown=${this.onKeyDown} @focusout=${(e: FocusEvent) => !this.renderRoot.contains(e.relatedTarget as Node) && this.close()}>
      ${this.items.map((item) => html`<button role="menuitem" data-action=${item.action} @click=${() => this.choose(item.action)}>${item.label}</button>`)}
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-member-menu': MemberMenu;
  }
}
