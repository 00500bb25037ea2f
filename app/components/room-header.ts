import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { RoomState } from '../state/store.ts';
import { newMembersSentence } from '../state/history-setting.ts';
import { shared } from '../styles/tokens.ts';
import { lockIcon } from './icons.ts';
import { on } from './events.ts';
import { menuBelow, refocusOpener } from './menu-button.ts';

/** What a room not yet joined says when no join is coming: the connection stopped, or a server-wide ban. */
const STOPPED: Record<string, string> = { stopped: 'not connected', banned: 'not joined: you are banned from this server' };

const READERS = {
  members: 'end-to-end encrypted: only people with the passphrase can read this room',
  operator: 'the server operator can read this room',
};

/**
 * A room's header in one line: name, lock for a private room, topic (or who can read it), and one
 * menu with the room's actions (room-menu.ts, loaded with the dialogs). Tapping the topic opens the
 * full details below the line.
 */
@customElement('wisp-room-header')
export class RoomHeader extends LitElement {
  @property({ attribute: false }) room!: RoomState;
  /** The person owns this room (may change the passphrase). */
  @property({ type: Boolean }) owner = false;
  /** The person may set the topic (owner, moderators, admin). */
  @property({ type: Boolean }) moderator = false;
  /** How many recent messages the person may let new members see (empty: they may not change it). */
  @property({ attribute: false }) historyChoices: number[] = [];
  /** '' while a join may come, 'stopped' when the connection stopped, 'banned' after a server-wide ban. */
  @property() stopped: '' | 'stopped' | 'banned' = '';
  /** Where the room's menu is open. */
  @state() private menu?: { x: number; y: number };
  /** The full topic and who can read the room are shown below the line. */
  @state() private expanded = false;

  static override styles = [
    shared,
    css`
      :host {
        display: block;
        padding: 0.1rem max(0.75rem, env(safe-area-inset-right)) 0.1rem max(0.75rem, env(safe-area-inset-left));
        border-bottom: 1px solid var(--border);
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
        max-width: 60%;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .lock {
        flex: none;
        color: var(--ok);
        display: inline-flex;
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
      .summary.e2e {
        color: var(--ok);
      }
      .more {
        flex: none;
        min-height: 2rem;
        min-width: 2.25rem;
        padding: 0 0.4rem;
        margin-left: auto;
      }
      .details {
        margin: 0.15rem 0 0.4rem;
        color: var(--muted);
        overflow-wrap: anywhere;
      }
      .details p {
        margin: 0.15rem 0;
      }
      .details .topic {
        color: var(--text);
      }
      .details .e2e {
        color: var(--ok);
      }
    `,
  ];

  protected override willUpdate(changed: PropertyValues<this>): void {
    // The element is reused across rooms: details opened for one close for the next.
    if (changed.has('room') && changed.get('room')?.name !== this.room.name) {
      this.expanded = false;
      this.menu = undefined;
    }
  }

  private openMenu(): void {
    this.menu = menuBelow(this.renderRoot.querySelector('.more')!);
  }

  /** Closes the menu and gives focus back to the button that opened it, unless the person moved it elsewhere. */
  private async closeMenu(): Promise<void> {
    this.menu = undefined;
    await this.updateComplete;
    refocusOpener(this, this.renderRoot.querySelector<HTMLElement>('.more'));
  }

  /** Not joined yet: why, said where the topic goes. */
  private status(): string | undefined {
    const room = this.room;
    if (room.synced) return undefined;
    return room.unlocking ? 'deriving the room key…' : room.locked ? 'needs the passphrase' : STOPPED[this.stopped] ?? 'joining…';
  }

  override render() {
    const room = this.room;
    const status = this.status();
    const readers = room.private ? 'members' : 'operator';
    const summary = status ?? room.topic ?? READERS[readers];
    return html`<div class="line">
        <span class="name" title=${`#${room.name}`}>#${room.name}</span>
        ${room.private ? html`<span class="lock" role="img" aria-label="Private room" title="Private room: end-to-end encrypted">${lockIcon}</span>` : nothing}
        <button
          class=${`summary${!status && !room.topic && room.private ? ' e2e' : ''}`}
          aria-expanded=${this.expanded ? 'true' : 'false'}
          aria-controls="details"
          title=${summary}
          @click=${() => (this.expanded = !this.expanded)}
        >
          ${status ? html`<span role="status">${status}</span>` : summary}
        </button>
        <button
          class="more"
          aria-label=${`Actions for #${room.name}`}
          title="Room actions"
          aria-haspopup="menu"
          aria-expanded=${this.menu ? 'true' : 'false'}
          @click=${() => (this.menu ? void this.closeMenu() : this.openMenu())}
        >
          ⋯
        </button>
      </div>
      <div id="details" class=${this.expanded ? 'details' : 'details visually-hidden'}>
        ${room.topic ? html`<p class="topic">${room.topic}</p>` : nothing}
        ${room.synced
          ? html`<p class=${room.private ? 'e2e' : ''} data-readers=${readers}>${READERS[readers]}</p>`
          : nothing}
        ${room.synced && room.newMembers !== undefined ? html`<p data-history>${newMembersSentence(room.newMembers)}</p>` : nothing}
      </div>
      ${this.menu
        ? html`<wisp-room-menu
            .room=${room}
            ?owner=${this.owner}
            ?moderator=${this.moderator}
            .historyChoices=${this.historyChoices}
            .x=${this.menu.x}
            .y=${this.menu.y}
            ${on('menu-close', (e) => {
              e.stopPropagation();
              void this.closeMenu();
            })}
          ></wisp-room-menu>`
        : nothing}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-room-header': RoomHeader;
  }
}
