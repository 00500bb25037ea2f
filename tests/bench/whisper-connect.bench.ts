// Whisper link set-up on loopback, between real Chromium contexts against the real server.
// Warm: from creating the link (the WebRTC offer) to the secure channel being ready, over
// many reconnects of one pair (simple-peer already loaded). Cold: what a person meets on a
// first whisper: a fresh pair whose pages have not loaded simple-peer yet, from the click
// on the person's name to the secure channel being ready, one sample per fresh pair.
import type { Browser, Page } from 'playwright-core';
import { type Benchmark, type Row, round1 } from './bench.ts';
import { WispServer } from '../e2e/support/server.ts';
import { launchBrowser, newPerson, waitUntil } from '../e2e/support/browser.ts';
import { keyOf, memberButton } from '../e2e/support/whisper.ts';

const CONNECTS = 25;
/** Fresh pairs for the cold figure: each costs two new browser contexts. */
const COLD_PAIRS = 7;

export function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

interface BenchWindow {
  wisp: {
    store: { subscribe(listener: (state: BenchWindow['wisp']['state']) => void): void };
    state: { me: { id?: string }; rooms: Record<string, { members: Record<string, { id: string; key: string }> }>; whispers: Record<string, { link: string }> };
    openWhisper(key: string): void;
    reconnectWhisper(key: string): void;
    whisperConnectTimes(): number[];
  };
}

async function peerKey(page: Page): Promise<string> {
  return waitUntil('the other person in the lobby', () =>
    page.evaluate(() => {
      const { wisp } = window as unknown as BenchWindow;
      const members = Object.values(wisp.state.rooms.lobby?.members ?? {});
      return members.find((m) => m.id !== wisp.state.me.id)?.key;
    }),
  );
}

async function connectedTimes(page: Page, count: number): Promise<number[]> {
  return waitUntil(`${count} whisper connects`, () =>
    page.evaluate((n) => {
      const times = (window as unknown as BenchWindow).wisp.whisperConnectTimes();
      return times.length >= n ? times : undefined;
    }, count),
  );
}

/** One cold first whisper: a new pair; ms from A's click on B's name to the secure channel. */
async function coldConnect(browser: Browser, url: string, round: number): Promise<number> {
  const a = await newPerson(browser, url, { label: `cold A${round}` });
  const b = await newPerson(browser, url, { label: `cold B${round}` });
  try {
    const bName = await b.myName();
    const key = await keyOf(a, bName);
    const loaded = await a.page.evaluate(() => performance.getEntriesByType('resource').some((e) => /simple-?peer/i.test(e.name)));
    if (loaded) throw new Error('simple-peer was loaded before the first whisper: not a cold connect');
    await a.page.evaluate((k) => {
      const w = window as unknown as BenchWindow & { coldConnect: { clickAt?: number; readyAt?: number } };
      const times: { clickAt?: number; readyAt?: number } = (w.coldConnect = {});
      document.addEventListener('click', () => (times.clickAt ??= performance.now()), { capture: true });
      w.wisp.store.subscribe((state) => {
        if (times.clickAt !== undefined && state.whispers[k]?.link === 'ready') times.readyAt ??= performance.now();
      });
    }, key);
    await memberButton(a, bName).click();
    return await waitUntil('the first whisper link to be ready', () =>
      a.page.evaluate(() => {
        const { clickAt, readyAt } = (window as unknown as { coldConnect: { clickAt?: number; readyAt?: number } }).coldConnect;
        return clickAt !== undefined && readyAt !== undefined ? readyAt - clickAt : undefined;
      }),
    );
  } finally {
    await a.close();
    await b.close();
  }
}

const benchmark: Benchmark = {
  title: `whisper connect: ${CONNECTS} warm links between two browsers, and ${COLD_PAIRS} cold first whispers, on loopback`,
  async run(ctx) {
    const server = await WispServer.start();
    const browser = await launchBrowser();
    try {
      const a = await newPerson(browser, server.url, { label: 'A' });
      await newPerson(browser, server.url, { label: 'B' });
      const key = await peerKey(a.page);
      await a.page.evaluate((k) => (window as unknown as BenchWindow).wisp.openWhisper(k), key);
      await connectedTimes(a.page, 1);
      for (let i = 2; i <= CONNECTS; i++) {
        await a.page.evaluate((k) => (window as unknown as BenchWindow).wisp.reconnectWhisper(k), key);
        await connectedTimes(a.page, i);
      }
      // The first link of this pair loaded simple-peer: it belongs to neither figure.
      const times = (await connectedTimes(a.page, CONNECTS)).slice(1, CONNECTS).sort((x, y) => x - y);
      ctx.log(`whisper connect warm times (ms): ${times.map((t) => Math.round(t)).join(' ')}`);
      const cold: number[] = [];
      for (let round = 1; round <= COLD_PAIRS; round++) cold.push(await coldConnect(browser, server.url, round));
      cold.sort((x, y) => x - y);
      ctx.log(`whisper connect cold times, click to secure channel (ms): ${cold.map((t) => Math.round(t)).join(' ')}`);
      const warm = `${times.length} warm reconnects`;
      const rows: Row[] = [
        { key: 'whisper_connect_ms_p50', label: `whisper connect p50 (${warm})`, value: round1(percentile(times, 50)), unit: 'ms', budget: { op: '<=', value: 300 } },
        { key: 'whisper_connect_ms_p95', label: `whisper connect p95 (${warm})`, value: round1(percentile(times, 95)), unit: 'ms', budget: { op: '<=', value: 1000 } },
        { key: 'whisper_connect_cold_ms', label: `first whisper, cold, click to secure channel, median of ${COLD_PAIRS} fresh pairs`, value: round1(percentile(cold, 50)), unit: 'ms' },
      ];
      return rows;
    } finally {
      await browser.close();
      await server.dispose();
    }
  },
};

export default benchmark;
