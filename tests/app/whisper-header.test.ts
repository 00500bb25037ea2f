// The whisper header in one line: the name, the trust and link state in words (whole on a tap),
// Verify while not verified, and a "⋯" menu with the safety number, "Try again" and "Clear
// this conversation"; focus goes back to "⋯" when the menu closes. The trust words themselves
// are in trust-components.test.ts.
import { expect } from '@esm-bundle/chai';
import '../../app/components/whisper-header.ts';
import '../../app/components/member-menu.ts';
import '../../app/components/whisper-menu.ts';
import type { Trust } from '../../app/storage/pins.ts';
import type { WhisperState } from '../../app/state/store.ts';
import type { WhisperHeader } from '../../app/components/whisper-header.ts';
import { mount } from './support/mount.ts';

const whisper: WhisperState = { key: 'kDana', name: 'Dana', lines: [], unread: 0, link: 'ready', path: 'relay' };

function shadow(element: Element): ShadowRoot {
  return element.shadowRoot!;
}

function nextEvent<T = unknown>(target: EventTarget, type: string): Promise<CustomEvent<T>> {
  return new Promise((resolve) => target.addEventListener(type, (e) => resolve(e as CustomEvent<T>), { once: true }));
}

function words(element: Element | null | undefined): string {
  return (element?.textContent ?? '').replace(/\s+/g, ' ').trim();
}

/** The deep focused element. */
function focused(): Element | null {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
}

/** Opens "⋯"; returns the menu's items. */
async function openMenu(header: WhisperHeader): Promise<HTMLButtonElement[]> {
  shadow(header).querySelector<HTMLButtonElement>('button.more')!.click();
  await header.updateComplete;
  const whisperMenu = shadow(header).querySelector('wisp-whisper-menu')!;
  await (whisperMenu as unknown as { updateComplete: Promise<unknown> }).updateComplete;
  const menu = shadow(whisperMenu).querySelector('wisp-member-menu')!;
  await (menu as unknown as { updateComplete: Promise<unknown> }).updateComplete;
  return [...shadow(menu).querySelectorAll<HTMLButtonElement>('[role=menuitem]')];
}

async function header(props: { whisper?: WhisperState; trust?: Trust; verifiedOnly?: boolean }): Promise<WhisperHeader> {
  return (await mount('wisp-whisper-header', { whisper, ...props })) as WhisperHeader;
}

afterEach(() => {
  document.body.replaceChildren();
});

describe('<wisp-whisper-header> in one line', () => {
  it('not verified yet: the name, the state in words, Verify and ⋯, and nothing below the line', async () => {
    const h = await header({ trust: 'pinned' });
    const line = shadow(h).querySelector('.line')!;
    expect(words(line.querySelector('.name'))).to.equal('Dana');
    const summary = line.querySelector('button.summary')!;
    expect(words(summary)).to.equal('Not verified yet · Encrypted · Relayed by the server');
    expect(summary.getAttribute('title'), 'the whole state, for when the line shortens it').to.equal(words(summary));
    expect([...line.querySelectorAll('button:not(.summary)')].map((b) => words(b))).to.deep.equal(['Verify', '⋯']);
    expect(shadow(h).querySelectorAll('p').length, 'no banner in the normal state').to.equal(0);
    expect(shadow(h).querySelector('[data-action=clear-conversation]'), 'Clear is in the menu').to.equal(null);
    const verify = nextEvent<{ key: string }>(h, 'verify');
    line.querySelector<HTMLButtonElement>('button.verify')!.click();
    expect((await verify).detail.key).to.equal('kDana');
  });

  it('verified: "End-to-end encrypted" with the path, no Verify in the line, the safety number in the menu', async () => {
    const h = await header({ trust: 'verified', whisper: { ...whisper, path: 'direct' } });
    expect(words(shadow(h).querySelector('button.summary'))).to.equal('Verified · End-to-end encrypted · Direct');
    expect(shadow(h).querySelector('button.verify')).to.equal(null);
    const items = await openMenu(h);
    expect(items.map((b) => words(b))).to.deep.equal(['Safety number…', 'Clear this conversation']);
    const verify = nextEvent<{ key: string }>(h, 'verify');
    items[0].click();
    expect((await verify).detail.key).to.equal('kDana');
  });

  it('connecting says so in the line', async () => {
    const h = await header({ trust: 'pinned', whisper: { ...whisper, link: 'connecting', path: undefined } });
    expect(words(shadow(h).querySelector('button.summary'))).to.equal('Not verified yet · Setting up a secure channel…');
  });

  it('a tap on the state shows it whole below the line, with what "not verified yet" means', async () => {
    const h = await header({ trust: 'pinned' });
    const summary = shadow(h).querySelector<HTMLButtonElement>('button.summary')!;
    expect(summary.getAttribute('aria-expanded')).to.equal('false');
    expect((shadow(h).querySelector('#details') as HTMLElement).hidden).to.equal(true);
    summary.click();
    await h.updateComplete;
    expect(summary.getAttribute('aria-expanded')).to.equal('true');
    expect(words(shadow(h).querySelector('#details [data-status]'))).to.equal('Not verified yet · Encrypted · Relayed by the server');
    expect(shadow(h).querySelector('#details [data-explain]')).to.not.equal(null);
  });

  it('"Clear this conversation" from the menu clears this whisper tab', async () => {
    const h = await header({ trust: 'pinned' });
    const items = await openMenu(h);
    expect(items.map((b) => words(b))).to.deep.equal(['Verify…', 'Clear this conversation']);
    const clear = nextEvent<{ tab: string }>(h, 'clear-conversation');
    items[1].click();
    expect((await clear).detail).to.deep.equal({ tab: '@kDana' });
    await h.updateComplete;
    expect(shadow(h).querySelector('wisp-whisper-menu'), 'the menu closes').to.equal(null);
  });

  it('a closed link offers "Try again" in the menu; a blocked one does not', async () => {
    const closed = { ...whisper, link: 'closed' as const, path: undefined };
    const h = await header({ trust: 'pinned', whisper: closed });
    expect(words(shadow(h).querySelector('button.summary'))).to.equal('Not verified yet · Not connected');
    const items = await openMenu(h);
    expect(items.map((b) => words(b))).to.deep.equal(['Verify…', 'Try again', 'Clear this conversation']);
    const reconnect = nextEvent<{ key: string }>(h, 'reconnect');
    items[1].click();
    expect((await reconnect).detail.key).to.equal('kDana');
    const blocked = await header({ trust: 'mismatch', whisper: closed });
    expect((await openMenu(blocked)).map((b) => words(b))).to.deep.equal(['Verify…', 'Clear this conversation']);
  });

  it('Escape closes the menu and focus goes back to ⋯', async () => {
    const h = await header({ trust: 'pinned' });
    const more = shadow(h).querySelector<HTMLButtonElement>('button.more')!;
    more.focus();
    const items = await openMenu(h);
    expect(more.getAttribute('aria-expanded')).to.equal('true');
    expect(focused(), 'the first item takes focus').to.equal(items[0]);
    items[0].dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, composed: true }));
    await h.updateComplete;
    await new Promise((resolve) => setTimeout(resolve));
    expect(shadow(h).querySelector('wisp-whisper-menu')).to.equal(null);
    expect(focused()).to.equal(more);
    expect(more.getAttribute('aria-expanded')).to.equal('false');
  });

  it('a changed key keeps its banner below the line, with Continue anyway and Verify', async () => {
    const h = await header({ trust: 'changed' });
    expect(words(shadow(h).querySelector('[data-trust]'))).to.equal('Safety number changed');
    const banner = shadow(h).querySelector('p.warning[role=alert]')!;
    expect([...banner.querySelectorAll('button')].map((b) => words(b))).to.deep.equal(['Continue anyway', 'Verify']);
    expect(shadow(h).querySelector('.line button.verify'), 'one Verify: in the banner').to.equal(null);
  });
});
