import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { RoomState } from '../state/store.ts';
import { newMembersSentence } from '../state/history-setting.ts';
import { shared } from '../styles/tokens.ts';
import { emit, on } from './events.ts';
import type { MenuItem } from './member-menu.ts';

/** What a room not yet joined says when no join is coming: the connection stopped, or a server-wide ban. */
const STOPPED: Record<string, string> = { stopped: '· not connected', banned: '· not joined: you are banned from this server' };

/** A room's name, topic, who can read it, what new members see, and its invite, passphrase and history actions. */
@customElement('wisp-room-header')
export class RoomHeader extends LitElement {
  @property({ attribute: false }) room!: RoomState;
  /** The person owns this room (may change the passphrase). */
  @property({ type: Boolean }) owner = false;
  /** How many recent messages the person may let new members see (empty: they may not change it). */
  @property({ attribute: false }) historyChoices: number[] = [];
  /** '' while a join may come, 'stopped' when the connection stopped, 'banned' after a server-wide ban. */
  @property() stopped: '' | 'stopped' | 'banned' = '';
  /** Where the history menu is open. */
  @state() private historyMenu?: { x: number; y: number };

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

  private openHistoryMenu(event: MouseEvent): void {
    const box = (event.currentTarget as HTMLElement).getBoundingClientRect();
    this.historyMenu = { x: box.left, y: box.bottom + 4 };
  }

  private chooseHistory(action: string): void {
    this.historyMenu = undefined;
    emit(this, 'room-history', { room: this.room.name, newMembers: Number(action) });
  }

  private historyItems(): MenuItem[] {
    return this.historyChoices.map((n) => ({ action: String(n), label: `${n === this.room.newMembers ? '✓ ' : ''}${n === 0 ? 'None: keep no history' : `The last ${n} messages`}` }));
  }

  override render() {
    const room = this.room;
    return html`<span class="name">#${room.name}</span>
      ${room.topic ? html`<span class="topic">${room.topic}</span>` : nothing}
      ${!room.synced
        ? html`<span class="muted" role="status">${room.unlocking ? '· deriving the room key…' : room.locked ? '· needs the passphrase' : STOPPED[this.stopped] ?? '· joining…'}</span>`
        : room.private
          ? html`<span class="e2e" data-readers="members">· end-to-end encrypted: only people with the passphrase can read this room</span>`
          : html`<span class="muted" data-readers="operator">· the server operator can read this room</span>`}
      ${room.synced && room.newMembers !== undefined ? html`<span class="muted" data-history>· ${newMembersSentence(room.newMembers)}</span>` : nothing}
      <span class="actions">
        <button @click=${() => this.emit('invite')}>Invite</button>
        ${room.private && this.owner ? html`<button @click=${() => this.emit('change-passphrase')}>Change passphrase</button>` : nothing}
        ${room.locked ? html`<button @click=${() => this.emit('unlock-room')}>Enter passphrase</button>` : nothing}
        ${room.private || room.locked ? html`<button @click=${() => this.emit('forget-room')}>Forget this room</button>` : nothing}
        <button data-action="clear-conversation" @click=${() => emit(this, 'clear-conversation', { tab: room.name })}>Clear this conversation</button>
        ${room.synced && this.historyChoices.length
          ? html`<button aria-haspopup="menu" aria-expanded=${this.historyMenu ? 'true' : 'false'} @click=${this.openHistoryMenu}>History</button>`
          : nothing}
      </span>
      ${this.historyMenu
        ? html`<wisp-member-menu
            .items=${this.historyItems()}
            label="What new members see"
            .x=${this.historyMenu.x}
            .y=${this.historyMenu.y}
            ${on('menu-choose', (e) => {
              e.stopPropagation();
              this.chooseHistory(e.detail.action);
            })}
            ${on('menu-close', (e) => {
              e.stopPropagation();
              this.historyMenu = undefined;
            })}
          ></wisp-member-menu>`
        : nothing}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-room-header': RoomHeader;
  }
}
