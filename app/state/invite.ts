// Invite links: the room and, if the inviter chooses, its passphrase travel in the URL
// fragment, which browsers never send to the server.
export interface Invite {
  room: string;
  passphrase?: string;
}

export function inviteLink(origin: string, invite: Invite): string {
  const params = new URLSearchParams({ join: invite.room });
  if (invite.passphrase) params.set('passphrase', invite.passphrase);
  return `${origin}/#${params}`;
}

/** The invite in a URL fragment ("#join=…&passphrase=…"), if there is one. */
export function parseInvite(hash: string): Invite | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const room = params.get('join');
  if (!room) return undefined;
  const passphrase = params.get('passphrase') || undefined;
  return passphrase ? { room, passphrase } : { room };
}
