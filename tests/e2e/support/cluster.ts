// One test's cluster: several real Wisp nodes (the compiled server, the real build) that
// share one real Redis, each behind its own recording proxy, so a test sees which frames
// a browser sent to its node and which its node sent back. Each person opens the app at
// one node's proxy and talks to that node only. dispose() ends people, proxies and nodes
// (registered as an after hook, so it runs on failure too); then the test fails on any
// unexpected problem of the people or the nodes (problems.ts).
import type { TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import { newPerson, type Person, type PersonOptions } from './browser.ts';
import { assertNoProblems } from './problems.ts';
import { WsProxy } from './proxy.ts';
import { WispServer, type ServerOptions } from './server.ts';

/** What a node's /healthz says about it. */
export interface NodeHealth {
  ok: boolean;
  status: 'ok' | 'degraded';
  engine: 'memory' | 'redis';
  connections: number;
}

export interface ClusterNode {
  readonly server: WispServer;
  /** People of this node open the app here; every WebSocket frame is recorded. */
  readonly proxy: WsProxy;
}

export class ClusterScene {
  readonly people: Person[] = [];
  private checkRegistered = false;

  private constructor(
    private readonly t: TestContext,
    readonly browser: Browser,
    readonly nodes: ClusterNode[],
  ) {}

  /** `count` nodes on the Redis at `redisUrl`, each behind a recording proxy. */
  static async open(t: TestContext, browser: Browser, redisUrl: string, count: number, options: ServerOptions = {}): Promise<ClusterScene> {
    const scene = new ClusterScene(t, browser, []);
    t.after(() => scene.dispose());
    for (let i = 0; i < count; i++) {
      const proxy = await WsProxy.listen();
      let server: WispServer;
      try {
        // The browser's Origin is the proxy's: the node must accept it for the WebSocket.
        server = await WispServer.start({ ...options, args: ['--redis', redisUrl, '--origin', proxy.url, ...(options.args ?? [])] });
      } catch (error) {
        await proxy.close();
        throw error;
      }
      proxy.setTarget(server.url);
      scene.nodes.push({ server, proxy });
    }
    return scene;
  }

  node(index: number): ClusterNode {
    const node = this.nodes[index];
    if (!node) throw new Error(`this cluster has no node ${index}`);
    return node;
  }

  /** A new person (own browser context) on node `index`, online in #lobby. */
  async person(label: string, index: number, options: Omit<PersonOptions, 'label'> = {}): Promise<Person> {
    const person = await newPerson(this.browser, this.node(index).proxy.url, { ...options, label });
    this.people.push(person);
    // Its own after hook, after dispose(): node:test skips the remaining hooks once one throws.
    if (!this.checkRegistered) {
      this.checkRegistered = true;
      this.t.after(() => this.check());
    }
    return person;
  }

  /** The node's own /healthz (not through the proxy). */
  async health(index: number): Promise<NodeHealth> {
    const response = await fetch(`${this.node(index).server.url}/healthz`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`node ${index}'s /healthz answered ${response.status}`);
    return (await response.json()) as NodeHealth;
  }

  check(): void {
    assertNoProblems(
      this.people,
      this.nodes.map((n) => n.server),
    );
  }

  /** Ends everything (never throws): people first, so no page sees its node go away. */
  async dispose(): Promise<void> {
    await Promise.all(this.people.map((p) => p.close()));
    await Promise.all(this.nodes.map((n) => n.proxy.close()));
    await Promise.all(this.nodes.map((n) => n.server.close()));
    if (!this.checkRegistered) this.check();
  }
}
