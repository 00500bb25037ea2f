// The time and the line key an action brings with it, so the reducer stays pure. The
// counter lives here, with the dispatchers, not in the reducer.
let made = 0;

/** Now, and a line key no other line on this page has. */
export function stamp(ts = Date.now()): { ts: number; id: string } {
  return { ts, id: `sys-${ts}-${made++}` };
}
