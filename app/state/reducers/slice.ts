// What a slice reducer is, and the line helpers the room and whisper slices share.
import type { Action } from '../actions.ts';
import { MAX_LINES_PER_ROOM, type AppState, type ChatLine, type RestoredView } from '../state.ts';

/**
 * Reduces one key of the state. It may read the whole state as it was before the action
 * (who I am, which tab is active), and returns its slice unchanged (the same object) when
 * the action is not about it. Pure: no clock, no counters, no I/O.
 */
export type SliceReducer<K extends keyof AppState> = (slice: AppState[K], action: Action, state: AppState) => AppState[K];

/** A conversation's lines, and (after "Load earlier messages") how many it may hold. */
type Lines = { lines: ChatLine[]; limit?: number };

/** What adding lines makes of a conversation: its lines, and `earlier` when the oldest dropped off. */
type Added = { lines: ChatLine[]; earlier?: true };

export function appendLines(owner: Lines, lines: ChatLine[]): Added {
  return newest([...owner.lines, ...lines], owner.limit);
}

/**
 * Adds lines that came from others or the server above the own lines still waiting for
 * the server: it numbers those after whatever reached this device meanwhile (what was
 * said while they waited in the outbox, too), so the room reads in the server's order.
 */
export function addAbovePending(owner: Lines, lines: ChatLine[]): Added {
  let at = owner.lines.length;
  while (at > 0 && owner.lines[at - 1]!.own && owner.lines[at - 1]!.pending) at--;
  if (at === owner.lines.length) return appendLines(owner, lines);
  return newest([...owner.lines.slice(0, at), ...lines, ...owner.lines.slice(at)], owner.limit);
}

/** The newest `limit` lines; what drops off may still be on the device, so "Load earlier messages" shows. */
function newest(all: ChatLine[], limit = MAX_LINES_PER_ROOM): Added {
  return all.length > limit ? { lines: all.slice(all.length - limit), earlier: true } : { lines: all };
}

export function updateLine(lines: ChatLine[], id: string, change: Partial<ChatLine>): ChatLine[] {
  return lines.map((l) => (l.key === id ? { ...l, ...change } : l));
}

/** A system line; its key comes with the action. */
export function systemLine(key: string, text: string, ts: number): ChatLine {
  return { key, kind: 'system', text, ts };
}

/** Replaces one entry of a record, if it is there. */
export function withEntry<T>(record: Record<string, T>, key: string, change: (entry: T) => T): Record<string, T> {
  const entry = record[key];
  if (!entry) return record;
  const next = change(entry);
  return next === entry ? record : { ...record, [key]: next };
}

type Conversation = RestoredView & { lines: ChatLine[]; unread: number };

/**
 * History on the device, for rooms and whispers alike: restored lines go before what is
 * already there (an unsent line, a waiting whisper), each id once, and what the person had
 * not seen counts as unread unless the tab is open; a cleared one is empty. Earlier lines
 * ("Load earlier messages") go above the first, each id once.
 */
export function withHistory<T extends Conversation>(entry: T, action: Action, active: boolean): T {
  if (action.t === 'history-cleared') return entry.lines.length || entry.earlier ? { ...entry, lines: [], unread: 0, unseenFrom: undefined, anchor: undefined, earlier: undefined, limit: undefined } : entry;
  if (action.t !== 'history-restore' && action.t !== 'history-earlier') return entry;
  const present = new Set(entry.lines.map((l) => l.key));
  const older = action.lines.filter((l) => !present.has(l.key));
  if (action.t === 'history-earlier') {
    const lines = [...older, ...entry.lines];
    // The limit rises to hold what was just loaded, so the next line to arrive does not drop it again.
    return { ...entry, lines, earlier: action.earlier, limit: Math.max(entry.limit ?? MAX_LINES_PER_ROOM, lines.length) };
  }
  const unread = active ? entry.unread : entry.unread + action.unseen;
  const added = appendLines({ lines: older }, entry.lines);
  return { ...entry, lines: added.lines, earlier: action.earlier || added.earlier, unread, anchor: action.anchor, unseenFrom: action.unseenFrom };
}

/**
 * Leaving a tab ends its restored view: the divider and the scroll anchor were for this
 * visit. What "Load earlier messages" brought goes too (it stays on the device). Simple
 * and bounded: while the person stays, the held count stays what they loaded (a new line
 * drops only the single oldest, which can be loaded again), so what they scrolled up to
 * read does not vanish under them; elsewhere a conversation holds the usual number.
 */
export function leftView<T extends RestoredView & Lines>(entry: T): T {
  if (entry.anchor === undefined && entry.unseenFrom === undefined && entry.limit === undefined) return entry;
  const trimmed = entry.limit === undefined ? {} : { ...newest(entry.lines), limit: undefined };
  return { ...entry, ...trimmed, anchor: undefined, unseenFrom: undefined };
}
