import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { Member } from '../../signal-server/protocol.ts';
import { shared } from '../styles/tokens.ts';

/** Who is in the room, sorted by name, yourself marked. */
@customElement('wisp-member-list')
export class MemberList extends LitElement {
  @property({ attribute: false }) members: Member[] = [];
  @property() me?: string;
  /** False while the member list is not known (offline). */
  @property({ type: Boolean }) synced = false;

  static override styles = [
    shared,
    css`
      :host {
        display: block;
        padding: 0.75rem;
      }
      h2 {
        font-size: 0.85rem;
        text-transform: uppercase;
        letter-spacing: 0.05em;
        color: var(--muted);
        margin: 0 0 0.5rem;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        padding: 0.3rem 0.25rem;
        overflow-wrap: anywhere;
      }
      .dot {
        width: 0.55rem;
        height: 0.55rem;
        border-radius: 50%;
        background: var(--ok);
        flex: none;
      }
      .you {
        color: var(--muted);
        font-size: 0.85rem;
      }
      p {
        color: var(--muted);
      }
    `,
  ];

  override render() {
    const sorted = [...this.members].sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }));
    return html`
      <h2 id="heading">People here${this.synced ? ` (${sorted.length})` : ''}</h2>
      ${this.synced
        ? html`<ul aria-labelledby="heading">
            ${sorted.map(
              (m) => html`<li data-id=${m.id}>
                <span class="dot" aria-hidden="true"></span><span class="name">${m.name}</span>${m.id === this.me ? html`<span class="you">(you)</span>` : nothing}
              </li>`,
            )}
          </ul>`
        : html`<p>Waiting for the server…</p>`}
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-member-list': MemberList;
  }
}
