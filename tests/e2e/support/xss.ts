// Evidence that a payload ran or was injected, gathered from outside and inside the page:
//
// - the trap `__xss(n)`, exposed in every frame of every page of a person's context before
//   the app loads (each payload calls it with its own number);
// - dialogs (alert, confirm, prompt, beforeunload), popups, navigations of the page, frames
//   attached, requests to anywhere but the app's own files;
// - Content-Security-Policy and Trusted Types violations (support/csp.ts), and console
//   messages about them; page errors (a payload that ran and failed throws one);
// - a scan of the whole DOM, shadow roots included, for elements and attributes the app
//   never makes (see SCAN_SCRIPT).
//
// Plus what the payloads should look like instead: the structure and text the app's own
// token renderer gives a message (app/state/format.ts + app/components/rich-text.ts),
// compared node for node with what the page shows.
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { parseMessage, type Token } from '../../../app/state/format.ts';
import { DEEP_ELEMENTS, sleep, type Person } from './browser.ts';
import { describeViolations, watchCsp, type CspViolation } from './csp.ts';

export interface Evidence {
  /** Trap calls: the payload number and the frame it ran in. */
  trap: { n: unknown; frame: string }[];
  dialogs: string[];
  csp: CspViolation[];
  /** Console messages about CSP or Trusted Types (the browser logs each violation too). */
  cspConsole: string[];
  pageErrors: string[];
  popups: string[];
  navigations: string[];
  frames: string[];
  requests: string[];
}

const evidence = new WeakMap<BrowserContext, Evidence>();

/**
 * For PersonOptions.init: installs every trap and listener on a new context, before the
 * app is opened. `evidenceOf(person)` reads what they caught.
 */
export async function installTraps(context: BrowserContext): Promise<Evidence> {
  const found: Evidence = { trap: [], dialogs: [], csp: [], cspConsole: [], pageErrors: [], popups: [], navigations: [], frames: [], requests: [] };
  evidence.set(context, found);
  await context.exposeBinding('__xss', ({ frame }, n: unknown) => {
    found.trap.push({ n, frame: frame.url() });
  });
  found.csp = await watchCsp(context);
  let pages = 0;
  const watchPage = (page: Page) => {
    if (++pages > 1) found.popups.push(page.url() || '(blank)');
    page.on('dialog', (dialog) => {
      found.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss().catch(() => undefined);
    });
    page.on('console', (message) => {
      if (/Content Security Policy|Trusted ?Type|Refused to/i.test(message.text())) found.cspConsole.push(message.text());
    });
    page.on('pageerror', (error) => found.pageErrors.push(error.message));
    page.on('frameattached', (frame) => found.frames.push(frame.url() || '(attached)'));
    page.on('framenavigated', (frame) => {
      if (frame !== page.mainFrame()) found.frames.push(`navigated: ${frame.url()}`);
      else found.navigations.push(frame.url());
    });
  };
  context.on('page', watchPage);
  context.on('request', (request) => found.requests.push(request.url()));
  return found;
}

export function evidenceOf(p: Person): Evidence {
  const found = evidence.get(p.context);
  if (!found) throw new Error(`${p.label} has no traps: create it with { init: installTraps }`);
  return found;
}

/** The app's own files and endpoints: any other request was made by something injected. */
function isAppRequest(url: string, origin: string): boolean {
  if (url.startsWith('blob:')) return true;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.origin !== origin) return false;
  return /^\/(?:$|index\.html$|assets\/[\w.-]+$|sw\.js$|theme\.js$|manifest\.webmanifest$|favicon\.svg$|icons\/[\w.-]+$|robots\.txt$|ws$|healthz$)/.test(parsed.pathname) && parsed.search === '';
}

/** Asserts that nothing ran, opened, navigated, loaded or was blocked in this person's page. */
export function assertNothingRan(p: Person, where: string): void {
  const found = evidenceOf(p);
  const origin = new URL(p.url).origin;
  const label = `${p.label} (${where})`;
  assert.deepEqual(found.trap, [], `${label}: a payload called the trap`);
  assert.deepEqual(found.dialogs, [], `${label}: a dialog opened`);
  assert.deepEqual(describeViolations(found.csp), [], `${label}: a Content-Security-Policy or Trusted Types violation fired`);
  assert.deepEqual(found.cspConsole, [], `${label}: the console reported a CSP or Trusted Types violation`);
  assert.deepEqual(found.pageErrors, [], `${label}: page errors`);
  assert.deepEqual(found.popups, [], `${label}: a window or tab opened`);
  assert.deepEqual(found.frames, [], `${label}: a frame was attached to the page`);
  const appPage = `${origin}/`;
  assert.deepEqual(found.navigations.filter((url) => url.split('#')[0] !== appPage), [], `${label}: the page navigated away`);
  assert.deepEqual(found.requests.filter((url) => !isAppRequest(url, origin)), [], `${label}: something requested a resource the app does not use`);
  assert.equal(p.page.frames().length, 1, `${label}: the page has no frames`);
}

// ---- the DOM scan --------------------------------------------------------------------

/**
 * Every element the app renders (from its templates and index.html). Anything else in the
 * DOM (iframe, object, style, math, video, details, marquee, b, x, ...) was injected.
 */
const APP_TAGS = [
  'html', 'head', 'body', 'meta', 'title', 'link', 'script', 'noscript', 'div', 'span', 'p', 'button', 'label', 'input', 'textarea',
  'form', 'code', 'pre', 'strong', 'em', 'small', 'ul', 'ol', 'li', 'h1', 'h2', 'dialog', 'svg', 'path', 'rect', 'circle', 'text', 'a', 'canvas', 'time',
  'section', 'progress', 'main', 'header', 'aside', 'img', 'select', 'option',
  // Settings' Theme choice, and the /help panel's groups.
  'fieldset', 'legend', 'h3', 'dl', 'dt', 'dd',
];

/**
 * Walks the document and every shadow root and lists what no app template makes:
 * - an element the app never renders, or a script/meta/link/title/noscript outside the
 *   document's head (or a script not from /assets/, but for /theme.js);
 * - any on* attribute, srcdoc, formaction, form action, xlink:href, or a URL attribute or
 *   style with javascript:, vbscript: or data: (blob: pictures in file cards are the app's);
 * - an <img> outside a file card, an <svg> inside user text, a link that is not http(s),
 *   mailto or a file card's blob: download;
 * - any element inside text that is pure text in the app (system lines, names, the topic,
 *   the notice, file names), and anything but strong/em/code/pre/a inside a message.
 * A string, not a function: tsx would wrap named helpers in a __name() the page lacks.
 */
const SCAN_SCRIPT = `((appTags) => {
  const allowed = new Set(appTags);
  const found = [];
  const describe = (el) => {
    const attrs = [...el.attributes].map((a) => a.name + '="' + a.value.slice(0, 60) + '"').join(' ');
    return '<' + el.localName + (attrs ? ' ' + attrs : '') + '>';
  };
  const PURE_TEXT = [
    'wisp-message-list li.system', 'wisp-message-list .meta .name', 'wisp-member-list .name', 'wisp-room-header .name', 'wisp-room-header .topic',
    'wisp-notice .notice span', 'wisp-file-card .name', 'wisp-whisper-header .name', 'wisp-app header .me strong',
  ];
  const URL_ATTRS = ['href', 'src', 'action', 'formaction', 'data', 'background', 'poster', 'codebase', 'cite', 'ping', 'xlink:href', 'srcset', 'style'];
  const walk = (root, host, inCard) => {
    for (const el of root.querySelectorAll('*')) {
      const tag = el.localName;
      const where = (host ? host + ' > ' : '') + describe(el);
      const custom = tag.startsWith('wisp-');
      if (!custom && !allowed.has(tag)) found.push('an element the app never makes: ' + where);
      if (['script', 'meta', 'link', 'title'].includes(tag) && (root !== document || el.parentElement !== document.head)) found.push('outside the head: ' + where);
      if (tag === 'noscript' && (root !== document || el.parentElement !== document.body)) found.push('a noscript: ' + where);
      if (tag === 'script' && !/^\\/(assets\\/[\\w.-]+|theme)\\.js$/.test(el.getAttribute('src') || '')) found.push('a script not from /assets/: ' + where);
      if (tag === 'img' && !(inCard && /^blob:/.test(el.getAttribute('src') || ''))) found.push('a picture outside a file card: ' + where);
      if (tag === 'a' && el.hasAttribute('href')) {
        const protocol = el.protocol;
        const ok = ['http:', 'https:', 'mailto:'].includes(protocol) || (inCard && protocol === 'blob:');
        if (!ok) found.push('a link that is not http(s) or mailto: ' + where);
      }
      if (tag === 'form' && el.hasAttribute('action')) found.push('a form with an action: ' + where);
      for (const attr of el.attributes) {
        const name = attr.name.toLowerCase();
        // Lit's @event bindings are listeners, never attributes; a custom element's own
        // properties ("online") are not handlers.
        if (name.startsWith('on') && (!custom || name in HTMLElement.prototype)) found.push('an event handler attribute: ' + where);
        if (name === 'srcdoc' || name === 'formaction' || name === 'xlink:href' || name === 'http-equiv') found.push('a dangerous attribute: ' + where);
        // Browsers drop white space and control characters around and inside a scheme.
        const squashed = attr.value.replace(/[\\s\\u0000-\\u001f]/g, '');
        if (URL_ATTRS.includes(name) && name !== 'style' && /^(?:javascript|vbscript|livescript|data):/i.test(squashed)) found.push('a script or data URL: ' + where);
        if (name === 'style' && /(?:javascript|vbscript):|expression\\(|url\\(|behavior:|binding:/i.test(squashed)) found.push('a style with a URL or expression: ' + where);
      }
      if (el.shadowRoot) walk(el.shadowRoot, tag, inCard || tag === "wisp-file-card");
    }
    for (const selector of PURE_TEXT) {
      const [hostTag, ...rest] = selector.split(' ');
      if (host !== hostTag) continue;
      for (const el of root.querySelectorAll(rest.join(' '))) {
        if (el.children.length) found.push('markup inside ' + selector + ': ' + [...el.children].map(describe).join(' '));
      }
    }
    if (host === 'wisp-message-list') {
      for (const text of root.querySelectorAll('li .text')) {
        for (const el of text.querySelectorAll('*')) {
          if (!['strong', 'em', 'code', 'pre', 'a', 'wisp-file-card'].includes(el.localName)) found.push('markup inside a message: ' + describe(el));
          if (el.localName === 'svg' || el.localName === 'img') found.push('a picture inside a message: ' + describe(el));
        }
      }
    }
  };
  walk(document, "", false);
  if (document.querySelector('base')) found.push('a <base> element');
  if (document.baseURI !== location.href) found.push('the base URI changed: ' + document.baseURI);
  return found;
})`;

/** What the DOM scan finds in this person's page (empty when nothing was injected). */
export async function injectedElements(p: Person): Promise<string[]> {
  return (await p.page.evaluate(`${SCAN_SCRIPT}(${JSON.stringify(APP_TAGS)})`)) as string[];
}

/**
 * Proves the scan can fail in this very page: puts a <b> and an <img> into the first
 * message line (through DOM calls, which Trusted Types allow), expects the scan to report
 * both, and takes them out again.
 */
export async function assertScanCanFail(p: Person): Promise<void> {
  const planted = (await p.page.evaluate(`(() => {
    const list = document.querySelector('wisp-app').shadowRoot.querySelector('wisp-message-list');
    const text = list && list.shadowRoot.querySelector('li .text');
    if (!text) return false;
    const b = document.createElement('b');
    b.className = '__planted';
    const img = document.createElement('img');
    img.className = '__planted';
    img.alt = 'planted';
    text.append(b, img);
    return true;
  })()`)) as boolean;
  assert.ok(planted, `${p.label}: a message line to plant test elements in`);
  const found = await injectedElements(p);
  await p.page.evaluate(`(() => {
    const list = document.querySelector('wisp-app').shadowRoot.querySelector('wisp-message-list');
    for (const el of list.shadowRoot.querySelectorAll('.__planted')) el.remove();
  })()`);
  assert.ok(found.some((f) => f.includes('<b ')), `the scan reports a planted <b>: ${JSON.stringify(found)}`);
  assert.ok(found.some((f) => f.startsWith('a picture outside a file card') && f.includes('<img ')), `the scan reports a planted <img>: ${JSON.stringify(found)}`);
  assert.deepEqual(await injectedElements(p), [], `${p.label}: nothing is left after the planted elements went`);
}

// ---- what a message should look like -------------------------------------------------------

/** A rendered node: a text run, or an element with its attributes and children. */
export type Shown = string | { tag: string; attrs: Record<string, string>; children: Shown[] };

function merged(nodes: Shown[]): Shown[] {
  const out: Shown[] = [];
  for (const node of nodes) {
    if (typeof node === 'string') {
      if (node === '') continue;
      if (typeof out[out.length - 1] === 'string') out[out.length - 1] += node;
      else out.push(node);
    } else out.push(node);
  }
  return out;
}

const el = (tag: string, children: Shown[], attrs: Record<string, string> = {}): Shown => ({ tag, attrs, children: merged(children) });

/** What rich-text.ts renders for these tokens: the expected DOM, node for node. */
export function expectedNodes(tokens: Token[], showLinks = true): Shown[] {
  return merged(
    tokens.map((token): Shown => {
      switch (token.t) {
        case 'text':
          return token.text;
        case 'code':
          return el('code', [token.text]);
        case 'codeblock':
          return el('pre', [el('code', [token.text])]);
        case 'bold':
          return el('strong', expectedNodes(token.children, showLinks));
        case 'italic':
          return el('em', expectedNodes(token.children, showLinks));
        case 'link':
          return showLinks ? el('a', [token.text], { href: token.href, rel: 'noopener noreferrer', target: '_blank' }) : token.text;
      }
    }),
  );
}

export function textOf(nodes: Shown[]): string {
  return nodes.map((n) => (typeof n === 'string' ? n : textOf(n.children))).join('');
}

/** The formatting markers the parser may take away: *, _, backticks, a code block's language line. */
function withoutMarkers(text: string): string {
  return text.replace(/```[a-z0-9+-]*\n/gi, '').replace(/[*_`\s]/g, '');
}

/** What a message with this text should show: nodes, and the text a person reads. */
export function expectedMessage(text: string, showLinks = true): { nodes: Shown[]; text: string } {
  const nodes = expectedNodes(parseMessage(text), showLinks);
  const shown = textOf(nodes);
  // Independent of the parser's rules: it may drop formatting markers and nothing else.
  assert.equal(withoutMarkers(shown), withoutMarkers(text), `the formatter keeps every character of ${JSON.stringify(text)} but formatting markers`);
  return { nodes, text: shown };
}

/** One line of the active message list, as the page shows it. */
export interface ShownLine {
  kind: string;
  own: boolean;
  name: string;
  /** The message body (.text), node for node; system lines: their one text node. */
  nodes: Shown[];
  textContent: string;
  innerText: string;
}

// A string, not a function: tsx would wrap named helpers in a __name() the page lacks.
const LINES_SCRIPT = `(() => {
  const lists = ${DEEP_ELEMENTS}('wisp-message-list');
  if (lists.length !== 1) throw new Error('expected one message list, found ' + lists.length);
  const shown = (node) => {
    const out = [];
    for (const child of node.childNodes) {
      if (child.nodeType === 3) {
        if (typeof out[out.length - 1] === 'string') out[out.length - 1] += child.data;
        else if (child.data !== '') out.push(child.data);
      } else if (child.nodeType === 1) {
        const attrs = {};
        for (const a of child.attributes) attrs[a.name] = a.value;
        out.push({ tag: child.localName, attrs, children: shown(child) });
      }
    }
    return out;
  };
  return [...lists[0].shadowRoot.querySelectorAll('[role=log] > ol > li:not([data-day])')].map((li) => {
    const kind = ['system', 'text', 'action', 'file'].find((k) => li.classList.contains(k)) || li.className;
    const body = kind === 'system' ? li : li.querySelector(':scope > .bubble > .text');
    // A grouped line reads under its group's first line: that line's name is its name.
    let head = li;
    while (head && head.classList.contains('cont')) head = head.previousElementSibling;
    return {
      kind,
      own: li.classList.contains('own'),
      name: ((head && head.querySelector(':scope > .bubble > .meta .name')) || {}).textContent || '',
      nodes: body ? shown(body) : [],
      textContent: body ? body.textContent : '',
      innerText: body ? body.innerText : '',
    };
  });
})()`;

export async function shownLines(p: Person): Promise<ShownLine[]> {
  return (await p.page.evaluate(LINES_SCRIPT)) as ShownLine[];
}

const squash = (text: string) => text.replace(/\s+/g, ' ').trim();

/**
 * Asserts that `lines` (message or action lines, in order) show exactly these texts: the
 * DOM node for node as the token renderer makes it, the same textContent, and the same
 * visible text (innerText, white space squashed: what a person reads).
 */
export function assertShownAsText(lines: ShownLine[], texts: string[], options: { who: string; prefix?: string; showLinks?: boolean }): void {
  assert.equal(lines.length, texts.length, `${options.who}: ${texts.length} lines expected, ${lines.length} shown`);
  texts.forEach((text, i) => {
    const expected = expectedMessage(text, options.showLinks ?? true);
    const nodes = merged([options.prefix ?? '', ...expected.nodes]);
    const line = lines[i];
    const what = `${options.who}, line ${i + 1} (${JSON.stringify(text)})`;
    assert.deepEqual(line.nodes, nodes, `${what}: rendered DOM`);
    assert.equal(line.textContent, (options.prefix ?? '') + expected.text, `${what}: textContent`);
    assert.equal(squash(line.innerText), squash((options.prefix ?? '') + expected.text), `${what}: visible text`);
  });
}

// ---- pacing against the server's frame limit ---------------------------------------------

/**
 * The server lets each connection send 120 frames at once and 1,200 a minute (LIMITS
 * framesBurst/framesPerMinute, no flag), and closes a connection that keeps going over.
 * A test-side token bucket a little under that keeps a fast sender within it.
 */
export class Pacer {
  private tokens: number;
  private last = Date.now();
  constructor(
    private readonly burst = 100,
    private readonly perSecond = 16,
  ) {
    this.tokens = burst;
  }

  async take(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
    }
  }
}

/** The composer line that sends `text` as a chat message ("//" sends a leading "/"). */
export function asChatLine(text: string): string {
  return text.startsWith('/') ? `/${text}` : text;
}

/**
 * Types a line into the composer and presses Enter. The composer takes the line inside the
 * key press (its keydown handler sends and clears), so nothing needs polling; callers check
 * afterwards that every line arrived.
 */
export async function typeLine(p: Person, line: string): Promise<void> {
  await p.textarea.fill(line);
  await p.textarea.press('Enter');
}

/**
 * Types many lines into the composer of the active tab, with the keyboard (text as typed,
 * then Enter), pacing each through `pacer` when given. Faster than typeLine: the textarea
 * is focused once. Callers check afterwards that every line arrived.
 */
export async function typeLines(p: Person, lines: string[], pacer?: Pacer): Promise<void> {
  await p.textarea.focus();
  for (const line of lines) {
    await pacer?.take();
    await typeKeys(p, line);
  }
  assert.equal(await p.textarea.inputValue(), '', `${p.label}'s composer took every line`);
}

/** Types a line and Enter into whatever has the focus (the composer, after typeLines or a focus()). */
export async function typeKeys(p: Person, line: string): Promise<void> {
  await p.page.keyboard.insertText(line);
  await p.page.keyboard.press('Enter');
}
