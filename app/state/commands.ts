// What the composer's text means: a chat line or a slash command. Pure, so the rules
// are easy to test and the composer can show hints from the same table.
import { RANK } from '../../signal-server/protocol/protocol.ts';

/** The /help panel's groups, in the order it shows them. */
export const COMMAND_GROUPS = ['Chat', 'Rooms', 'Whispers', 'Moderation', 'Server admin'] as const;
export type CommandGroup = (typeof COMMAND_GROUPS)[number];

export interface CommandInfo {
  name: string;
  usage: string;
  description: string;
  aliases?: string[];
  group: CommandGroup;
  /**
   * The least rank (RANK, as the server checks it) that may use it: the rank in the active
   * room, or the admin's anywhere. /help shows a person only what their rank allows.
   */
  minRank: number;
}

const { member, moderator, owner, admin } = RANK;

/** Every command, as the composer's hints list them. A name listed twice is parsed by its first entry; the second is its admin form, for /help. */
export const COMMANDS: readonly CommandInfo[] = [
  { name: 'help', usage: '/help', description: 'Show the commands you can use.', group: 'Chat', minRank: member },
  { name: 'nick', usage: '/nick <name>', description: 'Change your name.', aliases: ['name'], group: 'Chat', minRank: member },
  { name: 'join', usage: '/join #room', description: 'Join or create a room.', group: 'Rooms', minRank: member },
  { name: 'leave', usage: '/leave [farewell]', description: 'Leave this room, optionally with a last word.', aliases: ['part'], group: 'Rooms', minRank: member },
  { name: 'me', usage: '/me <action>', description: 'Say what you are doing, e.g. /me waves.', group: 'Chat', minRank: member },
  { name: 'w', usage: '/w <name> <message>', description: 'Whisper: a private, end-to-end encrypted message.', aliases: ['whisper', 'msg'], group: 'Whispers', minRank: member },
  { name: 'topic', usage: '/topic [text]', description: 'Set or clear the room topic.', group: 'Moderation', minRank: moderator },
  { name: 'kick', usage: '/kick <name> [reason]', description: 'Remove someone from this room; they may come back.', group: 'Moderation', minRank: moderator },
  { name: 'ban', usage: '/ban [--ip] <name> [10m|2h|7d] [reason]', description: 'Ban someone from this room, for a while or until lifted.', group: 'Moderation', minRank: moderator },
  { name: 'ban', usage: '/ban --server [--ip] <name> [10m|2h|7d] [reason]', description: 'Ban someone from the whole server.', group: 'Server admin', minRank: admin },
  { name: 'unban', usage: '/unban <ban id>', description: 'Lift a ban (see /bans).', group: 'Moderation', minRank: moderator },
  { name: 'bans', usage: '/bans', description: "List this room's bans.", group: 'Moderation', minRank: moderator },
  { name: 'bans', usage: '/bans --server', description: "List the server's bans.", group: 'Server admin', minRank: admin },
  { name: 'op', usage: '/op <name>', description: 'Make someone a moderator of this room.', group: 'Moderation', minRank: owner },
  { name: 'deop', usage: '/deop <name>', description: 'Take moderator away.', group: 'Moderation', minRank: owner },
  { name: 'history', usage: '/history <count|off>', description: 'How many recent messages new members of this room see; off keeps no history.', group: 'Moderation', minRank: owner },
  { name: 'purge', usage: '/purge', description: 'Clear this room for everyone and end it.', group: 'Moderation', minRank: owner },
  { name: 'admin', usage: '/admin <token>', description: 'Become the server admin with the token the server printed; the server then remembers you as admin.', group: 'Server admin', minRank: admin },
  { name: 'admin forget', usage: '/admin forget', description: 'Stay admin only until you disconnect: the server no longer remembers you as admin.', group: 'Server admin', minRank: admin },
  { name: 'userinfo', usage: '/userinfo <name>', description: 'Address, connection time, key and rooms of someone.', group: 'Server admin', minRank: admin },
  { name: 'createroom', usage: '/createroom #room', description: 'Make a persistent room that stays when empty.', group: 'Server admin', minRank: admin },
  { name: 'deleteroom', usage: '/deleteroom #room', description: 'End a persistent room.', group: 'Server admin', minRank: admin },
  { name: 'audit', usage: '/audit [count]', description: 'Show the latest moderation actions.', group: 'Server admin', minRank: admin },
  { name: 'shutdown', usage: '/shutdown', description: 'Stop the server, telling everyone.', group: 'Server admin', minRank: admin },
];

export interface CommandGroupHelp {
  group: CommandGroup;
  commands: CommandInfo[];
}

/**
 * What /help shows someone of this rank (rankOf their role in the active room and their
 * admin flag): each group with the commands that rank may use, empty groups left out.
 */
export function helpGroups(rank: number): CommandGroupHelp[] {
  return COMMAND_GROUPS.map((group) => ({ group, commands: COMMANDS.filter((c) => c.group === group && rank >= c.minRank) })).filter((g) => g.commands.length > 0);
}

const DURATION = /^(\d{1,6})(s|m|h|d|w)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : undefined;
}

function splitFirst(text: string): [string, string] {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(text);
  return match ? [match[1], match[2].trim()] : ['', ''];
}

/** What the composer's line asks for, apart from moderation. */
export type ChatCommand =
  | { kind: 'say'; text: string }
  | { kind: 'me'; text: string }
  | { kind: 'nick'; name: string }
  | { kind: 'join'; room: string }
  | { kind: 'leave'; farewell?: string }
  | { kind: 'whisper'; name: string; text: string }
  | { kind: 'help' }
  | { kind: 'invalid'; message: string };

/** Commands the server acts on for moderators and the admin (turned into frames by moderation.ts). */
export type ModerationCommand =
  | { kind: 'role'; op: boolean; name: string }
  | { kind: 'kick'; name: string; reason?: string }
  | { kind: 'ban'; name: string; durationMs?: number; reason?: string; server: boolean; byIp: boolean }
  | { kind: 'unban'; id: string }
  | { kind: 'bans'; server: boolean }
  | { kind: 'admin'; token: string }
  | { kind: 'admin-forget' }
  | { kind: 'userinfo'; name: string }
  | { kind: 'room-create'; room: string }
  | { kind: 'room-delete'; room: string }
  | { kind: 'topic'; topic: string }
  | { kind: 'room-history'; newMembers: number }
  | { kind: 'purge' }
  | { kind: 'shutdown' }
  | { kind: 'audit'; limit?: number };

/** A discriminated union on `kind`: a switch over it narrows each case to its fields. */
export type Command = ChatCommand | ModerationCommand;

function find(name: string): CommandInfo | undefined {
  const lower = name.toLowerCase();
  return COMMANDS.find((c) => c.name === lower || c.aliases?.includes(lower));
}

export function parseInput(raw: string): Command | undefined {
  const text = raw.trim();
  if (!text) return undefined;
  // "//text" sends a line that starts with a slash.
  if (text.startsWith('//')) return { kind: 'say', text: text.slice(1) };
  if (!text.startsWith('/')) return { kind: 'say', text };

  const match = /^\/(\S+)\s*([\s\S]*)$/.exec(text)!;
  const [, name, rest] = match;
  const arg = rest.trim();
  const command = find(name);
  if (!command) return { kind: 'invalid', message: `There is no command /${name}. Type /help to see them all.` };
  switch (command.name) {
    case 'help':
      return { kind: 'help' };
    case 'nick':
      return arg ? { kind: 'nick', name: arg } : { kind: 'invalid', message: 'Usage: /nick <name>' };
    case 'join':
      return arg && !/\s/.test(arg) ? { kind: 'join', room: arg } : { kind: 'invalid', message: 'Usage: /join #room' };
    case 'leave':
      return arg ? { kind: 'leave', farewell: arg } : { kind: 'leave' };
    case 'me':
      return arg ? { kind: 'me', text: arg } : { kind: 'invalid', message: 'Usage: /me <action>' };
    case 'op':
    case 'deop':
      return arg ? { kind: 'role', op: command.name === 'op', name: splitFirst(arg)[0] } : { kind: 'invalid', message: `Usage: ${command.usage}` };
    case 'kick': {
      const [name, reason] = splitFirst(arg);
      return name ? { kind: 'kick', name, reason: reason || undefined } : { kind: 'invalid', message: `Usage: ${command.usage}` };
    }
    case 'ban': {
      let rest = arg;
      let server = false;
      let byIp = false;
      for (;;) {
        const [word, tail] = splitFirst(rest);
        if (word === '--server' || word === '-s') server = true;
        else if (word === '--ip') byIp = true;
        else break;
        rest = tail;
      }
      const [name, afterName] = splitFirst(rest);
      if (!name) return { kind: 'invalid', message: `Usage: ${command.usage}` };
      const [maybeDuration, afterDuration] = splitFirst(afterName);
      const durationMs = parseDuration(maybeDuration);
      const reason = (durationMs ? afterDuration : afterName) || undefined;
      return { kind: 'ban', name, durationMs, reason, server, byIp };
    }
    case 'unban':
      return arg ? { kind: 'unban', id: splitFirst(arg)[0] } : { kind: 'invalid', message: `Usage: ${command.usage}` };
    case 'bans':
      return { kind: 'bans', server: /^(--server|-s)$/.test(arg) };
    case 'admin':
      // "forget" is far shorter than any admin token (16 or more characters).
      if (arg.toLowerCase() === 'forget') return { kind: 'admin-forget' };
      return arg ? { kind: 'admin', token: arg } : { kind: 'invalid', message: `Usage: ${command.usage}` };
    case 'userinfo':
      return arg ? { kind: 'userinfo', name: splitFirst(arg)[0] } : { kind: 'invalid', message: `Usage: ${command.usage}` };
    case 'createroom':
    case 'deleteroom':
      return arg ? { kind: command.name === 'createroom' ? 'room-create' : 'room-delete', room: splitFirst(arg)[0] } : { kind: 'invalid', message: `Usage: ${command.usage}` };
    case 'topic':
      return { kind: 'topic', topic: arg };
    case 'history': {
      if (/^(off|none)$/i.test(arg)) return { kind: 'room-history', newMembers: 0 };
      return /^\d{1,6}$/.test(arg) ? { kind: 'room-history', newMembers: Number(arg) } : { kind: 'invalid', message: `Usage: ${command.usage}` };
    }
    case 'purge':
      return { kind: 'purge' };
    case 'shutdown':
      return { kind: 'shutdown' };
    case 'audit': {
      const limit = Number(arg);
      return arg && (!Number.isInteger(limit) || limit < 1 || limit > 500) ? { kind: 'invalid', message: 'Usage: /audit [1-500]' } : { kind: 'audit', limit: arg ? limit : undefined };
    }
    case 'w': {
      const whisper = /^(\S+)\s+([\s\S]+)$/.exec(arg);
      return whisper ? { kind: 'whisper', name: whisper[1], text: whisper[2].trim() } : { kind: 'invalid', message: 'Usage: /w <name> <message>' };
    }
    default:
      return { kind: 'invalid', message: `Type /help to see the commands.` };
  }
}

/** Commands whose name starts with what has been typed after the slash. */
export function commandHints(input: string): CommandInfo[] {
  const match = /^\/(\S*)$/.exec(input.trimStart());
  if (!match) return [];
  const typed = match[1].toLowerCase();
  return COMMANDS.filter((c) => c.name.startsWith(typed) || c.aliases?.some((a) => a.startsWith(typed)));
}
