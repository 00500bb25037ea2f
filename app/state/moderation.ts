// Moderation commands from the composer, turned into frames: names are resolved to the
// peer ids the server knows, in the room the command is typed in. How the server's
// answers read is in moderation-answers.ts, loaded when the first one comes.
import { checkRoomName, nameKey, type ClientFrame, type Member } from '../../signal-server/protocol/protocol.ts';
import type { ModerationCommand } from './commands.ts';
import { whisperKeyOf, type AppState } from './store.ts';

export type { ModerationCommand };
export type MemberAction = 'whisper' | 'op' | 'deop' | 'userinfo';

type Outcome = { frame: ClientFrame } | { problem: string };

class Problem extends Error {}

export function moderationFrame(command: ModerationCommand, state: AppState): Outcome {
  const here = whisperKeyOf(state.active) ? undefined : state.active;
  const room = (): string => {
    if (!here) throw new Problem('Use this command in the room it is about.');
    return here;
  };
  const find = (name: string, inRoom?: string): Member => {
    const wanted = nameKey(name.replace(/^@/, ''));
    const rooms = inRoom ? [state.rooms[inRoom]] : Object.values(state.rooms);
    for (const r of rooms) {
      const member = Object.values(r?.members ?? {}).find((m) => nameKey(m.name) === wanted);
      if (member) return member;
    }
    throw new Problem(inRoom ? `Nobody called ${name} is in #${inRoom}.` : `Nobody called ${name} is in your rooms.`);
  };
  try {
    return { frame: frameFor(command, room, find, state.limits?.historyMessages ?? 0) };
  } catch (error) {
    if (error instanceof Problem) return { problem: error.message };
    throw error;
  }
}

function frameFor(command: ModerationCommand, room: () => string, find: (name: string, inRoom?: string) => Member, historyMax: number): ClientFrame {
  switch (command.kind) {
    case 'role': {
      const r = room();
      return { type: command.op ? 'op' : 'deop', room: r, target: find(command.name, r).id };
    }
    case 'kick': {
      const r = room();
      return { type: 'kick', room: r, target: find(command.name, r).id, reason: command.reason };
    }
    case 'ban': {
      const r = command.server ? undefined : room();
      return { type: 'ban', room: r, target: find(command.name, r).id, durationMs: command.durationMs, reason: command.reason, byIp: command.byIp || undefined };
    }
    case 'unban':
      return { type: 'unban', ban: command.id };
    case 'bans':
      return { type: 'list-bans', room: command.server ? undefined : room() };
    case 'admin':
      return { type: 'admin', token: command.token };
    case 'admin-forget':
      return { type: 'admin-forget' };
    case 'userinfo':
      return { type: 'userinfo', target: find(command.name).id };
    case 'room-create':
    case 'room-delete': {
      const checked = checkRoomName(command.room);
      if (!checked.ok) throw new Problem(checked.reason);
      return { type: command.kind, room: checked.value };
    }
    case 'topic':
      return { type: 'topic', room: room(), topic: command.topic };
    case 'room-history': {
      const r = room();
      if (historyMax === 0 && command.newMembers > 0) throw new Problem('This server keeps no room history.');
      if (command.newMembers > historyMax) throw new Problem(`This server keeps at most ${historyMax} messages per room.`);
      return { type: 'room-history', room: r, newMembers: command.newMembers };
    }
    case 'purge':
      return { type: 'purge', room: room() };
    case 'shutdown':
      return { type: 'shutdown' };
    case 'audit':
      return { type: 'audit', limit: command.limit };
  }
}
