// WebKit: Debian's webkit2gtk-driver (WebKitWebDriver, which starts WebKitGTK's
// MiniBrowser) on a virtual display (Xvfb), spoken to over classic W3C WebDriver
// (webdriver.ts). Both processes are ours, started and ended by PID. A WebKitWebDriver
// holds one session at a time: one person per test file.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../e2e/support/server.ts';
import { waitUntil } from '../../e2e/support/browser.ts';
import { EnginePerson, PROBLEM_RECORDER, type PageDriver } from './engine-person.ts';
import { ENTER, WebDriverSession, isElement } from './webdriver.ts';

export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER ?? '/usr/bin/WebKitWebDriver';
/** Debian's multiarch directory for this machine (libwebkit2gtk-4.1-0 puts MiniBrowser there). */
const MULTIARCH = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
export const MINIBROWSER = process.env.MINIBROWSER ?? `/usr/lib/${MULTIARCH}/webkit2gtk-4.1/MiniBrowser`;

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 3000);
  return exited.finally(() => clearTimeout(force));
}

/** Xvfb on a display number it picks itself (-displayfd), so parallel runs never collide. */
async function startXvfb(): Promise<{ child: ChildProcess; display: string }> {
  const child = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const display = await new Promise<string>((resolve, reject) => {
    let out = '';
    (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8');
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(`:${out.trim()}`);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`Xvfb exited (code ${code}) before it had a display: ${stderr.trim()}`)));
  });
  return { child, display };
}

class WebDriverPage implements PageDriver {
  constructor(private readonly session: WebDriverSession) {}

  eval<T>(expression: string): Promise<T> {
    // WebDriver awaits a returned promise.
    return this.session.execute<T>(`return (${expression});`);
  }

  private async element(expression: string) {
    const element = await this.session.execute<unknown>(`return (${expression});`);
    if (!isElement(element)) throw new Error(`no element for ${expression.slice(-80)}`);
    return element;
  }

  async click(expression: string): Promise<void> {
    await this.session.click(await this.element(expression));
  }

  async type(expression: string, text: string, enter: boolean): Promise<void> {
    await this.session.sendKeys(await this.element(expression), enter ? `${text}${ENTER}` : text);
  }

  /** WebDriver cannot run a script before the page's own: the recorder goes in right after the load. */
  async goto(url: string): Promise<void> {
    await this.session.navigate(url);
    await this.session.execute(`${PROBLEM_RECORDER};`);
  }

  async reload(): Promise<void> {
    await this.session.refresh();
    await this.session.execute(`${PROBLEM_RECORDER};`);
  }

  async problems(): Promise<string[]> {
    return [];
  }
}

export class WebKit {
  private constructor(
    private readonly xvfb: ChildProcess,
    private readonly driver: ChildProcess,
    readonly session: WebDriverSession,
    private readonly log: () => string,
  ) {}

  static async launch(): Promise<WebKit> {
    const { child: xvfb, display } = await startXvfb();
    let driver: ChildProcess | undefined;
    let log = '';
    try {
      const port = await freePort();
      driver = spawn(WEBKIT_DRIVER, [`--port=${port}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DISPLAY: display } });
      driver.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
      driver.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
      const url = `http://127.0.0.1:${port}`;
      await waitUntil('WebKitWebDriver to answer /status', () => WebDriverSession.ready(url).catch(() => false), 20_000);
      const session = await WebDriverSession.start(url, {
        browserName: 'MiniBrowser',
        'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
      });
      return new WebKit(xvfb, driver, session, () => log);
    } catch (error) {
      await stop(driver);
      await stop(xvfb);
      throw new Error(`WebKit did not start: ${(error as Error).message}\n${log}`);
    }
  }

  /** The one person this browser holds, at `url` (the app opened, not yet waited online). */
  async person(url: string, label: string): Promise<EnginePerson> {
    const person = new EnginePerson(label, new WebDriverPage(this.session), url);
    await person.open();
    return person;
  }

  /** What the driver printed, for failure messages. */
  get output(): string {
    return this.log();
  }

  async close(): Promise<void> {
    await this.session.delete();
    await stop(this.driver);
    await stop(this.xvfb);
  }
}
