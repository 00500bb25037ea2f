/** Link diagnostics for developers: on when localStorage has "wisp-debug". Never message content. */
export function debug(...parts: unknown[]): void {
  try {
    if (globalThis.localStorage?.getItem('wisp-debug')) console.debug('[wisp]', ...parts);
  } catch {
    // Storage can be unavailable (private modes); diagnostics are optional.
  }
}
