// One test's world: a fresh real server and the people in it. Everything it starts is
// ended by dispose(), which the test registers as an after hook, so it runs on failure too.
// Then the test fails on any unexpected problem of its people or its server (problems.ts).
import type { TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import { SERVER_DOWN, newPerson, newProfilePerson, type Person, type PersonOptions } from './browser.ts';
import { assertNoProblems } from './problems.ts';
import { WsProxy } from './proxy.ts';
import { WispServer, type ServerOptions } from './server.ts';

export class Scene {
  /** Everyone in this scene; the problems of each are checked at the end (push a person made elsewhere). */
  readonly people: Person[] = [];
  private checkRegistered = false;
  /** Problems everyone in this scene may show: what the test provokes on purpose. */
  private readonly expected: RegExp[] = [];

  private constructor(
    private readonly t: TestContext,
    readonly browser: Browser,
    readonly server: WispServer,
    /** Set by behindProxy(): everyone reaches the server through it. */
    readonly proxy?: WsProxy,
    /** Set by around(): where people open the app, and whether dispose() leaves the server running. */
    private readonly shared?: { url: string },
  ) {}

  /**
   * A scene around a server the test file started and closes itself (shared by its tests),
   * whose people open the app at `url` (e.g. https://wisp-pi.local:<port>). The server's
   * problems so far are still checked at the end of each test.
   */
  static around(t: TestContext, browser: Browser, server: WispServer, url: string): Scene {
    const scene = new Scene(t, browser, server, undefined, { url });
    t.after(() => scene.dispose());
    return scene;
  }

  static async open(t: TestContext, browser: Browser, options: ServerOptions = {}): Promise<Scene> {
    const server = await WispServer.start(options);
    const scene = new Scene(t, browser, server);
    t.after(() => scene.dispose());
    return scene;
  }

  /** A scene whose people open the app through a recording proxy in front of the server. */
  static async behindProxy(t: TestContext, browser: Browser, options: ServerOptions = {}): Promise<Scene & { proxy: WsProxy }> {
    const proxy = await WsProxy.listen();
    let server: WispServer;
    try {
      server = await WispServer.start({ ...options, args: ['--origin', proxy.url, ...(options.args ?? [])] });
    } catch (error) {
      await proxy.close();
      throw error;
    }
    proxy.setTarget(server.url);
    const scene = new Scene(t, browser, server, proxy) as Scene & { proxy: WsProxy };
    t.after(() => scene.dispose());
    return scene;
  }

  /** Where people open the app: the proxy, when there is one. */
  get url(): string {
    return this.shared?.url ?? this.proxy?.url ?? this.server.url;
  }

  /** A new person (own browser context), online in #lobby. */
  async person(label: string, options: Omit<PersonOptions, 'label'> = {}): Promise<Person> {
    const person = await newPerson(this.browser, this.url, { ...options, label });
    this.join(person);
    return person;
  }

  /** A new person in a non-incognito profile (own browser process), online in #lobby. */
  async profilePerson(label: string, options: Omit<PersonOptions, 'label'> = {}): Promise<Person> {
    const person = await newProfilePerson(this.url, { ...options, label });
    this.join(person);
    return person;
  }

  /**
   * The problem check is its own after hook, registered when the first person joins and
   * not in open(): node:test skips the remaining after hooks once one throws, and tests
   * register their own clean-ups (TempFiles, coturn) right after open().
   */
  private join(person: Person): void {
    this.people.push(person);
    if (this.checkRegistered) return;
    this.checkRegistered = true;
    this.t.after(() => this.check());
  }

  /** Allows problems matching these patterns for everyone in the scene (with a comment why). */
  expectProblems(...patterns: RegExp[]): void {
    this.expected.push(...patterns);
  }

  /**
   * For a test that stops the server on purpose: each reconnect attempt meanwhile is
   * refused (a console error each).
   */
  expectServerDown(): void {
    this.expectProblems(SERVER_DOWN);
  }

  /** Fails the test on any unexpected page, console, CSP or server problem. */
  check(): void {
    for (const person of this.people) person.allowProblems(...this.expected);
    assertNoProblems(this.people, [this.server]);
  }

  /** Ends everything (never throws); checks right away when nobody joined (no check hook then). */
  async dispose(): Promise<void> {
    await Promise.all(this.people.map((p) => p.close()));
    await this.proxy?.close();
    if (!this.shared) await this.server.close();
    if (!this.checkRegistered) this.check();
  }
}
