// What a slice reducer is, and the line helpers the room and whisper slices share.
import type { Action } from '../actions.ts';
import { MAX_LINES_PER_ROOM, type AppState, type ChatLine, type RestoredView } from '../state.ts';

/**
 * Reduces one key of the state. It may read the whole state as it was before the action
 * (who I am, which tab is active), and returns its slice unchanged (the same object) when
 * the action is not about it. Pure: no clock, no counters, no I/O.
 */
export type SliceReducer<K extends keyof AppState> = (slice: AppState[K], action: Action, state: AppState) => AppState[K];

export function appendLines(owner: { lines: ChatLine[] }, lines: ChatLine[]): ChatLine[] {
  return newest([...owner.lines, ...lines]);
}

/**
 * Adds lines that came from others or the server above the own lines still waiting for
 * the server: it numbers those after whatever reached this device meanwhile (what was
 * said while they waited in the outbox, too), so the room reads in the server's order.
 */
export function addAbovePending(owner: { lines: ChatLine[] }, lines: ChatLine[]): ChatLine[] {
  let at = owner.lines.length;
  while (at > 0 && owner.lines[at - 1]!.own && owner.lines[at - 1]!.pending) at--;
  if (at === owner.lines.length) return appendLines(owner, lines);
  return newest([...owner.lines.slice(0, at), ...lines, ...owner.lines.slice(at)]);
}

function newest(all: ChatLine[]): ChatLine[] {
  return all.length > MAX_LINES_PER_ROOM ? all.slice(all.length - MAX_LINES_PER_ROOM) : all;
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
 * not seen counts as unread unless the tab is open; a cleared one is empty.
 */
export function withHistory<T extends Conversation>(entry: T, action: Action, active: boolean): T {
  if (action.t === 'history-cleared') return entry.lines.length ? { ...entry, lines: [], unread: 0, unseenFrom: undefined, anchor: undefined } : entry;
  if (action.t !== 'history-restore') return entry;
  const present = new Set(entry.lines.map((l) => l.key));
  const restored = action.lines.filter((l) => !present.has(l.key));
  const unread = active ? entry.unread : entry.unread + action.unseen;
  return { ...entry, lines: appendLines({ lines: restored }, entry.lines), unread, anchor: action.anchor, unseenFrom: action.unseenFrom };
}

/** Leaving a tab ends its restored view: the divider and the scroll anchor were for this visit. */
export function leftView<T extends RestoredView>(entry: T): T {
  return entry.anchor === undefined && entry.unseenFrom === undefined ? entry : { ...entry, anchor: undefined, unseenFrom: undefined };
}
