// Files going to or coming from whisper contacts, by transfer id.
import type { SliceReducer } from './slice.ts';
import { whisperTab } from '../state.ts';

export const transfers: SliceReducer<'transfers'> = (slice, action) => {
  switch (action.t) {
    case 'transfer':
      return { ...slice, [action.transfer.id]: action.transfer };
    case 'transfer-update': {
      const existing = slice[action.id];
      if (!existing) return slice;
      return { ...slice, [action.id]: { ...existing, ...action.change } };
    }
    case 'history-cleared': {
      // A cleared conversation lets go of the files its thumbnails showed.
      const shown = Object.values(slice).filter((t) => t.thumbnail && whisperTab(t.key) === action.tab);
      if (!shown.length) return slice;
      return { ...slice, ...Object.fromEntries(shown.map((t) => [t.id, { ...t, thumbnail: undefined }])) };
    }
    default:
      return slice;
  }
};
