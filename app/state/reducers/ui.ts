// What the page shows around the conversations: dialogs, the notice, the update prompt,
// what another app shared, and the person's pins and settings.
import type { SliceReducer } from './slice.ts';

export const passphrasePrompt: SliceReducer<'passphrasePrompt'> = (slice, action) => (action.t === 'passphrase-prompt' ? action.prompt : slice);

export const notice: SliceReducer<'notice'> = (slice, action, state) => {
  switch (action.t) {
    case 'notice':
    case 'removed': {
      if (action.t === 'notice') return { id: (slice?.id ?? 0) + 1, text: action.text, returned: action.returned, ...(action.info ? { info: true } : {}) };
      return { id: (slice?.id ?? 0) + 1, text: action.sentence };
    }
    case 'system':
      // A system line with no room to go to is shown as a notice.
      return (action.room ?? state.active) ? slice : { id: action.ts, text: action.text };
    case 'dismiss-notice':
      return undefined;
    default:
      return slice;
  }
};

export const help: SliceReducer<'help'> = (slice, action) => (action.t === 'help' ? action.open : slice);

export const updateReady: SliceReducer<'updateReady'> = (slice, action) => (action.t === 'update-ready' ? true : slice);

export const share: SliceReducer<'share'> = (slice, action) => (action.t === 'share' ? action.share : slice);

export const pins: SliceReducer<'pins'> = (slice, action) => (action.t === 'pins' ? action.pins : slice);

export const settings: SliceReducer<'settings'> = (slice, action) => (action.t === 'settings' ? action.settings : slice);
