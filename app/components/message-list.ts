import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import type { ChatLine } from '../state/store.ts';
import { shared } from '../styles/tokens.ts';
import { trustLevel, type Trust } from '../storage/pins.ts';
import type { TransferState } from '../state/store.ts';
import { parseMessage, type Token } from '../state/format.ts';
import { formatDay } from '../state/format-time.ts';
import { placeLines, type LinePlace } from '../state/line-groups.ts';
import { emit } from './events.ts';
import { lineStyles, renderLine, type LineContext } from './message-line.ts';

/** How long scrolling must pause before the list reports where the person is. */
const VIEW_SETTLE_MS = 250;


/**
 * The lines of one room. A log region, so screen readers announce new lines; inside it a
 * plain list, so each line, day ("Today") and "New messages" mark is a list item. Lines
 * from one person in a row are grouped (../state/line-groups.ts). Opened with
 * an `anchor`, it starts with that line at the top instead of at the bottom; `unseenFrom`
 * puts a "New messages" divider before that line. While the page is visible it reports,
 * once scrolling settles or lines arrive, the top line (none at the bottom) and the last
 * line on screen (`view-change`). With `earlier`, a "Load earlier messages" button at the
 * top asks for more (`load-earlier`); the line at the top stays put as they go above it.
 */
@customElement('wisp-message-list')
export class MessageList extends LitElement {
  @property({ attribute: false }) lines: ChatLine[] = [];
  @property() room = '';
  /** Accessible label of the log, e.g. "Messages in #lobby". */
  @property() label = '';
  @property({ attribute: false }) trust: Record<string, Trust> = {};
  @property({ attribute: false }) transfers: Record<string, TransferState> = {};
  /** The other person's name in a whisper conversation (for file cards). */
  @property() peer = '';
  /** Show links as links (a per-person setting; off: plain text). */
  @property({ type: Boolean }) showLinks = true;
  /** The line to show at the top when the list opens (restored history). */
  @property() anchor?: string;
  /** The "New messages" divider goes before this line. */
  @property() unseenFrom?: string;
  /** This device holds older lines than the first one here. */
  @property({ type: Boolean }) earlier = false;
  /** My identity key's fingerprint (SHA-256, base64url): the picture on my own lines. */
  @property() ownFingerprint = '';

  /** Where each line stands (group, day), worked out again only when the lines change. */
  private places: LinePlace[] = [];

  private stickToBottom = true;
  /** The room changed: place the scroll position once it has rendered. */
  private placing = true;
  private settle?: ReturnType<typeof setTimeout>;
  /** Lines are replaced, not changed, when they change: a line's tokens are parsed once. */
  private readonly tokens = new WeakMap<ChatLine, Token[]>();
  /** Asked for earlier lines: the line at the top, where it was, and the first line then. */
  private holding?: { key: string; top: number; first: string };

  static override styles = [
    shared,
    css`
      :host {
        display: block;
        overflow-y: auto;
        overscroll-behavior: contain;
        padding: 0.75rem;
      }
      ol {
        list-style: none;
        margin: 0;
        padding: 0;
        display: flex;
        flex-direction: column;
        gap: 0.35rem;
      }
      li.system {
        white-space: pre-line;
        align-self: center;
        color: var(--muted);
        font-size: 0.875rem;
        text-align: center;
        padding: 0.1rem 0.5rem;
        max-width: min(44rem, 92%);
        overflow-wrap: anywhere;
      }
      code {
        font-family: var(--mono);
        font-size: 0.9em;
        background: var(--bg);
        padding: 0.05rem 0.3rem;
        border-radius: 4px;
      }
      pre {
        margin: 0.3rem 0;
        padding: 0.5rem;
        background: var(--bg);
        border-radius: 6px;
        overflow-x: auto;
        white-space: pre;
      }
      pre code {
        padding: 0;
        background: none;
      }
      a {
        color: var(--accent);
      }
      .empty {
        color: var(--muted);
        text-align: center;
        margin-top: 2rem;
      }
      li.divider,
      li.day {
        align-self: stretch;
        display: flex;
        align-items: center;
        gap: 0.75rem;
        font-size: 0.8rem;
        color: var(--muted);
      }
      li.divider {
        color: var(--accent);
      }
      li.divider::before,
      li.divider::after,
      li.day::before,
      li.day::after {
        content: '';
        flex: 1;
        border-top: 1px solid currentColor;
        opacity: 0.5;
      }
      li.day {
        margin-top: 0.5rem;
      }
      .earlier {
        display: block;
        margin: 0 auto 0.75rem;
      }
    `,
    lineStyles,
  ];

  constructor() {
    super();
    this.addEventListener('scroll', () => {
      this.stickToBottom = this.scrollHeight - this.scrollTop - this.clientHeight < 48;
      this.reportSoon();
    });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.settle);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('lines') || changed.has('unseenFrom')) this.places = placeLines(this.lines, this.unseenFrom);
    if (changed.has('room')) {
      this.stickToBottom = true;
      this.placing = true;
    }
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (this.placing) return this.place();
    if (this.holding && this.holding.first !== this.lines[0]?.key) this.keepHeld(this.holding);
    if (this.stickToBottom) this.scrollTop = this.scrollHeight;
    if (changed.has('lines')) this.reportSoon();
  }

  /** Opens at the anchor line if there is one, else at the bottom. */
  private place(): void {
    this.placing = false;
    const anchor = this.anchor ? this.lineElement(this.anchor) : undefined;
    if (anchor) {
      this.scrollTop += anchor.getBoundingClientRect().top - this.getBoundingClientRect().top - parseFloat(getComputedStyle(this).paddingTop);
      this.stickToBottom = false;
    } else {
      this.scrollTop = this.scrollHeight;
    }
    // What is on screen now counts as seen, even when nothing scrolls (a short conversation).
    this.reportSoon();
  }

  private loadEarlier(): void {
    const top = this.topOnScreen();
    if (top && this.lines.length) this.holding = { key: top.key, top: top.rect.top, first: this.lines[0].key };
    emit(this, 'load-earlier', { room: this.room });
  }

  /** Earlier lines went above: the line that was at the top goes back to where it was. */
  private keepHeld(held: { key: string; top: number }): void {
    this.holding = undefined;
    const line = this.lineElement(held.key);
    if (!line) return;
    this.stickToBottom = false;
    this.scrollTop += line.getBoundingClientRect().top - held.top;
  }

  /** The lines on screen, and the top one: the first that starts on screen (opened there again, it starts at the top). */
  private topOnScreen(): { key: string; rect: DOMRect; onScreen: { key: string; rect: DOMRect }[] } | undefined {
    const box = this.getBoundingClientRect();
    const items = [...this.renderRoot.querySelectorAll<HTMLElement>('li[data-key]')].map((li) => ({ key: li.dataset.key!, rect: li.getBoundingClientRect() }));
    const onScreen = items.filter(({ rect }) => rect.bottom > box.top && rect.top < box.bottom);
    if (!onScreen.length) return undefined;
    return { ...(onScreen.find(({ rect }) => rect.top >= box.top - 1) ?? onScreen[0]), onScreen };
  }

  private lineElement(key: string): HTMLElement | undefined {
    return [...this.renderRoot.querySelectorAll<HTMLElement>('li[data-key]')].find((li) => li.dataset.key === key);
  }

  private reportSoon(): void {
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.report(), VIEW_SETTLE_MS);
  }

  /** Where the person is: the top line on screen (none at the bottom) and the last one on screen. */
  private report(): void {
    if (document.visibilityState !== 'visible' || !this.isConnected || !this.room) return;
    const top = this.topOnScreen();
    if (!top) return;
    const anchor = this.stickToBottom ? undefined : top.key;
    emit(this, 'view-change', { room: this.room, anchor, seen: top.onScreen[top.onScreen.length - 1].key });
  }

  private tokensOf(line: ChatLine): Token[] {
    let tokens = this.tokens.get(line);
    if (!tokens) this.tokens.set(line, (tokens = parseMessage(line.text)));
    return tokens;
  }

  private context(): LineContext {
    return {
      trust: this.trust,
      transfers: this.transfers,
      peer: this.peer,
      peerVerified: this.peerVerified(),
      showLinks: this.showLinks,
      ownFingerprint: this.ownFingerprint,
      tokens: (line) => this.tokensOf(line),
      retry: (line) => emit(this, 'whisper-retry', { id: line.key }),
    };
  }

  /** A line, with what goes above it: the day it starts, the "New messages" mark. */
  private renderItem(line: ChatLine, index: number, ctx: LineContext, now: number) {
    const place = this.places[index] ?? { head: true, newDay: index === 0 };
    return html`${place.newDay ? html`<li class="day" data-day>${formatDay(line.ts, now)}</li>` : nothing}${line.key === this.unseenFrom
      ? html`<li class="divider" data-divider>New messages</li>`
      : nothing}${line.kind === 'system' ? html`<li class="system">${line.text}</li>` : renderLine(line, place.head, ctx)}`;
  }

  /** A whisper conversation whose contact is verified: only then is "end-to-end encrypted" the whole truth. */
  private peerVerified(): boolean {
    return this.room.startsWith('@') && trustLevel(this.trust[this.room.slice(1)]) === 'verified';
  }

  private emptyText(): string {
    if (!this.room.startsWith('@')) return `No messages yet in #${this.room}. Say hello!`;
    const who = this.peer || 'this person';
    return this.peerVerified()
      ? `Whispers are end-to-end encrypted and you verified ${who}: only the two of you can read them.`
      : `Whispers are encrypted, but ${who} is not verified yet: compare safety numbers to be sure that only the two of you can read them.`;
  }

  override render() {
    const ctx = this.context();
    const now = Date.now();
    return html`
      ${this.earlier && this.lines.length ? html`<button class="earlier" data-earlier @click=${() => this.loadEarlier()}>Load earlier messages</button>` : nothing}
      <div role="log" aria-live="polite" aria-label=${this.label || `Messages in #${this.room}`}>
        <ol>
          ${repeat(
            this.lines,
            (line) => line.key,
            (line, index) => this.renderItem(line, index, ctx, now),
          )}
        </ol>
      </div>
      ${this.lines.length === 0 ? html`<p class="empty">${this.emptyText()}</p>` : nothing}
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-message-list': MessageList;
  }
}
