// The components' custom events: declared once (app/components/events.ts), sent only
// with emit() and heard in <wisp-app> only through on(), whose names the typecheck
// checks. These tests cover what the typecheck cannot: that on() really listens (and
// follows a new handler on re-render), that no component sends an event some other
// way, and that <wisp-app> listens to every declared event.
import { expect } from '@esm-bundle/chai';
import { html, render } from 'lit';
import { emit, on } from '../../app/components/events.ts';
import eventsSource from '../../app/components/events.ts?raw';
import appSource from '../../app/components/wisp-app.ts?raw';

const componentSources = import.meta.glob<string>('../../app/components/*.ts', { query: '?raw', import: 'default', eager: true });

/** The event names WispEventDetail declares, read from its source. */
function declaredEvents(): string[] {
  const body = /export interface WispEventDetail \{([\s\S]*?)\n\}/.exec(eventsSource)![1];
  return [...body.matchAll(/^\s+'?([a-z-]+)'?: /gm)].map((m) => m[1]);
}

describe('component events', () => {
  afterEach(() => document.body.replaceChildren());

  it('on() hears the event on its element, with its detail, and follows the latest handler', () => {
    const host = document.createElement('div');
    document.body.append(host);
    const heard: string[] = [];
    const view = (tag: string) => html`<span ${on('send', (e) => heard.push(`${tag}:${e.detail.text}`))}></span>`;
    render(view('first'), host);
    const span = host.querySelector('span')!;
    emit(span, 'send', { text: 'one' });
    render(view('second'), host);
    emit(span, 'send', { text: 'two' });
    expect(heard).to.deep.equal(['first:one', 'second:two']);
  });

  it('emit() sends a bubbling, composed CustomEvent; events without detail carry null', () => {
    const target = document.createElement('div');
    document.body.append(target);
    let seen: Event | undefined;
    document.body.addEventListener('room-add', (e) => (seen = e), { once: true });
    emit(target, 'room-add');
    expect(seen).to.be.instanceOf(CustomEvent);
    expect(seen!.bubbles && seen!.composed).to.equal(true);
    expect((seen as CustomEvent).detail).to.equal(null);
  });

  it('components send custom events only through emit()', () => {
    const files = Object.entries(componentSources).filter(([path]) => !path.endsWith('/events.ts'));
    expect(files.length).to.be.greaterThan(10);
    for (const [path, source] of files) expect(source, path).to.not.match(/new CustomEvent\(|dispatchEvent\(/);
  });

  it('<wisp-app> listens to every declared event through on() (but those a component hears from its own parts), never with an unchecked @binding', () => {
    const declared = declaredEvents();
    expect(declared).to.include.members(['send', 'files', 'reconnect', 'share-cancel', 'mark-verified']);
    const heardIn = (source: string) => new Set([...source.matchAll(/\bon\('([a-z-]+)'/g)].map((m) => m[1]));
    const heard = heardIn(appSource);
    // A component's own parts (the QR scanner inside the verify dialog) talk to it, not to the app.
    const inner = new Set(
      Object.entries(componentSources)
        .filter(([path]) => !path.endsWith('/wisp-app.ts') && !path.endsWith('/events.ts'))
        .flatMap(([, source]) => [...heardIn(source)]),
    );
    expect([...new Set([...heard, ...inner])].sort()).to.deep.equal([...new Set(declared)].sort());
    const atBindings = [...appSource.matchAll(/\s@([a-z-]+)=\$\{/g)].map((m) => m[1]);
    expect(atBindings.filter((name) => declared.includes(name))).to.deep.equal([]);
  });
});
