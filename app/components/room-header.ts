import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { RoomState } from '../state/store.ts';
import { shared } from '../styles/tokens.ts';
import { emit } from './events.ts';

/** A room's name, topic, who can read it, and its invite and passphrase actions. */
@customElement('wisp-room-header')
export class RoomHeader extends LitElement {
  @property({ attribute: false }) room!: RoomState;
  /** The person owns this room (may change the passphrase). */
  @property({ type: Boolean }) owner = false;

  static override styles = [
    shared,
    css`
      :host {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.25rem 0.5rem;
        padding: 0.4rem 0.75rem;
        border-bottom: 1px solid var(--border);
        font-size: 0.9rem;
      }
      .name {
        font-weight: 600;
      }
      .muted {
        color: var(--muted);
      }
      .e2e {
        color: var(--ok);
      }
      .actions {
        margin-left: auto;
        display: flex;
        gap: 0.35rem;
      }
      button {
        font-size: 0.8rem;
      }
    `,
  ];

  private emit(type: 'invite' | 'change-passphrase' | 'unlock-room' | 'forget-room'): void {
    emit(this, type, { room: this.room.name });
  }

  override render() {
    const room = this.room;
    return html`<span class="name">#${room.name}</span>
      ${room.topic ? html`<span class="topic">${room.topic}</span>` : nothing}
      ${!room.synced
        ? html`<span class="muted" role="status">${room.unlocking ? '· deriving the room key…' : room.locked ? '· needs the passphrase' : '· joining…'}</span>`
        : room.private
          ? html`<span class="e2e" data-readers="members">· end-to-end encrypted: only people with the passphrase can read this room</span>`
          : html`<span class="muted" data-readers="operator">· the server operator can read this room</span>`}
      <span class="actions">
        <button @click=${() => this.emit('invite')}>Invite</button>
        ${room.private && this.owner ? html`<button @click=${() => this.emit('change-passphrase')}>Change passphrase</button>` : nothing}
        ${room.locked ? html`<button @click=${() => this.emit('unlock-room')}>Enter passphrase</button>` : nothing}
        ${room.private || room.locked ? html`<button @click=${() => this.emit('forget-room')}>Forget this room</button>` : nothing}
        <button data-action="clear-conversation" @click=${() => emit(this, 'clear-conversation', { tab: room.name })}>Clear this conversation</button>
      </span>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-room-header': RoomHeader;
  }
}
