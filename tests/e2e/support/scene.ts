// One test's world: a fresh real server and the people in it. Everything it starts is
// ended by dispose(), which the test registers as an after hook, so it runs on failure too.
import type { TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import { newPerson, newProfilePerson, type Person, type PersonOptions } from './browser.ts';
import { WsProxy } from './proxy.ts';
import { WispServer, type ServerOptions } from './server.ts';

export class Scene {
  readonly people: Person[] = [];

  private constructor(
    readonly browser: Browser,
    readonly server: WispServer,
    /** Set by behindProxy(): everyone reaches the server through it. */
    readonly proxy?: WsProxy,
  ) {}

  static async open(t: TestContext, browser: Browser, options: ServerOptions = {}): Promise<Scene> {
    const server = await WispServer.start(options);
    const scene = new Scene(browser, server);
    t.after(() => scene.dispose());
    return scene;
  }

  /** A scene whose people open the app through a recording proxy in front of the server. */
  static async behindProxy(t: TestContext, browser: Browser): Promise<Scene & { proxy: WsProxy }> {
    const proxy = await WsProxy.listen();
    let server: WispServer;
    try {
      server = await WispServer.start({ args: ['--origin', proxy.url] });
    } catch (error) {
      await proxy.close();
      throw error;
    }
    proxy.setTarget(server.url);
    const scene = new Scene(browser, server, proxy) as Scene & { proxy: WsProxy };
    t.after(() => scene.dispose());
    return scene;
  }

  /** Where people open the app: the proxy, when there is one. */
  get url(): string {
    return this.proxy?.url ?? this.server.url;
  }

  /** A new person (own browser context), online in #lobby. */
  async person(label: string, options: Omit<PersonOptions, 'label'> = {}): Promise<Person> {
    const person = await newPerson(this.browser, this.url, { ...options, label });
    this.people.push(person);
    return person;
  }

  /** A new person in a non-incognito profile (own browser process), online in #lobby. */
  async profilePerson(label: string, options: Omit<PersonOptions, 'label'> = {}): Promise<Person> {
    const person = await newProfilePerson(this.url, { ...options, label });
    this.people.push(person);
    return person;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.people.map((p) => p.close()));
    await this.proxy?.close();
    await this.server.dispose();
  }
}
