// A small W3C WebDriver client over HTTP (fetch), enough to drive WebKitWebDriver: a
// session, navigation, scripts, elements, clicks and keys. No dependency: the protocol is
// JSON over HTTP (https://www.w3.org/TR/webdriver2/).

/** The key under which WebDriver passes an element reference. */
const ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf';

export interface ElementRef {
  [ELEMENT_KEY]: string;
}

/** WebDriver's code for the Enter key, for sendKeys. */
export const ENTER = '\uE007';

export class WebDriverError extends Error {
  constructor(
    readonly command: string,
    readonly error: string,
    message: string,
  ) {
    super(`WebDriver ${command}: ${error}: ${message}`);
  }
}

/** One command's round trip: the `value` of the answer, or a WebDriverError. */
async function call<T>(base: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, timeoutMs = 60_000): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let parsed: { value?: unknown };
  try {
    parsed = JSON.parse(text) as { value?: unknown };
  } catch {
    throw new WebDriverError(`${method} ${path}`, `HTTP ${response.status}`, text.slice(0, 300));
  }
  const value = parsed.value as { error?: string; message?: string } | undefined;
  if (!response.ok || (value && typeof value === 'object' && typeof value.error === 'string')) {
    throw new WebDriverError(`${method} ${path}`, value?.error ?? `HTTP ${response.status}`, value?.message ?? text.slice(0, 300));
  }
  return parsed.value as T;
}

export function isElement(value: unknown): value is ElementRef {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[ELEMENT_KEY] === 'string';
}

export class WebDriverSession {
  private constructor(
    private readonly base: string,
    readonly id: string,
    readonly capabilities: Record<string, unknown>,
  ) {}

  /** The driver's /status says it is ready for a new session. */
  static async ready(driverUrl: string): Promise<boolean> {
    const status = await call<{ ready?: boolean }>(driverUrl, 'GET', '/status', undefined, 2000);
    return status.ready === true;
  }

  /** POST /session with these capabilities (alwaysMatch). */
  static async start(driverUrl: string, alwaysMatch: Record<string, unknown>): Promise<WebDriverSession> {
    const value = await call<{ sessionId: string; capabilities: Record<string, unknown> }>(driverUrl, 'POST', '/session', { capabilities: { alwaysMatch } });
    return new WebDriverSession(driverUrl, value.sessionId, value.capabilities);
  }

  private cmd<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    return call<T>(this.base, method, `/session/${this.id}${path}`, body);
  }

  /** Navigates and waits for the load (the session's page load strategy, "normal"). */
  async navigate(url: string): Promise<void> {
    await this.cmd('POST', '/url', { url });
  }

  async refresh(): Promise<void> {
    await this.cmd('POST', '/refresh', {});
  }

  /** Runs a function body in the page (`arguments` are `args`); its return value, as JSON or element references. */
  execute<T>(body: string, args: unknown[] = []): Promise<T> {
    return this.cmd('POST', '/execute/sync', { script: body, args });
  }

  async findElement(css: string): Promise<ElementRef> {
    return this.cmd('POST', '/element', { using: 'css selector', value: css });
  }

  async click(element: ElementRef): Promise<void> {
    await this.cmd('POST', `/element/${element[ELEMENT_KEY]}/click`, {});
  }

  /** Types `text` into the element (focusing it first), as key presses. */
  async sendKeys(element: ElementRef, text: string): Promise<void> {
    await this.cmd('POST', `/element/${element[ELEMENT_KEY]}/value`, { text });
  }

  /** Ends the session (the browser closes); never throws. */
  async delete(): Promise<void> {
    await this.cmd('DELETE', '').catch(() => undefined);
  }
}
