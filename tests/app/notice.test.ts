// The notice (toast) and the composer's refused line: a notice that asks for nothing goes by
// itself, one with an action stays; a line the app refused comes back into the composer.
import { expect } from '@esm-bundle/chai';
import '../../app/components/notice.ts';
import '../../app/components/composer.ts';
import { NOTICE_MS } from '../../app/storage/settings.ts';
import { mount } from './support/mount.ts';

function nextEvent(target: EventTarget, type: string): Promise<Event> {
  return new Promise((resolve) => target.addEventListener(type, resolve, { once: true }));
}

afterEach(() => {
  document.body.replaceChildren();
});

describe('<wisp-notice>', () => {
  it('waits a few seconds by default, from one place', () => {
    expect(document.createElement('wisp-notice').dismissAfter).to.equal(NOTICE_MS);
    expect(NOTICE_MS).to.be.within(3000, 10_000);
  });

  it('is an alert with the sentence as text and a Dismiss button', async () => {
    const notice = await mount('wisp-notice', { notice: { id: 1, text: '<b>bob</b> is already taken.' } });
    const box = notice.shadowRoot!.querySelector('div.notice[role=alert]')!;
    expect(box.querySelector('span')!.textContent).to.equal('<b>bob</b> is already taken.');
    expect(box.querySelector('b')).to.equal(null);
    const dismissed = nextEvent(notice, 'notice-dismiss');
    box.querySelector<HTMLButtonElement>('button[aria-label=Dismiss]')!.click();
    await dismissed;
  });

  it('is a polite status when it only informs, and still an alert when it also asks for an action', async () => {
    const info = await mount('wisp-notice', { notice: { id: 1, text: 'You are now the server admin.', info: true } });
    expect(info.shadowRoot!.querySelector('div.notice')!.getAttribute('role')).to.equal('status');
    const offer = await mount('wisp-notice', { notice: { id: 2, text: 'A new version of Wisp is available.', info: true }, action: 'Reload' });
    expect(offer.shadowRoot!.querySelector('div.banner')!.getAttribute('role')).to.equal('alert');
  });

  it('dismisses itself when it asks for nothing', async () => {
    const notice = document.createElement('wisp-notice');
    notice.dismissAfter = 20;
    const dismissed = nextEvent(notice, 'notice-dismiss');
    notice.notice = { id: 1, text: 'You are now the server admin.' };
    document.body.append(notice);
    await dismissed;
  });

  it('with an action, stays past the dismiss time until acted on or closed', async () => {
    const offer = document.createElement('wisp-notice');
    offer.dismissAfter = 20;
    offer.action = 'Reload';
    offer.notice = { id: 0, text: 'A new version of Wisp is available.' };
    let offerDismissed = false;
    offer.addEventListener('notice-dismiss', () => (offerDismissed = true));
    document.body.append(offer);
    await offer.updateComplete;
    // A plain notice with the same delay, started after the offer: once it has gone, the offer's time has passed too.
    const plain = document.createElement('wisp-notice');
    plain.dismissAfter = 20;
    plain.notice = { id: 1, text: 'Nobody called dana is in a room with you.' };
    const plainGone = nextEvent(plain, 'notice-dismiss');
    document.body.append(plain);
    await plainGone;
    expect(offerDismissed, 'the offer did not dismiss itself').to.equal(false);
    // It asks for an action: said at once.
    const box = offer.shadowRoot!.querySelector('div.banner[role=alert]')!;
    expect(box.textContent).to.contain('A new version of Wisp is available.');
    const acted = nextEvent(offer, 'notice-action');
    box.querySelector<HTMLButtonElement>('button.primary')!.click();
    await acted;
    const closed = nextEvent(offer, 'notice-dismiss');
    box.querySelector<HTMLButtonElement>('button[aria-label=Dismiss]')!.click();
    await closed;
  });
});

describe('<wisp-composer> and a refused line', () => {
  it('gets the refused line back in the box after sending it', async () => {
    const composer = await mount('wisp-composer', { target: '#lobby' });
    const textarea = composer.shadowRoot!.querySelector('textarea')!;
    composer.addEventListener('send', (e) => {
      // As the app does: the Session refuses at once with a notice that carries the line.
      composer.refused = { returned: (e as CustomEvent<{ text: string }>).detail.text };
    });
    const type = async (text: string) => {
      textarea.value = text;
      textarea.dispatchEvent(new InputEvent('input'));
      await composer.updateComplete;
      textarea.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
      await composer.updateComplete;
    };
    await type('/nick bob');
    expect(textarea.value).to.equal('/nick bob');
  });

  it('empties the box when the line was taken', async () => {
    const composer = await mount('wisp-composer', { target: '#lobby' });
    const textarea = composer.shadowRoot!.querySelector('textarea')!;
    const sent = nextEvent(composer, 'send');
    textarea.value = 'hello';
    textarea.dispatchEvent(new InputEvent('input'));
    await composer.updateComplete;
    textarea.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    expect(((await sent) as CustomEvent<{ text: string }>).detail.text).to.equal('hello');
    await composer.updateComplete;
    expect(textarea.value).to.equal('');
  });

  it('does not overwrite what was typed since, nor fill a new composer', async () => {
    const fresh = await mount('wisp-composer', { refused: { returned: '/nick bob' } });
    expect(fresh.shadowRoot!.querySelector('textarea')!.value, 'a composer made after the refusal').to.equal('');
    const textarea = fresh.shadowRoot!.querySelector('textarea')!;
    textarea.value = 'something new';
    textarea.dispatchEvent(new InputEvent('input'));
    await fresh.updateComplete;
    fresh.refused = { returned: '/nick carol' };
    await fresh.updateComplete;
    expect(textarea.value).to.equal('something new');
  });
});
