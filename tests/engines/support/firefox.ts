// Firefox ESR (Debian's firefox-esr) driven over WebDriver BiDi by puppeteer-core: one
// browser per test file, one browser context (its own profile data) per person.
import puppeteer, { type Browser, type ElementHandle, type Page } from 'puppeteer-core';
import { EnginePerson, PROBLEM_RECORDER, TEST_HOOKS, type PageDriver } from './engine-person.ts';

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** Loopback whisper links: Firefox gathers no loopback candidates and hides host addresses behind mDNS names by default. */
const FIREFOX_PREFS = {
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
};

/** Saves (a download link's click) go straight to `dir`, without asking: puppeteer has no download events over BiDi. */
function downloadPrefs(dir: string) {
  return {
    'browser.download.dir': dir,
    'browser.download.folderList': 2,
    'browser.download.useDownloadDir': true,
    'browser.download.always_ask_before_handling_new_types': false,
    'browser.download.start_downloads_in_tmp_dir': false,
  };
}

export function launchFirefox(downloadDir: string): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    extraPrefsFirefox: { ...FIREFOX_PREFS, ...downloadPrefs(downloadDir) },
  });
}

class PuppeteerDriver implements PageDriver {
  private readonly seen: string[] = [];

  constructor(readonly page: Page) {
    page.on('pageerror', (error) => this.seen.push(`pageerror: ${(error as Error).message ?? String(error)}`));
    page.on('console', (message) => {
      if (message.type() === 'error') this.seen.push(`console: ${message.text()}`);
    });
  }

  eval<T>(expression: string): Promise<T> {
    return this.page.evaluate(expression) as Promise<T>;
  }

  private async element(expression: string): Promise<ElementHandle<Element>> {
    const handle = (await this.page.evaluateHandle(expression)).asElement();
    if (!handle) throw new Error(`no element for ${expression.slice(-80)}`);
    return handle as ElementHandle<Element>;
  }

  async click(expression: string): Promise<void> {
    const handle = await this.element(expression);
    try {
      await handle.click();
    } finally {
      await handle.dispose();
    }
  }

  async type(expression: string, text: string, enter: boolean): Promise<void> {
    const handle = await this.element(expression);
    try {
      await handle.type(text);
      if (enter) await handle.press('Enter');
    } finally {
      await handle.dispose();
    }
  }

  /** Picks files in a file input, as the file chooser would. */
  async upload(expression: string, files: string[]): Promise<void> {
    const handle = (await this.element(expression)) as ElementHandle<HTMLInputElement>;
    try {
      await handle.uploadFile(...files);
    } finally {
      await handle.dispose();
    }
  }

  async goto(url: string): Promise<void> {
    await this.page.goto(url, { waitUntil: 'load' });
  }

  async reload(): Promise<void> {
    await this.page.reload({ waitUntil: 'load' });
  }

  async problems(): Promise<string[]> {
    return [...this.seen];
  }
}

export type FirefoxPerson = EnginePerson & { driver: PuppeteerDriver; close(): Promise<void> };

/** A new person in a fresh Firefox browser context, with the app open (not yet waited online). */
export async function firefoxPerson(browser: Browser, url: string, label: string): Promise<FirefoxPerson> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.evaluateOnNewDocument(`${TEST_HOOKS}\n${PROBLEM_RECORDER}`);
  const person = new EnginePerson(label, new PuppeteerDriver(page), url) as FirefoxPerson;
  person.close = () => context.close().catch(() => undefined);
  await person.open();
  return person;
}
