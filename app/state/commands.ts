// What the composer's text means: a chat line or a slash command. Pure, so the rules
// are easy to test and the composer can show hints from the same table.
export interface CommandInfo {
  name: string;
  usage: string;
  description: string;
  aliases?: string[];
}

export const COMMANDS: readonly CommandInfo[] = [
  { name: 'help', usage: '/help', description: 'List the commands.' },
  { name: 'nick', usage: '/nick <name>', description: 'Change your name.', aliases: ['name'] },
  { name: 'join', usage: '/join #room', description: 'Join or create a room.' },
  { name: 'leave', usage: '/leave [farewell]', description: 'Leave this room, optionally with a last word.', aliases: ['part'] },
  { name: 'me', usage: '/me <action>', description: 'Say what you are doing, e.g. /me waves.' },
  { name: 'w', usage: '/w <name> <message>', description: 'Whisper: a private, end-to-end encrypted message.', aliases: ['whisper', 'msg'] },
];

export type Command =
  | { kind: 'say'; text: string }
  | { kind: 'me'; text: string }
  | { kind: 'nick'; name: string }
  | { kind: 'join'; room: string }
  | { kind: 'leave'; farewell?: string }
  | { kind: 'whisper'; name: string; text: string }
  | { kind: 'help' }
  | { kind: 'invalid'; message: string };

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

export function helpText(): string {
  return COMMANDS.map((c) => `${c.usage}: ${c.description}`).join('\n');
}
