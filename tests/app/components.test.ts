// The presentational components: properties in, events out, user text only as text.
import { expect } from '@esm-bundle/chai';
import '../../app/components/message-list.ts';
import '../../app/components/composer.ts';
import '../../app/components/room-tabs.ts';
import '../../app/components/member-list.ts';
import '../../app/components/connection-status.ts';
import '../../app/components/insecure-context.ts';
import '../../app/components/room-header.ts';
// The app loads the member menu with the dialogs, after the first paint.
import '../../app/components/member-menu.ts';
import '../../app/components/room-menu.ts';
import '../../app/components/settings-dialog.ts';
import { DEFAULT_SETTINGS, WHISPER_EXPIRY_CHOICES } from '../../app/storage/settings.ts';
import type { ChatLine, RoomState } from '../../app/state/store.ts';
import { mount } from './support/mount.ts';

function shadow(element: Element): ShadowRoot {
  return element.shadowRoot!;
}

function nextEvent<T = unknown>(target: EventTarget, type: string): Promise<CustomEvent<T>> {
  return new Promise((resolve) => target.addEventListener(type, (e) => resolve(e as CustomEvent<T>), { once: true }));
}

afterEach(() => {
  document.body.replaceChildren();
});

describe('<wisp-message-list>', () => {
  const lines: ChatLine[] = [
    { key: 's1', kind: 'system', text: 'bob joined', ts: 1 },
    { key: 's2', kind: 'text', text: '<img src=x onerror="window.pwned=1"><b>bold?</b>', ts: 2, from: 'pB', name: 'bob' },
    { key: 'c1', kind: 'text', text: 'mine', ts: 3, own: true, pending: true, name: 'alice', cid: 'c1' },
    { key: 's3', kind: 'action', text: 'waves', ts: 4, from: 'pB', name: 'bob' },
  ];

  it('is a log region and renders each kind of line', async () => {
    const list = await mount('wisp-message-list', { lines, room: 'lobby' });
    const log = shadow(list).querySelector('[role=log]')!;
    expect(log.getAttribute('aria-live')).to.equal('polite');
    expect(log.getAttribute('aria-label')).to.equal('Messages in #lobby');
    // A list may not be the log itself (axe: aria-allowed-role, listitem): the log holds a plain list.
    expect(log.localName).to.equal('div');
    const items = [...log.querySelectorAll(':scope > ol > li:not([data-day])')];
    expect(items.map((li) => li.className.trim().replace(/\s+/g, ' '))).to.deep.equal(['system', 'text head', 'text own head', 'action head']);
    expect(items[2].querySelector('.pending')?.textContent).to.equal('sending…');
    expect(items[3].textContent).to.contain('* bob waves');
  });

  it('shows markup in messages as text, never as HTML', async () => {
    const list = await mount('wisp-message-list', { lines, room: 'lobby' });
    const item = shadow(list).querySelectorAll('li:not([data-day])')[1];
    expect(item.querySelector('img')).to.equal(null);
    expect(item.querySelector('b')).to.equal(null);
    expect(item.textContent).to.contain('<img src=x onerror="window.pwned=1"><b>bold?</b>');
    // An onerror fires only after the image failed to load, so a check right away proves
    // nothing. Positive control: the same markup through an unsafe path (innerHTML), in the
    // list's own shadow root, must run its handler. Two rounds: the second control asks
    // for the same source only after the first one's handler ran, so an image the list had
    // rendered (asked for before either) has had its failure reported by then.
    const win = window as unknown as { pwned?: number; pwnedControl?: number };
    for (let round = 1; round <= 2; round++) {
      const control = document.createElement('span');
      control.innerHTML = `<img src=x onerror="window.pwnedControl=${round}">`;
      const failed = new Promise((resolve) => control.querySelector('img')!.addEventListener('error', resolve, { once: true }));
      shadow(list).append(control);
      await failed;
      expect(win.pwnedControl, `control ${round} ran its onerror handler`).to.equal(round);
    }
    expect(win.pwned).to.equal(undefined);
    delete win.pwnedControl;
  });

  it('shows links as links, or as plain text when the person hid them', async () => {
    const linked: ChatLine[] = [{ key: 'l1', kind: 'text', text: 'see https://example.org/a and **mailto:ann@example.org**', ts: 5, from: 'pB', name: 'bob' }];
    const list = await mount('wisp-message-list', { lines: linked, room: 'lobby' });
    const anchors = () => [...shadow(list).querySelectorAll('li .text a')];
    expect(anchors().map((a) => [a.getAttribute('href'), a.getAttribute('target'), a.getAttribute('rel')])).to.deep.equal([
      ['https://example.org/a', '_blank', 'noopener noreferrer'],
      ['mailto:ann@example.org', '_blank', 'noopener noreferrer'],
    ]);
    list.showLinks = false;
    await list.updateComplete;
    expect(anchors()).to.deep.equal([]);
    expect(shadow(list).querySelector('li .text')!.textContent).to.equal('see https://example.org/a and mailto:ann@example.org');
  });

  it('says when a room has no messages', async () => {
    const list = await mount('wisp-message-list', { lines: [], room: 'music' });
    expect(shadow(list).querySelector('.empty')?.textContent).to.contain('No messages yet in #music');
  });
});

describe('<wisp-message-list> own whispers not delivered', () => {
  it('says "Waiting for <name> to come online", or "Not delivered" with a Retry that sends whisper-retry', async () => {
    const lines: ChatLine[] = [
      { key: 'w1', kind: 'text', text: 'first', ts: 1, own: true, pending: false, undelivered: 'waiting', name: 'alice', cid: 'w1' },
      { key: 'w2', kind: 'text', text: 'second', ts: 2, own: true, pending: false, undelivered: 'expired', name: 'alice', cid: 'w2' },
    ];
    const list = await mount('wisp-message-list', { lines, room: '@kD', peer: 'Dana' });
    const [waiting, expired] = [...shadow(list).querySelectorAll('li[data-key]')];
    expect(waiting.querySelector('[data-status=waiting]')?.textContent).to.equal('Waiting for Dana to come online');
    expect(waiting.querySelector('.pending, button')).to.equal(null);
    expect(expired.querySelector('[data-status=not-delivered]')?.textContent).to.equal('Not delivered');
    const retried = nextEvent<{ id: string }>(list, 'whisper-retry');
    expired.querySelector<HTMLButtonElement>('button')!.click();
    expect((await retried).detail).to.deep.equal({ id: 'w2' });
  });
});

describe('<wisp-settings-dialog> whisper expiry', () => {
  it('offers 1 hour, 1 day and 7 days, shows the current one, and sends the chosen one', async () => {
    const dialog = await mount('wisp-settings-dialog', { settings: DEFAULT_SETTINGS });
    const select = shadow(dialog).querySelector<HTMLSelectElement>('select[name=whisper-expiry]')!;
    expect([...select.options].map((o) => o.textContent)).to.deep.equal(['1 hour', '1 day', '7 days']);
    expect(Number(select.value)).to.equal(DEFAULT_SETTINGS.whisperExpiryMs);
    const changed = nextEvent<{ settings: typeof DEFAULT_SETTINGS }>(dialog, 'settings-change');
    select.value = String(WHISPER_EXPIRY_CHOICES[2].ms);
    select.dispatchEvent(new Event('change'));
    expect((await changed).detail.settings).to.deep.equal({ ...DEFAULT_SETTINGS, whisperExpiryMs: 7 * 24 * 3_600_000 });
  });
});

describe('<wisp-composer>', () => {
  async function type(composer: HTMLElement, text: string): Promise<HTMLTextAreaElement> {
    const textarea = shadow(composer).querySelector('textarea')!;
    textarea.value = text;
    textarea.dispatchEvent(new InputEvent('input'));
    await (composer as unknown as { updateComplete: Promise<unknown> }).updateComplete;
    return textarea;
  }

  function press(textarea: HTMLTextAreaElement, key: string, init: KeyboardEventInit = {}): void {
    textarea.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, composed: true, cancelable: true, ...init }));
  }

  it('Enter sends the trimmed text and clears the box; Shift+Enter does not send', async () => {
    const composer = await mount('wisp-composer', { target: '#lobby' });
    const textarea = await type(composer, '  hello there  ');
    let sent = 0;
    composer.addEventListener('send', () => sent++);
    press(textarea, 'Enter', { shiftKey: true });
    expect(sent).to.equal(0);
    const event = nextEvent<{ text: string }>(composer, 'send');
    press(textarea, 'Enter');
    expect((await event).detail.text).to.equal('hello there');
    await composer.updateComplete;
    expect(textarea.value).to.equal('');
  });

  it('does not send a blank line', async () => {
    const composer = await mount('wisp-composer', { target: '#lobby' });
    const textarea = await type(composer, '   ');
    let sent = 0;
    composer.addEventListener('send', () => sent++);
    press(textarea, 'Enter');
    expect(sent).to.equal(0);
  });

  it('typing "/" lists the commands, arrows move the choice and Tab completes it', async () => {
    const composer = await mount('wisp-composer', { target: '#lobby' });
    const textarea = await type(composer, '/');
    const options = () => [...shadow(composer).querySelectorAll('[role=option]')];
    expect(options().map((o) => o.textContent!.trim().split(' ')[0]).slice(0, 6)).to.deep.equal(['/help', '/nick', '/join', '/leave', '/me', '/w']);
    press(textarea, 'ArrowDown');
    press(textarea, 'ArrowDown');
    await composer.updateComplete;
    expect(options()[2].getAttribute('aria-selected')).to.equal('true');
    press(textarea, 'Tab');
    await composer.updateComplete;
    expect(textarea.value).to.equal('/join ');
    expect(options()).to.have.length(0);
  });

  it('has a label for screen readers', async () => {
    const composer = await mount('wisp-composer', { target: '#music' });
    const label = shadow(composer).querySelector('label[for=input]')!;
    expect(label.textContent).to.contain('Message #music');
  });
});

describe('<wisp-room-tabs>', () => {
  it('marks the active tab, shows unread badges and emits room-select', async () => {
    const tabs = await mount('wisp-room-tabs', {
      tabs: [
        { id: 'lobby', label: 'lobby', unread: 0 },
        { id: 'music', label: 'music', unread: 3 },
        { id: '@key1', label: 'bob', unread: 1, whisper: true },
      ],
      active: 'lobby',
    });
    const buttons = [...shadow(tabs).querySelectorAll<HTMLButtonElement>('[role=tab]')];
    expect(buttons.map((b) => b.getAttribute('aria-selected'))).to.deep.equal(['true', 'false', 'false']);
    expect(buttons.map((b) => b.textContent!.replace(/\s+/g, ' ').trim())).to.deep.equal(['#lobby', '#music3', 'bob1']);
    expect(buttons[2].querySelector('svg')).to.not.equal(null);
    expect(buttons[1].querySelector('.badge')?.getAttribute('aria-label')).to.equal('3 unread');
    expect(buttons[0].querySelector('.badge')).to.equal(null);
    const event = nextEvent<{ room: string }>(tabs, 'room-select');
    buttons[1].click();
    expect((await event).detail.room).to.equal('music');
  });

  it('arrow keys move to the next tab and select it', async () => {
    const tabs = await mount('wisp-room-tabs', { tabs: [{ id: 'a1', label: 'a1', unread: 0 }, { id: 'b2', label: 'b2', unread: 0 }], active: 'a1' });
    const first = shadow(tabs).querySelector<HTMLButtonElement>('[role=tab]')!;
    const event = nextEvent<{ room: string }>(tabs, 'room-select');
    first.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true, composed: true }));
    expect((await event).detail.room).to.equal('b2');
  });

  it('× on a tab (or Delete on it) asks to close it, named for what it does', async () => {
    const tabs = await mount('wisp-room-tabs', {
      tabs: [
        { id: 'lobby', label: 'lobby', unread: 0 },
        { id: '@key1', label: 'bob', unread: 0, whisper: true },
      ],
      active: 'lobby',
    });
    const closes = [...shadow(tabs).querySelectorAll<HTMLButtonElement>('button.close')];
    expect(closes.map((b) => b.getAttribute('aria-label'))).to.deep.equal(['Leave #lobby', 'Close whisper with bob']);
    expect(closes.map((b) => b.tabIndex), "only the active tab's × is a Tab stop").to.deep.equal([0, -1]);
    let event = nextEvent<{ tab: string }>(tabs, 'tab-close');
    closes[1].click();
    expect((await event).detail.tab).to.equal('@key1');
    event = nextEvent<{ tab: string }>(tabs, 'tab-close');
    shadow(tabs).querySelector('[role=tab]')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Delete', bubbles: true, composed: true }));
    expect((await event).detail.tab).to.equal('lobby');
  });

  it('brings the active tab into view when it changes, not when only an unread count does', async () => {
    const many = Array.from({ length: 8 }, (_, i) => ({ id: `room-number-${i}`, label: `room-number-${i}`, unread: 0 }));
    const tabs = await mount('wisp-room-tabs', { tabs: many, active: 'room-number-7' });
    tabs.style.width = '320px';
    tabs.tabs = [...many];
    tabs.active = 'room-number-0';
    await tabs.updateComplete;
    const strip = shadow(tabs).querySelector<HTMLElement>('.strip')!;
    expect(strip.scrollWidth, 'the tabs overflow the strip').to.be.above(strip.clientWidth);
    expect(strip.scrollLeft).to.equal(0);
    // The person scrolls the strip to look; a new unread count elsewhere leaves it there.
    strip.scrollLeft = strip.scrollWidth;
    const scrolled = strip.scrollLeft;
    tabs.tabs = many.map((t, i) => (i === 3 ? { ...t, unread: 2 } : t));
    await tabs.updateComplete;
    expect(strip.scrollLeft).to.equal(scrolled);
    // Choosing another tab brings it into view.
    tabs.active = 'room-number-1';
    await tabs.updateComplete;
    const active = shadow(tabs).querySelector('[aria-selected=true]')!.parentElement!.getBoundingClientRect();
    const box = strip.getBoundingClientRect();
    expect(active.left >= box.left - 1 && active.right <= box.right + 1, 'the chosen tab is in view').to.equal(true);
  });

  it('the + button asks to add a room', async () => {
    const tabs = await mount('wisp-room-tabs', { tabs: [], active: undefined });
    const event = nextEvent(tabs, 'room-add');
    shadow(tabs).querySelector<HTMLButtonElement>('button[aria-label="Join or create a room"]')!.click();
    expect((await event).type).to.equal('room-add');
  });
});

describe('<wisp-member-list>', () => {
  it('lists members sorted by name and marks me', async () => {
    const list = await mount('wisp-member-list', {
      members: [
        { id: 'p2', name: 'zed', key: 'k2', role: 'member' },
        { id: 'p1', name: 'Amy', key: 'k1', role: 'owner' },
        { id: 'p3', name: 'bob', key: 'k3', role: 'member' },
      ],
      me: 'p3',
      synced: true,
    });
    const names = [...shadow(list).querySelectorAll('li .name')].map((n) => n.textContent);
    expect(names).to.deep.equal(['Amy', 'bob', 'zed']);
    expect(shadow(list).querySelector('li[data-id=p3] .you')?.textContent).to.equal('(you)');
    expect(shadow(list).querySelector('h2')?.textContent).to.equal('People here (3)');
  });

  it('says it is waiting while the list is unknown', async () => {
    const list = await mount('wisp-member-list', { members: [], synced: false });
    expect(shadow(list).querySelector('p')?.textContent).to.contain('Waiting');
  });
});

describe('<wisp-connection-status>', () => {
  it('online shows "Connected" and no button', async () => {
    const status = await mount('wisp-connection-status', { connection: { status: 'online' } });
    expect(shadow(status).querySelector('[role=status]')?.textContent).to.equal('Connected');
    expect(shadow(status).querySelector('button')).to.equal(null);
    expect(status.getAttribute('status')).to.equal('online');
  });

  it('offline shows the sentence, a countdown and a retry button that emits reconnect', async () => {
    const status = await mount('wisp-connection-status', {
      connection: { status: 'offline', sentence: 'The server is restarting.', retryAt: Date.now() + 5000 },
    });
    expect(shadow(status).querySelector('.sentence')?.textContent).to.match(/^The server is restarting\. \(\ds\)$/);
    const event = nextEvent(status, 'reconnect');
    shadow(status).querySelector('button')!.click();
    expect((await event).type).to.equal('reconnect');
  });

  it('stopped (replaced by another tab) offers to connect here', async () => {
    const status = await mount('wisp-connection-status', { connection: { status: 'stopped', sentence: 'Opened elsewhere.' } });
    expect(shadow(status).querySelector('button')?.textContent?.trim()).to.equal('Connect here');
  });
});

describe('<wisp-insecure-context>', () => {
  it('explains why Wisp cannot start and how to fix it', async () => {
    const screen = await mount('wisp-insecure-context', { host: '192.168.1.20:8080', missing: 'Web Crypto API' });
    const text = shadow(screen).textContent!;
    expect(text).to.contain('192.168.1.20:8080');
    expect(text).to.contain('--tls-cert');
    expect(text).to.contain('Caddy');
    expect(text).to.contain('tailscale serve');
  });

  it("links to the server's setup page for its certificate", async () => {
    const screen = await mount('wisp-insecure-context', { host: '192.168.1.20:8080', missing: 'Web Crypto API' });
    const link = shadow(screen).querySelector('a')!;
    expect(link.getAttribute('href')).to.equal('/setup');
    expect(link.textContent).to.contain('certificate');
  });
});

describe('<wisp-room-header>', () => {
  const room = (newMembers: number): RoomState => ({ name: 'club', members: {}, lines: [], unread: 0, synced: true, newMembers });

  /** Opens the room's "⋯" menu; returns its items. */
  async function openMenu(header: HTMLElement & { updateComplete: Promise<unknown> }): Promise<HTMLButtonElement[]> {
    shadow(header).querySelector<HTMLButtonElement>('button.more')!.click();
    await header.updateComplete;
    return menuItems(header);
  }

  /** The items of the open menu (the room menu holds a member menu). */
  async function menuItems(header: HTMLElement): Promise<HTMLButtonElement[]> {
    const roomMenu = shadow(header).querySelector('wisp-room-menu')!;
    await (roomMenu as unknown as { updateComplete: Promise<unknown> }).updateComplete;
    const menu = shadow(roomMenu).querySelector('wisp-member-menu')!;
    await (menu as unknown as { updateComplete: Promise<unknown> }).updateComplete;
    return [...shadow(menu).querySelectorAll<HTMLButtonElement>('[role=menuitem]')];
  }

  it('says what new members see', async () => {
    const header = await mount('wisp-room-header', { room: room(50) });
    expect(shadow(header).querySelector('[data-history]')?.textContent).to.include('New members see the last 50 messages');
    header.room = room(0);
    await header.updateComplete;
    expect(shadow(header).querySelector('[data-history]')?.textContent).to.include('This room keeps no history');
    const labels = (await openMenu(header)).map((b) => b.textContent?.trim());
    expect(labels, 'no History without choices').to.deep.equal(['Invite…', 'Clear this conversation', 'Leave #club']);
  });

  it('offers the choices it is given and sends the one picked', async () => {
    const header = await mount('wisp-room-header', { room: room(50), historyChoices: [0, 10, 50] });
    const history = (await openMenu(header)).find((b) => b.textContent?.trim() === 'History…')!;
    history.click();
    const items = await menuItems(header);
    expect(items.map((b) => b.textContent?.trim())).to.deep.equal(['None: keep no history', 'The last 10 messages', '✓ The last 50 messages']);
    const picked = nextEvent<{ room: string; newMembers: number }>(header, 'room-history');
    items[1].click();
    expect((await picked).detail).to.deep.equal({ room: 'club', newMembers: 10 });
  });

  it('"Set topic…" for those who may, with the current topic, and "Leave" for everyone', async () => {
    const header = await mount('wisp-room-header', { room: { ...room(50), topic: 'Knots' }, moderator: true });
    const topic = nextEvent<{ room: string; topic: string }>(header, 'set-topic');
    (await openMenu(header)).find((b) => b.textContent?.trim() === 'Set topic…')!.click();
    expect((await topic).detail).to.deep.equal({ room: 'club', topic: 'Knots' });
    const leave = nextEvent<{ room: string }>(header, 'leave-room');
    (await openMenu(header)).find((b) => b.textContent?.trim() === 'Leave #club')!.click();
    expect((await leave).detail).to.deep.equal({ room: 'club' });
  });
});
