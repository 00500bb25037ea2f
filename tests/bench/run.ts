// `npm run bench`: runs every benchmark module (tests/bench/*.bench.ts, see bench.ts)
// and prints each figure beside its budget (DESIGN.md §9).
//
//   npm run bench                      table on stdout, progress on stderr
//   npm run -s bench -- --json         one JSON object { key: value } on stdout; a figure
//                                      that was not measured is absent
//   npm run bench -- --only bundle-size   just these modules (file names without .bench.ts)
//   npm run bench -- --build           rebuild the app first even when dist/ is fresh (a stale
//                                      or missing build is rebuilt anyway: scripts/build-freshness.mjs)
//   WISP_BENCH_PHASES=storm npm run bench -- --only server-load   one phase of the server-load
//                                      bench (idle, big-room, storm, relay) or of the history
//                                      bench (replay, storm, rss)
//
// Exit status: 0 when every figure was measured and within budget, 1 otherwise (the
// table or JSON is printed either way), 2 for bad arguments.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { type BenchContext, type Benchmark, PartialError, type Row, withinBudget } from './bench.ts';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const SUFFIX = '.bench.ts';

interface Options {
  json: boolean;
  rebuild: boolean;
  only?: Set<string>;
}

function usage(exitCode: number, message?: string): never {
  if (message) console.error(`bench: ${message}`);
  console.error('usage: npm run bench -- [--json] [--build] [--only module,module]');
  process.exit(exitCode);
}

function parseArgs(argv: string[], available: string[]): Options {
  const options: Options = { json: false, rebuild: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') options.json = true;
    else if (arg === '--build') options.rebuild = true;
    else if (arg === '--help' || arg === '-h') usage(0);
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const list = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (!list) usage(2, '--only needs a comma-separated list of modules');
      options.only = new Set(list.split(',').map((s) => s.trim()).filter(Boolean));
      const unknown = [...options.only].filter((name) => !available.includes(name));
      if (unknown.length > 0) usage(2, `unknown module "${unknown.join(', ')}" (modules: ${available.join(', ')})`);
    } else usage(2, `unknown argument "${arg}"`);
  }
  return options;
}

function formatNumber(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return value.toLocaleString('en-US', { maximumFractionDigits: Math.abs(value) < 10 ? 2 : 1 });
}

function printTable(rows: Row[], missing: string[]): void {
  const header = ['figure', 'key', 'value', 'budget', 'status'];
  const body = rows.map((row) => {
    const ok = withinBudget(row);
    return [
      row.label,
      row.key,
      `${formatNumber(row.value)} ${row.unit}`,
      row.budget ? `${row.budget.op} ${formatNumber(row.budget.value)} ${row.unit}` : '(reported)',
      ok === undefined ? '' : ok ? 'pass' : 'MISS',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 2 || i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) console.log(line(r));
  for (const m of missing) console.log(`not measured: ${m}`);
}

async function main(): Promise<number> {
  const available = readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith(SUFFIX))
    .map((f) => f.slice(0, -SUFFIX.length))
    .sort();
  const options = parseArgs(process.argv.slice(2), available);
  const ctx: BenchContext = { log: (message) => console.error(`bench: ${message}`), rebuild: options.rebuild };

  const rows: Row[] = [];
  const missing: string[] = [];
  for (const name of available) {
    if (options.only && !options.only.has(name)) continue;
    const started = performance.now();
    try {
      const mod = (await import(pathToFileURL(join(BENCH_DIR, name + SUFFIX)).href)) as { default?: Benchmark };
      const bench = mod.default;
      if (!bench || typeof bench.run !== 'function') throw new Error('has no default export with a run() method');
      ctx.log(`${name}: ${bench.title}`);
      rows.push(...(await bench.run(ctx)));
    } catch (error) {
      if (error instanceof PartialError) {
        rows.push(...error.rows);
        missing.push(...error.reasons.map((r) => `${name}: ${r}`));
      } else {
        missing.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    ctx.log(`${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }

  const keys = new Set<string>();
  for (const row of rows) {
    if (keys.has(row.key)) missing.push(`duplicate key ${row.key}`);
    keys.add(row.key);
  }

  if (options.json) {
    console.log(JSON.stringify(Object.fromEntries(rows.map((row) => [row.key, row.value]))));
    for (const m of missing) console.error(`bench: not measured: ${m}`);
  } else {
    printTable(rows, missing);
  }
  const missed = rows.filter((row) => withinBudget(row) === false);
  return missing.length === 0 && missed.length === 0 ? 0 : 1;
}

process.exitCode = await main();
