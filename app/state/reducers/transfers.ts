// Files going to or coming from whisper contacts, by transfer id.
import type { SliceReducer } from './slice.ts';

export const transfers: SliceReducer<'transfers'> = (slice, action) => {
  switch (action.t) {
    case 'transfer':
      return { ...slice, [action.transfer.id]: action.transfer };
    case 'transfer-update': {
      const existing = slice[action.id];
      if (!existing) return slice;
      return { ...slice, [action.id]: { ...existing, ...action.change } };
    }
    default:
      return slice;
  }
};
