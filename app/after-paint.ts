// Work the first screen does not need (the whisper code, the dialogs, the service worker's
// registration) waits until the page has painted and is next idle, so that a first tap on
// the composer goes first: on a repeat visit these chunks come from the service worker at
// once, and parsing them on a slow phone used to delay that tap by a few hundred ms.

/** The longest wait for an idle moment: a page that never idles still gets the work. */
const AFTER_PAINT_IDLE_MS = 1000;

export function afterPaint(run: () => void): void {
  // A hidden page paints nothing until shown, and its work must not wait for that.
  if (document.visibilityState === 'hidden') return run();
  const whenIdle = (next: () => void) => ('requestIdleCallback' in window ? requestIdleCallback(next, { timeout: AFTER_PAINT_IDLE_MS }) : setTimeout(next));
  requestAnimationFrame(() => setTimeout(() => whenIdle(run)));
}
