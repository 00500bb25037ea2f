import { LitElement, css, html } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { checkRoomName } from '../../signal-server/protocol/protocol.ts';
import { dialogStyles, shared } from '../styles/tokens.ts';
import { emit } from './events.ts';

/** A dialog to join a listed room or create a new one. */
@customElement('wisp-room-picker')
export class RoomPicker extends LitElement {
  @property({ attribute: false }) directory?: { name: string; members: number }[];
  @property({ attribute: false }) joined: string[] = [];
  @state() private error = '';
  @query('dialog') private dialog!: HTMLDialogElement;
  @query('#room') private input!: HTMLInputElement;
  @query('#room-passphrase') private passphrase!: HTMLInputElement;

  static override styles = [
    shared,
    dialogStyles,
    css`
      ul {
        list-style: none;
        padding: 0;
        margin: 0.75rem 0;
        max-height: 50vh;
        overflow-y: auto;
      }
      li button {
        width: 100%;
        display: flex;
        justify-content: space-between;
        margin-bottom: 0.25rem;
      }
      .error {
        color: var(--danger);
        margin: 0.5rem 0 0;
      }
      .muted {
        color: var(--muted);
      }
      .close {
        float: right;
      }
      form {
        flex-wrap: wrap;
      }
      .private {
        flex-basis: 100%;
        display: flex;
        flex-direction: column;
        gap: 0.25rem;
        font-size: 0.875rem;
      }
    `,
  ];

  show(): void {
    this.error = '';
    this.dialog.showModal();
    this.input.value = '';
    this.passphrase.value = '';
    this.input.focus();
    emit(this, 'refresh');
  }

  private choose(room: string, passphrase?: string): void {
    const checked = checkRoomName(room);
    if (!checked.ok) {
      this.error = checked.reason;
      return;
    }
    this.dialog.close();
    emit(this, 'join-room', { room: checked.value, passphrase: passphrase || undefined });
  }

  override render() {
    const rooms = (this.directory ?? []).filter((r) => !this.joined.includes(r.name));
    return html`<dialog aria-labelledby="title">
      <button class="close" aria-label="Close" @click=${() => this.dialog.close()}>✕</button>
      <h2 id="title">Join a room</h2>
      <form @submit=${(e: Event) => (e.preventDefault(), this.choose(this.input.value, this.passphrase.value))}>
        <label class="visually-hidden" for="room">Room name</label>
        <input id="room" placeholder="#new-room" autocomplete="off" autocapitalize="none" spellcheck="false" />
        <button class="primary" type="submit">Join</button>
        <div class="private">
          <label for="room-passphrase">Passphrase (optional): a private room, unlisted and end-to-end encrypted</label>
          <input id="room-passphrase" type="password" autocomplete="off" />
        </div>
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      ${this.directory === undefined
        ? html`<p class="muted">Loading rooms…</p>`
        : rooms.length
          ? html`<ul aria-label="Open rooms">
              ${rooms.map((r) => html`<li><button @click=${() => this.choose(r.name)}><span>#${r.name}</span><span class="muted">${r.members} here</span></button></li>`)}
            </ul>`
          : html`<p class="muted">No other open rooms. Type a name to create one.</p>`}
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-room-picker': RoomPicker;
  }
}
