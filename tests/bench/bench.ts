// The small framework behind `npm run bench` (tests/bench/run.ts).
//
// A benchmark is a module `tests/bench/<name>.bench.ts` whose default export is a
// Benchmark. Its `run` measures and returns rows; a figure it could not measure is
// simply left out (never guessed). A thrown error marks the module's figures as not
// measured; a PartialError keeps the rows it carries. Keys are the ones in DESIGN.md §9.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleBuildReason } from '../../scripts/build-freshness.mjs';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const APP_DIST = join(REPO_ROOT, 'dist', 'app');

export interface Budget {
  op: '<=' | '>=';
  value: number;
}

export interface Row {
  /** Key of the figure in `--json`, as in DESIGN.md §9. */
  key: string;
  /** What the figure is, for the table. */
  label: string;
  value: number;
  unit: string;
  budget?: Budget;
}

export interface BenchContext {
  /** Progress and diagnostics: goes to stderr, so `--json` output stays clean. */
  log(message: string): void;
  /** `--build`: rebuild the app even when dist/ is fresh. */
  rebuild: boolean;
}

export interface Benchmark {
  /** Short description printed while it runs. */
  title: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

/**
 * Thrown by a benchmark that measured some of its figures but not all: run.ts keeps
 * the rows and reports the missing figures with their reasons.
 */
export class PartialError extends Error {
  readonly rows: Row[];
  readonly reasons: string[];

  constructor(rows: Row[], reasons: string[]) {
    super(reasons.join('; '));
    this.name = 'PartialError';
    this.rows = rows;
    this.reasons = reasons;
  }
}

export function withinBudget(row: Row): boolean | undefined {
  if (!row.budget) return undefined;
  return row.budget.op === '<=' ? row.value <= row.budget.value : row.value >= row.budget.value;
}

/** Runs `npm run build` with its output on stderr; rejects when it fails. */
export function buildApp(ctx: BenchContext): Promise<void> {
  ctx.log('building the app (npm run build)...');
  const npmCli = process.env.npm_execpath;
  const [command, args] = npmCli && npmCli.endsWith('.js') ? [process.execPath, [npmCli, 'run', 'build']] : ['npm', ['run', 'build']];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 2, 2] });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`npm run build failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

/** Makes sure dist/ holds a build of the sources as they are: builds when it is missing or stale, or on `--build`. */
export async function ensureAppBuilt(ctx: BenchContext): Promise<string> {
  const stale = staleBuildReason();
  if (stale) ctx.log(stale);
  if (ctx.rebuild || stale) await buildApp(ctx);
  if (!existsSync(join(APP_DIST, 'index.html'))) throw new Error('the build did not produce dist/app/index.html');
  return APP_DIST;
}

/** Rounds to one decimal place, the precision every KiB / ms figure is reported with. */
export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
