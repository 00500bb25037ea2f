// A server behind the recording/rewriting proxy, for tests that play a hostile server: the
// people who open the proxy's URL, closed (and checked for page errors) after each run or
// at the end of the test.
import type { TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import { newPerson, type Person } from './browser.ts';
import { assertNoProblems } from './problems.ts';
import { WispServer } from './server.ts';
import { WsProxy } from './proxy.ts';

export interface HostileWorld {
  server: WispServer;
  proxy: WsProxy;
  people: Person[];
}

export async function hostileWorld(t: TestContext): Promise<HostileWorld> {
  const proxy = await WsProxy.listen();
  const world: HostileWorld = { server: undefined as unknown as WispServer, proxy, people: [] };
  t.after(async () => {
    await Promise.all(world.people.map((p) => p.close()));
    await proxy.close();
    await world.server?.close();
    assertNoProblems(world.people, world.server ? [world.server] : []);
  });
  world.server = await WispServer.start({ args: ['--origin', proxy.url] });
  proxy.setTarget(world.server.url);
  return world;
}

/** Closes everyone of the run just ended, checking their pages for errors. */
export async function closeAll(world: HostileWorld): Promise<void> {
  await Promise.all(world.people.map((p) => p.close()));
  assertNoProblems(world.people, []);
  world.people.length = 0;
}

/** Someone who opens the proxy's URL in `browser`; closed with the world. */
export async function personIn(world: HostileWorld, browser: Browser, label: string): Promise<Person> {
  const p = await newPerson(browser, world.proxy.url, { label });
  world.people.push(p);
  return p;
}
