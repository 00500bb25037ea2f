// The connection to the server and what it told us: who I am there, its limits and ICE
// servers, its room directory, and whether it wants its password.
import type { SliceReducer } from './slice.ts';

export const connection: SliceReducer<'connection'> = (slice, action) => {
  if (action.t !== 'connection') return slice;
  return { status: action.status, sentence: action.sentence, retryAt: action.retryAt, ...(action.banned && { banned: action.banned }) };
};

export const me: SliceReducer<'me'> = (slice, action) => {
  switch (action.t) {
    case 'identity':
      return { ...slice, fingerprint: action.fingerprint };
    case 'welcome':
      // Every connection starts without admin rights: /admin is per connection.
      return { ...slice, id: action.id, name: action.name, admin: undefined };
    case 'name':
      return { ...slice, name: action.name };
    case 'admin':
      return { ...slice, admin: true };
    default:
      return slice;
  }
};

export const passwordPrompt: SliceReducer<'passwordPrompt'> = (slice, action) => {
  switch (action.t) {
    case 'password-required':
      return { error: action.error };
    case 'password-accepted':
      return undefined;
    default:
      return slice;
  }
};

export const limits: SliceReducer<'limits'> = (slice, action) => (action.t === 'welcome' ? action.limits : slice);

export const iceServers: SliceReducer<'iceServers'> = (slice, action) => (action.t === 'welcome' ? action.iceServers : slice);

export const directory: SliceReducer<'directory'> = (slice, action) => (action.t === 'directory' ? action.rooms : slice);
