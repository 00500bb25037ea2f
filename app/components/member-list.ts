import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { Member } from '../../signal-server/protocol/protocol.ts';
import type { Trust } from '../storage/pins.ts';
import { trustBadge } from './trust-badge.ts';
import { shared } from '../styles/tokens.ts';
import { emit } from './events.ts';
import { keyAvatar } from './avatar.ts';

function roleLabel(member: Member) {
  if (member.admin) return html`<span class="role admin" data-role="admin">admin</span>`;
  if (member.role === 'owner') return html`<span class="role" data-role="owner">owner</span>`;
  if (member.role === 'moderator') return html`<span class="role" data-role="moderator">mod</span>`;
  return nothing;
}

/** Who is in the room, sorted by name, yourself marked, with roles. */
@customElement('wisp-member-list')
export class MemberList extends LitElement {
  @property({ attribute: false }) members: Member[] = [];
  @property() me?: string;
  /** Named when the list is not of the open conversation's room (a whisper tab shows a room's people). */
  @property() room = '';
  /** Trust per identity key, for the verified and key-changed badges. */
  @property({ attribute: false }) trust: Record<string, Trust> = {};
  /** False while the member list is not known (offline). */
  @property({ type: Boolean }) synced = false;

  // A long name gives way (ellipsis, whole name in a title); the dot and the badges stay whole.
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
        padding: 0.15rem 0;
        min-width: 0;
      }
      .name {
        flex: 0 1 auto;
        min-width: 0;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .role,
      .you,
      .badge {
        flex: none;
        white-space: nowrap;
      }
      li > button {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        flex: 1 1 auto;
        min-width: 0;
        text-align: left;
        background: transparent;
        border-color: transparent;
        padding: 0.3rem 0.4rem;
        min-height: 2.25rem;
      }
      li .more {
        flex: none;
        width: 2.25rem;
        padding: 0;
        background: transparent;
        border-color: transparent;
        color: var(--muted);
      }
      .role {
        font-size: 0.72rem;
        padding: 0 0.35rem;
        border-radius: 999px;
        border: 1px solid var(--border);
        color: var(--muted);
        margin-left: auto;
      }
      .role.admin {
        color: var(--warn);
        border-color: var(--warn);
      }
      li > span.self {
        flex: 1 1 auto;
        min-width: 0;
        display: flex;
        align-items: center;
        gap: 0.5rem;
        padding: 0.3rem 0.4rem;
      }
      .avatar {
        flex: none;
        width: 1.25rem;
        height: 1.25rem;
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

  private select(member: Member): void {
    emit(this, 'member-select', { key: member.key, name: member.name });
  }

  private longPress?: ReturnType<typeof setTimeout>;

  /** Right click, long press, the Menu key or Shift+F10, or the "⋯" button: the member's actions. */
  private menu(member: Member, anchor: Element, event?: Event): void {
    event?.preventDefault();
    const box = anchor.getBoundingClientRect();
    emit(this, 'member-menu', { member, x: box.left, y: box.bottom });
  }

  private onKeyDown(member: Member, event: KeyboardEvent): void {
    if (event.key === 'ContextMenu' || (event.key === 'F10' && event.shiftKey)) this.menu(member, event.currentTarget as Element, event);
  }

  private startPress(member: Member, event: PointerEvent): void {
    if (event.pointerType === 'mouse') return;
    const target = event.currentTarget as Element;
    this.longPress = setTimeout(() => this.menu(member, target), 550);
  }

  private cancelPress(): void {
    clearTimeout(this.longPress);
  }

  override render() {
    const sorted = [...this.members].sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }));
    return html`
      <h2 id="heading">${this.room ? `People in #${this.room}` : 'People here'}${this.synced ? ` (${sorted.length})` : ''}</h2>
      ${this.synced
        ? html`<ul aria-labelledby="heading">
            ${sorted.map(
              (m) => html`<li data-id=${m.id}>
                ${m.id === this.me
                  ? html`<span class="self">${keyAvatar(m.key, m.name)}<span class="dot" aria-hidden="true"></span><span class="name" title=${m.name}>${m.name}</span><span class="you">(you)</span>${roleLabel(m)}</span>`
                  : html`<button
                        title=${`Whisper with ${m.name}`}
                        @click=${() => this.select(m)}
                        @contextmenu=${(e: MouseEvent) => this.menu(m, e.currentTarget as Element, e)}
                        @keydown=${(e: KeyboardEvent) => this.onKeyDown(m, e)}
                        @pointerdown=${(e: PointerEvent) => this.startPress(m, e)}
                        @pointerup=${this.cancelPress}
                        @pointerleave=${this.cancelPress}
                      >
                        ${keyAvatar(m.key, m.name)}<span class="dot" aria-hidden="true"></span><span class="name">${m.name}</span>${trustBadge(this.trust[m.key])}${roleLabel(m)}
                      </button>
                      <button class="more" aria-label=${`Actions for ${m.name}`} title="Actions" aria-haspopup="menu" @click=${(e: MouseEvent) => this.menu(m, e.currentTarget as Element, e)}>⋯</button>`}
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
