// Sentences the app puts together from the server's parts: a reason a person typed ends
// with a full stop before the next sentence, and a ban says until when.
import { formatDateTime } from './format-time.ts';

/** ": reason." (a reason already ending in . ! ? … keeps its own mark), or "." without one. */
export function reasonClause(reason: string | undefined): string {
  const trimmed = reason?.trim();
  if (!trimmed) return '.';
  return /[.!?…]["'”’)]*$/u.test(trimmed) ? `: ${trimmed}` : `: ${trimmed}.`;
}

/** " until 2 Dec 2026, 13:05 UTC" or " for good". */
export function banLength(until: number | undefined): string {
  return until ? ` until ${formatDateTime(until)}` : ' for good';
}

/** A refused join or hello: "You are banned from #games until …: cheating." */
export function banRefusal(ban: { room?: string; until?: number; reason?: string }): string {
  return `You are banned from ${ban.room ? `#${ban.room}` : 'this server'}${banLength(ban.until)}${reasonClause(ban.reason)}`;
}
