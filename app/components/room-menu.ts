import { LitElement, html } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { RoomState } from '../state/store.ts';
import { emit, on } from './events.ts';
import type { MenuItem } from './member-menu.ts';

type RoomAction = 'invite' | 'change-passphrase' | 'unlock-room' | 'forget-room' | 'leave-room';

/**
 * The room header's "⋯" menu: the room's actions the person may take, and the history choices
 * in the same place. Loaded with the dialogs (not needed for the first paint).
 */
@customElement('wisp-room-menu')
export class RoomMenu extends LitElement {
  @property({ attribute: false }) room!: RoomState;
  @property({ type: Boolean }) owner = false;
  @property({ type: Boolean }) moderator = false;
  @property({ attribute: false }) historyChoices: number[] = [];
  @property({ type: Number }) x = 0;
  @property({ type: Number }) y = 0;
  @state() private history = false;

  private items(): MenuItem[] {
    const room = this.room;
    if (this.history) {
      return this.historyChoices.map((n) => ({ action: String(n), label: `${n === room.newMembers ? '✓ ' : ''}${n === 0 ? 'None: keep no history' : `The last ${n} messages`}` }));
    }
    const items: MenuItem[] = [{ action: 'invite', label: 'Invite…' }];
    if (room.synced && this.moderator) items.push({ action: 'set-topic', label: 'Set topic…' });
    if (room.synced && this.historyChoices.length) items.push({ action: 'history', label: 'History…' });
    if (room.private && this.owner) items.push({ action: 'change-passphrase', label: 'Change passphrase…' });
    if (room.locked) items.push({ action: 'unlock-room', label: 'Enter passphrase' });
    if (room.private || room.locked) items.push({ action: 'forget-room', label: 'Forget this room' });
    items.push({ action: 'clear-conversation', label: 'Clear this conversation' }, { action: 'leave-room', label: `Leave #${room.name}` });
    return items;
  }

  private choose(action: string): void {
    const room = this.room.name;
    if (action === 'history' && !this.history) {
      this.history = true;
      return;
    }
    // Closed first, so focus is back on the menu button before a dialog takes it.
    emit(this, 'menu-close');
    if (this.history) emit(this, 'room-history', { room, newMembers: Number(action) });
    else if (action === 'set-topic') emit(this, 'set-topic', { room, topic: this.room.topic ?? '' });
    else if (action === 'clear-conversation') emit(this, 'clear-conversation', { tab: room });
    else emit(this, action as RoomAction, { room });
  }

  override render() {
    return html`<wisp-member-menu
      .items=${this.items()}
      label=${this.history ? 'What new members see' : `Actions for #${this.room.name}`}
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
    'wisp-room-menu': RoomMenu;
  }
}
