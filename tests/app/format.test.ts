// Message formatting: parsed into tokens, rendered through Lit text bindings only.
import { expect } from '@esm-bundle/chai';
import { html, render } from 'lit';
import { parseMessage, safeHref } from '../../app/state/format.ts';
import { renderTokens } from '../../app/components/rich-text.ts';

function rendered(text: string, showLinks = true): HTMLElement {
  const host = document.createElement('div');
  render(html`${renderTokens(parseMessage(text), showLinks)}`, host);
  document.body.append(host);
  return host;
}

afterEach(() => document.body.replaceChildren());

describe('parseMessage', () => {
  it('plain text stays one text token', () => {
    expect(parseMessage('just words, 2 * 3 = 6')).to.deep.equal([{ t: 'text', text: 'just words, 2 * 3 = 6' }]);
  });

  it('bold, italic (both spellings) and inline code', () => {
    expect(parseMessage('a **b** *c* _d_ `e`')).to.deep.equal([
      { t: 'text', text: 'a ' },
      { t: 'bold', children: [{ t: 'text', text: 'b' }] },
      { t: 'text', text: ' ' },
      { t: 'italic', children: [{ t: 'text', text: 'c' }] },
      { t: 'text', text: ' ' },
      { t: 'italic', children: [{ t: 'text', text: 'd' }] },
      { t: 'text', text: ' ' },
      { t: 'code', text: 'e' },
    ]);
  });

  it('nothing inside code is formatted', () => {
    expect(parseMessage('`**not bold** https://x.example`')).to.deep.equal([{ t: 'code', text: '**not bold** https://x.example' }]);
    expect(parseMessage('```js\nconst a = *b*;\n```')).to.deep.equal([{ t: 'codeblock', text: 'const a = *b*;' }]);
  });

  it('snake_case and a*b*c are not italics', () => {
    expect(parseMessage('snake_case_name and a*b*c')).to.deep.equal([{ t: 'text', text: 'snake_case_name and a*b*c' }]);
  });

  it('links: http, https and mailto only; trailing punctuation stays outside', () => {
    expect(parseMessage('see https://example.org/a?b=1.')).to.deep.equal([
      { t: 'text', text: 'see ' },
      { t: 'link', href: 'https://example.org/a?b=1', text: 'https://example.org/a?b=1' },
      { t: 'text', text: '.' },
    ]);
    expect(parseMessage('mail mailto:ann@example.org')[1]).to.deep.include({ t: 'link', href: 'mailto:ann@example.org' });
    for (const bad of ['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox', 'file:///etc/passwd', 'ftp://example.org']) {
      expect(parseMessage(bad).every((t) => t.t !== 'link'), bad).to.equal(true);
    }
  });

  it('scheme tricks stay text: any case, white space or entities inside, a link cut at a quote or bracket', () => {
    for (const bad of ['JAVASCRIPT:alert(1)', 'JaVaScRiPt:alert(1)', 'java\tscript:alert(1)', 'java&#x09;script:alert(1)', '&#106;avascript:alert(1)', 'DATA:text/html,x', 'VBScript:x']) {
      expect(parseMessage(bad).every((t) => t.t !== 'link'), bad).to.equal(true);
    }
    // Upper-case http is a link, normalised; it ends before a quote or an angle bracket.
    expect(parseMessage('HTTPS://EXAMPLE.ORG/a"onmouseover="x')).to.deep.equal([
      { t: 'link', href: 'https://example.org/a', text: 'HTTPS://EXAMPLE.ORG/a' },
      { t: 'text', text: '"onmouseover="x' },
    ]);
    expect(parseMessage('https://example.org/<img src=x>')[0]).to.deep.equal({ t: 'link', href: 'https://example.org/', text: 'https://example.org/' });
    // A markdown-style link is not a link syntax here: the javascript: part stays text.
    expect(parseMessage('[x](javascript:alert(1))')).to.deep.equal([{ t: 'text', text: '[x](javascript:alert(1))' }]);
  });

  it('safeHref refuses other schemes and host-less http', () => {
    expect(safeHref('https://example.org')).to.equal('https://example.org/');
    expect(safeHref('javascript:alert(1)')).to.equal(undefined);
    expect(safeHref('http://')).to.equal(undefined);
  });
});

describe('rendering tokens', () => {
  it('renders formatting as elements and links safely', () => {
    const host = rendered('**hi** _there_ `x` https://example.org');
    expect(host.querySelector('strong')?.textContent).to.equal('hi');
    expect(host.querySelector('em')?.textContent).to.equal('there');
    expect(host.querySelector('code')?.textContent).to.equal('x');
    const link = host.querySelector('a')!;
    expect(link.getAttribute('href')).to.equal('https://example.org/');
    expect(link.getAttribute('target')).to.equal('_blank');
    expect(link.getAttribute('rel')).to.equal('noopener noreferrer');
  });

  it('renders a code block as <pre><code>, its text untouched', () => {
    const host = rendered('```\n<b>**x**</b>\n```');
    const pre = host.querySelector('pre')!;
    expect(pre.children.length).to.equal(1);
    expect(pre.firstElementChild!.localName).to.equal('code');
    expect(pre.textContent).to.equal('<b>**x**</b>');
    expect(host.querySelector('b, strong')).to.equal(null);
  });

  it('a link inside bold is a link inside <strong>', () => {
    const link = rendered('**see https://example.org/x**').querySelector('strong > a')!;
    expect(link.getAttribute('href')).to.equal('https://example.org/x');
    expect([...link.attributes].map((a) => a.name).sort()).to.deep.equal(['href', 'rel', 'target']);
  });

  it('with links hidden, a URL is plain text', () => {
    const host = rendered('go to https://example.org now', false);
    expect(host.querySelector('a')).to.equal(null);
    expect(host.textContent).to.equal('go to https://example.org now');
  });

  it('markup in messages is shown as text and never runs', async () => {
    const trap = window as unknown as { xss?: number };
    const payloads = [
      '<img src=x onerror="window.xss=1">',
      '<script>window.xss=2</script>',
      '**<svg onload="window.xss=3">**',
      '_<iframe srcdoc="<script>parent.xss=4</script>">_',
      '`<b onmouseover=window.xss=5>`',
      'https://example.org/"onmouseover="window.xss=6',
      '[click](javascript:window.xss=7)',
    ];
    for (const payload of payloads) {
      const host = rendered(payload);
      expect(host.querySelectorAll('img, script, svg, iframe, b').length, payload).to.equal(0);
      for (const a of host.querySelectorAll('a')) expect(a.getAttribute('href')!.startsWith('https://'), payload).to.equal(true);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(trap.xss).to.equal(undefined);
  });
});
