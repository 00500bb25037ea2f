// start_ms_built: `npm start` (install check, build check, server) to a healthy /healthz
// when node_modules and dist/ are already up to date: what a restart costs on the box
// that runs Wisp from the repository. Median of five, after one start that makes the data
// directory (its admin token), each on a free port, each stopped by its process group.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { installMismatch } from '../../scripts/packages-installed.mjs';
import { freePort } from '../e2e/support/server.ts';
import { npmCommand, spawnGroup, stopGroup, waitHealthy } from '../support/release-install.ts';
import { type Benchmark, REPO_ROOT, ensureAppBuilt, round1 } from './bench.ts';

const RUNS = 5;
/** A bound on a hung start, not a measurement. */
const START_TIMEOUT_MS = 60_000;

async function timedStart(dataDir: string): Promise<number> {
  const port = await freePort();
  const [command, args] = npmCommand(['start']);
  const started = performance.now();
  const child = spawnGroup(command, args, { cwd: REPO_ROOT, env: { PORT: String(port), WISP_DATA_DIR: dataDir, HOST: '127.0.0.1' } });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  try {
    await waitHealthy(`http://127.0.0.1:${port}`, child, START_TIMEOUT_MS);
    return performance.now() - started;
  } catch (error) {
    throw new Error(`${(error as Error).message}; npm start printed:\n${output}`);
  } finally {
    await stopGroup(child);
  }
}

const start: Benchmark = {
  title: 'npm start to a healthy /healthz, already installed and built',
  async run(ctx) {
    // Installing here would replace node_modules under whoever else uses it: say so instead.
    const mismatch = installMismatch();
    if (mismatch) throw new Error(`${mismatch}; run npm start once to install, then bench again`);
    await ensureAppBuilt(ctx);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'wisp-bench-start-'));
    try {
      await timedStart(dataDir);
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) times.push(await timedStart(dataDir));
      ctx.log(`start: ${times.map((ms) => Math.round(ms)).join(', ')} ms`);
      const median = times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
      return [{ key: 'start_ms_built', label: `npm start to a healthy /healthz when already built (median of ${RUNS})`, value: round1(median), unit: 'ms', budget: { op: '<=', value: 2000 } }];
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};

export default start;
