// A person's picture: an identicon drawn from their identity key's fingerprint (SHA-256
// of the key), so it is the same on every device and needs no network. A 5×5 pattern,
// mirrored, in one colour on a pale tile of the same hue: the tile carries the contrast,
// so it reads on a light and on a dark background alike.
import { html, svg } from 'lit';
import { keyFingerprint } from '../crypto/key-fingerprint.ts';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

interface Drawing {
  path: string;
  ink: string;
  tile: string;
}

/** Drawings by fingerprint: lists render often, the pattern is worked out once per person. */
const drawings = new Map<string, Drawing>();
const DRAWINGS_MAX = 2000;

function draw(fingerprint: string): Drawing {
  let drawing = drawings.get(fingerprint);
  if (drawing) return drawing;
  // Six bits per character of the base64url digest: 12 for the hue, 15 for the pattern.
  const bits = [...fingerprint.slice(0, 5)].map((c) => Math.max(0, BASE64URL.indexOf(c)));
  const hue = ((bits[0] << 6) | bits[1]) % 360;
  const pattern = (bits[2] << 12) | (bits[3] << 6) | bits[4];
  let path = '';
  for (let column = 0; column < 3; column++) {
    for (let row = 0; row < 5; row++) {
      if (!((pattern >> (column * 5 + row)) & 1)) continue;
      path += `M${column + 0.5} ${row + 0.5}h1v1h-1z`;
      if (column < 2) path += `M${4.5 - column} ${row + 0.5}h1v1h-1z`;
    }
  }
  drawing = { path, ink: `hsl(${hue}, 65%, 38%)`, tile: `hsl(${hue}, 70%, 88%)` };
  if (drawings.size >= DRAWINGS_MAX) drawings.clear();
  drawings.set(fingerprint, drawing);
  return drawing;
}

/**
 * The picture for a fingerprint (SHA-256 of an identity key, base64url). Without one (a
 * line kept from before keys were kept with it), the name's first letter on a plain tile.
 * Decorative: the name beside it says who it is.
 */
export function avatar(fingerprint: string | undefined, name = '') {
  if (!fingerprint) {
    const initial = ([...name.trim()][0] ?? '?').toUpperCase();
    return html`<svg class="avatar" viewBox="0 0 6 6" width="32" height="32" aria-hidden="true" focusable="false">${svg`<rect width="6" height="6" rx="1.2" fill="currentColor" opacity="0.18"></rect><text x="3" y="4.2" text-anchor="middle" font-size="3.4" fill="currentColor">${initial}</text>`}</svg>`;
  }
  const { path, ink, tile } = draw(fingerprint);
  return html`<svg class="avatar" viewBox="0 0 6 6" width="32" height="32" aria-hidden="true" focusable="false">${svg`<rect width="6" height="6" rx="1.2" fill=${tile}></rect><path d=${path} fill=${ink}></path>`}</svg>`;
}

/** The picture for an identity key (SPKI, base64url). */
export function keyAvatar(key: string | undefined, name?: string) {
  return avatar(key ? keyFingerprint(key) || undefined : undefined, name);
}
