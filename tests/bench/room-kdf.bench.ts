// Private-room key derivation in the real app: PBKDF2-SHA-256 with 600,000 iterations,
// then HKDF, in the app's module worker, as measured by the app itself (from asking the
// worker to the secrets arriving back). Five private rooms are joined one after another
// in one page of real Chromium against the real server; the first derivation includes
// starting the worker. Reported only: there is no budget for it in DESIGN.md §9.
import type { Page } from 'playwright-core';
import { type Benchmark, type Row, round1 } from './bench.ts';
import { WispServer } from '../e2e/support/server.ts';
import { launchBrowser, newPerson, waitUntil } from '../e2e/support/browser.ts';

const JOINS = 5;
/** How long one derivation may take before the benchmark gives up on it. */
const DERIVE_WAIT_MS = 60_000;

interface BenchWindow {
  wisp: {
    join(room: string, passphrase?: string): void;
    roomKdfTimes(): number[];
  };
}

async function kdfTimes(page: Page, count: number): Promise<number[]> {
  return waitUntil(
    `${count} room key derivations`,
    () =>
      page.evaluate((n) => {
        const times = (window as unknown as BenchWindow).wisp.roomKdfTimes();
        return times.length >= n ? times : undefined;
      }, count),
    DERIVE_WAIT_MS,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const benchmark: Benchmark = {
  title: `room key derivation: ${JOINS} private-room joins in the app's worker`,
  async run(ctx) {
    const server = await WispServer.start();
    const browser = await launchBrowser();
    try {
      const person = await newPerson(browser, server.url, { label: 'A' });
      // The app falls back to this thread (with a warning) when it cannot start the worker;
      // then the figure would not be what its label says.
      const fallbacks: string[] = [];
      person.page.on('console', (message) => {
        if (message.text().includes('without a worker')) fallbacks.push(message.text());
      });
      for (let n = 1; n <= JOINS; n++) {
        await person.page.evaluate(({ room, passphrase }) => (window as unknown as BenchWindow).wisp.join(room, passphrase), { room: `kdf-bench-${n}`, passphrase: `some passphrase ${n}` });
        try {
          await kdfTimes(person.page, n);
        } catch (error) {
          const problems = person.problems.length ? ` Browser problems: ${person.problems.join(' | ')}` : '';
          throw new Error(`${(error as Error).message}.${problems}`);
        }
      }
      const times = (await kdfTimes(person.page, JOINS)).slice(0, JOINS);
      if (fallbacks.length > 0) throw new Error(`the app derived without its worker: ${fallbacks[0]}`);
      times.forEach((t, i) => ctx.log(`room key derivation ${i + 1}/${JOINS} (#kdf-bench-${i + 1}): ${t.toFixed(1)} ms`));
      const rows: Row[] = [
        {
          key: 'room_kdf_ms',
          label: `room key derivation (PBKDF2-SHA-256, 600,000 iterations, in a worker; median of ${JOINS})`,
          value: round1(median(times)),
          unit: 'ms',
        },
      ];
      return rows;
    } finally {
      await browser.close();
      await server.dispose();
    }
  },
};

export default benchmark;
