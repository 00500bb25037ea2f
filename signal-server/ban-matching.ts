// Which stored ban applies to whom: by identity key or by address, in one room or
// server-wide, while it lasts.
import type { Ban } from './store.ts';

export function banActive(ban: Ban, now = Date.now()): boolean {
  return ban.until === undefined || ban.until > now;
}

/** The first active ban that applies to this identity or address in this scope (undefined room: server-wide). */
export function findBan(bans: readonly Ban[], who: { key: string; ip: string }, room?: string, now = Date.now()): Ban | undefined {
  return bans.find((ban) => {
    if (!banActive(ban, now)) return false;
    if (ban.room !== room) return false;
    return (ban.key !== undefined && ban.key === who.key) || (ban.ip !== undefined && ban.ip === who.ip);
  });
}
