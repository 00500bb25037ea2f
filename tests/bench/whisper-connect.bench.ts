// Whisper link set-up on loopback: from creating the link (the WebRTC offer) to the
// secure channel being ready, over many connects between two real Chromium contexts
// against the real server. The first connect includes loading simple-peer lazily.
import type { Page } from 'playwright-core';
import { type Benchmark, type Row, round1 } from './bench.ts';
import { WispServer } from '../e2e/support/server.ts';
import { launchBrowser, newPerson, waitUntil } from '../e2e/support/browser.ts';

const CONNECTS = 25;

export function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

interface BenchWindow {
  wisp: {
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

const benchmark: Benchmark = {
  title: `whisper connect: ${CONNECTS} links between two browsers on loopback`,
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
      const times = (await connectedTimes(a.page, CONNECTS)).slice(0, CONNECTS).sort((x, y) => x - y);
      ctx.log(`whisper connect times (ms): ${times.map((t) => Math.round(t)).join(' ')}`);
      const rows: Row[] = [
        { key: 'whisper_connect_ms_p50', label: `whisper connect p50 (${CONNECTS} connects)`, value: round1(percentile(times, 50)), unit: 'ms', budget: { op: '<=', value: 300 } },
        { key: 'whisper_connect_ms_p95', label: `whisper connect p95 (${CONNECTS} connects)`, value: round1(percentile(times, 95)), unit: 'ms', budget: { op: '<=', value: 1000 } },
      ];
      return rows;
    } finally {
      await browser.close();
      await server.dispose();
    }
  },
};

export default benchmark;
