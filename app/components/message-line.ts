// One line of a conversation, as the message list shows it: the first of a group with the
// sender's picture, name and time; the lines after it with their text only (the time
// shows beside them on hover or focus). User text only ever through text bindings.
import { css, html, nothing } from 'lit';
import type { ChatLine, TransferState } from '../state/store.ts';
import type { Trust } from '../storage/pins.ts';
import type { Token } from '../state/format.ts';
import { formatClock } from '../state/format-time.ts';
import { formatBytes } from '../files/format-bytes.ts';
import { keyFingerprint } from '../crypto/key-fingerprint.ts';
import { trustBadge } from './trust-badge.ts';
import { renderTokens } from './rich-text.ts';
import { avatar } from './avatar.ts';

/** What a line needs from the list around it. */
export interface LineContext {
  trust: Record<string, Trust>;
  transfers: Record<string, TransferState>;
  peer: string;
  peerVerified: boolean;
  showLinks: boolean;
  /** My key's fingerprint (base64url), for the picture on my own lines. */
  ownFingerprint: string;
  tokens(line: ChatLine): Token[];
  retry(line: ChatLine): void;
}

export const lineStyles = css`
  li.text,
  li.action,
  li.file {
    display: flex;
    align-items: flex-start;
    gap: 0.5rem;
    max-width: min(46rem, 96%);
    overflow-wrap: anywhere;
    /* The template's own line breaks are not text: only .text keeps its spaces. */
    white-space: normal;
  }
  li.own {
    flex-direction: row-reverse;
    align-self: flex-end;
  }
  li.cont {
    margin-top: -0.2rem;
  }
  .pic {
    flex: none;
    width: 2rem;
  }
  .avatar {
    display: block;
  }
  /* A grouped line's time: beside it, when pointed at or focused into. */
  li.cont .pic {
    display: flex;
    justify-content: center;
    white-space: nowrap;
    font-size: 0.7rem;
    color: var(--muted);
    padding-top: 0.45rem;
  }
  li.cont time {
    visibility: hidden;
  }
  li.cont:hover time,
  li.cont:focus-within time {
    visibility: visible;
  }
  .bubble {
    min-width: 0;
    padding: 0.4rem 0.65rem;
    border-radius: var(--radius);
    background: var(--surface);
    line-height: 1.4;
  }
  li.own .bubble {
    background: var(--own);
  }
  li.action .bubble {
    font-style: italic;
  }
  .text {
    white-space: pre-wrap;
  }
  .meta {
    display: flex;
    flex-wrap: wrap;
    gap: 0 0.5rem;
    align-items: baseline;
    font-size: 0.78rem;
    color: var(--muted);
  }
  .name {
    font-weight: 600;
    color: var(--accent);
  }
  .pending {
    color: var(--warn);
  }
  .delivered {
    color: var(--ok);
  }
  .undelivered {
    color: var(--danger);
  }
  .retry {
    min-height: 0;
    padding: 0 0.5rem;
    font-size: 0.78rem;
  }
  .file-record {
    color: var(--muted);
  }
`;

function clock(line: ChatLine) {
  return html`<time datetime=${new Date(line.ts).toISOString()}>${formatClock(line.ts)}</time>`;
}

/** Sending, delivered, waiting, not delivered: said on every line it is true of. */
function status(line: ChatLine, ctx: LineContext) {
  return html`${line.pending ? html`<span class="pending">sending…</span>` : nothing}
  ${line.delivered ? html`<span class="delivered" title="Decrypted by the other app">delivered ✓</span>` : nothing}
  ${line.undelivered === 'waiting' ? html`<span class="waiting" data-status="waiting">Waiting for ${ctx.peer || 'them'} to come online</span>` : nothing}
  ${line.undelivered === 'expired'
    ? html`<span class="undelivered" data-status="not-delivered">Not delivered</span>
        <button class="retry" @click=${() => ctx.retry(line)}>Retry</button>`
    : nothing}`;
}

function body(line: ChatLine, ctx: LineContext) {
  const transfer = line.transfer ? ctx.transfers[line.transfer] : undefined;
  if (line.kind === 'file' && transfer) return html`<wisp-file-card .transfer=${transfer} peer=${ctx.peer} ?verified=${ctx.peerVerified}></wisp-file-card>`;
  if (line.kind === 'file') {
    return html`<span class="file-record" data-file-record=${line.own ? 'sent' : 'received'}>${line.own ? 'Sent' : 'Received'} ${line.text}${line.size !== undefined ? ` (${formatBytes(line.size)})` : ''}</span>`;
  }
  if (line.kind === 'action') return html`<span class="text">* ${line.name} ${renderTokens(ctx.tokens(line), ctx.showLinks)}</span>`;
  return html`<span class="text">${renderTokens(ctx.tokens(line), ctx.showLinks)}</span>`;
}

/** A line that is not a system line; `head`: the first of its group. */
export function renderLine(line: ChatLine, head: boolean, ctx: LineContext) {
  if (!head) {
    const said = status(line, ctx);
    const any = line.pending || line.delivered || line.undelivered;
    return html`<li class="${line.kind} ${line.own ? 'own' : ''} cont" data-key=${line.key}>
      <span class="pic">${clock(line)}</span>
      <div class="bubble">${body(line, ctx)}${any ? html`<div class="meta">${said}</div>` : nothing}</div>
    </li>`;
  }
  const fingerprint = line.own ? ctx.ownFingerprint : line.fromKey ? keyFingerprint(line.fromKey) : '';
  return html`<li class="${line.kind} ${line.own ? 'own' : ''} head" data-key=${line.key}>
    <span class="pic">${avatar(fingerprint || undefined, line.name)}</span>
    <div class="bubble">
      <div class="meta">
        <span class="name">${line.own ? 'You' : line.name}</span>${line.fromKey ? trustBadge(ctx.trust[line.fromKey], { quiet: true }) : nothing}
        ${clock(line)} ${status(line, ctx)}
      </div>
      ${body(line, ctx)}
    </div>
  </li>`;
}
