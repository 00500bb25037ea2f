import { html, nothing } from 'lit';
import { trustLevel, type Trust } from '../storage/pins.ts';

/**
 * The small mark next to a name, used everywhere names appear: ✓ verified, ⚠ a changed key
 * or a safety number that did not match, and a visible "not verified" for everyone else
 * (`quiet`: not on every chat line; the member list and the whisper header say it).
 */
export function trustBadge(trust: Trust | undefined, { quiet = false } = {}) {
  switch (trustLevel(trust)) {
    case 'verified':
      return html`<span class="badge verified" title="Verified: you compared or scanned safety numbers, or joined through their invite link" aria-label="verified">✓</span>`;
    case 'changed':
      return html`<span class="badge changed" title="Safety number changed" aria-label="safety number changed">⚠</span>`;
    case 'mismatch':
      return html`<span class="badge changed mismatch" title="Not the key you checked: the safety number or invite link does not match" aria-label="key does not match">⚠</span>`;
    default:
      return quiet ? nothing : html`<span class="badge unverified" title="Not verified yet: you have not compared safety numbers">not verified</span>`;
  }
}
