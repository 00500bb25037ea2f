import { html, nothing } from 'lit';
import type { Trust } from '../storage/pins.ts';

/** The small mark next to a name: verified, or a changed key. Used everywhere names appear. */
export function trustBadge(trust: Trust | undefined) {
  if (trust === 'verified') return html`<span class="badge verified" title="Verified: you compared safety numbers" aria-label="verified">✓</span>`;
  if (trust === 'mismatch') return html`<span class="badge changed" title="Not the key the invite link named" aria-label="key does not match the invite link">⚠</span>`;
  if (trust === 'changed' || trust === 'changed-verified') {
    return html`<span class="badge changed" title="Safety number changed" aria-label="safety number changed">⚠</span>`;
  }
  return nothing;
}
