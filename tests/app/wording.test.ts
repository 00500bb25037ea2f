// How the app words what the server tells it: a reason a person typed is followed by a
// full stop, a ban says until when in the reader's own locale (one formatter for every
// date), /unban says what it lifted, a server-wide ban offers no reconnect that cannot
// work, and a whisper tab's side panel names the room whose people it shows.
import { expect } from '@esm-bundle/chai';
import '../../app/components/connection-status.ts';
import '../../app/components/member-list.ts';
import '../../app/components/room-header.ts';
import { formatClock, formatDateTime, setTimeLocale } from '../../app/state/format-time.ts';
import { banLength, banRefusal, reasonClause } from '../../app/state/sentences.ts';
import { formatBans, formatUserinfo } from '../../app/state/moderation-answers.ts';
import type { RoomState } from '../../app/state/store.ts';
import { mount } from './support/mount.ts';

const shadow = (element: Element): ShadowRoot => element.shadowRoot!;
// 2 December 2026, 13:05:57 UTC.
const AT = Date.UTC(2026, 11, 2, 13, 5, 57);

afterEach(() => {
  document.body.replaceChildren();
  setTimeLocale(undefined);
});

describe('a reason followed by another sentence', () => {
  it('gets a full stop when it has no closing punctuation of its own', () => {
    expect(`You were removed from #games by Olga${reasonClause('please be nice')} You may join again.`).to.equal(
      'You were removed from #games by Olga: please be nice. You may join again.',
    );
  });

  it('keeps its own closing mark, and no reason is a plain full stop', () => {
    expect(reasonClause('stop it!')).to.equal(': stop it!');
    expect(reasonClause('really?')).to.equal(': really?');
    expect(reasonClause('"enough."')).to.equal(': "enough."');
    expect(reasonClause(undefined)).to.equal('.');
    expect(reasonClause('   ')).to.equal('.');
  });
});

describe('dates and times, one formatter', () => {
  it('formats in the pinned locale and time zone, with the zone named', () => {
    setTimeLocale('en-GB', 'UTC');
    expect(formatDateTime(AT)).to.equal('2 Dec 2026, 13:05 UTC');
    expect(formatClock(AT)).to.equal('13:05');
    setTimeLocale('de-DE', 'Europe/Berlin');
    expect(formatDateTime(AT)).to.equal('2. Dez. 2026, 14:05 MEZ');
    expect(formatClock(AT)).to.equal('14:05');
  });

  it('a ban says until when, or for good', () => {
    setTimeLocale('en-GB', 'UTC');
    expect(banLength(AT)).to.equal(' until 2 Dec 2026, 13:05 UTC');
    expect(banLength(undefined)).to.equal(' for good');
    expect(banRefusal({ room: 'games', until: AT, reason: 'cool off' })).to.equal('You are banned from #games until 2 Dec 2026, 13:05 UTC: cool off.');
    expect(banRefusal({})).to.equal('You are banned from this server for good.');
  });

  it('the ban list and user info use the same format', () => {
    setTimeLocale('en-GB', 'UTC');
    const bans = formatBans({ type: 'bans', room: 'games', bans: [{ id: 'b1', name: 'Bea', by: 'Olga', at: AT, until: AT + 3_600_000, reason: 'cheating' }] });
    expect(bans).to.equal('Bans in #games (/unban <id> lifts one):\nb1: Bea, by Olga on 2 Dec 2026, 13:05 UTC, until 2 Dec 2026, 14:05 UTC: cheating');
    const info = formatUserinfo({ type: 'userinfo', id: 'p1', name: 'Bea', ip: '127.0.0.1', connectedAt: AT, fingerprint: 'abcdefabcdefabcdef00', rooms: ['lobby'], admin: false });
    expect(info).to.contain('connected 2 Dec 2026, 13:05 UTC');
  });
});

describe('/unban', () => {
  it('says the ban was lifted, in a room or on the server, then what is still in force', () => {
    setTimeLocale('en-GB', 'UTC');
    expect(formatBans({ type: 'bans', room: 'lobby', bans: [], lifted: { id: 'b1', name: 'Bea' } })).to.equal('Ban on Bea in #lobby lifted.');
    expect(formatBans({ type: 'bans', bans: [], lifted: { id: 'b2', name: 'Vic' } })).to.equal('Server-wide ban on Vic lifted.');
    const rest = formatBans({ type: 'bans', room: 'games', bans: [{ id: 'b3', name: 'Tom', by: 'Olga', at: AT }], lifted: { id: 'b1', name: 'Bea' } });
    expect(rest.split('\n')).to.deep.equal(['Ban on Bea in #games lifted.', 'Still in force (/unban <id> lifts one):', 'b3: Tom, by Olga on 2 Dec 2026, 13:05 UTC, until lifted']);
  });
});

describe('a server-wide ban', () => {
  it('offers no "Connect here": connecting again cannot help', async () => {
    const status = await mount('wisp-connection-status', { connection: { status: 'stopped', sentence: 'You are banned from this server for good.', banned: true } });
    expect(shadow(status).querySelector('button')).to.equal(null);
    expect(shadow(status).querySelector('.sentence')?.textContent).to.equal('You are banned from this server for good.');
  });

  it('a room not joined says why instead of "joining…"', async () => {
    const room: RoomState = { name: 'lobby', members: {}, lines: [], unread: 0, synced: false };
    const header = await mount('wisp-room-header', { room, stopped: 'banned' });
    const status = shadow(header).querySelector('[role=status]')?.textContent ?? '';
    expect(status).to.not.contain('joining');
    expect(status).to.contain('banned from this server');
    header.stopped = 'stopped';
    await header.updateComplete;
    expect(shadow(header).querySelector('[role=status]')?.textContent).to.equal('not connected');
    header.stopped = '';
    await header.updateComplete;
    expect(shadow(header).querySelector('[role=status]')?.textContent).to.equal('joining…');
  });
});

describe('the side panel in a whisper tab', () => {
  it("names the room whose people it shows", async () => {
    const members = [
      { id: 'p1', name: 'Amy', key: 'k1', role: 'member' as const },
      { id: 'p2', name: 'Bob', key: 'k2', role: 'member' as const },
      { id: 'p3', name: 'Cy', key: 'k3', role: 'member' as const },
    ];
    const list = await mount('wisp-member-list', { members, me: 'p1', synced: true, room: 'lobby' });
    expect(shadow(list).querySelector('h2')?.textContent).to.equal('People in #lobby (3)');
    list.room = '';
    await list.updateComplete;
    expect(shadow(list).querySelector('h2')?.textContent).to.equal('People here (3)');
  });
});
