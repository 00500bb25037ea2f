// What the components say about trust: the whisper header's chip and its plain-words
// explanation, the mismatch and "verified people only" warnings, "They don't match" in the
// verify dialog, the setting, and the words "end-to-end encrypted", which never stand alone
// for a contact who is not verified.
import { expect } from '@esm-bundle/chai';
import '../../app/components/whisper-header.ts';
import '../../app/components/verify-dialog.ts';
import '../../app/components/settings-dialog.ts';
import '../../app/components/message-list.ts';
import '../../app/components/file-card.ts';
import '../../app/components/member-list.ts';
import '../../app/components/share-dialog.ts';
import { DEFAULT_SETTINGS } from '../../app/storage/settings.ts';
import type { Trust } from '../../app/storage/pins.ts';
import type { TransferState, WhisperState } from '../../app/state/store.ts';
import { mount } from './support/mount.ts';

function text(element: Element): string {
  return (element.shadowRoot!.textContent ?? '').replace(/\s+/g, ' ').trim();
}

function nextEvent<T = unknown>(target: EventTarget, type: string): Promise<CustomEvent<T>> {
  return new Promise((resolve) => target.addEventListener(type, (e) => resolve(e as CustomEvent<T>), { once: true }));
}

const whisper: WhisperState = { key: 'kDana', name: 'Dana', lines: [], unread: 0, link: 'ready', path: 'relay' };

afterEach(() => {
  document.body.replaceChildren();
});

describe('<wisp-whisper-header> trust', () => {
  const cases: [Trust, string, string][] = [
    ['new', 'unverified', 'Not verified yet'],
    ['pinned', 'unverified', 'Not verified yet'],
    ['verified', 'verified', 'Verified'],
    ['changed', 'changed', 'Safety number changed'],
    ['changed-verified', 'changed', 'Safety number changed'],
    ['mismatch', 'mismatch', 'Safety number does not match'],
  ];
  for (const [trust, state, label] of cases) {
    it(`${trust}: data-trust="${state}", "${label}"; "end-to-end encrypted" only when verified`, async () => {
      const header = await mount('wisp-whisper-header', { whisper, trust });
      const chip = header.shadowRoot!.querySelector('[data-trust]')!;
      expect(chip.getAttribute('data-trust')).to.equal(state);
      expect(chip.textContent!.trim()).to.equal(label);
      expect(/end-to-end encrypted/i.test(text(header))).to.equal(trust === 'verified');
    });
  }

  it('"Not verified yet" opens a plain explanation with Verify', async () => {
    const header = await mount('wisp-whisper-header', { whisper, trust: 'pinned' });
    expect(header.shadowRoot!.querySelector('[data-explain]')).to.equal(null);
    (header.shadowRoot!.querySelector('[data-trust]') as HTMLButtonElement).click();
    await header.updateComplete;
    const explain = header.shadowRoot!.querySelector('[data-explain]')!;
    expect(explain.querySelector('span')!.textContent!.replace(/\s+/g, ' ').trim()).to.equal(
      "Your whispers with Dana are encrypted, but you have not checked that this is really Dana's key. Until you compare safety numbers, whoever runs the server could pose as Dana.",
    );
    const verify = nextEvent<{ key: string }>(header, 'verify');
    explain.querySelector('button')!.click();
    expect((await verify).detail.key).to.equal('kDana');
  });

  it('the explanation stays with its conversation', async () => {
    const header = await mount('wisp-whisper-header', { whisper, trust: 'pinned' });
    (header.shadowRoot!.querySelector('[data-trust]') as HTMLButtonElement).click();
    await header.updateComplete;
    header.whisper = { ...whisper, lines: [] };
    await header.updateComplete;
    expect(header.shadowRoot!.querySelector('[data-explain]'), 'same contact, new state: still open').to.not.equal(null);
    header.whisper = { ...whisper, key: 'kEve', name: 'Eve' };
    await header.updateComplete;
    expect(header.shadowRoot!.querySelector('[data-explain]'), 'another contact: closed').to.equal(null);
  });

  it('a mismatch warns, without "Try again" or "Continue anyway"', async () => {
    const header = await mount('wisp-whisper-header', { whisper: { ...whisper, link: 'closed', failure: 'Blocked.' }, trust: 'mismatch' });
    const warning = header.shadowRoot!.querySelector('[data-warning="mismatch"]')!;
    expect(warning.querySelector('span')!.textContent).to.equal("Dana's safety number does not match: someone may be interfering. Nothing is sent until you verify again.");
    const buttons = [...header.shadowRoot!.querySelectorAll('button')].map((b) => b.textContent!.trim());
    expect(buttons).to.not.include('Try again');
    expect(buttons).to.not.include('Continue anyway');
  });

  it('"Whisper only with verified people" warns about an unverified contact only', async () => {
    const unverified = await mount('wisp-whisper-header', { whisper, trust: 'pinned', verifiedOnly: true });
    expect(unverified.shadowRoot!.querySelector('[data-warning="unverified"]')).to.not.equal(null);
    const verified = await mount('wisp-whisper-header', { whisper, trust: 'verified', verifiedOnly: true });
    expect(verified.shadowRoot!.querySelector('[data-warning]')).to.equal(null);
  });
});

describe('trust elsewhere', () => {
  it('the verify dialog emits verify-mismatch from "They don\'t match"', async () => {
    const dialog = await mount('wisp-verify-dialog', { name: 'Dana', number: '1'.repeat(60) });
    dialog.show();
    const button = [...dialog.shadowRoot!.querySelectorAll('button')].find((b) => b.textContent!.trim() === "They don't match")!;
    const mismatch = nextEvent(dialog, 'verify-mismatch');
    button.click();
    expect((await mismatch).detail).to.equal(null);
    expect(dialog.shadowRoot!.querySelector('dialog')!.open).to.equal(false);
  });

  it('the setting is off by default and emits verifiedOnly', async () => {
    expect(DEFAULT_SETTINGS.verifiedOnly).to.equal(false);
    const dialog = await mount('wisp-settings-dialog', { settings: DEFAULT_SETTINGS });
    const box = dialog.shadowRoot!.querySelector<HTMLInputElement>('input[name=verified-only]')!;
    expect(box.checked).to.equal(false);
    expect(box.closest('label')!.textContent!.replace(/\s+/g, ' ')).to.include('whoever runs the server could pose as them');
    const changed = nextEvent<{ settings: typeof DEFAULT_SETTINGS }>(dialog, 'settings-change');
    box.click();
    expect((await changed).detail.settings).to.deep.equal({ ...DEFAULT_SETTINGS, verifiedOnly: true });
  });

  it('an empty whisper conversation claims "end-to-end encrypted" only for a verified contact', async () => {
    const unverified = await mount('wisp-message-list', { room: '@kDana', peer: 'Dana', trust: { kDana: 'pinned' } });
    expect(text(unverified)).to.equal('Whispers are encrypted, but Dana is not verified yet: compare safety numbers to be sure that only the two of you can read them.');
    const verified = await mount('wisp-message-list', { room: '@kDana', peer: 'Dana', trust: { kDana: 'verified' } });
    expect(text(verified)).to.equal('Whispers are end-to-end encrypted and you verified Dana: only the two of you can read them.');
  });

  it('a file card says "end-to-end encrypted" only for a verified contact', async () => {
    const transfer: TransferState = { id: 't', key: 'kDana', fid: 1, direction: 'out', name: 'a.txt', size: 10, declaredType: 'text/plain', status: 'sending', bytes: 1, rate: 1, remaining: 9 };
    const plain = await mount('wisp-file-card', { transfer, peer: 'Dana' });
    expect(text(plain)).to.include('Sending, encrypted (not verified yet)…');
    expect(text(plain)).to.not.match(/end-to-end/);
    const verified = await mount('wisp-file-card', { transfer, peer: 'Dana', verified: true });
    expect(text(verified)).to.include('Sending, end-to-end encrypted…');
  });

  it('the member list and the share dialog mark who is not verified yet', async () => {
    const members = [
      { id: 'p1', name: 'Dana', key: 'kDana', role: 'member' as const },
      { id: 'p2', name: 'Eve', key: 'kEve', role: 'member' as const },
    ];
    const list = await mount('wisp-member-list', { members, synced: true, me: 'p0', trust: { kDana: 'pinned', kEve: 'verified' } });
    const badges = [...list.shadowRoot!.querySelectorAll('li')].map((li) => li.querySelector('.badge')!.textContent!.trim());
    expect(badges).to.deep.equal(['not verified', '✓']);
    const share = await mount('wisp-share-dialog', { people: members, online: true, trust: { kDana: 'pinned', kEve: 'verified' } });
    expect(text(share)).to.not.match(/end-to-end encrypted/i);
    expect([...share.shadowRoot!.querySelectorAll('li .badge')].map((b) => b.textContent!.trim())).to.deep.equal(['not verified', '✓']);
  });
});
