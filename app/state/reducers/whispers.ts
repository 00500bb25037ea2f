// Whisper conversations, keyed by the other person's identity key: their lines, unread
// counts and the state of the link.
import { whisperKeyOf, whisperTab, type ChatLine, type WhisperState } from '../state.ts';
import type { WhisperStatus } from '../actions.ts';
import { appendLines, leftView, systemLine, updateLine, withEntry, withHistory, type SliceReducer } from './slice.ts';

/** How an own whisper's line shows each status: "sending…", "Waiting for …", "Not delivered". */
function statusFields(status: WhisperStatus = 'sending'): Pick<ChatLine, 'pending' | 'undelivered'> {
  return status === 'sending' ? { pending: true, undelivered: undefined } : { pending: false, undelivered: status };
}

function read(whisper: WhisperState): WhisperState {
  return whisper.unread ? { ...whisper, unread: 0 } : whisper;
}

export const whispers: SliceReducer<'whispers'> = (slice, action, state) => {
  switch (action.t) {
    case 'whisper-open': {
      const existing = slice[action.key];
      const whisper: WhisperState = existing ? { ...existing, name: action.name } : { key: action.key, name: action.name, lines: [], unread: 0, link: 'idle' };
      return { ...slice, [action.key]: action.activate ? read(whisper) : whisper };
    }
    case 'activate': {
      const key = whisperKeyOf(action.room);
      const leaving = state.active !== action.room ? whisperKeyOf(state.active) : undefined;
      const left = leaving ? withEntry(slice, leaving, leftView) : slice;
      return key ? withEntry(left, key, read) : left;
    }
    case 'history-restore':
    case 'history-earlier':
    case 'history-cleared': {
      const key = whisperKeyOf(action.tab);
      return key ? withEntry(slice, key, (w) => withHistory(w, action, state.active === action.tab)) : slice;
    }
    case 'whisper-link':
      return withEntry(slice, action.key, (w) => ({ ...w, link: action.link, path: action.path ?? (action.link === 'ready' ? w.path : undefined), failure: action.failure }));
    case 'whisper-in':
      return withEntry(slice, action.key, (w) => {
        if (w.lines.some((l) => l.key === action.id && !l.own)) return w;
        const line: ChatLine = { key: action.id, kind: action.kind, text: action.text, ts: action.ts, name: w.name, fromKey: w.key };
        const visible = state.active === whisperTab(action.key);
        return { ...w, ...appendLines(w, [line]), unread: visible ? w.unread : w.unread + 1 };
      });
    case 'whisper-out':
      return withEntry(slice, action.key, (w) => {
        const line: ChatLine = { key: action.id, cid: action.id, kind: action.kind, text: action.text, ts: action.ts, own: true, name: state.me.name ?? w.lines.find((l) => l.key === action.id)?.name, ...statusFields(action.status) };
        // Idempotent by id: a line restored from the device and the same whisper still waiting are one line.
        const existing = w.lines.find((l) => l.key === action.id && l.own);
        if (existing?.delivered) return w;
        return { ...w, ...(existing ? { lines: updateLine(w.lines, action.id, line) } : appendLines(w, [line])) };
      });
    case 'whisper-status':
      return withEntry(slice, action.key, (w) => {
        const line = w.lines.find((l) => l.key === action.id && l.own);
        if (!line || line.delivered) return w;
        const fields = statusFields(action.status);
        if (line.pending === fields.pending && line.undelivered === fields.undelivered) return w;
        return { ...w, lines: updateLine(w.lines, action.id, fields) };
      });
    case 'whisper-sent':
      return withEntry(slice, action.key, (w) => ({ ...w, lines: updateLine(w.lines, action.id, { pending: false }) }));
    case 'whisper-delivered':
      return withEntry(slice, action.key, (w) => ({ ...w, lines: updateLine(w.lines, action.id, { pending: false, undelivered: undefined, delivered: true }) }));
    case 'whisper-system':
      return withEntry(slice, action.key, (w) => ({ ...w, ...appendLines(w, [systemLine(action.id, action.text, action.ts)]) }));
    case 'accept-change':
      return withEntry(slice, action.key, (w) => ({ ...w, acceptedChange: true }));
    case 'transfer': {
      // A new transfer gets a line in the conversation.
      const transfer = action.transfer;
      if (state.transfers[transfer.id]) return slice;
      const own = transfer.direction === 'out';
      return withEntry(slice, transfer.key, (w) => ({
        ...w,
        ...appendLines(w, [{ key: transfer.id, kind: 'file', text: transfer.name, ts: action.ts, own, name: own ? state.me.name : w.name, fromKey: own ? undefined : w.key, transfer: transfer.id }]),
        unread: own || state.active === whisperTab(transfer.key) ? w.unread : w.unread + 1,
      }));
    }
    default:
      return slice;
  }
};
