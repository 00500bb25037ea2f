// A person in Firefox or WebKit, driven through the real UI: the same few things the
// Chromium tests do with playwright's locators (find, click, type, read), over whatever
// protocol the engine speaks (a PageDriver: WebDriver BiDi through puppeteer-core for
// Firefox, classic WebDriver for WebKit). Elements are found through shadow roots by a
// path of CSS selectors, each searched below the element the previous one found.
import { WAIT_MS, tag, waitUntil } from '../../e2e/support/browser.ts';

/** CSS selectors, each searched (through every shadow root) below the previous match; `text`: the last one must contain it. */
export interface DeepPath {
  steps: string[];
  text?: string;
}

/** What a test needs from an engine's page. */
export interface PageDriver {
  /** Evaluates a JavaScript expression in the page (awaited if it is a promise); its JSON value. */
  eval<T>(expression: string): Promise<T>;
  /** Clicks the element `expression` evaluates to, as a person would (the engine's own input events). */
  click(expression: string): Promise<void>;
  /** Focuses the element `expression` evaluates to and types `text` as key presses, then Enter if asked. */
  type(expression: string, text: string, enter: boolean): Promise<void>;
  /** Opens `url` and waits for its load. */
  goto(url: string): Promise<void>;
  reload(): Promise<void>;
  /** Page errors, console errors and CSP violations this engine reported so far. */
  problems(): Promise<string[]>;
}

/** In-page source: every element matching the path, shadow roots included. A string: tsx would wrap a function in helpers the page lacks. */
const QUERY = `((steps, text) => {
  const all = (root, sel) => {
    const out = [...root.querySelectorAll(sel)];
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) out.push(...all(el.shadowRoot, sel));
    return out;
  };
  let found = [document];
  for (const step of steps) {
    const next = [];
    for (const el of found) {
      if (el.shadowRoot) next.push(...all(el.shadowRoot, step));
      next.push(...all(el, step));
    }
    found = [...new Set(next)];
  }
  return text === undefined ? found : found.filter((el) => (el.textContent || '').includes(text));
})`;

export function query(path: DeepPath): string {
  return `${QUERY}(${JSON.stringify(path.steps)}, ${JSON.stringify(path.text)})`;
}

/**
 * Records page errors, console errors and CSP violations in the page (window.__engineProblems).
 * Installed at each new document where the engine allows it (Firefox), else right after each load (WebKit).
 */
export const PROBLEM_RECORDER = `(() => {
  if (window.__engineProblems) return;
  const problems = [];
  window.__engineProblems = problems;
  addEventListener('error', (e) => problems.push('pageerror: ' + (e.message || e.type)));
  addEventListener('unhandledrejection', (e) => problems.push('unhandledrejection: ' + ((e.reason && e.reason.message) || String(e.reason))));
  document.addEventListener('securitypolicyviolation', (e) => problems.push('csp: ' + e.violatedDirective + ' ' + e.blockedURI));
  const error = console.error.bind(console);
  console.error = (...args) => { problems.push('console: ' + args.map(String).join(' ')); error(...args); };
})()`;

export const TEST_HOOKS = 'globalThis.__WISP_TEST_HOOKS__ = true;';

export const path = {
  status: { steps: ['wisp-connection-status'] },
  myName: { steps: ['wisp-app', 'header .me strong'] },
  textarea: { steps: ['wisp-composer', 'textarea'] },
  lines: { steps: ['wisp-message-list', '[role=log] > ol > li:not([data-day])'] },
  members: { steps: ['wisp-member-list', 'li[data-id] .name'] },
  tabs: { steps: ['wisp-room-tabs', '[role=tab]'] },
  notice: { steps: ['wisp-app', 'div.notice[role=alert]'] },
  readers: { steps: ['wisp-room-header', '[data-readers]'] },
} satisfies Record<string, DeepPath>;

export class EnginePerson {
  constructor(
    readonly label: string,
    readonly driver: PageDriver,
    readonly url: string,
  ) {}

  eval<T>(expression: string): Promise<T> {
    return this.driver.eval<T>(expression);
  }

  count(p: DeepPath): Promise<number> {
    return this.eval<number>(`${query(p)}.length`);
  }

  /** The trimmed text of each element the path finds. */
  texts(p: DeepPath): Promise<string[]> {
    return this.eval<string[]>(`${query(p)}.map((el) => (el.textContent || '').replace(/\\s+/g, ' ').trim())`);
  }

  attribute(p: DeepPath, name: string): Promise<string | null> {
    return this.eval<string | null>(`(${query(p)}[0] || { getAttribute: () => null }).getAttribute(${JSON.stringify(name)})`);
  }

  /** Waits until the path finds an element; fails naming it. */
  async waitFor(p: DeepPath, timeoutMs = WAIT_MS): Promise<void> {
    await waitUntil(`${this.label} to show ${p.steps.join(' » ')}${p.text ? ` with "${p.text}"` : ''}`, async () => (await this.count(p)) > 0, timeoutMs);
  }

  async click(p: DeepPath): Promise<void> {
    await this.waitFor(p);
    await this.driver.click(`${query(p)}[0]`);
  }

  async type(p: DeepPath, text: string, enter = false): Promise<void> {
    await this.waitFor(p);
    await this.driver.type(`${query(p)}[0]`, text, enter);
  }

  /** A copy of window.wisp.state, as plain JSON. */
  state<T>(): Promise<T> {
    return this.eval<T>('JSON.parse(JSON.stringify(window.wisp.state))');
  }

  // ---- the app ----------------------------------------------------------------

  async open(): Promise<void> {
    await this.driver.goto(this.url);
    await this.waitFor({ steps: ['wisp-app'] });
  }

  async status(): Promise<string | null> {
    return this.attribute(path.status, 'status');
  }

  async myName(): Promise<string> {
    return (await this.texts(path.myName))[0] ?? '';
  }

  async waitOnline(timeoutMs = WAIT_MS): Promise<string> {
    await waitUntil(`${this.label} to be online`, async () => (await this.status()) === 'online', timeoutMs);
    return waitUntil(`${this.label}'s name`, async () => {
      const name = await this.myName();
      return name && name !== '…' ? name : undefined;
    }, timeoutMs);
  }

  members(): Promise<string[]> {
    return this.texts(path.members);
  }

  async waitForMembers(names: string[]): Promise<void> {
    const want = [...names].sort().join(', ');
    let seen: string[] = [];
    try {
      await waitUntil(`${this.label}'s member list`, async () => [...(seen = await this.members())].sort().join(', ') === want);
    } catch {
      throw new Error(`${this.label}'s member list: expected [${want}], got [${seen.join(', ')}]`);
    }
  }

  tabs(): Promise<string[]> {
    return this.eval<string[]>(`${query(path.tabs)}.map((t) => t.dataset.room || t.dataset.tab || '')`);
  }

  async activeTab(): Promise<string | undefined> {
    const rooms = await this.eval<string[]>(`${query({ steps: ['wisp-room-tabs', '[role=tab][aria-selected=true]'] })}.map((t) => t.dataset.room || '')`);
    return rooms.length === 1 ? rooms[0] : undefined;
  }

  lineTexts(): Promise<string[]> {
    return this.texts(path.lines);
  }

  async waitForLine(text: string, timeoutMs = WAIT_MS): Promise<void> {
    try {
      await this.waitFor({ ...path.lines, text }, timeoutMs);
    } catch (error) {
      throw new Error(`${this.label} never showed a line with "${text}". Lines: ${JSON.stringify(await this.lineTexts())}\n${(error as Error).message}`);
    }
  }

  /** The name shown on the active room's first line containing `text` (a grouped line: on its group's first line). */
  async senderOf(text: string): Promise<string> {
    const names = await this.eval<string[]>(
      `${query({ ...path.lines, text })}.map((li) => { let head = li; while (head && head.classList.contains('cont')) head = head.previousElementSibling; return ((head && head.querySelector('.name')) || { textContent: '' }).textContent.trim(); })`,
    );
    return names[0] ?? '';
  }

  /** Types `text` in the composer and presses Enter; waits until the composer took it. */
  async say(text: string): Promise<void> {
    // A line the app refused stays in the composer to be fixed: clear it first, as fill() does.
    await this.eval<boolean>(`(() => { const t = ${query(path.textarea)}[0]; if (t && t.value) { t.value = ''; t.dispatchEvent(new Event('input')); } return true; })()`);
    await this.type(path.textarea, text, true);
    // The composer empties once the line was taken, or keeps it when the app refused it with a notice
    await waitUntil(
      `${this.label}'s composer to take "${text}"`,
      async () => {
        const value = await this.eval<string>(`(${query(path.textarea)}[0] || { value: '' }).value`);
        // (WebKit's pages have no window.wisp: the notice on screen says it was refused.)
        return value === '' || (value === text && (await this.count(path.notice)) > 0);
      },
      5000,
    );
  }

  /** Waits until my own line with `text` is no longer marked "sending…". */
  async waitDelivered(text: string): Promise<void> {
    const own = query({ steps: ['wisp-message-list', '[role=log] > ol > li:not([data-day]).own'], text });
    await waitUntil(`${this.label}'s line "${text}" to be delivered`, () => this.eval<boolean>(`${own}.length === 1 && !${own}[0].querySelector('.pending')`));
  }

  async selectRoom(room: string): Promise<void> {
    await this.click({ steps: ['wisp-room-tabs', `[role=tab][data-room="${room}"]`] });
    await waitUntil(`${this.label}'s active tab to be #${room}`, async () => (await this.activeTab()) === room);
  }

  /** Joins (or creates) a room through the "+" dialog, with a passphrase when given. */
  async joinByPicker(room: string, passphrase?: string): Promise<void> {
    await this.click({ steps: ['wisp-room-tabs', 'button[aria-label="Join or create a room"]'] });
    await this.waitFor({ steps: ['wisp-room-picker', 'dialog[open]'] });
    await this.type({ steps: ['wisp-room-picker', 'input#room'] }, room);
    if (passphrase) await this.type({ steps: ['wisp-room-picker', 'input#room-passphrase'] }, passphrase);
    await this.click({ steps: ['wisp-room-picker', 'dialog button[type=submit]'], text: 'Join' });
    await waitUntil(`${this.label}'s room picker to close`, async () => (await this.count({ steps: ['wisp-room-picker', 'dialog[open]'] })) === 0);
    await this.waitFor({ steps: ['wisp-room-tabs', `[role=tab][data-room="${room}"]`] });
  }

  /** What the room header says about who can read the active room. */
  async readers(): Promise<string> {
    await this.waitFor(path.readers);
    return (await this.texts(path.readers))[0] ?? '';
  }

  /** The app's notice (role=alert), once it shows; dismissed after reading, so the next one is new. */
  async takeNotice(): Promise<string> {
    await this.waitFor(path.notice);
    const text = (await this.texts({ steps: [...path.notice.steps, 'span'] }))[0] ?? '';
    // A notice also goes by itself after a few seconds: it may be gone before the click.
    await this.driver.click(`${query({ steps: [...path.notice.steps, 'button[aria-label=Dismiss]'] })}[0]`).catch(() => undefined);
    await waitUntil(`${this.label}'s notice to go`, async () => (await this.count(path.notice)) === 0);
    return text;
  }

  /** Problems the engine or the in-page recorder saw. */
  async problems(): Promise<string[]> {
    const inPage = await this.eval<string[]>('window.__engineProblems ? [...window.__engineProblems] : []').catch((error: Error) => [`could not read the page's problems: ${error.message}`]);
    return [...new Set([...(await this.driver.problems()), ...inPage])];
  }
}

/** A fresh random text for one line. */
export function line(label: string): string {
  return `${label} ${tag()}${tag()}`;
}
