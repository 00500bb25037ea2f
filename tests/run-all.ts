// Runs every test tier in order, streams each tier's output live, counts the results and
// ends with the line `N passed, M failed`. This is what `npm test` runs (after
// `.ci/prepare --browser` has installed what is missing).
//
//   node --import tsx tests/run-all.ts                    every tier
//   node --import tsx tests/run-all.ts --only server,app  just those tiers, in the usual order
//                                                         (tiers: typecheck, build, server, cluster, release, app, e2e, engines)
//
// `--only e2e` (or engines) adds the build tier when dist/ is missing or older than a source
// file (scripts/build-freshness.mjs), so they never test a stale build; add `build` to
// rebuild anyway.
//
// How each tier is counted:
// - typecheck: each of the three `tsc` runs is one test;
// - build: `npm run build` is one test; when it fails, e2e and engines (which need the
//   build) are not run and count as one failure each;
// - server, cluster, release, e2e, engines: node:test with tests/support/node-test-counts.mjs, one count per test
//   (cluster: three Wisp nodes sharing a real redis-server, one file at a time;
//   release: the release tarball installed as on a Pi, and the README's systemd unit;
//   engines: the main flows in Firefox ESR and WebKit beside Chromium);
// - app: @web/test-runner with the counts reporter in tests/app/web-test-runner.config.mjs.
// Skipped and todo tests count as failed (a test that cannot fail proves nothing), so do
// files without tests, tiers whose glob matches no file, tiers that crash or time out, and
// tiers that exit nonzero without reporting a failure. The exit status is 0 only when
// nothing failed and at least one test passed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleBuildReason } from '../scripts/build-freshness.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TIERS = ['typecheck', 'build', 'server', 'cluster', 'release', 'app', 'e2e', 'engines'] as const;
type TierName = (typeof TIERS)[number];

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

const MINUTE = 60_000;
/** Upper bound per command; a tier that hangs is killed and counted as failed. */
const TIMEOUT_MS: Record<TierName, number> = {
  typecheck: 5 * MINUTE,
  build: 5 * MINUTE,
  server: 10 * MINUTE,
  cluster: 8 * MINUTE,
  release: 5 * MINUTE,
  app: 10 * MINUTE,
  e2e: 30 * MINUTE,
  engines: 10 * MINUTE,
};

interface Failure {
  name: string;
  reason?: string;
}

interface TierResult {
  tier: TierName;
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
  note: string;
  failures: Failure[];
}

/** What tests/support/node-test-counts.mjs and the WTR counts reporter write. */
interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  failures: { file: string; name: string; reason?: string }[];
  skips: { file: string; name: string; reason?: string }[];
}

interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  spawnError?: Error;
}

// ---------------------------------------------------------------------------
// Arguments

function parseArgs(argv: string[]): Set<TierName> {
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      console.log('usage: node --import tsx tests/run-all.ts [--only tier,tier...]');
      console.log(`tiers, always run in this order: ${TIERS.join(', ')}`);
      process.exit(0);
    } else if (arg === '--only') {
      only = argv[++i];
      if (only === undefined) usageError('--only needs a comma-separated list of tiers');
    } else if (arg.startsWith('--only=')) {
      only = arg.slice('--only='.length);
    } else {
      usageError(`unknown argument "${arg}"`);
    }
  }
  if (only === undefined) return new Set(TIERS);
  const wanted = only.split(',').map((t) => t.trim()).filter(Boolean);
  const unknown = wanted.filter((t) => !(TIERS as readonly string[]).includes(t));
  if (unknown.length > 0 || wanted.length === 0) {
    usageError(`unknown tier${unknown.length === 1 ? '' : 's'} "${unknown.join(', ')}" (tiers: ${TIERS.join(', ')})`);
  }
  return new Set(wanted as TierName[]);
}

function usageError(message: string): never {
  console.error(`run-all: ${message}`);
  console.error('usage: node --import tsx tests/run-all.ts [--only tier,tier...]');
  process.exit(2);
}

// ---------------------------------------------------------------------------
// Processes

let current: ReturnType<typeof spawn> | undefined;
let tmp: string | undefined;

function removeTmp(): void {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
}

/** Signals the whole process group of a child started by run() (it leads its own group). */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    const child = current;
    const stop = () => {
      killGroup(child?.pid, 'SIGKILL');
      removeTmp();
      process.exit(130);
    };
    if (interrupted || !child || child.exitCode !== null) stop();
    interrupted = true;
    console.error(`\nrun-all: interrupted (${signal}); stopping the running tier (again to force)`);
    killGroup(child!.pid, 'SIGTERM');
    setTimeout(stop, 5000).unref();
    child!.once('exit', stop);
  });
}

/**
 * Runs one command with its output streamed to ours. The child leads its own process
 * group, so a timeout (or our own interruption) ends it together with its children
 * (browsers, servers).
 */
function run(command: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<RunOutcome> {
  const shown = [command, ...args].map((a) => (a.startsWith(ROOT) ? relative(ROOT, a) || '.' : a)).join(' ');
  console.log(`\n${bold(`$ ${shown}`)}`);
  return new Promise((resolve) => {
    let timedOut = false;
    let settled = false;
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: 'inherit',
      detached: true,
    });
    current = child;
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(`\nrun-all: "${shown}" took longer than ${timeoutMs / 1000} s; stopping it`);
      killGroup(child.pid, 'SIGTERM');
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), 5000).unref();
    }, timeoutMs);
    const finish = (outcome: RunOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Whatever the command left behind in its group (a browser, a server) goes too.
      killGroup(child.pid, 'SIGKILL');
      current = undefined;
      resolve(outcome);
    };
    child.once('error', (spawnError) => finish({ code: null, signal: null, timedOut, spawnError }));
    child.once('exit', (code, signal) => finish({ code, signal, timedOut }));
  });
}

function describeExit(outcome: RunOutcome): string {
  if (outcome.spawnError) return `could not start: ${outcome.spawnError.message}`;
  if (outcome.timedOut) return 'timed out';
  if (outcome.signal) return `killed by ${outcome.signal}`;
  return `exit code ${outcome.code}`;
}

const succeeded = (outcome: RunOutcome) => !outcome.spawnError && !outcome.timedOut && outcome.code === 0;

function bin(name: string): string {
  return join(ROOT, 'node_modules', '.bin', name);
}

// ---------------------------------------------------------------------------
// Test files

/** Files directly in `dir` (or anywhere below it) whose names end with `.test.ts`, sorted. */
function testFiles(dir: string, recursive: boolean): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return (readdirSync(abs, { recursive, encoding: 'utf8' }) as string[])
    .filter((f) => f.endsWith('.test.ts') && !f.split(/[\\/]/).includes('node_modules'))
    .map((f) => join(dir, f))
    .sort();
}

function readCounts(file: string): Counts | undefined {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const data = JSON.parse(lines[lines.length - 1]!) as Partial<Counts>;
    if (typeof data.passed !== 'number' || typeof data.failed !== 'number' || typeof data.skipped !== 'number') return undefined;
    return { passed: data.passed, failed: data.failed, skipped: data.skipped, failures: data.failures ?? [], skips: data.skips ?? [] };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Tiers

function emptyResult(tier: TierName): TierResult {
  return { tier, passed: 0, failed: 0, skipped: 0, ms: 0, note: '', failures: [] };
}

async function typecheckTier(): Promise<TierResult> {
  const result = emptyResult('typecheck');
  const checks: [string, string[]][] = [
    ['tsconfig.server.json', ['-p', 'tsconfig.server.json', '--noEmit']],
    ['tsconfig.app.json', ['-p', 'tsconfig.app.json']],
    ['tsconfig.json', ['-p', 'tsconfig.json']],
  ];
  for (const [name, args] of checks) {
    const outcome = await run(bin('tsc'), args, TIMEOUT_MS.typecheck);
    if (succeeded(outcome)) {
      result.passed += 1;
    } else {
      result.failed += 1;
      result.failures.push({ name: `tsc -p ${name}`, reason: describeExit(outcome) });
    }
  }
  return result;
}

async function buildTier(): Promise<TierResult> {
  const result = emptyResult('build');
  const npmCli = process.env.npm_execpath;
  const outcome = npmCli && npmCli.endsWith('.js')
    ? await run(process.execPath, [npmCli, 'run', 'build'], TIMEOUT_MS.build)
    : await run('npm', ['run', 'build'], TIMEOUT_MS.build);
  if (succeeded(outcome)) {
    result.passed = 1;
  } else {
    result.failed = 1;
    result.failures.push({ name: 'npm run build', reason: describeExit(outcome) });
  }
  return result;
}

/**
 * Turns a counts file and the process outcome into a tier result. Whatever the counts
 * say, a crash, a timeout or a nonzero exit without a reported failure is one failure.
 */
function countedResult(tier: TierName, countsFile: string, outcome: RunOutcome): TierResult {
  const result = emptyResult(tier);
  const counts = readCounts(countsFile);
  if (!counts) {
    result.failed = 1;
    result.note = `crashed (${describeExit(outcome)}), no results`;
    result.failures.push({ name: `${tier} tier`, reason: result.note });
    return result;
  }
  result.passed = counts.passed;
  result.skipped = counts.skipped;
  result.failed = counts.failed + counts.skipped;
  for (const f of counts.failures) result.failures.push({ name: `${relative(ROOT, f.file) || f.file}: ${f.name}`, reason: f.reason });
  for (const s of counts.skips) result.failures.push({ name: `${relative(ROOT, s.file) || s.file}: ${s.name}`, reason: `${s.reason ?? 'skipped'} (counts as failed)` });
  if (!succeeded(outcome) && counts.failed === 0) {
    result.failed += 1;
    result.note = `${describeExit(outcome)} without a reported failure`;
    result.failures.push({ name: `${tier} tier`, reason: result.note });
  } else if (!succeeded(outcome)) {
    result.note = describeExit(outcome);
  }
  if (counts.passed + counts.failed + counts.skipped === 0 && result.failed === 0) {
    result.failed = 1;
    result.note = 'no tests ran';
    result.failures.push({ name: `${tier} tier`, reason: result.note });
  }
  return result;
}

function noTestsFound(tier: TierName, pattern: string): TierResult {
  const result = emptyResult(tier);
  result.failed = 1;
  result.note = `no tests found (${pattern})`;
  result.failures.push({ name: `${tier} tier`, reason: result.note });
  console.log(`\nrun-all: ${tier}: no test files match ${pattern}`);
  return result;
}

async function nodeTestTier(tier: 'server' | 'cluster' | 'release' | 'e2e' | 'engines', tmp: string): Promise<TierResult> {
  const pattern = `tests/${tier}/*.test.ts`;
  const files = testFiles(`tests/${tier}`, false);
  if (files.length === 0) return noTestsFound(tier, pattern);
  const countsFile = join(tmp, `${tier}.json`);
  const args = [
    '--import',
    'tsx',
    '--test',
    // One browser test file at a time: each starts its own browsers and server; one
    // cluster file at a time: each starts a Redis and three nodes, and the fault tests
    // stop Redis or SIGKILL a node.
    ...(tier === 'e2e' || tier === 'engines' || tier === 'cluster' ? ['--test-concurrency=1'] : []),
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(ROOT, 'tests/support/node-test-counts.mjs')}`,
    `--test-reporter-destination=${countsFile}`,
    ...files,
  ];
  const outcome = await run(process.execPath, args, TIMEOUT_MS[tier]);
  return countedResult(tier, countsFile, outcome);
}

async function appTier(tmp: string): Promise<TierResult> {
  const pattern = 'tests/app/**/*.test.ts';
  if (testFiles('tests/app', true).length === 0) return noTestsFound('app', pattern);
  const countsFile = join(tmp, 'app.json');
  const outcome = await run(bin('wtr'), ['--config', 'tests/app/web-test-runner.config.mjs'], TIMEOUT_MS.app, {
    WTR_RESULTS_FILE: countsFile,
  });
  return countedResult('app', countsFile, outcome);
}

// ---------------------------------------------------------------------------
// Report

function formatMs(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function printSummary(results: TierResult[]): void {
  const failing = results.filter((r) => r.failures.length > 0);
  if (failing.length > 0) {
    console.log(`\n${bold('Failures')}`);
    for (const r of failing) {
      for (const f of r.failures) console.log(`  ${r.tier}: ${f.name}${f.reason ? ` - ${f.reason}` : ''}`);
    }
  }
  const header = ['tier', 'passed', 'failed', 'skipped', 'time', 'note'];
  const rows = results.map((r) => [r.tier, String(r.passed), String(r.failed), String(r.skipped), formatMs(r.ms), r.note]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  console.log(`\n${bold('Summary')} (skipped tests are included in "failed")`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

// ---------------------------------------------------------------------------

async function main(): Promise<number> {
  const selected = parseArgs(process.argv.slice(2));
  const stale = (selected.has('e2e') || selected.has('engines')) && !selected.has('build') ? staleBuildReason() : undefined;
  if (stale) {
    console.log(`run-all: ${stale}; adding the build tier before the browser tiers`);
    selected.add('build');
  }
  const dir = mkdtempSync(join(tmpdir(), 'wisp-tests-'));
  tmp = dir;
  const results: TierResult[] = [];
  let buildFailed = false;
  try {
    for (const tier of TIERS) {
      if (!selected.has(tier)) continue;
      console.log(`\n${bold(`━━ ${tier} ━━`)}`);
      const started = performance.now();
      let result: TierResult;
      if (tier === 'typecheck') result = await typecheckTier();
      else if (tier === 'build') result = await buildTier();
      else if (tier === 'server' || tier === 'cluster' || tier === 'release') result = await nodeTestTier(tier, dir);
      else if (tier === 'app') result = await appTier(dir);
      else if (buildFailed) {
        result = emptyResult(tier);
        result.failed = 1;
        result.note = 'not run: the build failed';
        result.failures.push({ name: `${tier} tier`, reason: result.note });
      } else result = await nodeTestTier(tier, dir);
      result.ms = performance.now() - started;
      if (tier === 'build' && result.failed > 0) buildFailed = true;
      results.push(result);
    }
  } finally {
    removeTmp();
  }

  printSummary(results);
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  console.log(`\n${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

process.exitCode = await main();
