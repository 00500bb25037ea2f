// Smoke test of the app tier itself: the shared protocol module runs in the browser,
// and Lit's legacy decorators are compiled the way the app needs them
// (experimentalDecorators, useDefineForClassFields: false).
import { expect } from '@esm-bundle/chai';
import { LitElement, html } from 'lit';
import { property } from 'lit/decorators.js';
import { ErrorCode, LIMITS, checkName, checkRoomName, parseServerFrame } from '../../signal-server/protocol/protocol.ts';

describe('protocol module in the browser', () => {
  it('checkName accepts a good name, trimmed and NFC-normalised', () => {
    expect(checkName('Ada')).to.deep.equal({ ok: true, value: 'Ada' });
    expect(checkName('  grace.h-2  ')).to.deep.equal({ ok: true, value: 'grace.h-2' });
    const decomposed = 'E\u0301mile';
    const result = checkName(decomposed);
    expect(result.ok).to.equal(true);
    if (result.ok) expect(result.value).to.equal('\u00c9mile').and.to.have.length(5);
  });

  it('checkName refuses short, long, spaced, control and bidi-override names', () => {
    expect(checkName('A').ok).to.equal(false);
    expect(checkName('a'.repeat(LIMITS.nameMaxLength)).ok).to.equal(true);
    expect(checkName('a'.repeat(LIMITS.nameMaxLength + 1)).ok).to.equal(false);
    expect(checkName('two words').ok).to.equal(false);
    expect(checkName('bell\u0007').ok).to.equal(false);
    expect(checkName('evil\u202Eeman').ok).to.equal(false);
    expect(checkName('_leading').ok).to.equal(false);
    const refused = checkName('A');
    if (!refused.ok) expect(refused.reason).to.be.a('string').and.not.equal('');
  });

  it('checkRoomName lower-cases, drops a leading # and enforces the rules', () => {
    expect(checkRoomName('#General')).to.deep.equal({ ok: true, value: 'general' });
    expect(checkRoomName('dev-ops_2')).to.deep.equal({ ok: true, value: 'dev-ops_2' });
    expect(checkRoomName('').ok).to.equal(false);
    expect(checkRoomName('#').ok).to.equal(false);
    expect(checkRoomName('two words').ok).to.equal(false);
    expect(checkRoomName('x'.repeat(LIMITS.roomNameMaxLength + 1)).ok).to.equal(false);
  });

  it('parseServerFrame accepts valid frames', () => {
    expect(parseServerFrame('{"type":"pong"}')).to.deep.equal({ ok: true, frame: { type: 'pong' } });
    const message = { type: 'message', room: 'lobby', id: 'm1', from: 'p1', name: 'Ada', ts: 1_700_000_000_000, text: 'hi', kind: 'text', seq: 1 };
    const parsed = parseServerFrame(JSON.stringify(message));
    expect(parsed.ok).to.equal(true);
    if (parsed.ok) expect(parsed.frame).to.deep.equal(message);
  });

  it('parseServerFrame refuses bad JSON, non-objects, unknown types and bad fields with typed codes', () => {
    const badJson = parseServerFrame('{nope');
    expect(badJson.ok).to.equal(false);
    if (!badJson.ok) expect(badJson.code).to.equal(ErrorCode.badJson);

    const array = parseServerFrame('[]');
    if (array.ok) expect.fail('an array is not a frame');
    else expect(array.code).to.equal(ErrorCode.badFrame);

    const unknown = parseServerFrame('{"type":"teleport"}');
    if (unknown.ok) expect.fail('unknown type accepted');
    else expect(unknown).to.include({ code: ErrorCode.unknownType, ref: 'teleport' });

    const badField = parseServerFrame(JSON.stringify({ type: 'message', room: 'lobby', id: 'm1', from: 'p1', name: 'Ada', ts: -1, text: 'hi', kind: 'text', seq: 1 }));
    if (badField.ok) expect.fail('negative timestamp accepted');
    else expect(badField).to.include({ code: ErrorCode.badFrame, ref: 'message' });
  });
});

class SmokeGreeting extends LitElement {
  @property() name = 'world';
  @property({ type: Number }) count = 0;

  override render() {
    return html`<p>Hello, ${this.name}! (${this.count})</p>`;
  }
}
customElements.define('wisp-smoke-greeting', SmokeGreeting);

describe('Lit with legacy decorators', () => {
  let el: SmokeGreeting;
  const text = () => el.shadowRoot?.querySelector('p')?.textContent;

  beforeEach(async () => {
    el = document.createElement('wisp-smoke-greeting') as SmokeGreeting;
    document.body.append(el);
    await el.updateComplete;
  });
  afterEach(() => el.remove());

  it('keeps @property fields as reactive accessors (no class-field shadowing)', () => {
    expect(SmokeGreeting.elementProperties.has('name')).to.equal(true);
    expect(Object.prototype.hasOwnProperty.call(el, 'name')).to.equal(false);
    expect(el.name).to.equal('world');
  });

  it('renders a property through a text binding and re-renders on change', async () => {
    expect(text()).to.equal('Hello, world! (0)');
    el.name = '<b>Ada</b>';
    await el.updateComplete;
    expect(text()).to.equal('Hello, <b>Ada</b>! (0)');
    expect(el.shadowRoot?.querySelector('b')).to.equal(null);
  });

  it('converts an attribute to a typed property', async () => {
    el.setAttribute('count', '3');
    await el.updateComplete;
    expect(el.count).to.equal(3);
    expect(text()).to.equal('Hello, world! (3)');
  });
});
