import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import type { Session } from '../state/session.ts';
import { StoreController } from '../state/store-controller.ts';
import { shared } from '../styles/tokens.ts';
import { shortFingerprint } from '../crypto/identity.ts';
import type { RoomPicker } from './room-picker.ts';
import type { Composer } from './composer.ts';
import './composer.ts';
import './connection-status.ts';
import './member-list.ts';
import './message-list.ts';
import './room-picker.ts';
import './room-tabs.ts';

/** The shell: lays out the presentational components and turns their events into Session commands. */
@customElement('wisp-app')
export class WispApp extends LitElement {
  @property({ attribute: false }) session!: Session;
  @state() private membersOpen = false;
  @query('wisp-room-picker') private picker!: RoomPicker;
  @query('wisp-composer') private composer?: Composer;
  private store?: StoreController;

  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        grid-template-rows: auto auto 1fr;
        height: 100dvh;
        background: var(--bg);
      }
      header {
        display: flex;
        align-items: center;
        gap: 0.75rem;
        padding: 0.4rem 0.75rem;
        padding-top: calc(0.4rem + env(safe-area-inset-top));
        background: var(--surface);
        border-bottom: 1px solid var(--border);
        min-width: 0;
      }
      h1 {
        font-size: 1.1rem;
        margin: 0;
        letter-spacing: 0.02em;
      }
      wisp-connection-status {
        flex: 1 1 auto;
        min-width: 0;
        overflow: hidden;
      }
      .me {
        font-size: 0.875rem;
        color: var(--muted);
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
        max-width: 45%;
      }
      .me strong {
        color: var(--text);
      }
      main {
        display: grid;
        grid-template-columns: 1fr 15rem;
        min-height: 0;
      }
      .chat {
        display: grid;
        grid-template-rows: 1fr auto;
        min-height: 0;
        min-width: 0;
      }
      aside {
        border-left: 1px solid var(--border);
        background: var(--surface);
        overflow-y: auto;
      }
      .members-toggle {
        display: none;
      }
      .empty {
        padding: 2rem;
        text-align: center;
        color: var(--muted);
      }
      .banner,
      .notice {
        position: fixed;
        left: 50%;
        transform: translateX(-50%);
        display: flex;
        gap: 0.75rem;
        align-items: center;
        max-width: 94vw;
        padding: 0.5rem 0.75rem;
        border-radius: var(--radius);
        background: var(--surface-2);
        border: 1px solid var(--border);
        box-shadow: 0 6px 24px #0008;
        z-index: 5;
      }
      .banner {
        top: 0.75rem;
        border-color: var(--accent);
      }
      .notice {
        bottom: 5.5rem;
      }
      @media (max-width: 720px) {
        main {
          grid-template-columns: 1fr;
        }
        aside {
          display: none;
          position: fixed;
          inset: 0 0 0 auto;
          width: min(18rem, 85vw);
          z-index: 4;
          box-shadow: -8px 0 24px #0008;
        }
        aside.open {
          display: block;
        }
        .members-toggle {
          display: inline-block;
        }
        .me .fp {
          display: none;
        }
        header {
          gap: 0.5rem;
        }
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    this.store ??= new StoreController(this, this.session.store);
  }

  private onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape' && this.membersOpen) {
      this.membersOpen = false;
      return;
    }
    // Alt+1..9 jumps to a room tab; Alt+J opens the room picker.
    if (!event.altKey) return;
    const order = this.session.state.order;
    if (/^[1-9]$/.test(event.key) && order[Number(event.key) - 1]) {
      event.preventDefault();
      this.session.activate(order[Number(event.key) - 1]);
    } else if (event.key.toLowerCase() === 'j') {
      event.preventDefault();
      this.picker.show();
    }
  };

  override firstUpdated(): void {
    this.addEventListener('keydown', this.onKeyDown);
    this.composer?.focus();
  }

  private renderNotice() {
    const notice = this.session.state.notice;
    if (!notice) return nothing;
    return html`<div class="notice" role="alert">
      <span>${notice.text}</span>
      <button aria-label="Dismiss" @click=${() => this.session.dismissNotice()}>OK</button>
    </div>`;
  }

  override render() {
    const state = this.session.state;
    const room = state.active ? state.rooms[state.active] : undefined;
    const members = room ? Object.values(room.members) : [];
    return html`
      <header>
        <h1>Wisp</h1>
        <wisp-connection-status .connection=${state.connection} @reconnect=${() => this.session.reconnect()}></wisp-connection-status>
        <span class="me">
          <strong>${state.me.name ?? '…'}</strong>
          ${state.me.fingerprint ? html`<span class="fp" title="Your identity key fingerprint">· ${shortFingerprint(state.me.fingerprint)}</span>` : nothing}
        </span>
        <button class="members-toggle" aria-expanded=${this.membersOpen ? 'true' : 'false'} aria-controls="members" @click=${() => (this.membersOpen = !this.membersOpen)}>
          People${room?.synced ? ` (${members.length})` : ''}
        </button>
      </header>
      <wisp-room-tabs
        .tabs=${state.order.map((name) => ({ name, unread: state.rooms[name]?.unread ?? 0 }))}
        .active=${state.active}
        @room-select=${(e: CustomEvent<{ room: string }>) => this.session.activate(e.detail.room)}
        @room-add=${() => this.picker.show()}
      ></wisp-room-tabs>
      <main>
        <section class="chat" aria-label=${room ? `#${room.name}` : 'No room'}>
          ${room
            ? html`<wisp-message-list .lines=${room.lines} room=${room.name}></wisp-message-list>
                <wisp-composer
                  room=${room.name}
                  .maxLength=${state.limits?.messageMaxLength ?? 2000}
                  @send=${(e: CustomEvent<{ text: string }>) => this.session.submit(e.detail.text)}
                ></wisp-composer>`
            : html`<div class="empty">
                <p>You are not in any room.</p>
                <button class="primary" @click=${() => this.picker.show()}>Join a room</button>
              </div>`}
        </section>
        <aside id="members" class=${this.membersOpen ? 'open' : ''} aria-label="People in this room">
          <wisp-member-list .members=${members} .synced=${room?.synced ?? false} me=${state.me.id ?? ''}></wisp-member-list>
        </aside>
      </main>
      <wisp-room-picker
        .directory=${state.directory}
        .joined=${state.order}
        @refresh=${() => this.session.requestDirectory()}
        @join-room=${(e: CustomEvent<{ room: string }>) => this.session.join(e.detail.room)}
      ></wisp-room-picker>
      ${state.updateReady
        ? html`<div class="banner" role="status">
            <span>A new version of Wisp is available.</span>
            <button class="primary" @click=${() => this.session.update()}>Reload</button>
          </div>`
        : nothing}
      ${this.renderNotice()}
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-app': WispApp;
  }
}
