// Chat conventions in the message list: lines grouped by sender, day separators, identicon
// avatars drawn from the identity key, and the sender's own thumbnail of a picture.
import { expect } from '@esm-bundle/chai';
import { html, render } from 'lit';
import '../../app/components/message-list.ts';
import '../../app/components/member-list.ts';
import '../../app/components/file-card.ts';
import { placeLines } from '../../app/state/line-groups.ts';
import { formatDay, setTimeLocale } from '../../app/state/format-time.ts';
import { LINE_GROUP_MS } from '../../app/storage/settings.ts';
import { avatar, keyAvatar } from '../../app/components/avatar.ts';
import { keyFingerprint } from '../../app/crypto/key-fingerprint.ts';
import type { ChatLine, TransferState } from '../../app/state/store.ts';
import { mount } from './support/mount.ts';
import { transfers as transfersReducer } from '../../app/state/reducers/transfers.ts';
import { initialState } from '../../app/state/state.ts';

const MIN = 60_000;
// Noon, 3 December 2026, UTC: every clock here is this one or counted from it.
const NOON = Date.UTC(2026, 11, 3, 12, 0);
// Two real P-256 SPKI keys (base64url), as the server and the lines carry them.
let keyA = '';
let keyB = '';

async function newKey(): Promise<string> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
  return btoa(String.fromCharCode(...spki)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function said(key: string, ts: number, fromKey: string | undefined, extra: Partial<ChatLine> = {}): ChatLine {
  return { key, kind: 'text', text: `line ${key}`, ts, from: 'p', name: 'ann', fromKey, ...extra };
}

/** An element's markup without Lit's comment markers (their numbers differ per page). */
function markup(element: Element): string {
  const copy = element.cloneNode(true) as Element;
  const walker = document.createTreeWalker(copy, NodeFilter.SHOW_COMMENT);
  const comments: Node[] = [];
  while (walker.nextNode()) comments.push(walker.currentNode);
  for (const c of comments) c.parentNode!.removeChild(c);
  return copy.outerHTML;
}

function renderAvatar(template: unknown): Element {
  const host = document.createElement('div');
  render(html`${template}`, host);
  document.body.append(host);
  return host.querySelector('svg')!;
}

before(async () => {
  keyA = await newKey();
  keyB = await newKey();
  setTimeLocale('en-GB', 'UTC');
});

after(() => setTimeLocale(undefined));

afterEach(() => document.body.replaceChildren());

describe('placeLines (grouping)', () => {
  it('groups lines by the same key within the window, and own lines together', () => {
    const lines = [said('1', NOON, keyA), said('2', NOON + MIN, keyA), said('3', NOON + 2 * MIN, keyA, { kind: 'file' }), said('4', NOON + 3 * MIN, undefined, { own: true }), said('5', NOON + 4 * MIN, undefined, { own: true, pending: true })];
    expect(placeLines(lines).map((p) => p.head)).to.deep.equal([true, false, false, true, false]);
  });

  it('starts a new group for another key (even under the same name), a line past the window, a day change, a system line, an action, the "New messages" mark, and a line without a key', () => {
    const lines: ChatLine[] = [
      said('a1', NOON, keyA),
      said('b1', NOON + MIN, keyB), // same name "ann", another key
      said('b2', NOON + MIN + LINE_GROUP_MS + 1, keyB), // past the window from the group's first line
      said('b3', NOON + MIN + LINE_GROUP_MS + 2, keyB), // grouped with b2
      { key: 's', kind: 'system', text: 'A message from ann was not delivered to you.', ts: NOON + 7 * MIN },
      said('b4', NOON + 7 * MIN, keyB), // after a gap notice
      said('b5', NOON + 8 * MIN, keyB, { kind: 'action' }),
      said('b6', NOON + 8 * MIN, keyB), // after an action
      said('b7', NOON + 9 * MIN, keyB), // before it, the "New messages" mark
      said('n1', NOON + 9 * MIN, undefined),
      said('n2', NOON + 9 * MIN, undefined), // no key: never grouped
    ];
    expect(placeLines(lines, 'b7').map((p) => p.head)).to.deep.equal([true, true, true, false, true, true, true, true, true, true, true]);
    expect(placeLines(lines).map((p) => p.head)[8]).to.equal(false, 'without the mark, b7 joins b6');
  });

  it('marks the first line of each local day, and a day change breaks a group', () => {
    const late = Date.UTC(2026, 11, 2, 23, 58);
    const lines = [said('1', late, keyA), said('2', late + 1 * MIN, keyA), said('3', late + 3 * MIN, keyA), said('4', late + 4 * MIN, keyA)];
    const places = placeLines(lines);
    expect(places.map((p) => p.newDay)).to.deep.equal([true, false, true, false]);
    expect(places.map((p) => p.head)).to.deep.equal([true, false, true, false]);
    // The same times in Tokyo are all on 3 December: one day, one group.
    setTimeLocale('en-GB', 'Asia/Tokyo');
    try {
      expect(placeLines(lines).map((p) => [p.newDay, p.head])).to.deep.equal([[true, true], [false, false], [false, false], [false, false]]);
    } finally {
      setTimeLocale('en-GB', 'UTC');
    }
  });
});

describe('formatDay (day separators)', () => {
  it('says Today, Yesterday, or the date, by the clock passed in', () => {
    expect(formatDay(Date.UTC(2026, 11, 3, 0, 1), NOON)).to.equal('Today');
    expect(formatDay(Date.UTC(2026, 11, 2, 23, 59), NOON)).to.equal('Yesterday');
    expect(formatDay(Date.UTC(2026, 11, 1, 12), NOON)).to.equal('Tuesday 1 December');
    expect(formatDay(Date.UTC(2025, 11, 31, 12), NOON)).to.equal('31 December 2025');
    // Just after midnight on 1 January, 31 December is yesterday, across the year.
    expect(formatDay(Date.UTC(2026, 11, 31, 20), Date.UTC(2027, 0, 1, 0, 5))).to.equal('Yesterday');
  });

  it('counts days in the time zone it is given, and a 23-hour day does not skip Yesterday', () => {
    setTimeLocale('en-US', 'America/New_York');
    try {
      // 04:30 UTC on 9 March 2026 is 00:30 in New York, the day after the clocks went forward.
      const now = Date.UTC(2026, 2, 9, 4, 30);
      expect(formatDay(Date.UTC(2026, 2, 8, 5, 30), now)).to.equal('Yesterday'); // 00:30 on 8 March
      expect(formatDay(Date.UTC(2026, 2, 9, 3, 0), now)).to.equal('Yesterday'); // 23:00 on 8 March
      // 24 hours before now is 23:30 on 7 March: the day before yesterday, not yesterday.
      expect(formatDay(now - 24 * 60 * MIN, now)).to.equal('Saturday, March 7');
      expect(formatDay(Date.UTC(2026, 2, 9, 4, 10), now)).to.equal('Today');
      expect(formatDay(Date.UTC(2026, 2, 7, 12, 0), now)).to.equal('Saturday, March 7');
    } finally {
      setTimeLocale('en-GB', 'UTC');
    }
  });
});

describe('identicon avatars', () => {
  it('draws the same key the same on two separate renders, and two keys differently', () => {
    const first = markup(renderAvatar(keyAvatar(keyA)));
    document.body.replaceChildren();
    const again = markup(renderAvatar(avatar(keyFingerprint(keyA))));
    const other = markup(renderAvatar(keyAvatar(keyB)));
    expect(first).to.equal(again);
    expect(first).to.not.equal(other);
    expect(first).to.match(/^<svg class="avatar"/);
    expect(first).to.contain('<path d="M');
  });

  it('is decorative and needs no network: no image, no link, no external reference', () => {
    const svg = renderAvatar(keyAvatar(keyA));
    expect(svg.getAttribute('aria-hidden')).to.equal('true');
    expect(svg.querySelectorAll('image, use, a, foreignObject').length).to.equal(0);
    for (const element of [svg, ...svg.querySelectorAll('*')]) {
      const names = element.getAttributeNames();
      expect(names.filter((n) => /href|src/i.test(n))).to.deep.equal([], `<${element.localName}> refers to nothing`);
      expect(names.map((n) => element.getAttribute(n)!).filter((v) => /url\(|https?:/i.test(v))).to.deep.equal([]);
    }
  });

  it('without a key: the first letter of the name on a plain tile, as text', () => {
    const svg = renderAvatar(avatar(undefined, '<b>zed'));
    expect(svg.querySelector('text')!.textContent).to.equal('<');
    expect(svg.querySelector('b')).to.equal(null);
    expect(renderAvatar(avatar(undefined, '')).querySelector('text')!.textContent).to.equal('?');
  });
});

describe('<wisp-message-list> conventions', () => {
  it('a log holding a plain list; one header per group; days as list items', async () => {
    const yesterday = NOON - 24 * 60 * MIN;
    const lines: ChatLine[] = [
      said('y1', yesterday, keyA, { name: 'ann' }),
      said('t1', NOON, keyA, { name: 'ann' }),
      said('t2', NOON + MIN, keyA, { name: 'ann' }),
      said('t3', NOON + 2 * MIN, keyA, { name: 'ann' }),
      { key: 'o1', kind: 'text', text: 'mine', ts: NOON + 3 * MIN, own: true, name: 'me', cid: 'o1' },
      { key: 'o2', kind: 'text', text: 'mine too', ts: NOON + 3 * MIN, own: true, pending: true, name: 'me', cid: 'o2' },
    ];
    const list = await mount('wisp-message-list', { lines, room: 'lobby', ownFingerprint: keyFingerprint(keyB) });
    const root = list.shadowRoot!;
    const log = root.querySelector('[role=log]')!;
    expect(log.localName).to.equal('div');
    const ol = log.querySelector(':scope > ol')!;
    expect(ol.hasAttribute('role')).to.equal(false);
    expect([...ol.children].every((c) => c.localName === 'li' && !c.hasAttribute('role'))).to.equal(true);
    const items = [...ol.children].map((li) => (li.hasAttribute('data-day') ? `day:${li.textContent!.trim()}` : `${(li as HTMLElement).dataset.key}:${li.querySelector('.name')?.textContent ?? '-'}`));
    const today = formatDay(NOON, Date.now());
    // The day labels depend on the machine's clock, so they are compared with formatDay's own answer.
    expect(items).to.deep.equal([`day:${formatDay(yesterday, Date.now())}`, 'y1:ann', `day:${today}`, 't1:ann', 't2:-', 't3:-', 'o1:You', 'o2:-']);
    const li = (key: string) => root.querySelector(`li[data-key="${key}"]`)!;
    // Grouped lines keep their own time (shown on hover or focus) and their own status.
    expect(li('t2').querySelector('time')?.getAttribute('datetime')).to.equal(new Date(NOON + MIN).toISOString());
    expect(li('o2').querySelector('.pending')?.textContent).to.equal('sending…');
    // The picture: once per group, ann's from her key, mine from my fingerprint.
    expect(li('t1').querySelector('svg.avatar')).to.not.equal(null);
    expect(li('t2').querySelector('svg.avatar')).to.equal(null);
    expect(markup(li('t1').querySelector('svg')!)).to.equal(markup(renderAvatar(keyAvatar(keyA))));
    expect(markup(li('o1').querySelector('svg')!)).to.equal(markup(renderAvatar(keyAvatar(keyB))));
  });

  it('the member list shows each person with their key\'s picture', async () => {
    const members = [
      { id: 'p1', name: 'ann', key: keyA, role: 'member' },
      { id: 'p2', name: 'bo', key: keyB, role: 'member' },
    ];
    const list = await mount('wisp-member-list', { members: members as never, me: 'p2', synced: true });
    const rows = [...list.shadowRoot!.querySelectorAll('li')];
    expect(rows.map((r) => markup(r.querySelector('svg.avatar')!))).to.deep.equal([markup(renderAvatar(keyAvatar(keyA))), markup(renderAvatar(keyAvatar(keyB)))]);
  });
});

describe('<wisp-file-card> sender thumbnail', () => {
  async function png(): Promise<Blob> {
    const canvas = document.createElement('canvas');
    canvas.width = 40;
    canvas.height = 30;
    canvas.getContext('2d')!.fillRect(0, 0, 40, 30);
    return new Promise((resolve) => canvas.toBlob((b) => resolve(b!), 'image/png'));
  }

  function transfer(change: Partial<TransferState>): TransferState {
    return { id: 'out-1', key: 'k', fid: 1, direction: 'out', name: 'cat.png', size: 100, declaredType: 'image/png', status: 'waiting', bytes: 0, rate: 0, remaining: Infinity, ...change };
  }

  it('shows my picture from an object URL while the card is on screen, and revokes it when the card goes', async () => {
    const card = await mount('wisp-file-card', { transfer: transfer({ thumbnail: await png() }), peer: 'Dana' });
    const img = card.shadowRoot!.querySelector<HTMLImageElement>('img.thumb')!;
    expect(img.alt).to.equal('Your picture: cat.png');
    await img.decode();
    expect([img.naturalWidth, img.naturalHeight]).to.deep.equal([40, 30]);
    const url = img.src;
    expect(url).to.match(/^blob:/);
    expect((await fetch(url)).ok).to.equal(true);
    card.remove();
    const gone = await fetch(url).then(
      () => 'still there',
      () => 'revoked',
    );
    expect(gone).to.equal('revoked');
  });

  it('a cleared conversation lets go of its thumbnails, and only its own', async () => {
    const picture = await png();
    const slice = { 'out-1': transfer({ key: 'k', thumbnail: picture }), 'out-2': transfer({ id: 'out-2', key: 'other', thumbnail: picture }) };
    const after = transfersReducer(slice, { t: 'history-cleared', tab: '@k' }, initialState());
    expect(after['out-1'].thumbnail).to.equal(undefined);
    expect(after['out-2'].thumbnail).to.equal(picture);
    expect(transfersReducer(after, { t: 'history-cleared', tab: 'lobby' }, initialState())).to.equal(after, 'a room clears no file');
  });

  it('shows no thumbnail for a file that is not a picture, nor on a received card', async () => {
    const plain = await mount('wisp-file-card', { transfer: transfer({ name: 'notes.txt' }), peer: 'Dana' });
    expect(plain.shadowRoot!.querySelector('img')).to.equal(null);
    const incoming = await mount('wisp-file-card', { transfer: transfer({ direction: 'in', status: 'offered', thumbnail: await png() }), peer: 'Dana' });
    expect(incoming.shadowRoot!.querySelector('img')).to.equal(null);
  });
});
