// Where a file round's CPU goes: `node --import tsx tests/bench/file-profile.ts [rounds] [--js]`
// (needs a fresh build). Runs raw and Wisp rounds of the file bench (file-throughput.bench.ts)
// and prints, for each, the CPU per process (sender and receiver renderer, network service,
// GPU process, browser) and per thread, from /proc. `--js` adds one more Wisp round with V8's
// sampling profiler in both renderers and prints the top functions by self time (the
// profiler's own cost included, so that round's totals are not comparable).
import type { CDPSession, Page } from 'playwright-core';
import { WispServer } from '../e2e/support/server.ts';
import { launchBrowser } from '../e2e/support/browser.ts';
import { TempFiles } from '../e2e/support/files.ts';
import { chromiumThreads, cpuBetween, cpuByProcess, pidCpuMs, type ThreadCpu } from './thread-cpu.ts';
import { FILE_BYTES, rawRound, setUp, wispRound } from './file-throughput.bench.ts';

const rounds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 3);
const withJs = process.argv.includes('--js');

/** The renderer that gains the most CPU while `page` spins: that page's process. */
async function rendererOf(page: Page): Promise<number> {
  const renderers = [...new Set([...chromiumThreads().values()].filter((t) => t.process === 'renderer').map((t) => t.pid))];
  const before = new Map(renderers.map((pid) => [pid, pidCpuMs(pid)]));
  await page.evaluate('(() => { const end = performance.now() + 600; while (performance.now() < end); })()');
  let best = -1;
  let bestPid = 0;
  for (const pid of renderers) {
    const gained = pidCpuMs(pid) - before.get(pid)!;
    if (gained > best) [best, bestPid] = [gained, pid];
  }
  return bestPid;
}

function print(title: string, between: Map<string, number>): void {
  const total = [...between.values()].reduce((a, b) => a + b, 0);
  console.log(`\n== ${title}: browser CPU ${total.toFixed(0)} ms`);
  for (const [process, ms] of [...cpuByProcess(between)].sort((a, b) => b[1] - a[1])) {
    console.log(`  ${process.padEnd(28)} ${ms.toFixed(0).padStart(6)} ms`);
    const threads = [...between].filter(([key]) => key.startsWith(`${process} / `)).sort((a, b) => b[1] - a[1]);
    for (const [key, t] of threads) if (t >= 20) console.log(`      ${key.split(' / ')[1]!.padEnd(24)} ${t.toFixed(0).padStart(6)} ms`);
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

async function topFunctions(session: CDPSession, label: string): Promise<void> {
  const { profile } = (await session.send('Profiler.stop')) as { profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] } };
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byName = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${url ? `${url.split('/').pop()}:${lineNumber + 1}` : ''}`.trim();
    byName.set(key, (byName.get(key) ?? 0) + (selfUs.get(node.id) ?? 0));
  }
  console.log(`\n== JS self time, ${label} (top 15)`);
  for (const [key, us] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`);
}

const server = await WispServer.start();
const browser = await launchBrowser();
const files = new TempFiles();
try {
  const { pair, asWisp } = await setUp(server, browser);
  const names = new Map([
    [await rendererOf(pair.a.page), 'sender renderer'],
    [await rendererOf(pair.b.page), 'receiver renderer'],
  ]);
  for (let round = 1; round <= rounds; round++) {
    const t0 = chromiumThreads();
    const raw = await rawRound(pair.a.page, pair.b.page, asWisp);
    const t1 = chromiumThreads();
    // From accepting until both sides are done, as the bench counts it (not the offer's hashing).
    const snaps: Map<string, ThreadCpu>[] = [];
    const wisp = await wispRound(pair, files, round, () => snaps.push(chromiumThreads()));
    print(`round ${round} raw (${raw.ms.toFixed(0)} ms wall, ${FILE_BYTES >> 20} MiB)`, cpuBetween(t0, t1, names));
    print(`round ${round} wisp (${wisp.totalMs.toFixed(0)} ms wall accept->done)`, cpuBetween(snaps[0]!, snaps[1]!, names));
  }
  if (withJs) {
    const sessions = await Promise.all([pair.a.page, pair.b.page].map((page) => page.context().newCDPSession(page)));
    for (const s of sessions) {
      await s.send('Profiler.enable');
      await s.send('Profiler.setSamplingInterval', { interval: 200 });
      await s.send('Profiler.start');
    }
    await wispRound(pair, files, rounds + 1);
    await topFunctions(sessions[0]!, 'sender');
    await topFunctions(sessions[1]!, 'receiver');
    for (const s of sessions) await s.send('Profiler.start');
    await rawRound(pair.a.page, pair.b.page, asWisp);
    await topFunctions(sessions[0]!, 'raw sender');
    await topFunctions(sessions[1]!, 'raw receiver');
  }
} finally {
  await browser.close();
  await server.dispose();
  files.dispose();
}
