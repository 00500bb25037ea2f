// How the lines of a conversation read: which start a group (name, picture and time shown)
// and which start a new day (a separator above). Pure, over the lines on screen.
import type { ChatLine } from './state.ts';
import { dayKey } from './format-time.ts';
import { LINE_GROUP_MS } from '../storage/settings.ts';

export interface LinePlace {
  /** Starts a group: shows who and when. */
  head: boolean;
  /** The first line of its local day on screen: a day separator goes above it. */
  newDay: boolean;
}

/** Who said a line, for grouping: the identity key (a name can be taken over), or me. */
function speaker(line: ChatLine): string | undefined {
  if (line.kind !== 'text' && line.kind !== 'file') return undefined;
  return line.own ? '\u0000me' : line.fromKey;
}

/**
 * Each line's place. A line joins the group above when the same person (same key, or me)
 * said it, on the same day, within `windowMs` of the group's first line, with nothing in
 * between: a system line (a join, a missed-messages notice), an action, or the "New
 * messages" divider (`unseenFrom`) starts afresh. A line without a key is never grouped.
 */
export function placeLines(lines: readonly ChatLine[], unseenFrom?: string, windowMs = LINE_GROUP_MS): LinePlace[] {
  const places: LinePlace[] = [];
  let day = '';
  let who: string | undefined;
  let since = 0;
  for (const line of lines) {
    const today = dayKey(line.ts);
    const newDay = today !== day;
    const by = speaker(line);
    const head = newDay || by === undefined || by !== who || line.key === unseenFrom || Math.abs(line.ts - since) > windowMs;
    if (head) since = line.ts;
    places.push({ head, newDay });
    day = today;
    who = by;
  }
  return places;
}
