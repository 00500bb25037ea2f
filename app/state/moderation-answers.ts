// How the server's answers to moderation commands read (/bans, /unban, /userinfo, /audit):
// loaded when the first answer comes, not before the first paint.
import type { ServerFrameOf } from '../../signal-server/protocol/protocol.ts';
import { formatDateTime } from './format-time.ts';

export function formatBans(frame: ServerFrameOf<'bans'>): string {
  const where = frame.room ? `#${frame.room}` : 'the server';
  const lifted = frame.lifted ? (frame.room ? `Ban on ${frame.lifted.name} in ${where} lifted.` : `Server-wide ban on ${frame.lifted.name} lifted.`) : undefined;
  if (!frame.bans.length) return lifted ?? `No bans in ${where}.`;
  const lines = frame.bans.map((b) => {
    const until = b.until ? `until ${formatDateTime(b.until)}` : 'until lifted';
    return `${b.id}: ${b.name}${b.ip ? ` (address ${b.ip})` : ''}, by ${b.by} on ${formatDateTime(b.at)}, ${until}${b.reason ? `: ${b.reason}` : ''}`;
  });
  return [...(lifted ? [lifted] : []), `${lifted ? 'Still in force' : `Bans in ${where}`} (/unban <id> lifts one):`, ...lines].join('\n');
}

export function formatUserinfo(frame: ServerFrameOf<'userinfo'>): string {
  const rooms = frame.rooms.map((r) => `#${r}`).join(' ') || 'none';
  return `${frame.name}${frame.admin ? ' (admin)' : ''}: address ${frame.ip}, connected ${formatDateTime(frame.connectedAt)}, key ${frame.fingerprint.slice(0, 16)}…, rooms ${rooms}`;
}

export function formatAudit(frame: ServerFrameOf<'audit'>): string {
  if (!frame.entries.length) return 'The audit trail is empty.';
  return frame.entries
    .map((e) => `${formatDateTime(e.at)} ${e.actor} ${e.action}${e.target ? ` ${e.target}` : ''}${e.room ? ` in #${e.room}` : ''}${e.detail ? ` (${e.detail})` : ''}`)
    .join('\n');
}
