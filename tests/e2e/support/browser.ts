// Real Chromium (Debian's /usr/bin/chromium) driven by playwright-core. One browser per
// test file; each person is a separate browser context, so a separate profile with its
// own IndexedDB (identity key, name, rooms, outbox) and its own service worker.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { describeViolations, watchCsp, type CspViolation } from './csp.ts';
import { NOTICE_RECORDER, noticesSeen } from './notices.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

/** How long to wait for something that should happen promptly (generous: slow CI machines). */
export const WAIT_MS = 20_000;

/**
 * In-page source of a function listing every element with a given local name, shadow
 * roots included. Page scripts here are strings, not functions: tsx would wrap a function
 * in a __name() helper the page lacks.
 */
export const DEEP_ELEMENTS = `((localName) => {
  const out = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.localName === localName) out.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return out;
})`;
/** How long to wait for a reconnect: the client's backoff can wait up to 30 s between tries. */
export const RECONNECT_WAIT_MS = 90_000;

/** How to start a Chromium process: extra flags and environment (e.g. HOME for its NSS certificate store). */
export interface LaunchOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

export function launchBrowser(extraArgs: string[] = [], env?: NodeJS.ProcessEnv): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs], ...(env ? { env } : {}) });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A short random tag, so texts and names in one test cannot match those of another. */
export function tag(): string {
  return Math.random().toString(36).slice(2, 8);
}

/**
 * Polls `check` until it returns a value other than undefined/false, or fails after
 * `timeoutMs` with `what` and the last value seen.
 */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError ? ` (last error: ${(lastError as Error).message})` : ` (last value: ${JSON.stringify(last)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(100);
  }
}

/**
 * Chromium's console error for each reconnect attempt while the server is down: allow it
 * (Scene.expectProblems) in a test that stops the server on purpose.
 */
export const SERVER_DOWN = /^console: WebSocket connection to 'ws:\/\/[^']+' failed: Error in connection establishment: net::ERR_CONNECTION_REFUSED$/;

export type ConnectionStatus = 'online' | 'offline' | 'connecting' | 'stopped' | 'starting';

export interface PersonOptions {
  viewport?: { width: number; height: number };
  /** Label used in failure messages, e.g. "A". */
  label?: string;
  /** Runs on the new browser context before the app is opened: init scripts, bindings, listeners. */
  init?: (context: BrowserContext) => Promise<unknown>;
  /**
   * Problems (see Person.unexpectedProblems) this test provokes on purpose, e.g. the
   * refused WebSocket connections while it stops the server. Each with a comment why.
   */
  expectProblems?: RegExp[];
  /** For a person in their own profile (newProfilePerson): how to start that Chromium. */
  launch?: LaunchOptions;
}

/** One person: a browser context with the app open. */
export class Person {
  /** Console errors and page errors seen, for failure messages. */
  readonly problems: string[] = [];
  /** CSP and Trusted Types violations in this person's context (watched from its creation). */
  cspViolations: CspViolation[] = [];
  private readonly expected: RegExp[] = [];

  constructor(
    readonly label: string,
    readonly context: BrowserContext,
    readonly page: Page,
    readonly url: string,
  ) {
    page.on('pageerror', (error) => this.problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') this.problems.push(`console: ${message.text()}`);
    });
  }

  /** Allows problems matching these patterns: ones the test provokes on purpose. */
  allowProblems(...patterns: RegExp[]): void {
    this.expected.push(...patterns);
  }

  /** Page errors, console errors and CSP/Trusted Types violations nobody allowed. */
  unexpectedProblems(): string[] {
    const all = [...this.problems, ...describeViolations(this.cspViolations).map((v) => `csp: ${v}`)];
    return all.filter((problem) => !this.expected.some((pattern) => pattern.test(problem)));
  }

  // ---- locators ---------------------------------------------------------------

  get app(): Locator {
    return this.page.locator('wisp-app');
  }

  get connectionStatus(): Locator {
    return this.page.locator('wisp-connection-status');
  }

  /** The lines of the active room's message list. */
  get lines(): Locator {
    return this.page.locator('wisp-message-list [role=log] > ol > li:not([data-day])');
  }

  /** The active room's lines that contain `text` (substring). */
  linesWith(text: string): Locator {
    return this.lines.filter({ hasText: text });
  }

  get textarea(): Locator {
    return this.page.locator('wisp-composer textarea');
  }

  tab(room: string): Locator {
    return this.page.locator(`wisp-room-tabs [role=tab][data-room="${room}"]`);
  }

  get notice(): Locator {
    return this.page.locator('wisp-app div.notice[role=alert]');
  }

  // ---- reading state ------------------------------------------------------------

  async status(): Promise<string | null> {
    return this.connectionStatus.getAttribute('status');
  }

  async myName(): Promise<string> {
    return ((await this.page.locator('wisp-app header .me strong').textContent()) ?? '').trim();
  }

  /** Names in the active room's member list, in display order. */
  async members(): Promise<string[]> {
    return (await this.page.locator('wisp-member-list li[data-id] .name').allTextContents()).map((n) => n.trim());
  }

  /** Room names of the tabs, in order. */
  async tabs(): Promise<string[]> {
    return this.page.locator('wisp-room-tabs [role=tab]').evaluateAll((tabs) => tabs.map((t) => (t as HTMLElement).dataset.room ?? ''));
  }

  async activeTab(): Promise<string | undefined> {
    const selected = this.page.locator('wisp-room-tabs [role=tab][aria-selected=true]');
    if ((await selected.count()) !== 1) return undefined;
    return (await selected.getAttribute('data-room')) ?? undefined;
  }

  /** A copy of window.wisp.state (the Session's state), as plain JSON. */
  async state<T = WispState>(): Promise<T> {
    return this.page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { wisp: { state: unknown } }).wisp.state)) as T);
  }

  async countLines(text: string): Promise<number> {
    return this.linesWith(text).count();
  }

  // ---- waiting -----------------------------------------------------------------

  async waitForStatus(status: ConnectionStatus, timeoutMs = WAIT_MS): Promise<void> {
    await this.page.locator(`wisp-connection-status[status="${status}"]`).waitFor({ state: 'attached', timeout: timeoutMs });
  }

  async waitOnline(timeoutMs = WAIT_MS): Promise<void> {
    await this.waitForStatus('online', timeoutMs);
    await waitUntil(`${this.label}'s name`, async () => {
      const name = await this.myName();
      return name && name !== '…' ? name : undefined;
    }, timeoutMs);
  }

  /** Waits until a line containing `text` shows in the active room; returns it. */
  async waitForLine(text: string, timeoutMs = WAIT_MS): Promise<Locator> {
    const line = this.linesWith(text).first();
    try {
      await line.waitFor({ state: 'attached', timeout: timeoutMs });
    } catch (error) {
      throw new Error(`${this.label} never showed a line with "${text}". Lines: ${JSON.stringify(await this.lineTexts())}\n${(error as Error).message}`);
    }
    return line;
  }

  /** Waits until my own line with `text` is no longer marked "sending…". */
  async waitDelivered(text: string, timeoutMs = WAIT_MS): Promise<void> {
    const own = this.page.locator('wisp-message-list [role=log] > ol > li:not([data-day]).own').filter({ hasText: text });
    await own.first().waitFor({ state: 'attached', timeout: timeoutMs });
    await waitUntil(`${this.label}'s line "${text}" to stop being pending`, async () => (await own.locator('.pending').count()) === 0, timeoutMs);
  }

  /** Waits until the member list of the active room is exactly `names` (any order). */
  async waitForMembers(names: string[], timeoutMs = WAIT_MS): Promise<void> {
    const want = [...names].sort().join(', ');
    let seen: string[] = [];
    try {
      await waitUntil(`${this.label}'s member list to be [${want}]`, async () => {
        seen = await this.members();
        return [...seen].sort().join(', ') === want;
      }, timeoutMs);
    } catch {
      throw new Error(`${this.label}'s member list: expected [${want}], got [${seen.join(', ')}]`);
    }
  }

  async lineTexts(): Promise<string[]> {
    return (await this.lines.allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
  }

  // ---- acting -----------------------------------------------------------------

  /** Types `text` into the composer and presses Enter (chat text or a slash command). */
  async say(text: string): Promise<void> {
    const notices = (await noticesSeen(this)).length;
    await this.textarea.fill(text);
    await this.textarea.press('Enter');
    // The composer empties once the line was taken (or goes away, e.g. after /leave); a line
    // the app refused, with a notice, stays in it to be fixed.
    await waitUntil(
      `${this.label}'s composer to take "${text}"`,
      async () => {
        if ((await this.textarea.count()) === 0) return true;
        const value = await this.textarea.inputValue({ timeout: 1000 });
        return value === '' || (value === text && (await noticesSeen(this)).length > notices);
      },
      5000,
    );
  }

  async selectRoom(room: string): Promise<void> {
    await this.tab(room).click();
    await waitUntil(`${this.label}'s active tab to be #${room}`, async () => (await this.activeTab()) === room);
  }

  /** Reloads the page and waits until the app has booted (not necessarily online). */
  async reload(): Promise<void> {
    await this.page.reload({ waitUntil: 'load' });
    await this.app.waitFor({ state: 'attached', timeout: WAIT_MS });
  }

  /** Waits until a service worker is active and controls this page (reloading once if needed). */
  async waitForServiceWorkerControl(): Promise<void> {
    const ready = await this.page.evaluate(
      (ms) => Promise.race([navigator.serviceWorker.ready.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), ms))]),
      WAIT_MS,
    );
    if (!ready) throw new Error(`no service worker became active for ${this.label}'s page within ${WAIT_MS} ms`);
    const controlled = await this.page.evaluate(() => navigator.serviceWorker.controller !== null);
    if (!controlled) await this.reload();
    await waitUntil(`a service worker to control ${this.label}'s page`, () => this.page.evaluate(() => navigator.serviceWorker.controller?.state === 'activated'));
  }

  /** Extra cleanup once the context is closed (e.g. removing a profile directory). */
  afterClose?: () => void;

  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
    try {
      this.afterClose?.();
    } catch (error) {
      console.log(`# e2e: cleanup after closing ${this.label} failed: ${(error as Error).message}`);
    }
    this.afterClose = undefined;
  }
}

export interface WispState {
  connection: { status: ConnectionStatus; sentence?: string; retryAt?: number };
  me: { id?: string; name?: string; fingerprint?: string };
  rooms: Record<string, { name: string; members: Record<string, { id: string; name: string }>; unread: number; synced: boolean; lines: { key: string; kind: string; text: string; pending?: boolean; own?: boolean }[] }>;
  order: string[];
  active?: string;
}

let counter = 0;

/** The app exposes window.wisp (its Session) only to pages that set this before loading. */
const TEST_HOOKS = `globalThis.__WISP_TEST_HOOKS__ = true;\n${NOTICE_RECORDER}`;

/**
 * A person in a real (non-incognito) browser profile: its own Chromium process with a
 * temporary user data directory. Contexts from browser.newContext() are incognito, and
 * Chromium refuses to call an incognito page installable. close() ends that browser and
 * removes the directory.
 */
export async function newProfilePerson(url: string, options: PersonOptions = {}): Promise<Person> {
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'wisp-e2e-profile-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(options.launch?.args ?? [])],
      ...(options.launch?.env ? { env: options.launch.env } : {}),
      viewport: options.viewport ?? { width: 1280, height: 800 },
    });
    context.setDefaultTimeout(WAIT_MS);
    await context.addInitScript(TEST_HOOKS);
    const csp = await watchCsp(context);
    await options.init?.(context);
    const page = context.pages()[0] ?? (await context.newPage());
    const person = new Person(options.label ?? `person${++counter}`, context, page, url);
    person.cspViolations = csp;
    person.allowProblems(...(options.expectProblems ?? []));
    person.afterClose = () => rmSync(userDataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    await page.goto(url, { waitUntil: 'load' });
    await person.waitOnline();
    return person;
  } catch (error) {
    await context?.close().catch(() => undefined);
    rmSync(userDataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    throw error;
  }
}

/** A new person: a fresh browser context with the app open at `url`, online and named. */
export async function newPerson(browser: Browser, url: string, options: PersonOptions = {}): Promise<Person> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } });
  context.setDefaultTimeout(WAIT_MS);
  let csp: CspViolation[];
  try {
    await context.addInitScript(TEST_HOOKS);
    csp = await watchCsp(context);
    await options.init?.(context);
  } catch (error) {
    await context.close().catch(() => undefined);
    throw error;
  }
  const page = await context.newPage();
  const person = new Person(options.label ?? `person${++counter}`, context, page, url);
  person.cspViolations = csp;
  person.allowProblems(...(options.expectProblems ?? []));
  try {
    await page.goto(url, { waitUntil: 'load' });
    await person.waitOnline();
  } catch (error) {
    const problems = person.problems.length ? `\nBrowser problems:\n${person.problems.join('\n')}` : '';
    await person.close();
    throw new Error(`${person.label} could not get online at ${url}: ${(error as Error).message}${problems}`);
  }
  return person;
}
