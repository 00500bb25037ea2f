// Per room, how far this device has seen the room's messages: the server's history epoch
// and the last sequence number in it. The next join sends it, and the server answers with
// what was missed. Numbers only, nothing of the messages themselves.
import * as v from 'valibot';
import { JoinSchema, type HistoryCursor } from '../../signal-server/protocol/protocol.ts';
import { KEYS, orderedWriter, read } from './db.ts';

export type RoomCursors = Record<string, HistoryCursor>;

/** The contract's own check: a saved cursor the server would refuse in a join is dropped. */
const CursorSchema = JoinSchema.entries.since.wrapped;

function valid(entry: unknown): entry is HistoryCursor {
  return v.is(CursorSchema, entry);
}

export async function loadRoomCursors(): Promise<RoomCursors> {
  const saved = await read<Record<string, unknown>>(KEYS.roomCursors);
  const cursors: RoomCursors = {};
  if (!saved || typeof saved !== 'object') return cursors;
  for (const [room, entry] of Object.entries(saved)) if (valid(entry)) cursors[room] = { epoch: entry.epoch, seq: entry.seq };
  return cursors;
}

export async function loadClosedEpochs(): Promise<string[]> {
  const saved = await read<unknown>(KEYS.closedEpochs);
  return Array.isArray(saved) ? saved.filter((epoch): epoch is string => typeof epoch === 'string') : [];
}

export const saveClosedEpochs: (epochs: string[]) => Promise<void> = orderedWriter(KEYS.closedEpochs);

/** Writes the whole set (the last write wins). */
export const saveRoomCursors: (cursors: RoomCursors) => Promise<void> = orderedWriter(KEYS.roomCursors);
