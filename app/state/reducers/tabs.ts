// The tabs: their order (room names and "@" + key for whisper conversations) and which
// one is active.
import { whisperKeyOf, whisperTab } from '../state.ts';
import type { SliceReducer } from './slice.ts';

export const order: SliceReducer<'order'> = (slice, action, state) => {
  switch (action.t) {
    case 'open-room':
      return slice.includes(action.room) ? slice : [...slice, action.room];
    case 'left':
    case 'removed':
      return state.rooms[action.room] ? slice.filter((r) => r !== action.room) : slice;
    case 'whisper-open': {
      const tab = whisperTab(action.key);
      return slice.includes(tab) ? slice : [...slice, tab];
    }
    case 'whisper-close': {
      const tab = whisperTab(action.key);
      return slice.includes(tab) ? slice.filter((r) => r !== tab) : slice;
    }
    default:
      return slice;
  }
};

/** The tab that follows a closed one: the one that took its place, else the last. */
function neighbour(order: string[], closed: string, atLeastFirst: boolean): string | undefined {
  const rest = order.filter((r) => r !== closed);
  const index = Math.min(order.indexOf(closed), rest.length - 1);
  return rest[atLeastFirst ? Math.max(0, index) : index];
}

export const active: SliceReducer<'active'> = (slice, action, state) => {
  switch (action.t) {
    case 'open-room':
      return action.activate || !slice ? action.room : slice;
    case 'activate': {
      const key = whisperKeyOf(action.room);
      const exists = key ? Boolean(state.whispers[key]) : Boolean(state.rooms[action.room]);
      return exists ? action.room : slice;
    }
    case 'left':
    case 'removed':
      if (!state.rooms[action.room] || slice !== action.room) return slice;
      return neighbour(state.order, action.room, false);
    case 'whisper-open':
      return action.activate ? whisperTab(action.key) : slice;
    case 'whisper-close': {
      const tab = whisperTab(action.key);
      return slice === tab ? neighbour(state.order, tab, true) : slice;
    }
    default:
      return slice;
  }
};
