// A room's history setting in words, and the choices its owner is offered: how many of
// the room's recent messages new members see (0: the room keeps no history).

/** What the header menu offers, before the server's own limit cuts it down. */
const CHOICES = [0, 10, 50, 200] as const;

/** "new members see the last 50 messages" / "this room keeps no history". */
export function newMembersPhrase(newMembers: number): string {
  if (newMembers === 0) return 'this room keeps no history';
  return newMembers === 1 ? 'new members see the last message' : `new members see the last ${newMembers} messages`;
}

/** The header's sentence: the phrase with a capital letter. */
export function newMembersSentence(newMembers: number): string {
  const phrase = newMembersPhrase(newMembers);
  return phrase[0]!.toUpperCase() + phrase.slice(1);
}

/** The system line when someone changes it. */
export function historySetLine(by: string, newMembers: number): string {
  return `${by} set: ${newMembersPhrase(newMembers)}`;
}

/** The choices for a server that keeps at most `serverMax` messages per room (none when it keeps none). */
export function historyChoices(serverMax: number): number[] {
  if (serverMax <= 0) return [];
  return [...new Set(CHOICES.map((n) => Math.min(n, serverMax)))];
}
